//! `warden pending`, `approve` and `deny`: the approvals queue from the operator's side.

use std::process::ExitCode;

use super::present::{self, Listing};
use crate::client::{Client, ClientError};
use crate::paths;
use crate::server::approvals::Approvals;
use crate::server::audit::now_ms;
use crate::wire::ApprovalState;

#[derive(clap::Args)]
pub struct PendingArgs {
    /// Print the pending approvals as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ApproveArgs {
    /// The approval id that `warden pending` shows.
    id: u64,
    /// Also allow this exact command from now on (a rule in $WARDEN_HOME/policy.toml).
    #[arg(long)]
    always: bool,
}

#[derive(clap::Args)]
pub struct DenyArgs {
    /// The approval id that `warden pending` shows.
    id: u64,
}

pub fn pending(args: PendingArgs) -> anyhow::Result<ExitCode> {
    let approvals = match Client::from_env().pending() {
        Ok(approvals) => approvals,
        Err(ClientError::NotRunning(socket)) => return pending_without_daemon(&socket, &args),
        Err(e) => return Err(e.into()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&approvals)?);
        return Ok(ExitCode::SUCCESS);
    }
    if approvals.is_empty() {
        println!("no approvals pending");
        return Ok(ExitCode::SUCCESS);
    }
    for line in present::pending_table(&approvals, now_ms(), Listing::Live) {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// With no daemon nothing can wait for an answer; what was pending when the daemon last
/// stopped (its `pending.json`) comes back when it starts again. Exit status 1, as
/// `warden status` without a daemon.
fn pending_without_daemon(
    socket: &std::path::Path,
    args: &PendingArgs,
) -> anyhow::Result<ExitCode> {
    let file = paths::pending();
    let saved = Approvals::load(file.clone(), usize::MAX)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
        .pending();
    if args.json {
        let value = serde_json::json!({
            "running": false,
            "socket": socket,
            "pending_at_last_stop": saved,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::from(1));
    }
    println!(
        "no warden daemon runs (nothing answers on {}), so nothing can be pending now; \
         start one with \"warden serve --background\".",
        socket.display()
    );
    if saved.is_empty() {
        println!("nothing was pending when it last stopped.");
        return Ok(ExitCode::from(1));
    }
    println!(
        "pending when it last stopped (they are pending again once it starts; the programs \
         that waited may have given up since):"
    );
    for line in present::pending_table(&saved, now_ms(), Listing::Saved) {
        println!("{line}");
    }
    Ok(ExitCode::from(1))
}

pub fn approve(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let reply = Client::from_env().approve(args.id, args.always)?;
    match reply.added_rule {
        Some(rule) => println!(
            "approved #{}; rule {rule} added to {}",
            reply.id,
            crate::paths::user_policy().display()
        ),
        None => println!("approved #{}", reply.id),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn deny(args: DenyArgs) -> anyhow::Result<ExitCode> {
    let reply = Client::from_env().deny(args.id)?;
    debug_assert_eq!(reply.state, ApprovalState::Denied);
    println!("denied #{}", reply.id);
    Ok(ExitCode::SUCCESS)
}
