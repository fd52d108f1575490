//! The agent command itself is judged before it starts, like every program it will start:
//! `LD_PRELOAD` does nothing in a static program (a Go `terraform`, Codex itself), so
//! without this a static command would run unjudged. The question goes to the daemon as the
//! session's root asks it (hook `preload`), so the session's mode, the policy, approvals and
//! the audit record are the library's own; an `ask` waits for the operator's answer.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Context;

use super::lines;
use crate::client::Client;
use crate::quote;
use crate::wire::{Bytes, Decision, ExecReply, ExecRequest};

/// What the daemon decided about the agent command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judged {
    Allowed,
    Refused,
}

/// Asks the daemon about running `program` with `argv` in `cwd`, as session `session`'s root;
/// says on stderr what a refusal or a wait is about, as the library does.
pub fn agent_command(
    client: &Client,
    session: &str,
    program: &Path,
    argv: &[OsString],
    cwd: &Path,
) -> anyhow::Result<Judged> {
    let bytes = |s: &std::ffi::OsStr| Bytes(s.as_bytes().to_vec());
    let request = ExecRequest {
        session: Some(session.to_string()),
        hook: "preload".to_string(),
        path: bytes(program.as_os_str()),
        argv: argv.iter().map(|a| bytes(a)).collect(),
        cwd: bytes(cwd.as_os_str()),
        pid: std::process::id() as i32,
        ppid: std::os::unix::process::parent_id() as i32,
        caller: std::env::args_os().map(|a| bytes(&a)).collect(),
        shell: None,
    };
    let words: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let shown = || quote::brief(&words);
    let mut reply = client
        .preflight(&request)
        .with_context(|| format!("cannot ask the warden daemon about {}", shown()))?;
    if reply.decision == Decision::Ask {
        let id = reply
            .id
            .context("the warden daemon asked for an approval without an id")?;
        let command = reply.command.clone().unwrap_or_else(shown);
        reply = lines::while_waiting(id, &command, || client.wait(id))
            .with_context(|| format!("cannot wait for approval #{id}"))?;
    }
    Ok(match reply.decision {
        Decision::Allow => Judged::Allowed,
        Decision::Deny | Decision::Ask => {
            refuse(&reply, &shown());
            Judged::Refused
        }
    })
}

/// The library's refusal line.
fn refuse(reply: &ExecReply, shown: &str) {
    let command = reply.command.as_deref().unwrap_or(shown);
    eprintln!("{}", lines::denied(command, reply.message.as_deref()));
}
