use std::path::PathBuf;
use std::process::ExitCode;

use crate::paths;
use crate::server::audit::verify;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the whole hash chain of the audit log (reads the files; no daemon needed).
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
            match outcome.broken {
                None => {
                    println!(
                        "audit log intact: {} records in {} files ({})",
                        outcome.records,
                        outcome.files,
                        dir.display()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(broken) => {
                    println!(
                        "audit log BROKEN after {} intact records: {broken}",
                        outcome.records
                    );
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
