//! Judging a program start: the session's mode, the policy's verdict, an approval when the
//! policy asks, and the audit record, written before the reply leaves.

use std::os::unix::ffi::OsStringExt;
use std::sync::OnceLock;

use super::access::Peer;
use super::approvals::{ApprovalError, NewApproval};
use super::audit::now_ms;
use super::decided::{Decided, PreparedStart};
use super::scripts::Scripts;
use super::sessions::SessionView;
use super::subject::Subject;
use super::Daemon;
use crate::engine::{Action, Query};
use crate::quote;
use crate::wire::{AuditRecord, Bytes, Decision, ExecReply, ExecRequest, Mode, Supervision};

/// The reply to a preflight from `peer`, whose session (found where its connection arrived)
/// is `session`; `Err` with the reason to refuse it.
pub fn answer(
    daemon: &Daemon,
    peer: &Peer,
    session: Option<(String, SessionView)>,
    request: &ExecRequest,
) -> Result<ExecReply, String> {
    let (subject, session) = Subject::resolve(daemon, peer, session, request)?;
    if daemon.decided.confirm(&subject, &request.argv) {
        return Ok(confirmed());
    }
    Ok(judge(daemon, &subject, session, request))
}

/// The answer to a question about a start that was decided (and recorded) a moment ago.
fn confirmed() -> ExecReply {
    ExecReply {
        decision: Decision::Allow,
        id: None,
        rule: None,
        message: Some("allowed: decided when this start was first asked about".into()),
        command: None,
    }
}

/// The reply a preflight about `subject`, in `session`, gets.
fn judge(
    daemon: &Daemon,
    subject: &Subject,
    session: Option<(String, SessionView)>,
    request: &ExecRequest,
) -> ExecReply {
    let pid = subject.pid();
    let mode = mode_in(daemon, session.as_ref());
    // In a traced session, another observer will see this start again.
    let mut start = session
        .as_ref()
        .filter(|(_, view)| view.supervision == Supervision::Trace)
        .and_then(|(_, view)| {
            let supervisor = view.supervisor.as_deref();
            Decided::prepare(subject, &request.path, &request.argv, supervisor)
        });
    let session_id = session.as_ref().map(|(id, _)| id.clone());
    let (agent, session_home) = match session {
        Some((_, view)) => (Some(view.agent), view.home),
        None => (None, None),
    };

    let identity = daemon.identities.of(&request.path.0, pid);
    let policy = daemon.policy.current();
    let query = Query {
        program: request.path.as_slice(),
        argv: request.argv.iter().map(|a| a.as_slice()).collect(),
        cwd: request.cwd.as_slice(),
        agent: agent.as_deref(),
        session: session_id.as_deref(),
        caller: request.caller.iter().map(|a| a.as_slice()).collect(),
        identity: identity.as_ref(),
        home: session_home
            .as_ref()
            .map_or(own_home(), |home| home.as_slice()),
    };
    let scripts = Scripts {
        pid,
        identities: &daemon.identities,
    };
    let verdict = policy.policy.evaluate_with_files(&query, &scripts);
    drop(policy);

    let enforced = match verdict.action {
        Action::Allow | Action::Log => Decision::Allow,
        Action::Ask => Decision::Ask,
        Action::Deny => Decision::Deny,
    };
    let command: Option<Vec<Bytes>> = verdict
        .command
        .map(|argv| argv.into_iter().map(Bytes).collect());
    let mut reply = ExecReply {
        decision: enforced,
        id: None,
        rule: verdict.rule,
        message: verdict.message,
        // For the library's denial and waiting lines; an allow prints nothing.
        command: match enforced {
            Decision::Allow => None,
            Decision::Deny | Decision::Ask => command.as_deref().map(quote::brief),
        },
    };
    let mut would = None;
    let mut granted_by = None;
    if mode == Mode::Monitor {
        would = Some(enforced);
        reply.decision = Decision::Allow;
    } else if enforced == Decision::Ask {
        granted_by = daemon.grants.covering(pid, &request.path.0, &query.argv);
        match granted_by {
            Some(id) => {
                reply.decision = Decision::Allow;
                reply.rule = Some(format!("approval #{id}"));
                reply.message = Some(format!(
                    "allowed: approval #{id} covers this command for the approved process \
                     and its children ({} s)",
                    daemon.grants.lifetime().as_secs()
                ));
            }
            None => ask(
                daemon,
                pid,
                request,
                &query,
                command.clone(),
                &mut reply,
                start.take(),
            ),
        }
    }

    let record = AuditRecord {
        session: session_id,
        agent,
        pid: Some(request.pid),
        hook: Some(request.hook.clone()),
        cwd: Some(request.cwd.clone()),
        path: Some(request.path.clone()),
        argv: Some(request.argv.clone()),
        action: Some(verdict.action.as_str().into()),
        would,
        rule: reply.rule.clone(),
        message: reply.message.clone(),
        command,
        approval: reply.id.or(granted_by),
        resolver: granted_by.map(|_| "grant".to_string()),
        ..AuditRecord::new("decision", mode, reply.decision)
    };
    let reply = audit_or_deny(daemon, record, reply);
    if let Some(start) = start.filter(|_| reply.decision == Decision::Allow) {
        daemon.decided.pass(start);
    }
    reply
}

/// The daemon's own `$HOME`, the home directory of requests outside any session (read once:
/// the daemon's environment does not change).
fn own_home() -> &'static [u8] {
    static HOME: OnceLock<Vec<u8>> = OnceLock::new();
    HOME.get_or_init(|| {
        std::env::var_os("HOME")
            .map(|home| home.into_vec())
            .unwrap_or_default()
    })
}

/// Creates the approval a person must resolve (and what approving it will grant, and the
/// start it will allow); a full queue denies.
fn ask(
    daemon: &Daemon,
    pid: Option<i32>,
    request: &ExecRequest,
    query: &Query,
    command: Option<Vec<Bytes>>,
    reply: &mut ExecReply,
    start: Option<PreparedStart>,
) {
    let created = daemon.grants.offer(pid, query, || {
        let approval = daemon.approvals.create(NewApproval {
            session: query.session.map(str::to_string),
            agent: query.agent.map(str::to_string),
            pid: request.pid,
            cwd: request.cwd.clone(),
            path: request.path.clone(),
            argv: request.argv.clone(),
            rule: reply.rule.clone(),
            message: reply.message.clone(),
            command,
            expires_ms: now_ms() + daemon.options.approval_timeout.as_millis() as u64,
        })?;
        if let Some(start) = start {
            daemon.decided.offer(approval.id, start);
        }
        Ok::<_, ApprovalError>(approval)
    });
    match created {
        Ok(approval) => reply.id = Some(approval.id),
        Err(e) => {
            reply.decision = Decision::Deny;
            reply.message = Some(format!("denied: {e}"));
        }
    }
}

/// A request too large to evaluate: denied in enforce mode, never truncated and allowed.
pub fn oversized(daemon: &Daemon, peer: &Peer) -> ExecReply {
    let mode = mode_in(daemon, daemon.sessions.for_process(peer.pid).as_ref());
    let message = format!(
        "request larger than {} bytes cannot be evaluated",
        super::BODY_LIMIT
    );
    let decision = if mode == Mode::Monitor {
        Decision::Allow
    } else {
        Decision::Deny
    };
    let reply = ExecReply {
        decision,
        id: None,
        rule: None,
        message: Some(format!("denied: {message}")),
        command: None,
    };
    let record = AuditRecord {
        pid: peer.pid,
        would: (mode == Mode::Monitor).then_some(Decision::Deny),
        message: Some(message),
        ..AuditRecord::new("decision", mode, decision)
    };
    audit_or_deny(daemon, record, reply)
}

/// The mode of the caller's session, or the daemon's own outside every session.
fn mode_in(daemon: &Daemon, session: Option<&(String, SessionView)>) -> Mode {
    session
        .map(|(_, view)| view.mode)
        .unwrap_or_else(|| daemon.default_mode())
}

/// A decision that cannot be recorded is not acknowledged as allowed in enforce mode.
fn audit_or_deny(daemon: &Daemon, record: AuditRecord, mut reply: ExecReply) -> ExecReply {
    let mode = record.mode;
    if let Err(e) = daemon.audit.append(record) {
        eprintln!("warden serve: {e}");
        if mode == Mode::Enforce {
            reply.decision = Decision::Deny;
            reply.id = None;
            reply.message = Some(format!("denied: the audit log cannot be written ({e})"));
        }
    }
    reply
}
