use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::client::Client;
use crate::quote::command_line;
use crate::server::audit::GAP_KIND;
use crate::server::DAEMON_KIND;
use crate::wire::{AuditRecord, Decision};

#[derive(clap::Args)]
pub struct Args {
    /// Keep running and print decisions as they happen.
    #[arg(short = 'f', long)]
    follow: bool,
    /// One JSON record per line.
    #[arg(long)]
    json: bool,
    /// How many recent decisions to show.
    #[arg(short = 'n', value_name = "N", default_value_t = 20)]
    lines: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::from_env();
    let colour = !args.json && std::io::stdout().is_terminal();
    let print = |record: &AuditRecord| -> bool {
        let line = if args.json {
            serde_json::to_string(record).expect("audit records always serialise")
        } else {
            render(record, colour)
        };
        let mut out = std::io::stdout().lock();
        // A closed pipe (`warden log -f | head`) ends the command quietly.
        writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
    };
    for record in client.log(args.lines)? {
        if !print(&record) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.follow {
        client.follow(|record| print(&record))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn render(record: &AuditRecord, colour: bool) -> String {
    // Records about the daemon and the log themselves (a restart, a cut log) carry their
    // whole story in the message.
    if matches!(record.kind.as_str(), DAEMON_KIND | GAP_KIND) {
        let message = record.message.as_deref().unwrap_or_default();
        return format!("{}  {:<8} {message}", record.time, record.kind);
    }
    let word = match (record.kind.as_str(), record.decision) {
        ("resolution", Decision::Allow) => "APPROVED",
        ("resolution", _) => "REFUSED",
        (_, Decision::Allow) => "allow",
        (_, Decision::Deny) => "deny",
        (_, Decision::Ask) => "ask",
    };
    let painted = if colour {
        let code = match record.decision {
            Decision::Allow => "32",
            Decision::Deny => "31",
            Decision::Ask => "33",
        };
        format!("\x1b[{code}m{word:<8}\x1b[0m")
    } else {
        format!("{word:<8}")
    };
    let mut line = format!("{}  {painted}", record.time);
    if let Some(id) = record.approval {
        line.push_str(&format!(" #{id}"));
    }
    if let Some(agent) = record.agent.as_deref().or(record.session.as_deref()) {
        line.push_str(&format!(" [{agent}]"));
    }
    match &record.argv {
        Some(argv) => line.push_str(&format!(" {}", command_line(argv))),
        None => line.push_str(" (request not evaluated)"),
    }
    if let Some(would) = record.would {
        line.push_str(&format!("  (monitor: would {})", decision_word(would)));
    }
    if let Some(rule) = &record.rule {
        line.push_str(&format!("  rule {rule}"));
    }
    if let Some(resolver) = &record.resolver {
        line.push_str(&format!("  by {resolver}"));
    }
    line
}

fn decision_word(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        Decision::Ask => "ask",
    }
}
