//! Results of the other benchmarks that `make bench` runs first, read back for the target
//! table: the daemon's preflight benchmark (its printed report) and the engine's Criterion
//! estimates (`$CRITERION_HOME/<group>/<function>/new/*.json`).

use std::path::Path;

use crate::table::Table;

/// One line `clients N: R decisions/s   p50 X µs   p99 Y µs` of the preflight report.
pub struct Throughput {
    pub clients: u32,
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// One policy setup of the preflight report (`== <label>: <n> rules`).
pub struct DaemonRun {
    pub label: String,
    pub throughput: Vec<Throughput>,
    pub rss_kib: Option<u64>,
}

/// Parses the preflight benchmark's report; what is not recognised is skipped.
pub fn read_preflight(file: &Path) -> Vec<DaemonRun> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut runs: Vec<DaemonRun> = Vec::new();
    for line in text.lines() {
        if let Some(label) = line.strip_prefix("== ") {
            runs.push(DaemonRun {
                label: label.to_string(),
                throughput: Vec::new(),
                rss_kib: None,
            });
        } else if let Some(run) = runs.last_mut() {
            if let Some(rss) = line.strip_prefix("daemon RSS:") {
                run.rss_kib = first_number(rss).map(|kib| kib as u64);
            } else if let Some(throughput) = parse_throughput(line) {
                run.throughput.push(throughput);
            }
        }
    }
    runs
}

fn parse_throughput(line: &str) -> Option<Throughput> {
    let (clients, rest) = line.strip_prefix("clients")?.split_once(':')?;
    let (per_second, rest) = rest.split_once("decisions/s")?;
    let (_, rest) = rest.split_once("p50")?;
    let (p50, p99) = rest.split_once("p99")?;
    Some(Throughput {
        clients: clients.trim().parse().ok()?,
        per_second: first_number(per_second)?,
        p50_us: first_number(p50)?,
        p99_us: first_number(p99)?,
    })
}

fn first_number(text: &str) -> Option<f64> {
    text.split_whitespace().find_map(|word| word.parse().ok())
}

/// One Criterion benchmark: its group, function and median time per iteration.
pub struct EngineBench {
    pub group: String,
    pub function: String,
    pub median_ns: f64,
}

impl EngineBench {
    /// Evaluations per iteration: `N` for a function named "…, N commands per iteration",
    /// else 1.
    pub fn evaluations(&self) -> f64 {
        self.function
            .split_once(", ")
            .filter(|(_, rest)| rest.ends_with(" per iteration"))
            .and_then(|(_, rest)| first_number(rest))
            .unwrap_or(1.0)
    }
}

/// Every benchmark under a Criterion output directory (each has a `new/` directory, one to
/// three levels down: group, function, parameter), sorted by group and function.
pub fn read_criterion(home: &Path) -> Vec<EngineBench> {
    let mut benches = Vec::new();
    collect_benches(home, 3, &mut benches);
    benches.sort_by(|a, b| (&a.group, &a.function).cmp(&(&b.group, &b.function)));
    benches
}

fn collect_benches(dir: &Path, depth: u32, out: &mut Vec<EngineBench>) {
    let entries = std::fs::read_dir(dir).into_iter().flatten().flatten();
    for path in entries
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
    {
        if path.file_name().is_some_and(|name| name == "new") {
            out.extend(read_bench(&path));
        } else if depth > 0 {
            collect_benches(&path, depth - 1, out);
        }
    }
}

fn read_bench(dir: &Path) -> Option<EngineBench> {
    let json = |name: &str| -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(dir.join(name)).ok()?).ok()
    };
    let (id, estimates) = (json("benchmark.json")?, json("estimates.json")?);
    Some(EngineBench {
        group: id["group_id"].as_str()?.to_string(),
        function: id["function_id"].as_str().unwrap_or_default().to_string(),
        median_ns: estimates["median"]["point_estimate"].as_f64()?,
    })
}

pub fn print_daemon(runs: &[DaemonRun]) {
    println!("\n### daemon: preflight over the socket, a fresh connection per request\n");
    if runs.is_empty() {
        println!("(no results: run `make bench`, which runs the preflight benchmark first)");
        return;
    }
    let mut table = Table::new(&[
        "policy",
        "clients",
        "decisions/s",
        "p50 µs",
        "p99 µs",
        "RSS MiB",
    ]);
    for run in runs {
        let rss = run.rss_kib.map_or("—".to_string(), |kib| {
            format!("{:.1}", kib as f64 / 1024.0)
        });
        for t in &run.throughput {
            table.row(vec![
                run.label.clone(),
                t.clients.to_string(),
                format!("{:.0}", t.per_second),
                format!("{:.1}", t.p50_us),
                format!("{:.1}", t.p99_us),
                rss.clone(),
            ]);
        }
    }
    table.print();
}

pub fn print_engine(benches: &[EngineBench]) {
    println!("\n### engine: Criterion median per evaluation\n");
    if benches.is_empty() {
        println!("(no results: run `make bench`, which runs the engine benchmark first)");
        return;
    }
    let mut table = Table::new(&["policy", "query", "p50 µs per evaluation"]);
    for bench in benches {
        table.row(vec![
            bench.group.clone(),
            bench.function.clone(),
            format!("{:.2}", bench.median_ns / bench.evaluations() / 1000.0),
        ]);
    }
    table.print();
}
