//! `warden test "<shell command>"`: judge a command line without running anything.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::engine::{Action, DecidedBy, Query, Verdict};
use crate::policy_files;

#[derive(clap::Args)]
pub struct Args {
    /// Print exactly one JSON object: {"decision", "rule", "message"}.
    #[arg(long)]
    json: bool,
    /// Judge against this policy file alone (default: built-in policy + $WARDEN_HOME/policy.toml).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Working directory the command would run in (default: the current directory).
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Agent name the command would run under, for rules with an `agent` condition.
    #[arg(long, value_name = "NAME")]
    agent: Option<String>,
    /// The shell command line to judge, e.g. "rm -rf ~".
    command: OsString,
}

/// What decided a verdict, for people: the rule's name, or which of the policy's own actions.
pub fn decider(verdict: &Verdict) -> String {
    match (verdict.decided_by, &verdict.rule) {
        (DecidedBy::Rule, Some(rule)) => rule.clone(),
        (DecidedBy::Unparsable, _) => {
            "(none: the command could not be read, so the policy's `unparsable` action decided)"
                .to_string()
        }
        _ => "(none: the policy default)".to_string(),
    }
}

/// Exit status for each decision: 0 allow/log, 1 deny, 2 ask.
pub fn exit_code(action: Action) -> ExitCode {
    match action {
        Action::Allow | Action::Log => ExitCode::SUCCESS,
        Action::Deny => ExitCode::from(1),
        Action::Ask => ExitCode::from(2),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let policy = policy_files::load_effective(args.policy.as_deref())?;
    let cwd = match args.cwd {
        Some(dir) => dir,
        None => {
            std::env::current_dir().context("cannot determine the current directory; pass --cwd")?
        }
    };
    let home = std::env::var_os("HOME").unwrap_or_default();
    let query = Query {
        cwd: cwd.as_os_str().as_bytes(),
        agent: args.agent.as_deref(),
        home: home.as_bytes(),
        ..Query::default()
    };
    let command = args.command.into_vec();
    let verdict = policy.evaluate_shell(&command, &query);
    if args.json {
        println!("{}", to_json(&verdict));
    } else {
        print_plain(&verdict);
    }
    Ok(exit_code(verdict.action))
}

fn to_json(verdict: &Verdict) -> serde_json::Value {
    serde_json::json!({
        "decision": verdict.action.as_str(),
        "rule": verdict.rule,
        "message": verdict.message,
    })
}

fn print_plain(verdict: &Verdict) {
    println!("decision: {}", verdict.action);
    println!("rule: {}", decider(verdict));
    if let Some(message) = &verdict.message {
        println!("message: {message}");
    }
}
