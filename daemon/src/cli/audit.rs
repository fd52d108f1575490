use std::path::PathBuf;
use std::process::ExitCode;

use crate::paths;
use crate::server::audit::verify;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the whole hash chain of the audit log and its end against the head file (reads
    /// the files; no daemon needed). Exit 0 intact, 1 not intact.
    Verify {
        /// Audit directory (default $WARDEN_HOME/audit).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify { dir } => {
            let dir = dir.unwrap_or_else(paths::audit_dir);
            let outcome = verify(&dir)?;
            let files = match outcome.files {
                1 => "1 file".to_string(),
                n => format!("{n} files"),
            };
            if outcome.intact() {
                println!(
                    "audit log intact: {} records in {files} ({}); it ends at the record its head names",
                    outcome.records,
                    dir.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(broken) = &outcome.broken {
                println!(
                    "audit log BROKEN after {} intact records: {broken}",
                    outcome.records
                );
            }
            if let Some((word, problem)) = outcome.end.problem() {
                println!("audit {word}: {problem}");
            }
            for gap in &outcome.gaps {
                println!("audit log GAP recorded at {gap}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
