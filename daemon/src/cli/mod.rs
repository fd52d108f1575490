//! The `warden` command line: a thin shell around [`crate::client`] and [`crate::engine`].
//! Each subcommand lives in its own module, with its own arguments.

mod approvals;
mod audit;
mod follow;
mod log;
mod policy;
mod preload;
mod present;
mod serve;
mod setup;
mod status;
mod test;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for a usage error, an invalid policy or a failed operation.
pub const EXIT_ERROR: u8 = 3;

#[derive(Parser)]
#[command(
    name = "warden",
    version,
    about = "Guard the programs an AI coding agent starts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the policy daemon.
    Serve(serve::Args),
    /// Show whether the daemon runs, its policy, sessions and pending approvals.
    Status(status::Args),
    /// Evaluate a shell command against the policy without running anything.
    Test(test::Args),
    /// Validate policy files or run the tests they carry.
    #[command(subcommand)]
    Policy(policy::Command),
    /// List the approvals waiting for a decision.
    Pending(approvals::PendingArgs),
    /// Allow a pending request.
    Approve(approvals::ApproveArgs),
    /// Refuse a pending request.
    Deny(approvals::DenyArgs),
    /// Show recent decisions, or follow them live.
    Log(log::Args),
    /// Watch pending approvals and decisions live, and answer asks with a key.
    Watch(watch::Args),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(audit::Command),
    /// Run a command (an agent) with every program it starts guarded.
    Preload(preload::Args),
    /// Install a wrapper so that a plain agent command is always guarded.
    Setup(setup::Args),
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let usage_error = err.use_stderr();
            // Help and version go to stdout and succeed; real usage errors exit with 3.
            let _ = err.print();
            return if usage_error {
                ExitCode::from(EXIT_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Status(args) => status::run(args),
        Command::Test(args) => test::run(args),
        Command::Policy(command) => policy::run(command),
        Command::Pending(args) => approvals::pending(args),
        Command::Approve(args) => approvals::approve(args),
        Command::Deny(args) => approvals::deny(args),
        Command::Log(args) => log::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Audit(command) => audit::run(command),
        Command::Preload(args) => preload::run(args),
        Command::Setup(args) => setup::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("warden: error: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
