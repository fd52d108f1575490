//! The `warden` command line: a thin shell around [`crate::client`] and [`crate::engine`].
//! Each subcommand lives in its own module, with its own arguments.

mod approvals;
mod audit;
mod completions;
mod follow;
mod log;
mod policy;
mod preload;
mod present;
mod serve;
mod setup;
mod status;
mod stop;
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
    /// Stop the daemon and wait until it has exited.
    Stop(stop::Args),
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
    /// Print the shell completion script for bash, zsh or fish.
    Completions(completions::Args),
    /// Print the manual page (`warden man | man -l -`), or write all pages into a directory.
    Man(completions::ManArgs),
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
        Command::Stop(args) => stop::run(args),
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
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}{}", crate::client::ERROR_PREFIX, error_line(&err));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// An error and its causes on one line, each said once. Error types that name their cause in
/// their own message (`cannot read X: <io error>`) also return it as their source, and a
/// context may repeat the phrase its inner error starts with: a cause already said is
/// skipped, and a cause that begins with the phrase before it replaces that phrase.
pub fn error_line(err: &anyhow::Error) -> String {
    let mut said: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || said.iter().any(|s| s.contains(text)) {
            continue;
        }
        match said.last_mut() {
            Some(last) if text.starts_with(last.as_str()) => *last = text.to_string(),
            _ => said.push(text.to_string()),
        }
    }
    said.join(": ")
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read policy file /x: {source}")]
    struct ReadError {
        source: std::io::Error,
    }

    fn not_found() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::ENOENT)
    }

    #[test]
    fn a_cause_the_message_already_names_is_said_once() {
        let err = anyhow::Error::new(ReadError {
            source: not_found(),
        });
        assert_eq!(
            error_line(&err),
            "cannot read policy file /x: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn a_context_the_cause_begins_with_is_said_once() {
        let err = anyhow::anyhow!("cannot start the warden daemon: no daemon answers")
            .context("cannot start the warden daemon");
        assert_eq!(
            error_line(&err),
            "cannot start the warden daemon: no daemon answers"
        );
    }

    #[test]
    fn distinct_causes_are_all_said_in_order() {
        let err = anyhow::Error::new(not_found()).context("cannot open /y");
        assert_eq!(
            error_line(&err),
            "cannot open /y: No such file or directory (os error 2)"
        );
    }
}
