//! Guarded sessions registered by `warden preload`. They are persisted so that a daemon
//! restart neither forgets a session's mode nor lets its processes call operator endpoints.
//!
//! Which session a process belongs to is found one of two ways, both from what the kernel
//! says about the process, never from what it claims:
//! - an isolated session (`Isolation::Namespaces`) has a pid namespace of its own, and every
//!   process in it or in a namespace below it (Codex's sandbox nests one) is in the session.
//!   A process cannot leave its pid namespace, so no double fork gets out;
//! - any session is also its root's process tree (`warden preload` is a child subreaper, so
//!   orphans stay in it), the only way for sessions without namespaces.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::persist;
use super::process::{parent_of, Identity};
use crate::procfs::{
    ancestry, is_self_or_ancestor, pid_namespace, pid_namespaces, proc_stat, Namespace,
};
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
    /// An isolated session's own pid namespace, and its init.
    #[serde(default)]
    namespace: Option<SessionNamespace>,
    /// The init while it lives. A namespace is told apart only among live ones (the kernel
    /// reuses the inode numbers of ended namespaces), so it counts as the session's only
    /// while its init is alive.
    #[serde(skip)]
    init: Option<Arc<Identity>>,
    /// The user's home directory as `warden preload` saw it (`None` for sessions saved
    /// before it was recorded, or registered without one).
    #[serde(default)]
    home: Option<Bytes>,
}

/// The pid namespace of an isolated session, read by the daemon from the init's `/proc`
/// entry when the session registers.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct SessionNamespace {
    pid_namespace: Namespace,
    init_pid: i32,
    /// Start time of the init, so a recycled pid is not taken for it after a restart.
    init_start: u64,
}

impl SessionNamespace {
    /// The init, if it is still the process that registered.
    fn identify(&self) -> Option<Arc<Identity>> {
        let (_, start) = proc_stat(self.init_pid)?;
        (start == self.init_start)
            .then(|| Identity::of(self.init_pid).map(Arc::new))
            .flatten()
    }
}

/// How a process was found to be in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    /// It runs in the session's pid namespace, or one below it.
    PidNamespace,
    /// It descends from the session's root.
    ProcessTree,
}

impl std::fmt::Display for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Membership::PidNamespace => "in its pid namespace",
            Membership::ProcessTree => "in its process tree",
        })
    }
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
    /// An isolated session names the init of a pid namespace of its own, below its root.
    #[error(
        "refused: session root {0} names no init of a pid namespace of its own below it (an \
         isolated session's init_pid)"
    )]
    NoNamespace(i32),
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
        for session in sessions.inner.lock().unwrap().values_mut() {
            session.init = session.namespace.and_then(|n| n.identify());
        }
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
        let namespace = match request.isolation {
            Isolation::None => None,
            Isolation::Namespaces => Some(self.namespace_of_init(request)?),
        };
        let init = namespace.and_then(|n| n.identify());
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
                namespace,
                init,
                home: request.home.clone(),
            },
        );
        self.parents.lock().unwrap().invalidate();
        self.save(&inner)?;
        Ok(id)
    }

    /// The pid namespace of an isolated session, from its init (a descendant of the root):
    /// one of its own, neither the daemon's nor a live session's.
    fn namespace_of_init(
        &self,
        request: &SessionRequest,
    ) -> Result<SessionNamespace, SessionError> {
        let refused = || SessionError::NoNamespace(request.root_pid);
        let init_pid = request.init_pid.ok_or_else(refused)?;
        if !is_self_or_ancestor(request.root_pid, init_pid) {
            return Err(refused());
        }
        let (_, init_start) = proc_stat(init_pid).ok_or(SessionError::NoSuchRoot(init_pid))?;
        let namespace = pid_namespace(init_pid).ok_or(SessionError::NoSuchRoot(init_pid))?;
        let taken = self.roots().iter().any(|r| r.owns(namespace));
        if Some(namespace) == daemon_namespace() || taken {
            return Err(refused());
        }
        Ok(SessionNamespace {
            pid_namespace: namespace,
            init_pid,
            init_start,
        })
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

    /// The session of the parent process `ppid`, from the cache, else by its pid namespace,
    /// else by walking its ancestry. The cache comes first even for isolated sessions: a
    /// process's namespace costs a `stat` of `/proc/<pid>/ns/pid`, slower than the cached
    /// answer, and every child of a parent in a session's namespace is in it too (a child
    /// can be in a namespace below, never outside). `None` when `ppid` is gone; `Some(None)`
    /// when it is in no session.
    fn parent_session(&self, roots: &[Root], ppid: i32, generation: u64) -> Option<Option<String>> {
        if let Some((parent, session)) = self.parents.lock().unwrap().by_parent.get(&ppid) {
            if parent.is(ppid) {
                return Some(session.clone());
            }
        }
        // The identity first: the walk then describes that process or a later one, and a
        // later one fails the check below, so the entry never pairs two different processes.
        let parent = Identity::of(ppid)?;
        let found = in_namespace(roots, ppid).or_else(|| walk_to_root(roots, ppid));
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
                namespace: s.namespace.map(|n| (n.pid_namespace, n.init_pid)),
                init: s.init.clone(),
            })
            .collect()
    }

    pub fn root_pid(&self, id: &str) -> Option<i32> {
        self.inner.lock().unwrap().get(id).map(|s| s.root_pid)
    }

    /// The id of a live session that holds `pid`, and how: by its pid namespace, or with
    /// `pid` in its root's process tree, always from a fresh walk (operator checks are rare
    /// and must see re-parenting at once).
    pub fn session_containing(&self, pid: i32) -> Option<(String, Membership)> {
        let roots = self.roots();
        if let Some(id) = in_namespace(&roots, pid) {
            return Some((id, Membership::PidNamespace));
        }
        walk_to_root(&roots, pid).map(|id| (id, Membership::ProcessTree))
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
    /// The session's pid namespace and its init's pid.
    namespace: Option<(Namespace, i32)>,
    init: Option<Arc<Identity>>,
}

impl Root {
    /// Whether `namespace` is this session's, whose init still lives.
    fn owns(&self, namespace: Namespace) -> bool {
        match (self.namespace, &self.init) {
            (Some((own, init_pid)), Some(init)) => own == namespace && init.is(init_pid),
            _ => false,
        }
    }
}

/// The daemon's own pid namespace, read once.
fn daemon_namespace() -> Option<Namespace> {
    static OWN: OnceLock<Option<Namespace>> = OnceLock::new();
    *OWN.get_or_init(|| pid_namespace(std::process::id() as i32))
}

/// The isolated session whose pid namespace holds `pid`, directly or below it. One `stat`
/// for a process in the daemon's own namespace or directly in a session's; the walk up
/// through nested namespaces only for the rest.
fn in_namespace(roots: &[Root], pid: i32) -> Option<String> {
    if roots.iter().all(|r| r.namespace.is_none()) {
        return None;
    }
    let own = daemon_namespace();
    let owner = |namespace: Namespace| roots.iter().find(|r| r.owns(namespace));
    let first = pid_namespace(pid)?;
    if Some(first) == own {
        return None;
    }
    let found = match owner(first) {
        Some(root) => Some(root),
        None => pid_namespaces(pid)
            .skip(1)
            .take_while(|namespace| Some(*namespace) != own)
            .find_map(owner),
    };
    found.map(|root| root.id.clone())
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
            init_pid: None,
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
        assert_eq!(
            sessions.session_containing(child_pid),
            Some((id.clone(), Membership::ProcessTree))
        );

        assert!(sessions.end(&id).unwrap());
        assert!(sessions.for_process(Some(child_pid)).is_none());
        for mut process in [child, other] {
            process.kill().unwrap();
            process.wait().unwrap();
        }
        let _ = std::fs::remove_dir_all(sessions.file.parent().unwrap());
    }
}
