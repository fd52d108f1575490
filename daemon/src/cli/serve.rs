use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::client::Client;
use crate::paths;
use crate::server;

/// How long `--background` waits for the daemon to answer.
const START_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(clap::Args)]
pub struct Args {
    /// Use this policy file alone instead of the usual files (unless it says
    /// `include_default = true`).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Monitor mode for requests outside a session: log every decision, block nothing.
    #[arg(long)]
    monitor: bool,
    /// Detach, log to $WARDEN_HOME/serve.log, and return once the daemon answers.
    #[arg(long)]
    background: bool,
    /// Deny an approval nobody resolved within this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    approval_timeout: u64,
    /// After an approval, allow the commands it unwraps to (the `kubectl` that an approved
    /// `bash -c "kubectl …"` starts) to its process tree for this many seconds; 0 turns it off.
    #[arg(long, value_name = "SECS", default_value_t = 60, hide = true)]
    grant_seconds: u64,
    /// Deny new asks while this many approvals are pending.
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_pending: usize,
    /// Start a new audit file once the current one reaches this size.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024, hide = true)]
    audit_rotate_bytes: u64,
    /// Serve at most this many connections at once; further ones are refused.
    #[arg(long, value_name = "N", default_value_t = 1024, hide = true)]
    max_connections: usize,
    /// Serve at most this many connections of one session (or of one process outside
    /// sessions) at once; further ones of it are refused.
    #[arg(long, value_name = "N", default_value_t = 128, hide = true)]
    max_session_connections: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.background {
        return background(&options(&args));
    }
    server::run(options(&args))?;
    Ok(ExitCode::SUCCESS)
}

fn options(args: &Args) -> server::Options {
    server::Options {
        policy: args
            .policy
            .as_ref()
            .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        monitor: args.monitor,
        approval_timeout: Duration::from_secs(args.approval_timeout),
        grant_lifetime: Duration::from_secs(args.grant_seconds),
        max_pending: args.max_pending,
        audit_rotate_bytes: args.audit_rotate_bytes.max(1),
        max_connections: args.max_connections.max(1),
        max_session_connections: args.max_session_connections.max(1),
    }
}

/// Starts the daemon in its own session (not a descendant of anything once we return) with
/// its output in serve.log, and waits until its socket answers.
fn background(options: &server::Options) -> anyhow::Result<ExitCode> {
    let client = Client::from_env();
    if client.is_running() {
        bail!(
            "a warden daemon already answers on {}",
            client.socket().display()
        );
    }
    let home = paths::home();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&home)
        .with_context(|| format!("cannot create {}", home.display()))?;
    let log_path = paths::serve_log();
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the warden executable")?;
    // This very binary (the file at `exe` could have been replaced since it started).
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0(&exe)
        .arg("serve")
        .args(options.serve_args())
        // The daemon must never run under the preload library.
        .env_remove("LD_PRELOAD")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; between fork and exec it only detaches the child
    // from our session and controlling terminal.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if client.is_running() {
            println!(
                "warden daemon running in the background (pid {}), socket {}, log {}",
                child.id(),
                client.socket().display(),
                log_path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the daemon exited at start ({status}); see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "the daemon did not answer on {} within {} s; see {}",
        client.socket().display(),
        START_TIMEOUT.as_secs(),
        log_path.display()
    )
}
