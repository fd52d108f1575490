//! Program starts decided a moment ago, so that each start is judged once, with one audit
//! record, however many observers see it.
//!
//! In a strict session a start can be seen up to three times: a hook asks before the exec,
//! the supervisor asks at the exec stop, and the library's load check asks when the new
//! program finds no proof of a check. The library's proof (`WARDEN_CHECKED`) cannot settle
//! the supervisor's question: it is an unkeyed hash any process can compute. The daemon's
//! own memory can. When it allows a start (or an approval of one is granted) in a traced
//! session, it remembers which process runs it, the file (device and inode, taken when
//! asked, so a path swapped afterwards does not match) and the argv. The next observer's
//! question about exactly that start is then answered from memory: once, and only by the
//! observer that comes next (the supervisor after a hook, the load check after the
//! supervisor). Everything else is judged as usual; a miss costs a second judgement, never
//! a start nobody judged.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::process::parent_of;
use super::subject::{Asks, Subject};
use crate::wire::Bytes;

/// How long a remembered start waits for its next observer: the exec follows the hook's
/// answer at once, and the load check runs before `main`.
const LIFETIME: Duration = Duration::from_secs(10);

/// Most starts remembered at once (most are confirmed at once; a static program's start
/// is never asked about again and simply ages out).
const CAPACITY: usize = 1024;

/// A file, told apart from another at the same path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(path: &str) -> Option<FileId> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// The program process `pid` runs now (its `exe` link: the kernel's word).
    fn running(pid: i32) -> Option<FileId> {
        FileId::of(&format!("/proc/{pid}/exe"))
    }

    /// The file at `path` as process `pid` sees it (through its own root and working
    /// directory, which may be another mount namespace's).
    fn seen_by(pid: i32, path: &[u8]) -> Option<FileId> {
        let path = std::str::from_utf8(path).ok()?;
        match path.strip_prefix('/') {
            Some(absolute) => FileId::of(&format!("/proc/{pid}/root/{absolute}")),
            None => FileId::of(&format!("/proc/{pid}/cwd/{path}")),
        }
    }
}

/// Which process will run a remembered start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    Process(i32),
    ChildOf(i32),
}

/// Who may confirm a remembered start next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Observer {
    Supervisor,
    LoadCheck,
}

#[derive(Clone, Debug)]
struct Start {
    runner: Runner,
    next: Observer,
    file: FileId,
    argv: Vec<Bytes>,
    expires: Instant,
}

#[derive(Default)]
struct Inner {
    starts: VecDeque<Start>,
    /// What granting a pending approval will remember, by approval id.
    offers: HashMap<u64, Start>,
}

#[derive(Default)]
pub struct Decided {
    inner: Mutex<Inner>,
}

/// What the kernel shows of a start, for [`same_start`].
struct Seen<'a> {
    file: FileId,
    argv: &'a [Bytes],
}

impl Decided {
    /// What to remember when `subject`'s question about `path` and `argv` is allowed;
    /// `None` when no later observer will ask (the load check is the last).
    pub fn prepare(subject: &Subject, path: &Bytes, argv: &[Bytes]) -> Option<PreparedStart> {
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
        Some(PreparedStart(Start {
            runner,
            next,
            file,
            argv: argv.to_vec(),
            expires: Instant::now(),
        }))
    }

    /// Remembers an allowed start.
    pub fn remember(&self, start: PreparedStart) {
        let mut inner = self.inner.lock().unwrap();
        inner.push(start.0);
    }

    /// Remembers what approving approval `id` will allow.
    pub fn offer(&self, id: u64, start: PreparedStart) {
        self.inner.lock().unwrap().offers.insert(id, start.0);
    }

    /// Approval `id` was settled: approved, its start is remembered; otherwise forgotten.
    pub fn settle(&self, id: u64, approved: bool) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(start) = inner.offers.remove(&id) {
            if approved {
                inner.push(start);
            }
        }
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
            inner.starts.iter().any(|start| start.next == observer)
        };
        if !waiting {
            return false;
        }
        // /proc is read outside the lock: other preflights need not wait for it.
        let Some(file) = FileId::running(pid) else {
            return false;
        };
        let parent = std::cell::OnceCell::new();
        let runs = |runner: Runner| match runner {
            Runner::Process(runner) => runner == pid,
            Runner::ChildOf(runner) => *parent.get_or_init(|| parent_of(pid)) == Some(runner),
        };
        let seen = Seen { file, argv };
        let script = |name: &[u8]| FileId::seen_by(pid, name);
        let mut inner = self.inner.lock().unwrap();
        let now = Instant::now();
        let found = inner.starts.iter().position(|start| {
            start.next == observer
                && start.expires > now
                && runs(start.runner)
                && same_start(start, &seen, script)
        });
        found.and_then(|index| inner.starts.remove(index)).is_some()
    }
}

/// A start ready to be remembered (its file taken when the question was asked).
pub struct PreparedStart(Start);

impl Inner {
    fn push(&mut self, mut start: Start) {
        let now = Instant::now();
        start.expires = now + LIFETIME;
        while self.starts.front().is_some_and(|s| s.expires <= now) || self.starts.len() >= CAPACITY
        {
            self.starts.pop_front();
        }
        self.starts.push_back(start);
    }
}

/// Whether the program the kernel shows (`seen`) is the start that was asked about. A binary
/// runs with exactly the argv it was given. A script runs its interpreter with the script's
/// path (as given to execve) before the judged arguments after argv[0]; `file_at` finds the
/// file such a path names.
fn same_start(asked: &Start, seen: &Seen, file_at: impl Fn(&[u8]) -> Option<FileId>) -> bool {
    if asked.file == seen.file {
        return asked.argv == seen.argv;
    }
    let Some(tail) = asked.argv.get(1..) else {
        return false;
    };
    let Some(path_at) = seen.argv.len().checked_sub(tail.len() + 1) else {
        return false;
    };
    path_at >= 1
        && seen.argv[path_at + 1..] == *tail
        && file_at(&seen.argv[path_at].0) == Some(asked.file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::from(*s)).collect()
    }

    const PROGRAM: FileId = FileId { dev: 1, ino: 10 };
    const SCRIPT: FileId = FileId { dev: 1, ino: 20 };
    const SHELL: FileId = FileId { dev: 1, ino: 30 };

    fn asked(file: FileId, items: &[&str]) -> Start {
        Start {
            runner: Runner::Process(7),
            next: Observer::Supervisor,
            file,
            argv: argv(items),
            expires: Instant::now() + LIFETIME,
        }
    }

    fn no_file(_: &[u8]) -> Option<FileId> {
        None
    }

    fn seen(file: FileId, argv: &[Bytes]) -> Seen<'_> {
        Seen { file, argv }
    }

    #[test]
    fn a_binary_matches_only_its_exact_argv() {
        let start = asked(PROGRAM, &["ls", "-l", "x"]);
        let same = argv(&["ls", "-l", "x"]);
        assert!(same_start(&start, &seen(PROGRAM, &same), no_file));
        for other in [&["ls", "-l"][..], &["ls", "-l", "y"], &["dir", "-l", "x"]] {
            let other = argv(other);
            assert!(
                !same_start(&start, &seen(PROGRAM, &other), no_file),
                "{other:?}"
            );
        }
        assert!(!same_start(&start, &seen(SHELL, &same), no_file));
    }

    #[test]
    fn a_script_matches_through_its_path_before_the_judged_arguments() {
        let start = asked(SCRIPT, &["build.sh", "a b", "c"]);
        let script_at = |name: &[u8]| (name == b"./build.sh").then_some(SCRIPT);
        let interpreted = argv(&["/bin/sh", "-e", "./build.sh", "a b", "c"]);
        assert!(same_start(&start, &seen(SHELL, &interpreted), script_at));
        // Another script, other arguments, or no script path at all: judged again.
        let cases = [
            &["/bin/sh", "./other.sh", "a b", "c"][..],
            &["/bin/sh", "./build.sh", "a b", "d"],
            &["/bin/sh", "./build.sh", "c"],
            &["./build.sh", "a b", "c"],
        ];
        for other in cases {
            let other = argv(other);
            assert!(
                !same_start(&start, &seen(SHELL, &other), script_at),
                "{other:?}"
            );
        }
    }

    fn decided_with(start: Start) -> Decided {
        let decided = Decided::default();
        decided.inner.lock().unwrap().push(start);
        decided
    }

    #[test]
    fn a_start_is_confirmed_once_and_only_by_the_observer_that_comes_next() {
        let own = std::process::id() as i32;
        let running = FileId::running(own).unwrap();
        let my_argv: Vec<Bytes> = std::env::args().map(|a| Bytes::from(a.as_str())).collect();
        let start = Start {
            runner: Runner::Process(own),
            ..asked(running, &[])
        };
        let supervisor = Subject::Tracee { pid: own };
        let load = Subject::Caller {
            pid: Some(own),
            asks: Asks::Started,
        };
        let hook = Subject::Caller {
            pid: Some(own),
            asks: Asks::InPlace,
        };
        let decided = decided_with(Start {
            argv: my_argv.clone(),
            ..start.clone()
        });
        assert!(
            !decided.confirm(&load, &my_argv),
            "the supervisor comes first"
        );
        assert!(
            !decided.confirm(&hook, &my_argv),
            "a hook asks before a start"
        );
        let other: Vec<Bytes> = my_argv.iter().cloned().chain([Bytes::from("x")]).collect();
        assert!(!decided.confirm(&supervisor, &other), "another argv");
        assert!(decided.confirm(&supervisor, &my_argv));
        assert!(!decided.confirm(&supervisor, &my_argv), "spent");

        let expired = decided_with(Start {
            argv: my_argv.clone(),
            ..start.clone()
        });
        expired.inner.lock().unwrap().starts[0].expires = Instant::now();
        assert!(!expired.confirm(&supervisor, &my_argv));

        let child = decided_with(Start {
            runner: Runner::ChildOf(std::os::unix::process::parent_id() as i32),
            argv: my_argv.clone(),
            ..start
        });
        assert!(
            child.confirm(&supervisor, &my_argv),
            "spawned by its parent"
        );
    }

    #[test]
    fn an_approval_remembers_its_start_only_when_approved() {
        let own = std::process::id() as i32;
        let tracee = Subject::Tracee { pid: own };
        let my_argv: Vec<Bytes> = std::env::args().map(|a| Bytes::from(a.as_str())).collect();
        let decided = Decided::default();
        let prepared = || Decided::prepare(&tracee, &Bytes::default(), &my_argv).unwrap();
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
    fn the_memory_is_bounded() {
        let decided = Decided::default();
        for _ in 0..CAPACITY + 10 {
            decided.inner.lock().unwrap().push(asked(PROGRAM, &["x"]));
        }
        assert_eq!(decided.inner.lock().unwrap().starts.len(), CAPACITY);
    }
}
