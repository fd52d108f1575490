use std::process::ExitCode;

use crate::client::{Client, ClientError};
use crate::quote::count;
use crate::wire::Mode;

#[derive(clap::Args)]
pub struct Args {
    /// Print the daemon's status as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::from_env();
    let status = match client.status() {
        Ok(status) => status,
        Err(ClientError::NotRunning(socket)) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "running": false, "socket": socket })
                );
            } else {
                println!(
                    "warden daemon: not running (no daemon on {})",
                    socket.display()
                );
                println!("start one with \"warden serve --background\"");
            }
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        let mut value = serde_json::to_value(&status)?;
        value["running"] = serde_json::Value::Bool(true);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mode = |mode: Mode| {
        if mode == Mode::Monitor {
            "monitor"
        } else {
            "enforce"
        }
    };
    println!(
        "warden daemon: running (pid {}, version {})",
        status.pid, status.version
    );
    println!("socket: {}  door: {}", status.socket, status.door);
    println!(
        "policy: {} from {}",
        count(status.rule_count, "rule"),
        status.policy_sources.join(", ")
    );
    if let Some(error) = &status.policy_error {
        println!("policy reload failed (previous policy in force): {error}");
    }
    if let Some(held) = &status.policy_held {
        println!(
            "policy change HELD since {}: it loosens the policy and a session without isolation \
             could have written it; review the policy files, then run \"warden policy reload\"",
            crate::server::audit::rfc3339(held.since_ms)
        );
        const SHOWN: usize = 10;
        for reason in held.reasons.iter().take(SHOWN) {
            println!("  {reason}");
        }
        if held.reasons.len() > SHOWN {
            println!("  … and {} more", held.reasons.len() - SHOWN);
        }
    }
    println!("default mode: {}", mode(status.default_mode));
    println!("sessions: {}", status.sessions.len());
    for session in &status.sessions {
        println!(
            "  {}  {}  root pid {}  {}  {}",
            session.id,
            session.agent,
            session.root_pid,
            mode(session.mode),
            session.cwd.display()
        );
    }
    println!("pending approvals: {}", status.pending);
    Ok(ExitCode::SUCCESS)
}
