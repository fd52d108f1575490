//! Judging a program start: the session's mode, the policy's verdict, an approval when the
//! policy asks, and the audit record, written before the reply leaves.

use super::access::Peer;
use super::approvals::NewApproval;
use super::audit::now_ms;
use super::Daemon;
use crate::engine::{Action, Query};
use crate::wire::{AuditRecord, Decision, ExecReply, ExecRequest, Mode};

/// The reply a preflight gets.
pub fn judge(daemon: &Daemon, peer: &Peer, request: &ExecRequest) -> ExecReply {
    let session = daemon.sessions.for_process(peer.pid);
    let mode = session
        .as_ref()
        .map(|(_, view)| view.mode)
        .unwrap_or_else(|| daemon.default_mode());
    let session_id = session.as_ref().map(|(id, _)| id.clone());
    let agent = session.map(|(_, view)| view.agent);

    let policy = daemon.policy.current();
    let query = Query {
        program: request.path.as_slice(),
        argv: request.argv.iter().map(|a| a.as_slice()).collect(),
        cwd: request.cwd.as_slice(),
        agent: agent.as_deref(),
        session: session_id.as_deref(),
        caller: request.caller.iter().map(|a| a.as_slice()).collect(),
    };
    let verdict = policy.policy.evaluate(&query);
    drop(policy);

    let enforced = match verdict.action {
        Action::Allow | Action::Log => Decision::Allow,
        Action::Ask => Decision::Ask,
        Action::Deny => Decision::Deny,
    };
    let mut reply = ExecReply {
        decision: enforced,
        id: None,
        rule: verdict.rule,
        message: verdict.message,
    };
    let mut would = None;
    if mode == Mode::Monitor {
        would = Some(enforced);
        reply.decision = Decision::Allow;
    } else if enforced == Decision::Ask {
        let created = daemon.approvals.create(NewApproval {
            session: session_id.clone(),
            agent: agent.clone(),
            pid: request.pid,
            cwd: request.cwd.clone(),
            path: request.path.clone(),
            argv: request.argv.clone(),
            rule: reply.rule.clone(),
            message: reply.message.clone(),
            expires_ms: now_ms() + daemon.options.approval_timeout.as_millis() as u64,
        });
        match created {
            Ok(approval) => reply.id = Some(approval.id),
            Err(e) => {
                reply.decision = Decision::Deny;
                reply.message = Some(format!("denied: {e}"));
            }
        }
    }

    let record = AuditRecord {
        seq: 0,
        time: String::new(),
        kind: "decision".into(),
        session: session_id,
        agent,
        pid: Some(request.pid),
        hook: Some(request.hook.clone()),
        cwd: Some(request.cwd.clone()),
        path: Some(request.path.clone()),
        argv: Some(request.argv.clone()),
        mode,
        decision: reply.decision,
        action: Some(verdict.action.as_str().into()),
        would,
        rule: reply.rule.clone(),
        message: reply.message.clone(),
        approval: reply.id,
        resolver: None,
        prev: String::new(),
        hash: String::new(),
    };
    audit_or_deny(daemon, record, reply)
}

/// A request too large to evaluate: denied in enforce mode, never truncated and allowed.
pub fn oversized(daemon: &Daemon, peer: &Peer) -> ExecReply {
    let mode = daemon
        .sessions
        .for_process(peer.pid)
        .map(|(_, view)| view.mode)
        .unwrap_or_else(|| daemon.default_mode());
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
    };
    let record = AuditRecord {
        seq: 0,
        time: String::new(),
        kind: "decision".into(),
        session: None,
        agent: None,
        pid: peer.pid,
        hook: None,
        cwd: None,
        path: None,
        argv: None,
        mode,
        decision,
        action: None,
        would: (mode == Mode::Monitor).then_some(Decision::Deny),
        rule: None,
        message: Some(message),
        approval: None,
        resolver: None,
        prev: String::new(),
        hash: String::new(),
    };
    audit_or_deny(daemon, record, reply)
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
