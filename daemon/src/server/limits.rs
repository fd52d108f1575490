//! How many connections a caller may hold, so that one agent cannot starve the others.
//!
//! Every connection (socket or door) is counted against its caller, found once when it
//! arrives: the session its process belongs to, or, outside every session, the process
//! itself. A caller holds at most its share, well below the daemon's own cap; beyond it, it
//! is refused with a reply saying so (never a silent close, which a library outside any
//! session would take for an absent daemon and let programs run). The last few slots under
//! the cap are kept for the operator: a peer outside every session that passes the operator
//! check, so `warden status` and `warden approve` are answered even while many callers
//! flood at once.
//!
//! A slot is given back when the connection ends; the HTTP server closes a connection whose
//! request head has not arrived within its header timeout, so idle connections do not keep
//! slots for long either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Who a connection is counted against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A process inside this guarded session.
    Session(String),
    /// A process outside every session.
    Process(i32),
    /// A peer whose process the kernel did not name.
    Unknown,
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Caller::Session(id) => write!(f, "session {id}"),
            Caller::Process(pid) => write!(f, "process {pid}"),
            Caller::Unknown => f.write_str("callers of unknown pid"),
        }
    }
}

pub struct Limits {
    /// Connections open at once, over all callers.
    total: usize,
    /// Connections one caller may hold.
    per_caller: usize,
    /// Slots under `total` that only the operator gets.
    reserve: usize,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    total: usize,
    by_caller: HashMap<Caller, usize>,
}

/// Why a connection was refused: the reason a refused caller is told.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The caller holds its share already.
    Caller { caller: Caller, limit: usize },
    /// The daemon holds all it serves (or all but the operator's reserve).
    Daemon { limit: usize },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Caller { caller, limit } => write!(
                f,
                "refused: {caller} holds {limit} connections to the warden daemon, its limit; \
                 finish or close some first"
            ),
            Refusal::Daemon { limit } => write!(
                f,
                "refused: the warden daemon serves {limit} connections, its limit; try again \
                 when some have ended"
            ),
        }
    }
}

impl Limits {
    /// `total` connections at once, `per_caller` of them for one caller; a thirty-second of
    /// the total (at least one) is kept for the operator.
    pub fn new(total: usize, per_caller: usize) -> Limits {
        Limits {
            total,
            per_caller: per_caller.clamp(1, total),
            reserve: (total / 32).max(1).min(total - 1),
            held: Mutex::default(),
        }
    }

    /// A slot for one connection of `caller`, or why not. `is_operator` is asked only when
    /// nothing but the operator's reserve is left.
    pub fn admit(
        self: &Arc<Self>,
        caller: Caller,
        is_operator: impl FnOnce() -> bool,
    ) -> Result<Slot, Refusal> {
        let mut held = self.held.lock().unwrap();
        if held.total >= self.total {
            return Err(Refusal::Daemon { limit: self.total });
        }
        let mine = held.by_caller.get(&caller).copied().unwrap_or(0);
        if mine >= self.per_caller {
            return Err(Refusal::Caller {
                caller,
                limit: self.per_caller,
            });
        }
        if held.total >= self.total - self.reserve {
            let outside_sessions = !matches!(caller, Caller::Session(_));
            // The check reads /proc: not under the lock.
            drop(held);
            if !(outside_sessions && is_operator()) {
                return Err(Refusal::Daemon {
                    limit: self.total - self.reserve,
                });
            }
            held = self.held.lock().unwrap();
            if held.total >= self.total {
                return Err(Refusal::Daemon { limit: self.total });
            }
        }
        held.total += 1;
        *held.by_caller.entry(caller.clone()).or_insert(0) += 1;
        Ok(Slot {
            limits: self.clone(),
            caller,
            others: mine,
        })
    }

    fn release(&self, caller: &Caller) {
        let mut held = self.held.lock().unwrap();
        held.total -= 1;
        if let Some(count) = held.by_caller.get_mut(caller) {
            *count -= 1;
            if *count == 0 {
                held.by_caller.remove(caller);
            }
        }
    }
}

/// One admitted connection; its slot is given back on drop.
pub struct Slot {
    limits: Arc<Limits>,
    caller: Caller,
    /// Connections its caller held already when this one came.
    others: usize,
}

impl Slot {
    /// How many other connections its caller held when this one was admitted.
    pub fn others(&self) -> usize {
        self.others
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.limits.release(&self.caller);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str) -> Caller {
        Caller::Session(id.to_string())
    }

    #[test]
    fn a_caller_is_refused_beyond_its_share_and_others_are_not() {
        let limits = Arc::new(Limits::new(64, 4));
        let flood: Vec<Slot> = (0..4)
            .map(|_| limits.admit(session("a"), || false).unwrap())
            .collect();
        assert_eq!(flood[3].others(), 3);
        assert_eq!(
            limits.admit(session("a"), || false).err(),
            Some(Refusal::Caller {
                caller: session("a"),
                limit: 4
            })
        );
        assert!(limits.admit(session("b"), || false).is_ok());
        assert!(limits.admit(Caller::Process(7), || false).is_ok());
        drop(flood);
        assert!(
            limits.admit(session("a"), || false).is_ok(),
            "slots come back"
        );
    }

    #[test]
    fn the_last_slots_are_kept_for_the_operator() {
        let limits = Arc::new(Limits::new(64, 64));
        assert_eq!(limits.reserve, 2);
        let _held: Vec<Slot> = (0..62)
            .map(|n| limits.admit(session(&n.to_string()), || false).unwrap())
            .collect();
        assert_eq!(
            limits.admit(session("x"), || true).err(),
            Some(Refusal::Daemon { limit: 62 }),
            "a session never gets the reserve"
        );
        assert!(limits.admit(Caller::Process(9), || false).is_err());
        let operator: Vec<Slot> = (0..2)
            .map(|_| limits.admit(Caller::Process(1), || true).unwrap())
            .collect();
        assert_eq!(
            limits.admit(Caller::Process(1), || true).err(),
            Some(Refusal::Daemon { limit: 64 })
        );
        drop(operator);
        assert!(limits.admit(Caller::Process(1), || true).is_ok());
    }

    #[test]
    fn a_refusal_says_who_and_what_to_do() {
        let refusal = Refusal::Caller {
            caller: session("1a2b3c4d"),
            limit: 128,
        };
        assert_eq!(
            refusal.to_string(),
            "refused: session 1a2b3c4d holds 128 connections to the warden daemon, its limit; \
             finish or close some first"
        );
    }
}
