//! An experiment: several configurations of one exec loop, run in interleaved rounds.

use crate::stats::{median_difference, median_ratio, quantile};
use crate::table::{micros, micros_signed, Table};
use crate::workload::{process_cpu_ns, Launcher, RunResult, Workload};

/// The reference configurations every experiment has.
pub const BASELINE: &str = "baseline";
pub const FLOOR: &str = "floor";

pub struct Case {
    pub name: &'static str,
    pub launcher: Launcher,
    pub workload: Workload,
}

pub struct Experiment {
    pub title: &'static str,
    cases: Vec<Case>,
    /// The daemons, whose CPU time during a run counts toward the run's CPU per exec.
    daemon_pids: Vec<u32>,
    /// `results[case][round]`.
    results: Vec<Vec<RunResult>>,
}

/// One configuration measured against a reference configuration, pairing the two runs of
/// each round (same round, so the machine's drift cancels), and taking the median over
/// rounds. Pooled percentiles would not do: this machine runs whole rounds in faster or
/// slower modes, and a pooled p50 jumps between them (one run put the floor 155 µs above the
/// baseline).
pub struct Comparison {
    /// Median over rounds of the difference of the two runs' p50.
    pub added_p50_ns: f64,
    /// The same for p99.
    pub added_p99_ns: f64,
    /// Median over rounds of this configuration's loop time over the reference's.
    pub ratio: f64,
    /// Median over rounds of this configuration's p50 over the reference's: the typical exec,
    /// which the machine's multi-millisecond stalls (they move the loop time) do not move.
    pub p50_ratio: f64,
}

impl Experiment {
    pub fn new(title: &'static str, cases: Vec<Case>, daemon_pids: &[u32]) -> Experiment {
        let results = cases.iter().map(|_| Vec::new()).collect();
        Experiment {
            title,
            cases,
            daemon_pids: daemon_pids.to_vec(),
            results,
        }
    }

    fn daemons_cpu_ns(&self) -> f64 {
        self.daemon_pids
            .iter()
            .map(|&pid| process_cpu_ns(pid))
            .sum()
    }

    /// Runs every case once, starting at a different case each round so that no
    /// configuration always runs first (right after another experiment) or last.
    pub fn run_round(&mut self, round: usize, record: bool) -> Result<(), String> {
        let count = self.cases.len();
        for offset in 0..count {
            let index = (round + offset) % count;
            let case = &self.cases[index];
            let daemon_before = self.daemons_cpu_ns();
            let mut result = case
                .workload
                .run(&case.launcher)
                .map_err(|err| format!("{} / {}: {err}", self.title, case.name))?;
            let daemon_cpu_ns = self.daemons_cpu_ns() - daemon_before;
            result.cpu_ns_per_exec += daemon_cpu_ns / case.workload.iterations() as f64;
            if record {
                self.results[index].push(result);
            }
        }
        Ok(())
    }

    fn index(&self, name: &str) -> usize {
        self.cases
            .iter()
            .position(|case| case.name == name)
            .unwrap_or_else(|| panic!("{} has no configuration {name}", self.title))
    }

    fn samples(&self, index: usize) -> Vec<f64> {
        self.results[index]
            .iter()
            .flat_map(|run| run.per_exec_ns.iter().copied())
            .collect()
    }

    fn round_means(&self, index: usize) -> Vec<f64> {
        self.results[index].iter().map(RunResult::mean_ns).collect()
    }

    /// Median over rounds of the CPU time per exec (every process the run started, and the
    /// daemon).
    pub fn cpu_ns_per_exec(&self, name: &str) -> f64 {
        let index = self.index(name);
        let cpu: Vec<f64> = self.results[index]
            .iter()
            .map(|run| run.cpu_ns_per_exec)
            .collect();
        crate::stats::median(&cpu)
    }

    pub fn quantile(&self, name: &str, q: f64) -> f64 {
        quantile(&self.samples(self.index(name)), q)
    }

    pub fn compare(&self, name: &str, reference: &str) -> Comparison {
        let (case, reference) = (self.index(name), self.index(reference));
        let added = |q| {
            median_difference(
                &self.round_quantiles(case, q),
                &self.round_quantiles(reference, q),
            )
        };
        Comparison {
            added_p50_ns: added(0.5),
            added_p99_ns: added(0.99),
            ratio: median_ratio(&self.round_means(case), &self.round_means(reference)),
            p50_ratio: median_ratio(
                &self.round_quantiles(case, 0.5),
                &self.round_quantiles(reference, 0.5),
            ),
        }
    }

    /// The `q`-quantile of each round's samples.
    fn round_quantiles(&self, index: usize, q: f64) -> Vec<f64> {
        self.results[index]
            .iter()
            .map(|run| quantile(&run.per_exec_ns, q))
            .collect()
    }

    pub fn print(&self) {
        let rounds = self.results.first().map_or(0, Vec::len);
        let samples = self.results.first().map_or(0, |_| self.samples(0).len());
        println!(
            "\n### {} ({rounds} rounds, {samples} samples per configuration)\n",
            self.title
        );
        // Each reference this experiment has (the floor only where something is preloaded)
        // adds its columns.
        let references: Vec<&str> = [BASELINE, FLOOR]
            .into_iter()
            .filter(|name| self.cases.iter().any(|case| case.name == *name))
            .collect();
        let mut header = vec![
            "configuration".to_string(),
            "p50 µs".into(),
            "p99 µs".into(),
        ];
        for reference in &references {
            header.push(format!("+p50 vs {reference}"));
            header.push(format!("+p99 vs {reference}"));
        }
        if references.contains(&BASELINE) {
            header.push("× baseline".into());
        }
        header.push("CPU µs/exec".into());
        if references.contains(&FLOOR) {
            header.push("+CPU vs floor".into());
        }
        let mut table = Table::new(&header.iter().map(String::as_str).collect::<Vec<_>>());
        for case in &self.cases {
            let name = case.name;
            let mut row = vec![
                name.to_string(),
                micros(self.quantile(name, 0.5)),
                micros(self.quantile(name, 0.99)),
            ];
            for reference in &references {
                let added = self.compare(name, reference);
                row.push(micros_signed(added.added_p50_ns));
                row.push(micros_signed(added.added_p99_ns));
            }
            if references.contains(&BASELINE) {
                row.push(format!("{:.3}", self.compare(name, BASELINE).ratio));
            }
            row.push(micros(self.cpu_ns_per_exec(name)));
            if references.contains(&FLOOR) {
                let above = self.cpu_ns_per_exec(name) - self.cpu_ns_per_exec(FLOOR);
                row.push(micros_signed(above));
            }
            table.row(row);
        }
        table.print();
    }
}
