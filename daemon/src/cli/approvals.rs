use std::process::ExitCode;

use crate::client::Client;
use crate::quote::command_line;
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
    let approvals = Client::from_env().pending()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&approvals)?);
        return Ok(ExitCode::SUCCESS);
    }
    if approvals.is_empty() {
        println!("no approvals pending");
        return Ok(ExitCode::SUCCESS);
    }
    let now = now_ms();
    for approval in approvals {
        let who = approval
            .agent
            .as_deref()
            .or(approval.session.as_deref())
            .unwrap_or("-");
        println!(
            "#{:<4} {:>5}  {who}  {}  {}",
            approval.id,
            age(now.saturating_sub(approval.created_ms)),
            approval.cwd.display(),
            command_line(&approval.argv)
        );
        if let Some(message) = &approval.message {
            println!("       {message}");
        }
        if approval.waiters == 0 {
            println!("       (no process is waiting for this answer right now)");
        }
    }
    Ok(ExitCode::SUCCESS)
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

fn age(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}
