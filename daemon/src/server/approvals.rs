//! Approvals: requests the policy sends to a person. Persisted in `pending.json` (atomic
//! temp + rename) so a daemon restart keeps them, ids are never reused, and a waiter that
//! reconnects after a restart still gets its answer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::audit::now_ms;
use super::persist;
use crate::wire::{Approval, ApprovalState};

/// How long a resolved approval is remembered for a waiter that reconnects late.
const KEEP_RESOLVED_MS: u64 = 15 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("too many approvals pending ({0}); resolve some with \"warden pending\" first")]
    Full(usize),
    /// One session may hold half of the approvals that can wait, so that an agent asking
    /// without end cannot keep every other session from asking.
    #[error(
        "too many approvals pending in session {session} ({pending}, its share of \
         --max-pending); resolve some with \"warden pending\" first"
    )]
    SessionFull { session: String, pending: usize },
    #[error("no approval #{0}")]
    NotFound(u64),
    #[error("approval #{0} is already {1}")]
    AlreadyResolved(u64, String),
    #[error("cannot save approvals to {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Default, Serialize, Deserialize)]
struct Saved {
    next_id: u64,
    approvals: Vec<Approval>,
}

struct Entry {
    approval: Approval,
    changed: watch::Sender<ApprovalState>,
    waiters: usize,
}

struct Inner {
    next_id: u64,
    entries: BTreeMap<u64, Entry>,
}

pub struct Approvals {
    file: PathBuf,
    cap: usize,
    inner: Mutex<Inner>,
}

/// The part of an approval that its creator supplies.
pub struct NewApproval {
    pub session: Option<String>,
    pub agent: Option<String>,
    pub pid: i32,
    pub cwd: crate::wire::Bytes,
    pub path: crate::wire::Bytes,
    pub argv: Vec<crate::wire::Bytes>,
    pub rule: Option<String>,
    pub message: Option<String>,
    pub command: Option<Vec<crate::wire::Bytes>>,
    pub expires_ms: u64,
}

fn entry(approval: Approval) -> Entry {
    let (changed, _) = watch::channel(approval.state);
    Entry {
        approval,
        changed,
        waiters: 0,
    }
}

impl Approvals {
    pub fn load(file: PathBuf, cap: usize) -> std::io::Result<Self> {
        let saved: Saved = persist::load(&file)?.unwrap_or_default();
        let entries = saved
            .approvals
            .into_iter()
            .map(|a| (a.id, entry(Approval { waiters: 0, ..a })))
            .collect();
        Ok(Approvals {
            file,
            cap,
            inner: Mutex::new(Inner {
                next_id: saved.next_id.max(1),
                entries,
            }),
        })
    }

    pub fn create(&self, new: NewApproval) -> Result<Approval, ApprovalError> {
        let mut inner = self.inner.lock().unwrap();
        let pending = count_pending(&inner);
        if pending >= self.cap {
            return Err(ApprovalError::Full(pending));
        }
        if let Some(session) = &new.session {
            let own = count_pending_in(&inner, session);
            if own >= self.session_share() {
                return Err(ApprovalError::SessionFull {
                    session: session.clone(),
                    pending: own,
                });
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let approval = Approval {
            id,
            state: ApprovalState::Pending,
            created_ms: now_ms(),
            expires_ms: new.expires_ms,
            session: new.session,
            agent: new.agent,
            pid: new.pid,
            cwd: new.cwd,
            path: new.path,
            argv: new.argv,
            rule: new.rule,
            message: new.message,
            command: new.command,
            resolver: None,
            resolved_ms: None,
            waiters: 0,
        };
        inner.entries.insert(id, entry(approval.clone()));
        self.save(&mut inner)?;
        Ok(approval)
    }

    /// How many approvals one session may have pending: half the cap (at least one).
    fn session_share(&self) -> usize {
        (self.cap / 2).max(1)
    }

    pub fn get(&self, id: u64) -> Option<Approval> {
        let inner = self.inner.lock().unwrap();
        inner.entries.get(&id).map(|e| e.approval.clone())
    }

    pub fn pending(&self) -> Vec<Approval> {
        let inner = self.inner.lock().unwrap();
        pending_entries(&inner)
            .map(|e| Approval {
                waiters: e.waiters,
                ..e.approval.clone()
            })
            .collect()
    }

    pub fn pending_count(&self) -> usize {
        count_pending(&self.inner.lock().unwrap())
    }

    /// Pending approvals whose deadline has passed.
    pub fn overdue(&self, now: u64) -> Vec<u64> {
        let inner = self.inner.lock().unwrap();
        inner
            .entries
            .values()
            .filter(|e| e.approval.state == ApprovalState::Pending && e.approval.expires_ms <= now)
            .map(|e| e.approval.id)
            .collect()
    }

    /// Settles a pending approval and wakes its waiters.
    pub fn resolve(
        &self,
        id: u64,
        state: ApprovalState,
        resolver: String,
    ) -> Result<Approval, ApprovalError> {
        let mut inner = self.inner.lock().unwrap();
        let entry = inner
            .entries
            .get_mut(&id)
            .ok_or(ApprovalError::NotFound(id))?;
        if entry.approval.state != ApprovalState::Pending {
            let current = serde_json::to_value(entry.approval.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(ApprovalError::AlreadyResolved(id, current));
        }
        entry.approval.state = state;
        entry.approval.resolver = Some(resolver);
        entry.approval.resolved_ms = Some(now_ms());
        let approval = entry.approval.clone();
        entry.changed.send_replace(state);
        self.save(&mut inner)?;
        Ok(approval)
    }

    /// Registers a waiter: its receiver sees every state change.
    pub fn wait(&self, id: u64) -> Option<watch::Receiver<ApprovalState>> {
        let mut inner = self.inner.lock().unwrap();
        let entry = inner.entries.get_mut(&id)?;
        entry.waiters += 1;
        Some(entry.changed.subscribe())
    }

    /// A waiter went away; `true` when it was the last one and the approval is still
    /// pending (so nobody is left to act on the answer).
    pub fn waiter_left(&self, id: u64) -> bool {
        let mut inner = self.inner.lock().unwrap();
        let Some(entry) = inner.entries.get_mut(&id) else {
            return false;
        };
        entry.waiters = entry.waiters.saturating_sub(1);
        entry.waiters == 0 && entry.approval.state == ApprovalState::Pending
    }

    fn save(&self, inner: &mut Inner) -> Result<(), ApprovalError> {
        let now = now_ms();
        inner.entries.retain(|_, e| match e.approval.resolved_ms {
            Some(resolved) => now.saturating_sub(resolved) < KEEP_RESOLVED_MS,
            None => true,
        });
        let saved = Saved {
            next_id: inner.next_id,
            approvals: inner.entries.values().map(|e| e.approval.clone()).collect(),
        };
        persist::save(&self.file, &saved).map_err(|source| ApprovalError::Save {
            path: self.file.clone(),
            source,
        })
    }
}

fn count_pending(inner: &Inner) -> usize {
    pending_entries(inner).count()
}

fn count_pending_in(inner: &Inner, session: &str) -> usize {
    pending_entries(inner)
        .filter(|e| e.approval.session.as_deref() == Some(session))
        .count()
}

fn pending_entries(inner: &Inner) -> impl Iterator<Item = &Entry> {
    inner
        .entries
        .values()
        .filter(|e| e.approval.state == ApprovalState::Pending)
}
