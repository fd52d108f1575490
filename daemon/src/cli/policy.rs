//! `warden policy check FILE…`, `warden policy test [FILE…]` and `warden policy reload`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::client::Client;
use crate::engine::{Policy, PolicySource};
use crate::quote::count;
use crate::{paths, policy_files};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Validate policy files; errors name the file, line and rule.
    Check {
        /// Policy files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Run the [[test]] cases embedded in policy files (default: the effective policy). Each
    /// file's cases are checked against that file and the layers beneath it: the built-in
    /// cases against the built-in policy alone.
    Test {
        /// Policy files whose tests to run.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Make the daemon apply the policy files now, including a change it holds back for
    /// review (see `warden status`). Refused inside a guarded session.
    Reload,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { files } => check(&files),
        Command::Test { files } => test(&files),
        Command::Reload => reload(),
    }
}

fn reload() -> anyhow::Result<ExitCode> {
    let reply = Client::from_env().reload_policy()?;
    println!(
        "policy in force: {} rules from {}",
        reply.rule_count,
        reply.policy_sources.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

/// The layers a file is judged in: the user policy always sits on the built-in default,
/// any other file stands alone unless it says `include_default = true`.
fn sources_for(file: &Path) -> anyhow::Result<Vec<PolicySource>> {
    if file == paths::user_policy() {
        let source = policy_files::read_source(file)?;
        return Ok(vec![Policy::builtin_source(), source]);
    }
    Ok(policy_files::effective_sources(Some(file))?)
}

fn check(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        match sources_for(file).and_then(|sources| Ok(Policy::compile(&sources)?)) {
            Ok(policy) => println!(
                "{}: ok ({}, {})",
                file.display(),
                count(policy.rule_count(), "rule"),
                count(policy.tests().len(), "test")
            ),
            Err(err) => {
                eprintln!("warden: error: {}", crate::cli::error_line(&err));
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::from(crate::cli::EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// Each layer's cases are checked against that layer and the ones beneath it: the built-in
/// cases against the built-in policy alone (a stricter user rule must not fail cases the
/// user cannot edit), a user file's own cases against the whole policy in force.
fn test(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let stacks = if files.is_empty() {
        vec![policy_files::effective_sources(None)?]
    } else {
        files
            .iter()
            .map(|f| sources_for(f))
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let (mut passed, mut failed) = (0usize, 0usize);
    for sources in &stacks {
        for depth in 1..=sources.len() {
            let policy = Policy::compile(&sources[..depth])?;
            let own = &sources[depth - 1].origin;
            for test in policy.tests().iter().filter(|t| &t.origin == own) {
                let outcome = test.run(&policy);
                if outcome.passed {
                    passed += 1;
                    continue;
                }
                failed += 1;
                let expected_rule = test
                    .rule
                    .as_ref()
                    .map(|r| format!(" (rule {r})"))
                    .unwrap_or_default();
                let got_rule = match &outcome.verdict.rule {
                    Some(rule) => format!(" (rule {rule})"),
                    None => format!(" {}", super::test::decider(&outcome.verdict)),
                };
                println!(
                    "FAIL {}:{}: {}\n     expected {}{expected_rule}, got {}{got_rule}",
                    test.origin,
                    test.line,
                    test.describe(),
                    test.expect,
                    outcome.verdict.action,
                );
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
