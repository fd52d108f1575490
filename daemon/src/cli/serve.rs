use std::ffi::OsString;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::client::{self, Client};
use crate::paths;
use crate::server;

#[derive(clap::Args)]
pub struct Args {
    /// Use this policy file alone instead of the usual files (unless it says
    /// `include_default = true`).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Monitor mode: log every decision, block nothing (outside sessions and in every session
    /// started without `warden preload --monitor` of its own).
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
            "a warden daemon already answers on {} (\"warden stop\" ends it)",
            client.socket().display()
        );
    }
    let pid =
        start_detached(&client, &options.serve_args()).context("cannot start the warden daemon")?;
    println!(
        "warden daemon running in the background (pid {pid}), socket {}, log {}",
        client.socket().display(),
        paths::serve_log().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// How long `--background` waits for the daemon to answer.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts `warden serve SERVE_ARGS` (this executable) in its own session, without the preload
/// library, its output appended to serve.log, and waits until its socket answers; returns its
/// pid. When the daemon exits first, the error is the reason it logged.
fn start_detached(client: &Client, serve_args: &[OsString]) -> anyhow::Result<u32> {
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
    let logged_from = log.metadata().map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().context("cannot find the warden executable")?;
    // This very binary (the file at `exe` could have been replaced since it started).
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0(&exe)
        .arg("serve")
        .args(serve_args)
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
        .with_context(|| format!("cannot run {}", exe.display()))?;
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if client.is_running() {
            return Ok(child.id());
        }
        if let Some(status) = child.try_wait()? {
            match logged_errors(&log_path, logged_from) {
                Some(reason) => bail!("{reason}"),
                None => bail!("the daemon exited ({status}); see {}", log_path.display()),
            }
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

/// Most of serve.log read back for the reason a daemon did not start.
const LOG_TAIL_LIMIT: u64 = 64 * 1024;

/// The errors a daemon wrote to `log` after byte `from` (its `warden: error:` lines, without
/// that prefix), so that the reason it did not start is shown where it was started.
fn logged_errors(log: &Path, from: u64) -> Option<String> {
    let mut file = std::fs::File::open(log).ok()?;
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut text = String::new();
    file.take(LOG_TAIL_LIMIT).read_to_string(&mut text).ok()?;
    let errors: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix(client::ERROR_PREFIX))
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}
