//! Guarded sessions registered by `warden preload`. They are persisted so that a daemon
//! restart neither forgets a session's mode nor lets its processes call operator endpoints.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::persist;
use super::process::{parent_of, Identity};
use crate::procfs::{ancestry, is_self_or_ancestor, proc_stat};
use crate::wire::{Bytes, FailMode, Isolation, Mode, SessionInfo, SessionRequest};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Session {
    id: String,
    agent: String,
    root_pid: i32,
    /// Start time of the root process, so a recycled pid does not inherit the session.
    root_start: u64,
    cwd: Bytes,
    mode: Mode,
    fail: FailMode,
    #[serde(default)]
    isolation: Isolation,
    started_ms: u64,
    /// The user's home directory as `warden preload` saw it (`None` for sessions saved
    /// before it was recorded, or registered without one).
    #[serde(default)]
    home: Option<Bytes>,
}

/// What a preflight needs to know about its session.
#[derive(Clone, Debug)]
pub struct SessionView {
    pub agent: String,
    pub mode: Mode,
    /// The user's real home directory, when the session recorded one.
    pub home: Option<Bytes>,
}

pub struct Sessions {
    file: PathBuf,
    inner: Mutex<BTreeMap<String, Session>>,
    parents: Mutex<ParentCache>,
}

/// The session each recently seen parent process belongs to, so that the execs of one shell
/// cost a pidfd check instead of a walk up to the session root. Keyed by pid, each entry
/// holding the parent's [`Identity`], so a recycled pid is a miss; emptied whenever the
/// sessions change.
#[derive(Default)]
struct ParentCache {
    by_parent: HashMap<i32, (Identity, Option<String>)>,
    /// Bumped on every change of the sessions, so a walk that raced one is not stored.
    generation: u64,
}

/// Entries kept before the cache starts over (each may hold a pidfd).
const PARENT_CACHE_MAX: usize = 512;

impl ParentCache {
    fn invalidate(&mut self) {
        self.by_parent.clear();
        self.generation += 1;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("root pid {0} is not a running process")]
    NoSuchRoot(i32),
    /// A caller may only guard its own process tree: a root elsewhere (pid 1, say) would
    /// put unrelated processes in the session and could switch them to monitor mode.
    #[error("refused: the session root (pid {0}) must be the caller or one of its descendants")]
    OutsideCaller(i32),
    #[error("cannot save sessions to {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Sessions {
    /// Loads the persisted sessions, dropping those whose root process is gone.
    pub fn load(file: PathBuf) -> std::io::Result<Self> {
        let saved: Vec<Session> = persist::load(&file)?.unwrap_or_default();
        let sessions = Sessions {
            file,
            inner: Mutex::new(saved.into_iter().map(|s| (s.id.clone(), s)).collect()),
            parents: Mutex::default(),
        };
        sessions.prune();
        Ok(sessions)
    }

    /// Registers a session for `caller` (the peer's pid), whose tree must contain the root;
    /// a request without a mode of its own gets `default_mode` (the daemon's).
    pub fn register(
        &self,
        request: &SessionRequest,
        caller: Option<i32>,
        default_mode: Mode,
    ) -> Result<String, SessionError> {
        let (_, root_start) =
            proc_stat(request.root_pid).ok_or(SessionError::NoSuchRoot(request.root_pid))?;
        if !caller.is_some_and(|pid| is_self_or_ancestor(pid, request.root_pid)) {
            return Err(SessionError::OutsideCaller(request.root_pid));
        }
        let mut inner = self.inner.lock().unwrap();
        let id = fresh_id(&inner);
        inner.insert(
            id.clone(),
            Session {
                id: id.clone(),
                agent: request.agent.clone(),
                root_pid: request.root_pid,
                root_start,
                cwd: request.cwd.clone(),
                mode: request.mode.unwrap_or(default_mode),
                fail: request.fail,
                isolation: request.isolation,
                started_ms: super::audit::now_ms(),
                home: request.home.clone(),
            },
        );
        self.parents.lock().unwrap().invalidate();
        self.save(&inner)?;
        Ok(id)
    }

    /// Removes a session; `false` when it did not exist.
    pub fn end(&self, id: &str) -> Result<bool, SessionError> {
        let mut inner = self.inner.lock().unwrap();
        let existed = inner.remove(id).is_some();
        if existed {
            self.parents.lock().unwrap().invalidate();
            self.save(&inner)?;
        }
        Ok(existed)
    }

    /// The session a request really belongs to: the nearest registered root among the
    /// calling process and its ancestors. What the request claims does not matter, so a
    /// process cannot borrow another session's mode. The answer for the caller's parent is
    /// cached (see [`ParentCache`]).
    pub fn for_process(&self, pid: Option<i32>) -> Option<(String, SessionView)> {
        let pid = pid?;
        let generation = self.parents.lock().unwrap().generation;
        let roots = self.roots();
        if roots.is_empty() {
            return None;
        }
        // Only a caller whose pid is a root's can be that root (then its start time tells).
        let own = match roots.iter().any(|r| r.pid == pid) {
            true => proc_stat(pid).and_then(|(_, start)| find_root(&roots, pid, start)),
            false => None,
        };
        let found = match own {
            Some(id) => Some(id),
            None => match parent_of(pid)? {
                ppid if ppid <= 0 || ppid == pid => None,
                ppid => self.parent_session(&roots, ppid, generation)?,
            },
        };
        let id = found?;
        let view = roots.into_iter().find(|r| r.id == id)?.view;
        Some((id, view))
    }

    /// The session of the parent process `ppid`, from the cache or by walking its ancestry.
    /// `None` when `ppid` is gone; `Some(None)` when it is in no session.
    fn parent_session(&self, roots: &[Root], ppid: i32, generation: u64) -> Option<Option<String>> {
        if let Some((parent, session)) = self.parents.lock().unwrap().by_parent.get(&ppid) {
            if parent.is(ppid) {
                return Some(session.clone());
            }
        }
        // The identity first: the walk then describes that process or a later one, and a
        // later one fails the check below, so the entry never pairs two different processes.
        let parent = Identity::of(ppid)?;
        let found = walk_to_root(roots, ppid);
        if !parent.is(ppid) {
            return Some(found);
        }
        let mut cache = self.parents.lock().unwrap();
        if cache.generation == generation {
            if cache.by_parent.len() >= PARENT_CACHE_MAX {
                cache.by_parent.clear();
            }
            cache.by_parent.insert(ppid, (parent, found.clone()));
        }
        Some(found)
    }

    fn roots(&self) -> Vec<Root> {
        let inner = self.inner.lock().unwrap();
        inner
            .values()
            .map(|s| Root {
                pid: s.root_pid,
                start: s.root_start,
                id: s.id.clone(),
                view: SessionView {
                    agent: s.agent.clone(),
                    mode: s.mode,
                    home: s.home.clone(),
                },
            })
            .collect()
    }

    pub fn root_pid(&self, id: &str) -> Option<i32> {
        self.inner.lock().unwrap().get(id).map(|s| s.root_pid)
    }

    /// The id of a live session whose root is `pid` or one of its ancestors, always from a
    /// fresh walk (operator checks are rare and must see re-parenting at once).
    pub fn session_containing(&self, pid: i32) -> Option<String> {
        walk_to_root(&self.roots(), pid)
    }

    pub fn list(&self) -> Vec<SessionInfo> {
        let inner = self.inner.lock().unwrap();
        inner
            .values()
            .map(|s| SessionInfo {
                id: s.id.clone(),
                agent: s.agent.clone(),
                root_pid: s.root_pid,
                cwd: s.cwd.clone(),
                mode: s.mode,
                fail: s.fail,
                isolation: s.isolation,
                started_ms: s.started_ms,
            })
            .collect()
    }

    /// Whether a live session runs without isolation: its agent can write the policy file.
    pub fn any_without_isolation(&self) -> bool {
        let inner = self.inner.lock().unwrap();
        inner.values().any(|s| s.isolation == Isolation::None)
    }

    /// Forgets sessions whose root process has exited (or whose pid was reused).
    pub fn prune(&self) {
        let mut inner = self.inner.lock().unwrap();
        let before = inner.len();
        inner.retain(|_, s| proc_stat(s.root_pid).map(|(_, start)| start) == Some(s.root_start));
        if inner.len() != before {
            self.parents.lock().unwrap().invalidate();
            if let Err(e) = self.save(&inner) {
                eprintln!("warden serve: {e}");
            }
        }
    }

    fn save(&self, inner: &BTreeMap<String, Session>) -> Result<(), SessionError> {
        let list: Vec<&Session> = inner.values().collect();
        persist::save(&self.file, &list).map_err(|source| SessionError::Save {
            path: self.file.clone(),
            source,
        })
    }
}

/// A registered session root, copied out of the lock for a walk.
struct Root {
    pid: i32,
    start: u64,
    id: String,
    view: SessionView,
}

fn find_root(roots: &[Root], pid: i32, start: u64) -> Option<String> {
    roots
        .iter()
        .find(|r| r.pid == pid && r.start == start)
        .map(|r| r.id.clone())
}

/// The session of the nearest root among `pid` and its ancestors, reading `/proc`.
fn walk_to_root(roots: &[Root], pid: i32) -> Option<String> {
    if roots.is_empty() {
        return None;
    }
    ancestry(pid).find_map(|(current, start)| find_root(roots, current, start))
}

/// A short random id: 8 hex digits from the kernel's random source.
fn fresh_id(taken: &BTreeMap<String, Session>) -> String {
    loop {
        let mut raw = [0u8; 4];
        // SAFETY: getrandom writes at most raw.len() bytes into the buffer we own.
        let filled = unsafe { libc::getrandom(raw.as_mut_ptr().cast(), raw.len(), 0) };
        let value = if filled == raw.len() as isize {
            u32::from_ne_bytes(raw)
        } else {
            // getrandom cannot fail on supported kernels; the time is a harmless fallback.
            super::audit::now_ms() as u32
        };
        let id = format!("{value:08x}");
        if !taken.contains_key(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session file in a fresh directory of its own.
    fn sessions(name: &str) -> Sessions {
        let dir =
            std::env::temp_dir().join(format!("warden-sessions-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Sessions::load(dir.join("sessions.json")).unwrap()
    }

    fn request(root_pid: i32) -> SessionRequest {
        SessionRequest {
            agent: "test".into(),
            root_pid,
            cwd: Bytes(b"/".to_vec()),
            mode: Some(Mode::Monitor),
            fail: FailMode::Open,
            isolation: Isolation::None,
            home: Some(Bytes(b"/srv/dev".to_vec())),
        }
    }

    #[test]
    fn a_child_is_in_its_parents_session_until_the_session_ends() {
        let sessions = sessions("cache");
        let own = std::process::id() as i32;
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let other = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let child_pid = child.id() as i32;
        // A session elsewhere: the child's parent is cached as in no session...
        sessions
            .register(&request(other.id() as i32), Some(own), Mode::Enforce)
            .unwrap();
        assert!(sessions.for_process(Some(child_pid)).is_none());

        // ...which a new session around it must not outlive.
        let id = sessions
            .register(&request(own), Some(own), Mode::Enforce)
            .unwrap();
        // The first answer walks /proc, the second comes from the parent cache: both agree.
        for _ in 0..2 {
            let (found, view) = sessions
                .for_process(Some(child_pid))
                .expect("in the session");
            assert_eq!(found, id);
            assert_eq!(view.mode, Mode::Monitor);
            assert_eq!(view.home, Some(Bytes(b"/srv/dev".to_vec())));
        }
        assert_eq!(sessions.session_containing(child_pid), Some(id.clone()));

        assert!(sessions.end(&id).unwrap());
        assert!(sessions.for_process(Some(child_pid)).is_none());
        for mut process in [child, other] {
            process.kill().unwrap();
            process.wait().unwrap();
        }
        let _ = std::fs::remove_dir_all(sessions.file.parent().unwrap());
    }
}
