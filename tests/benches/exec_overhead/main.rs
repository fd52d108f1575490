//! `cargo bench -p warden-tests --bench exec_overhead`: what being guarded costs a process.
//!
//! Per-exec overhead (a C fork+execve loop and a bash loop of `/bin/true`) and load-time
//! overhead (the library loaded into a `/bin/true` that execs nothing), each under no preload
//! (baseline), a forward-only C library (the floor of the LD_PRELOAD approach) and warden
//! (enforce, monitor, strict). Strict mode also gets the exec loop linked statically (no hook
//! runs in the parent: the supervisor asks about every exec) and a fork and a thread loop
//! that start no program (what the ptrace stops of a new process or thread cost).
//! Configurations are interleaved round by round so the machine's drift hits them alike.
//! A reference row measures one socket round trip to a C server that does no work: the least
//! any design pays that asks a daemon per exec. A bash loop whose every exec is denied runs
//! against a daemon without notifications and one whose webhook never answers: a hanging
//! endpoint must not slow the agent.
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
use workload::{Launcher, Spawns, Workload};

/// The warden configurations: a session in enforce mode (the daemon answers allow), the same
/// without namespaces of its own (isolation must cost once per session, not per exec), one
/// in monitor mode, and the bare library (load time).
pub const ENFORCE: &str = "warden enforce";
pub const ENFORCE_SHARED: &str = "warden enforce, no isolation";
pub const MONITOR: &str = "warden monitor";
pub const LIBWARDEN: &str = "libwarden.so";
/// A session in strict mode (`warden preload --strict`).
pub const STRICT: &str = "warden strict";
/// The reference: what asking any daemon over a fresh connection costs at least here.
pub const ROUND_TRIP: &str = "C client ↔ C server";
/// Sessions whose every exec is denied, with a daemon that posts denials to a webhook that
/// accepts the connection and never answers, and with one that has no webhook.
pub const DENIED: &str = "warden deny";
pub const DENIED_HANGING_WEBHOOK: &str = "warden deny, hanging webhook";

/// Allows everything but `true`, which the denial experiment runs.
const DENY_TRUE: &str = r#"
default = "allow"

[[rule]]
name = "bench-deny-true"
action = "deny"
message = "the benchmark's denied start"
program = ["true"]
"#;

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
    let warden_in = |home: &TempHome, flags: &[&str]| Launcher {
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
    let warden = |flags: &[&str]| warden_in(&home, flags);
    let launchers = [
        (BASELINE, Launcher::default()),
        (FLOOR, Launcher::preloading(&natives.floor_lib)),
        (ENFORCE, warden(&[])),
        (ENFORCE_SHARED, warden(&["--no-isolate"])),
        (MONITOR, warden(&["--monitor"])),
        (STRICT, warden(&["--strict"])),
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
        &[daemon.pid()],
    );
    let unpreloaded = |workload: Workload| {
        [BASELINE, ENFORCE, STRICT]
            .into_iter()
            .map(|name| Case {
                name,
                launcher: launchers
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, launcher)| launcher.clone())
                    .expect("a launcher for every configuration"),
                workload: workload.clone(),
            })
            .collect()
    };
    let mut exec_static = Experiment::new(
        "per exec: static C fork+execve loop (no hook in the parent)",
        unpreloaded(Workload::Driver {
            exec_loop: natives.exec_loop_static.clone(),
            iterations: options.iterations,
            child_preload: None,
        }),
        &[daemon.pid()],
    );
    let fork_loop = |spawns| Workload::ForkLoop {
        program: natives.fork_loop.clone(),
        iterations: options.iterations,
        spawns,
    };
    let mut forks = Experiment::new(
        "per fork: fork + _exit, no program started",
        unpreloaded(fork_loop(Spawns::Process)),
        &[daemon.pid()],
    );
    let mut threads = Experiment::new(
        "per thread: pthread_create + join",
        unpreloaded(fork_loop(Spawns::Thread)),
        &[daemon.pid()],
    );
    let mut exec_bash = Experiment::new(
        "per exec: bash loop",
        cases_of(Workload::BashLoop {
            iterations: options.iterations,
            program: "/bin/true",
        }),
        &[daemon.pid()],
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
        &[daemon.pid()],
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
        &[daemon.pid()],
    );

    let (denying_home, hooked_home) = (TempHome::new(), TempHome::new());
    let endpoint = hanging_endpoint()?;
    std::fs::write(
        hooked_home.path().join("notify.toml"),
        format!("[notify]\ndesktop = \"off\"\nurl = \"http://{endpoint}/hook\"\non = [\"deny\"]\n"),
    )
    .map_err(|err| format!("cannot write notify.toml: {err}"))?;
    let denying = Daemon::start_with(&denying_home, Some(DENY_TRUE), &[]);
    let hooked = Daemon::start_with(&hooked_home, Some(DENY_TRUE), &[]);
    let denied_case = |name, home: &TempHome| {
        let mut launcher = warden_in(home, &[]);
        launcher.env.push(("DENIED".into(), "/bin/true".into()));
        Case {
            name,
            launcher,
            // Named through a variable: the string as a whole is allowed to start, and each
            // exec of `true` in it is judged, and denied, on its own.
            workload: Workload::BashLoop {
                iterations: options.iterations,
                program: "\"$DENIED\" 2>/dev/null",
            },
        }
    };
    let mut denials = Experiment::new(
        "per denied exec: bash loop, denials posted to a webhook that never answers",
        vec![
            denied_case(DENIED, &denying_home),
            denied_case(DENIED_HANGING_WEBHOOK, &hooked_home),
        ],
        &[denying.pid(), hooked.pid()],
    );

    print_machine(&options);
    let mut experiments = [
        &mut exec_driver,
        &mut exec_bash,
        &mut exec_static,
        &mut forks,
        &mut threads,
        &mut load,
        &mut reference,
        &mut denials,
    ];
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
    all.extend(checks::strict(&exec_driver));
    all.extend(checks::notifications(&denials));
    all.extend(checks::daemon(&daemon_runs));
    all.extend(checks::engine(&engine_benches));
    targets::print(&all);
    Ok(())
}

/// A webhook endpoint on loopback that accepts every connection and never answers; returns
/// its address.
fn hanging_endpoint() -> Result<std::net::SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|err| format!("cannot listen on loopback: {err}"))?;
    let address = listener
        .local_addr()
        .map_err(|err| format!("cannot read the endpoint's address: {err}"))?;
    std::thread::spawn(move || {
        // Every connection is kept open, never read nor answered.
        let mut held = Vec::new();
        for stream in listener.incoming().map_while(Result::ok) {
            held.push(stream);
        }
    });
    Ok(address)
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
