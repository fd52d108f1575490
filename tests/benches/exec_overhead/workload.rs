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
    /// `bash -c 'for i in $(seq N); do /bin/true; done'`, timed by bash itself around the loop.
    BashLoop { iterations: usize },
}

impl Workload {
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
            Workload::BashLoop { iterations } => {
                let script = format!(
                    "start=$EPOCHREALTIME; for i in $(seq {iterations}); do /bin/true; done; \
                     end=$EPOCHREALTIME; echo \"$start $end\""
                );
                launcher.command(Path::new("/bin/bash"), &["-c".into(), script.into()])
            }
        };
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot start {command:?}: {err}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{command:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let parsed = match self {
            Workload::Driver { .. } => parse_driver(&stdout),
            Workload::BashLoop { iterations } => parse_bash(&stdout, *iterations),
        };
        parsed
            .map(|per_exec_ns| RunResult { per_exec_ns })
            .ok_or_else(|| format!("{command:?} printed unexpected output: {stdout:?}"))
    }
}

fn parse_driver(stdout: &str) -> Option<Vec<f64>> {
    stdout
        .lines()
        .map(|line| line.trim().parse().ok())
        .collect()
}

/// `$EPOCHREALTIME` is seconds with a microsecond fraction.
fn parse_bash(stdout: &str, iterations: usize) -> Option<Vec<f64>> {
    let mut fields = stdout.split_whitespace().map(|s| s.parse::<f64>().ok());
    let (start, end) = (fields.next()??, fields.next()??);
    Some(vec![(end - start) * 1e9 / iterations as f64])
}
