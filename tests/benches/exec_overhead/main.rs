//! `cargo bench -p warden-tests --bench exec_overhead`: what being guarded costs a process.
//!
//! Per-exec overhead (a C fork+execve loop and a bash loop of `/bin/true`) and load-time
//! overhead (the library loaded into a `/bin/true` that execs nothing), each under no preload
//! (baseline), a forward-only C library (the floor of the LD_PRELOAD approach) and warden.
//! Configurations are interleaved round by round so the machine's drift hits them alike.
//! A reference row measures one socket round trip to a C server that does no work: the least
//! any design pays that asks a daemon per exec.
//! Ends with the table of issue 7's targets, including the daemon's and engine's results.

mod checks;
mod experiment;
mod native;
mod options;
mod results;
mod stats;
mod table;
mod targets;
mod workload;

use std::ffi::OsString;
use std::process::ExitCode;

use experiment::{Case, Experiment, BASELINE, FLOOR};
use native::{Natives, TempDir};
use options::Options;
use warden_tests::{libwarden, warden_bin, Daemon, TempHome};
use workload::{Launcher, Workload};

/// The warden configurations: a session in enforce mode (the daemon answers allow), the same
/// without namespaces of its own (isolation must cost once per session, not per exec), one
/// in monitor mode, and the bare library (load time).
pub const ENFORCE: &str = "warden enforce";
pub const ENFORCE_SHARED: &str = "warden enforce, no isolation";
pub const MONITOR: &str = "warden monitor";
pub const LIBWARDEN: &str = "libwarden.so";
/// The reference: what asking any daemon over a fresh connection costs at least here.
pub const ROUND_TRIP: &str = "C client ↔ C server";

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
    let options = Options::parse()?;
    let scratch =
        TempDir::new("bench").map_err(|err| format!("cannot create a temp dir: {err}"))?;
    let natives = Natives::build(scratch.path())?;
    let home = TempHome::new();
    let daemon = Daemon::start_with(&home, None, &[]);
    let library = libwarden();
    let warden = |flags: &[&str]| Launcher {
        prefix: [warden_bin().into_os_string(), "preload".into()]
            .into_iter()
            .chain(flags.iter().map(OsString::from))
            .chain(["--".into()])
            .collect(),
        env: vec![
            ("WARDEN_HOME".into(), home.path().into()),
            ("WARDEN_LIB".into(), library.clone().into()),
        ],
    };
    let launchers = [
        (BASELINE, Launcher::default()),
        (FLOOR, Launcher::preloading(&natives.floor_lib)),
        (ENFORCE, warden(&[])),
        (ENFORCE_SHARED, warden(&["--no-isolate"])),
        (MONITOR, warden(&["--monitor"])),
    ];
    let cases_of = |workload: Workload| {
        launchers
            .iter()
            .map(|(name, launcher)| Case {
                name,
                launcher: launcher.clone(),
                workload: workload.clone(),
            })
            .collect()
    };
    let driver = |child_preload| Workload::Driver {
        exec_loop: natives.exec_loop.clone(),
        iterations: options.iterations,
        child_preload,
    };
    let mut exec_driver = Experiment::new(
        "per exec: C fork+execve loop",
        cases_of(driver(None)),
        daemon.pid(),
    );
    let mut exec_bash = Experiment::new(
        "per exec: bash loop",
        cases_of(Workload::BashLoop {
            iterations: options.iterations,
        }),
        daemon.pid(),
    );
    // The library sees the environment a guarded process has; only the child loads it.
    let session_env = Launcher {
        prefix: Vec::new(),
        env: vec![
            ("WARDEN_HOME".into(), home.path().into()),
            ("WARDEN_SESSION".into(), "1".into()),
        ],
    };
    let load_cases = [
        (BASELINE, None),
        (FLOOR, Some(natives.floor_lib.clone())),
        (LIBWARDEN, Some(library.clone())),
    ]
    .into_iter()
    .map(|(name, lib)| Case {
        name,
        launcher: session_env.clone(),
        workload: driver(lib),
    })
    .collect();
    let mut load = Experiment::new(
        "load time: /bin/true that execs nothing",
        load_cases,
        daemon.pid(),
    );

    let mut reference = Experiment::new(
        "reference: one round trip to a C server that answers at once, fresh connection",
        vec![Case {
            name: ROUND_TRIP,
            launcher: Launcher::default(),
            workload: Workload::RoundTrip {
                program: natives.round_trip.clone(),
                iterations: options.iterations,
                socket: scratch.path().join("round_trip.sock"),
            },
        }],
        daemon.pid(),
    );

    print_machine(&options);
    let mut experiments = [&mut exec_driver, &mut exec_bash, &mut load, &mut reference];
    for round in 0..=options.rounds {
        eprint!("\rround {round}/{}", options.rounds);
        for experiment in experiments.iter_mut() {
            experiment.run_round(round, round > 0)?;
        }
    }
    eprintln!();
    for experiment in &experiments {
        experiment.print();
    }
    let daemon_runs = results::read_preflight(&options.results.join("preflight.txt"));
    let engine_benches = results::read_criterion(&options.results.join("criterion"));
    results::print_daemon(&daemon_runs);
    results::print_engine(&engine_benches);
    let mut all = checks::exec(&exec_driver, &exec_bash, &load);
    all.extend(checks::daemon(&daemon_runs));
    all.extend(checks::engine(&engine_benches));
    targets::print(&all);
    Ok(())
}

fn print_machine(options: &Options) {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "# exec_overhead: {cpus} CPUs, kernel {}, load average {}",
        kernel.trim(),
        load.trim()
    );
    println!(
        "{} rounds × {} execs per configuration, configurations interleaved",
        options.rounds, options.iterations
    );
}
