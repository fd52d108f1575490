//! Program starts decided a moment ago, so that each start is judged once, with one audit
//! record, however many observers see it.
//!
//! In a strict session a start can be seen up to three times: a hook asks before the exec,
//! the supervisor stops the process after it, and the library's load check asks when the new
//! program finds no proof of a check. The library's proof (`WARDEN_CHECKED`) cannot settle
//! the supervisor's question: it is an unkeyed hash any process can compute. The daemon's
//! word can. When it allows a start (or an approval of one is granted) in a traced session,
//! it passes on which process runs it, the program's file (taken when asked, so a path
//! swapped afterwards does not match) and the argv ([`starts::Start`]) to the observer that
//! comes next:
//! - after a hook, the supervisor: the daemon tells it at once, in a datagram to the socket
//!   the session registered (launch/strict/notes.rs), written before the hook's reply leaves,
//!   so the supervisor has it when the exec stops: no question, no round trip;
//! - after the supervisor, the load check; and the supervisor too when the datagram could not
//!   be sent: the daemon remembers the start, and answers that observer's question about
//!   exactly that start from memory, once.
//!
//! Everything else is judged as usual; a miss costs a second judgement, never a start nobody
//! judged.

use std::collections::{HashMap, VecDeque};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::subject::{Asks, Subject};
use crate::starts::{Exec, FileId, Runner, Start};
use crate::wire::Bytes;

/// How long a remembered start waits for its next observer: the exec follows the hook's
/// answer at once, and the load check runs before `main`.
const LIFETIME: Duration = Duration::from_secs(10);

/// Most starts remembered at once (most are confirmed at once; a static program's start
/// is never asked about again and simply ages out).
const CAPACITY: usize = 1024;

/// Who may confirm a decided start next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Observer {
    Supervisor,
    LoadCheck,
}

/// A start on its way to its next observer.
#[derive(Clone, Debug)]
struct Passed {
    start: Start,
    next: Observer,
    /// The supervisor's socket (an abstract address), when the next observer is it.
    supervisor: Option<String>,
}

/// A start held in memory for its next observer.
struct Remembered {
    start: Start,
    next: Observer,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    starts: VecDeque<Remembered>,
    /// What granting a pending approval will pass on, by approval id.
    offers: HashMap<u64, Passed>,
}

pub struct Decided {
    inner: Mutex<Inner>,
    /// Unbound: it sends to each supervisor's socket, whose kernel-attached credentials
    /// tell the supervisor the note is the daemon's. `None` when no socket could be made.
    teller: Option<UnixDatagram>,
}

impl Default for Decided {
    fn default() -> Self {
        let teller = UnixDatagram::unbound().ok();
        if let Some(teller) = &teller {
            let _ = teller.set_nonblocking(true);
        }
        Decided {
            inner: Mutex::default(),
            teller,
        }
    }
}

/// A start ready to be passed on (its file taken when the question was asked).
pub struct PreparedStart(Passed);

impl Decided {
    /// What to pass on when `subject`'s question about `path` and `argv` is allowed in a
    /// traced session whose supervisor listens at `supervisor`; `None` when no later
    /// observer will ask (the load check is the last).
    pub fn prepare(
        subject: &Subject,
        path: &Bytes,
        argv: &[Bytes],
        supervisor: Option<&str>,
    ) -> Option<PreparedStart> {
        let (runner, next, file) = match *subject {
            Subject::Caller {
                pid: Some(pid),
                asks,
            } => {
                let runner = match asks {
                    Asks::InPlace => Runner::Process(pid),
                    Asks::InChild => Runner::ChildOf(pid),
                    Asks::Started => return None,
                };
                (runner, Observer::Supervisor, FileId::seen_by(pid, &path.0)?)
            }
            Subject::Caller { pid: None, .. } => return None,
            Subject::Tracee { pid } => (
                Runner::Process(pid),
                Observer::LoadCheck,
                FileId::running(pid)?,
            ),
        };
        Some(PreparedStart(Passed {
            start: Start {
                runner,
                file,
                argv: argv.to_vec(),
            },
            next,
            supervisor: supervisor
                .filter(|_| next == Observer::Supervisor)
                .map(str::to_string),
        }))
    }

    /// Passes on an allowed start.
    pub fn pass(&self, start: PreparedStart) {
        self.pass_on(start.0);
    }

    /// Holds what approving approval `id` will pass on.
    pub fn offer(&self, id: u64, start: PreparedStart) {
        self.inner.lock().unwrap().offers.insert(id, start.0);
    }

    /// Approval `id` was settled: approved, its start is passed on; otherwise forgotten.
    pub fn settle(&self, id: u64, approved: bool) {
        let offered = self.inner.lock().unwrap().offers.remove(&id);
        if let Some(passed) = offered.filter(|_| approved) {
            self.pass_on(passed);
        }
    }

    /// Tells the supervisor, or else remembers.
    fn pass_on(&self, passed: Passed) {
        if let Some(supervisor) = &passed.supervisor {
            if self.tell(supervisor, &passed.start) {
                return;
            }
        }
        self.inner.lock().unwrap().remember(passed);
    }

    /// Sends `start` to the supervisor listening at the abstract address `supervisor`,
    /// without waiting: `false` when it could not be sent (a full queue, a gone supervisor,
    /// an argv too large for one datagram).
    fn tell(&self, supervisor: &str, start: &Start) -> bool {
        use std::os::linux::net::SocketAddrExt;
        let Some(teller) = &self.teller else {
            return false;
        };
        let Ok(address) = SocketAddr::from_abstract_name(supervisor.as_bytes()) else {
            return false;
        };
        let note = serde_json::to_vec(start).expect("a start always serialises");
        teller.send_to_addr(&note, &address).is_ok()
    }

    /// Whether `subject`'s question about the program it runs now (`argv`) is about a start
    /// decided a moment ago. A confirmed start is forgotten: after the supervisor, only the
    /// load check could ask, and a start through a hook carries the library's proof.
    pub fn confirm(&self, subject: &Subject, argv: &[Bytes]) -> bool {
        let (pid, observer) = match *subject {
            Subject::Tracee { pid } => (pid, Observer::Supervisor),
            Subject::Caller {
                pid: Some(pid),
                asks: Asks::Started,
            } => (pid, Observer::LoadCheck),
            Subject::Caller { .. } => return false,
        };
        let waiting = {
            let inner = self.inner.lock().unwrap();
            inner.starts.iter().any(|held| held.next == observer)
        };
        if !waiting {
            return false;
        }
        // /proc is read outside the lock: other preflights need not wait for it.
        let Some(exec) = Exec::of(pid, argv) else {
            return false;
        };
        let mut inner = self.inner.lock().unwrap();
        let now = Instant::now();
        let found = inner
            .starts
            .iter()
            .position(|held| held.next == observer && held.expires > now && exec.is(&held.start));
        found.and_then(|index| inner.starts.remove(index)).is_some()
    }
}

impl Inner {
    fn remember(&mut self, passed: Passed) {
        let now = Instant::now();
        while self.starts.front().is_some_and(|s| s.expires <= now) || self.starts.len() >= CAPACITY
        {
            self.starts.pop_front();
        }
        self.starts.push_back(Remembered {
            start: passed.start,
            next: passed.next,
            expires: now + LIFETIME,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_argv() -> Vec<Bytes> {
        std::env::args().map(|a| Bytes::from(a.as_str())).collect()
    }

    /// A start of this very process, remembered for `next`.
    fn remembered(runner: Runner, next: Observer) -> Decided {
        let own = std::process::id() as i32;
        let decided = Decided::default();
        decided.inner.lock().unwrap().remember(Passed {
            start: Start {
                runner,
                file: FileId::running(own).unwrap(),
                argv: own_argv(),
            },
            next,
            supervisor: None,
        });
        decided
    }

    #[test]
    fn a_start_is_confirmed_once_and_only_by_the_observer_that_comes_next() {
        let own = std::process::id() as i32;
        let supervisor = Subject::Tracee { pid: own };
        let load = Subject::Caller {
            pid: Some(own),
            asks: Asks::Started,
        };
        let hook = Subject::Caller {
            pid: Some(own),
            asks: Asks::InPlace,
        };
        let argv = own_argv();
        let decided = remembered(Runner::Process(own), Observer::Supervisor);
        assert!(!decided.confirm(&load, &argv), "the supervisor comes first");
        assert!(!decided.confirm(&hook, &argv), "a hook asks before a start");
        let other: Vec<Bytes> = argv.iter().cloned().chain([Bytes::from("x")]).collect();
        assert!(!decided.confirm(&supervisor, &other), "another argv");
        assert!(decided.confirm(&supervisor, &argv));
        assert!(!decided.confirm(&supervisor, &argv), "spent");

        let expired = remembered(Runner::Process(own), Observer::Supervisor);
        expired.inner.lock().unwrap().starts[0].expires = Instant::now();
        assert!(!expired.confirm(&supervisor, &argv));

        let parent = std::os::unix::process::parent_id() as i32;
        let child = remembered(Runner::ChildOf(parent), Observer::Supervisor);
        assert!(child.confirm(&supervisor, &argv), "spawned by its parent");
        let loaded = remembered(Runner::Process(own), Observer::LoadCheck);
        assert!(loaded.confirm(&load, &argv));
    }

    #[test]
    fn an_approval_passes_its_start_on_only_when_approved() {
        let own = std::process::id() as i32;
        let tracee = Subject::Tracee { pid: own };
        let argv = own_argv();
        let decided = Decided::default();
        let prepared = || Decided::prepare(&tracee, &Bytes::default(), &argv, None).unwrap();
        decided.offer(1, prepared());
        decided.offer(2, prepared());
        decided.settle(1, false);
        assert!(decided.inner.lock().unwrap().starts.is_empty());
        decided.settle(2, true);
        let inner = decided.inner.lock().unwrap();
        assert_eq!(inner.starts.len(), 1);
        assert_eq!(inner.starts[0].next, Observer::LoadCheck);
        assert!(inner.offers.is_empty());
    }

    #[test]
    fn a_start_the_supervisor_is_told_is_not_remembered_and_one_it_is_not_is() {
        use std::os::linux::net::SocketAddrExt;
        let own = std::process::id() as i32;
        let hook = Subject::Caller {
            pid: Some(own),
            asks: Asks::InPlace,
        };
        let name = format!("warden-test-decided-{own}");
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        let exe = std::env::current_exe().unwrap();
        let path = Bytes(exe.into_os_string().into_encoded_bytes());
        let argv = own_argv();
        let decided = Decided::default();
        decided.pass(Decided::prepare(&hook, &path, &argv, Some(&name)).unwrap());
        assert!(decided.inner.lock().unwrap().starts.is_empty());
        let mut note = vec![0u8; 1 << 16];
        let len = listener.recv(&mut note).unwrap();
        let told: Start = serde_json::from_slice(&note[..len]).unwrap();
        assert_eq!(
            (told.runner, told.argv),
            (Runner::Process(own), argv.clone())
        );

        drop(listener);
        decided.pass(Decided::prepare(&hook, &path, &argv, Some(&name)).unwrap());
        assert_eq!(
            decided.inner.lock().unwrap().starts.len(),
            1,
            "nobody listens"
        );
    }

    #[test]
    fn the_memory_is_bounded() {
        let decided = remembered(Runner::Process(1), Observer::Supervisor);
        let start = decided.inner.lock().unwrap().starts[0].start.clone();
        for _ in 0..CAPACITY + 10 {
            decided.inner.lock().unwrap().remember(Passed {
                start: start.clone(),
                next: Observer::Supervisor,
                supervisor: None,
            });
        }
        assert_eq!(decided.inner.lock().unwrap().starts.len(), CAPACITY);
    }
}
