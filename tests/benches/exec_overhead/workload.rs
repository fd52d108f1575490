//! What a benchmark round runs: the exec loops, started the way a configuration says.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How a configuration starts a measured program: a command prefix (e.g. `warden preload --`)
/// and extra environment (e.g. `LD_PRELOAD`). `LD_PRELOAD` is never inherited from the caller.
#[derive(Clone, Default)]
pub struct Launcher {
    pub prefix: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
}

impl Launcher {
    pub fn preloading(lib: &Path) -> Launcher {
        Launcher {
            prefix: Vec::new(),
            env: vec![("LD_PRELOAD".into(), lib.into())],
        }
    }

    fn command(&self, program: &Path, args: &[OsString]) -> Command {
        let mut parts = self.prefix.iter().map(OsString::as_os_str);
        let mut command = match parts.next() {
            Some(first) => {
                let mut command = Command::new(first);
                command.args(parts).arg(program);
                command
            }
            None => Command::new(program),
        };
        command
            .args(args)
            .env_remove("LD_PRELOAD")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }
}

/// One measured run of a workload.
pub struct RunResult {
    /// Per-exec wall times in nanoseconds (one per exec when the workload times each one,
    /// else the single mean per exec of the whole loop).
    pub per_exec_ns: Vec<f64>,
    /// CPU time (user + system) per exec of every process the run started (a strict-mode
    /// supervisor included), in nanoseconds: unlike wall time, not inflated by waiting for a
    /// busy machine's CPUs.
    pub cpu_ns_per_exec: f64,
}

impl RunResult {
    pub fn mean_ns(&self) -> f64 {
        crate::stats::mean(&self.per_exec_ns)
    }
}

/// A loop of execs of `/bin/true`.
#[derive(Clone)]
pub enum Workload {
    /// The C driver times each fork + execve + wait; `child_preload` goes into the child's
    /// environment only (load-time measurement).
    Driver {
        exec_loop: PathBuf,
        iterations: usize,
        child_preload: Option<PathBuf>,
    },
    /// `bash -c 'for i in $(seq N); do PROGRAM; done'`, timed by bash itself around the loop;
    /// `program` is shell text (`/bin/true`, or `"$VAR"` to hide the program from the
    /// judgement of the whole string).
    BashLoop {
        iterations: usize,
        program: &'static str,
    },
    /// N round trips to a C server that answers at once, on a fresh connection each, over a
    /// socket at `socket`; timed like the driver.
    RoundTrip {
        program: PathBuf,
        iterations: usize,
        socket: PathBuf,
    },
    /// N forks (or threads) that start no program; timed like the driver.
    ForkLoop {
        program: PathBuf,
        iterations: usize,
        spawns: Spawns,
    },
}

/// What [`Workload::ForkLoop`] creates each iteration.
#[derive(Clone, Copy)]
pub enum Spawns {
    Process,
    Thread,
}

impl Workload {
    pub fn iterations(&self) -> usize {
        match self {
            Workload::Driver { iterations, .. }
            | Workload::BashLoop { iterations, .. }
            | Workload::RoundTrip { iterations, .. }
            | Workload::ForkLoop { iterations, .. } => *iterations,
        }
    }

    pub fn run(&self, launcher: &Launcher) -> Result<RunResult, String> {
        let mut command = match self {
            Workload::Driver {
                exec_loop,
                iterations,
                child_preload,
            } => {
                let mut args = vec![OsString::from(iterations.to_string())];
                args.extend(child_preload.iter().map(OsString::from));
                launcher.command(exec_loop, &args)
            }
            Workload::BashLoop {
                iterations,
                program,
            } => {
                let script = format!(
                    "start=$EPOCHREALTIME; for i in $(seq {iterations}); do {program}; done; \
                     end=$EPOCHREALTIME; echo \"$start $end\""
                );
                launcher.command(Path::new("/bin/bash"), &["-c".into(), script.into()])
            }
            Workload::RoundTrip {
                program,
                iterations,
                socket,
            } => launcher.command(
                program,
                &[iterations.to_string().into(), socket.clone().into()],
            ),
            Workload::ForkLoop {
                program,
                iterations,
                spawns,
            } => {
                let spawns = match spawns {
                    Spawns::Process => "process",
                    Spawns::Thread => "thread",
                };
                launcher.command(program, &[iterations.to_string().into(), spawns.into()])
            }
        };
        let cpu_before = children_cpu_ns();
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot start {command:?}: {err}"))?;
        let cpu_ns = children_cpu_ns() - cpu_before;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{command:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let per_exec_ns = match self {
            Workload::Driver { .. } | Workload::RoundTrip { .. } | Workload::ForkLoop { .. } => {
                parse_driver(&stdout, self.iterations())
            }
            Workload::BashLoop { .. } => parse_bash(&stdout, self.iterations()),
        };
        let per_exec_ns = per_exec_ns
            .ok_or_else(|| format!("{command:?} printed unexpected output: {stdout:?}"))?;
        Ok(RunResult {
            per_exec_ns,
            cpu_ns_per_exec: cpu_ns / self.iterations() as f64,
        })
    }
}

/// One line per exec (or round trip) with its nanoseconds.
fn parse_driver(stdout: &str, iterations: usize) -> Option<Vec<f64>> {
    let per_exec_ns: Vec<f64> = stdout
        .lines()
        .map(|line| line.trim().parse().ok())
        .collect::<Option<_>>()?;
    (per_exec_ns.len() == iterations).then_some(per_exec_ns)
}

/// `<start> <end>` (`$EPOCHREALTIME`: seconds with a microsecond fraction): the mean per exec.
fn parse_bash(stdout: &str, iterations: usize) -> Option<Vec<f64>> {
    let mut words = stdout.split_whitespace();
    let start: f64 = words.next()?.parse().ok()?;
    let end: f64 = words.next()?.parse().ok()?;
    Some(vec![(end - start) * 1e9 / iterations as f64])
}

/// CPU time (user + system) of this process's children that have been waited for, in
/// nanoseconds: the difference around a run is the CPU of every process it started.
fn children_cpu_ns() -> f64 {
    // SAFETY: rusage is plain data that getrusage fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage with a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (micros(usage.ru_utime) + micros(usage.ru_stime)) * 1e3
}

/// CPU time consumed so far by the live threads of process `pid`, in nanoseconds (first
/// field of each `/proc/<pid>/task/<tid>/schedstat`); 0 when it cannot be read.
pub fn process_cpu_ns(pid: u32) -> f64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten();
    tasks
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<f64>().ok())
        .sum()
}
