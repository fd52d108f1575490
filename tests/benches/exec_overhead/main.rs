//! `cargo bench -p warden-tests --bench exec_overhead`: what being guarded costs a process.
//!
//! Per-exec overhead (a C fork+execve loop and a bash loop of `/bin/true`) and load-time
//! overhead (the library loaded into a `/bin/true` that execs nothing), each under no preload
//! (baseline), a forward-only C library (the floor of the LD_PRELOAD approach) and warden.
//! Configurations are interleaved round by round so the machine's drift hits them alike.

mod experiment;
mod native;
mod stats;
mod table;
mod targets;
mod workload;

use std::process::ExitCode;

use experiment::{Case, Experiment, BASELINE, FLOOR};
use native::{Natives, TempDir};
use targets::Check;
use workload::{Launcher, Workload};

/// Measured rounds, after one unrecorded warm-up round.
const ROUNDS: usize = 15;
/// Execs per loop and round.
const ITERATIONS: usize = 400;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("exec_overhead: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let scratch =
        TempDir::new("bench").map_err(|err| format!("cannot create a temp dir: {err}"))?;
    let natives = Natives::build(scratch.path())?;
    let driver = |child_preload| Workload::Driver {
        exec_loop: natives.exec_loop.clone(),
        iterations: ITERATIONS,
        child_preload,
    };
    let bash = Workload::BashLoop {
        iterations: ITERATIONS,
    };
    let launchers = [
        (BASELINE, Launcher::default()),
        (FLOOR, Launcher::preloading(&natives.floor_lib)),
    ];
    let cases_of = |workload: &Workload| {
        launchers
            .iter()
            .map(|(name, launcher)| Case {
                name,
                launcher: launcher.clone(),
                workload: workload.clone(),
            })
            .collect()
    };
    let mut exec_driver = Experiment::new("per exec: C fork+execve loop", cases_of(&driver(None)));
    let mut exec_bash = Experiment::new("per exec: bash loop", cases_of(&bash));
    let load_cases = [(BASELINE, None), (FLOOR, Some(natives.floor_lib.clone()))]
        .into_iter()
        .map(|(name, lib)| Case {
            name,
            launcher: Launcher::default(),
            workload: driver(lib),
        })
        .collect();
    let mut load = Experiment::new("load time: /bin/true that execs nothing", load_cases);

    print_machine();
    let mut experiments = [&mut exec_driver, &mut exec_bash, &mut load];
    for round in 0..=ROUNDS {
        eprint!("\rround {round}/{ROUNDS}");
        for experiment in experiments.iter_mut() {
            experiment.run_round(round, round > 0)?;
        }
    }
    eprintln!();
    for experiment in &experiments {
        experiment.print();
    }
    targets::print(&exec_checks(&exec_driver, &load));
    Ok(())
}

fn exec_checks(exec_driver: &Experiment, load: &Experiment) -> Vec<Check> {
    let floor_load = load.compare(FLOOR, BASELINE);
    vec![
        Check::at_most(
            "floor load time above baseline (reference)",
            floor_load.added_p50_ns / 1000.0,
            f64::INFINITY,
            " µs",
            1,
        ),
        Check::at_most(
            "floor exec loop ratio (reference)",
            exec_driver.compare(FLOOR, BASELINE).ratio,
            f64::INFINITY,
            "×",
            3,
        ),
    ]
}

fn print_machine() {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "# exec_overhead: {cpus} CPUs, kernel {}, load average {}",
        kernel.trim(),
        load.trim()
    );
    println!("{ROUNDS} rounds × {ITERATIONS} execs per configuration, configurations interleaved");
}
