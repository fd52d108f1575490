//! `warden log`: recent decisions from the daemon, or from the audit files while no daemon
//! runs; `-f` follows them live, across daemon restarts.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use super::follow::{follow, Change};
use super::present::{self, Colour};
use crate::client::{Client, ClientError};
use crate::paths;
use crate::server::audit;
use crate::wire::AuditRecord;

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
    let colour = match args.json {
        true => Colour::Plain,
        false => Colour::for_output(std::io::stdout().is_terminal()),
    };
    let print = |record: &AuditRecord| -> bool {
        let line = if args.json {
            serde_json::to_string(record).expect("audit records always serialise")
        } else {
            present::record_line(record, colour)
        };
        let mut out = std::io::stdout().lock();
        // A closed pipe (`warden log -f | head`) ends the command quietly.
        writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
    };
    // One record more than shown: the newest one's sequence number is where following
    // starts, also with `-n 0`.
    let recent = match client.log(args.lines.max(1)) {
        Ok(records) => records,
        Err(ClientError::NotRunning(socket)) => {
            let dir = paths::audit_dir();
            eprintln!(
                "warden: no daemon answers on {}; showing the audit files in {}",
                socket.display(),
                dir.display()
            );
            let records = audit::tail(&dir, args.lines.max(1))?;
            if records.is_empty() {
                eprintln!("warden: no decisions are recorded there yet");
            }
            records
        }
        Err(refused @ ClientError::Refused(_)) => return Err(refused.into()),
        // Following retries until a daemon answers; only the history is missing.
        Err(e) if args.follow => {
            eprintln!("warden: cannot read the recent decisions ({e}); following new ones");
            Vec::new()
        }
        Err(e) => return Err(e.into()),
    };
    let last_seq = recent.last().map_or(0, |record| record.seq);
    let skip = recent.len().saturating_sub(args.lines);
    for record in &recent[skip..] {
        if !print(record) {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.follow {
        follow(&client, last_seq, |change| match change {
            Change::Record(record) => print(&record),
            Change::Lost(reason) => {
                eprintln!("warden: lost the daemon's event stream ({reason}); waiting for it");
                true
            }
            Change::Back => {
                eprintln!("warden: a daemon answers again; following its decisions");
                true
            }
        })?;
    }
    Ok(ExitCode::SUCCESS)
}
