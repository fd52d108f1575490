use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

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
    /// Serve at most this many connections at once; further ones are dropped.
    #[arg(long, value_name = "N", default_value_t = 1024, hide = true)]
    max_connections: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.background {
        return background(&args);
    }
    let policy = args.policy.map(|p| std::path::absolute(&p).unwrap_or(p));
    server::run(server::Options {
        policy,
        monitor: args.monitor,
        approval_timeout: Duration::from_secs(args.approval_timeout),
        grant_lifetime: Duration::from_secs(args.grant_seconds),
        max_pending: args.max_pending,
        audit_rotate_bytes: args.audit_rotate_bytes.max(1),
        max_connections: args.max_connections.max(1),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Starts the daemon in its own session (not a descendant of anything once we return) with
/// its output in serve.log, and waits until its socket answers.
fn background(args: &Args) -> anyhow::Result<ExitCode> {
    let client = Client::from_env();
    if client.is_running() {
        bail!(
            "a warden daemon already answers on {} (\"warden stop\" ends it)",
            client.socket().display()
        );
    }
    let mut serve_args: Vec<OsString> = Vec::new();
    if let Some(policy) = &args.policy {
        serve_args.push("--policy".into());
        serve_args.push(std::path::absolute(policy)?.into());
    }
    if args.monitor {
        serve_args.push("--monitor".into());
    }
    for (flag, value) in [
        ("--approval-timeout", args.approval_timeout.to_string()),
        ("--grant-seconds", args.grant_seconds.to_string()),
        ("--max-pending", args.max_pending.to_string()),
        ("--audit-rotate-bytes", args.audit_rotate_bytes.to_string()),
        ("--max-connections", args.max_connections.to_string()),
    ] {
        serve_args.push(flag.into());
        serve_args.push(value.into());
    }
    let pid = client::start_daemon(&serve_args)?;
    println!(
        "warden daemon running in the background (pid {pid}), socket {}, log {}",
        client.socket().display(),
        paths::serve_log().display()
    );
    Ok(ExitCode::SUCCESS)
}
