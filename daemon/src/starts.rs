//! A program start that was decided, and whether what the kernel shows of a process stopped
//! after its exec is that very start. The daemon remembers decided starts (server/decided.rs)
//! and tells a strict supervisor about them (launch/strict/notes.rs); both match with
//! [`Exec::is`].

use std::cell::OnceCell;
use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};

use crate::wire::Bytes;

/// A file, told apart from another at the same path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    pub fn running(pid: i32) -> Option<FileId> {
        FileId::of(&format!("/proc/{pid}/exe"))
    }

    /// The file at `path` as process `pid` sees it (through its own root and working
    /// directory, which may be another mount namespace's).
    pub fn seen_by(pid: i32, path: &[u8]) -> Option<FileId> {
        let path = std::str::from_utf8(path).ok()?;
        match path.strip_prefix('/') {
            Some(absolute) => FileId::of(&format!("/proc/{pid}/root/{absolute}")),
            None => FileId::of(&format!("/proc/{pid}/cwd/{path}")),
        }
    }
}

/// Which process runs a decided start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runner {
    /// The process itself (it asked before its exec, or was asked about at its exec stop).
    Process(i32),
    /// A child of this process (the spawn family, `system`, `popen`).
    ChildOf(i32),
}

/// A start that was decided: who runs it, the program's file (taken when it was asked
/// about, so a path swapped afterwards does not match) and its argv.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Start {
    pub runner: Runner,
    pub file: FileId,
    pub argv: Vec<Bytes>,
}

/// A process stopped right after its exec, as the kernel shows it. Its parent is looked up
/// only when a start run by a child needs it.
pub struct Exec<'a> {
    pid: i32,
    file: FileId,
    argv: &'a [Bytes],
    parent: OnceCell<Option<i32>>,
}

impl<'a> Exec<'a> {
    /// Process `pid`, now running `argv` (`None` when it is gone).
    pub fn of(pid: i32, argv: &'a [Bytes]) -> Option<Exec<'a>> {
        Some(Exec {
            pid,
            file: FileId::running(pid)?,
            argv,
            parent: OnceCell::new(),
        })
    }

    /// Whether this is the decided `start`.
    pub fn is(&self, start: &Start) -> bool {
        let runs = match start.runner {
            Runner::Process(runner) => runner == self.pid,
            Runner::ChildOf(runner) => {
                *self
                    .parent
                    .get_or_init(|| crate::server::process::parent_of(self.pid))
                    == Some(runner)
            }
        };
        runs && same_start(start, self.file, self.argv, |name| {
            FileId::seen_by(self.pid, name)
        })
    }
}

/// Whether a program running `file` with `argv` is the start that was asked about. A binary
/// runs with exactly the argv it was given. A script runs its interpreter with the script's
/// path (as given to execve) before the judged arguments after argv[0]; `file_at` finds the
/// file such a path names.
fn same_start(
    asked: &Start,
    file: FileId,
    argv: &[Bytes],
    file_at: impl Fn(&[u8]) -> Option<FileId>,
) -> bool {
    if asked.file == file {
        return asked.argv == argv;
    }
    let Some(tail) = asked.argv.get(1..) else {
        return false;
    };
    let Some(path_at) = argv.len().checked_sub(tail.len() + 1) else {
        return false;
    };
    path_at >= 1 && argv[path_at + 1..] == *tail && file_at(&argv[path_at].0) == Some(asked.file)
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
            file,
            argv: argv(items),
        }
    }

    fn no_file(_: &[u8]) -> Option<FileId> {
        None
    }

    #[test]
    fn a_binary_matches_only_its_exact_argv() {
        let start = asked(PROGRAM, &["ls", "-l", "x"]);
        let same = argv(&["ls", "-l", "x"]);
        assert!(same_start(&start, PROGRAM, &same, no_file));
        for other in [&["ls", "-l"][..], &["ls", "-l", "y"], &["dir", "-l", "x"]] {
            let other = argv(other);
            assert!(!same_start(&start, PROGRAM, &other, no_file), "{other:?}");
        }
        assert!(!same_start(&start, SHELL, &same, no_file));
    }

    #[test]
    fn a_script_matches_through_its_path_before_the_judged_arguments() {
        let start = asked(SCRIPT, &["build.sh", "a b", "c"]);
        let script_at = |name: &[u8]| (name == b"./build.sh").then_some(SCRIPT);
        let interpreted = argv(&["/bin/sh", "-e", "./build.sh", "a b", "c"]);
        assert!(same_start(&start, SHELL, &interpreted, script_at));
        // Another script, other arguments, or no script path at all: judged again.
        let cases = [
            &["/bin/sh", "./other.sh", "a b", "c"][..],
            &["/bin/sh", "./build.sh", "a b", "d"],
            &["/bin/sh", "./build.sh", "c"],
            &["./build.sh", "a b", "c"],
        ];
        for other in cases {
            let other = argv(other);
            assert!(!same_start(&start, SHELL, &other, script_at), "{other:?}");
        }
    }

    #[test]
    fn a_start_is_run_by_its_process_or_a_child_of_it() {
        let own = std::process::id() as i32;
        let parent = std::os::unix::process::parent_id() as i32;
        let my_argv: Vec<Bytes> = std::env::args().map(|a| Bytes::from(a.as_str())).collect();
        let exec = Exec::of(own, &my_argv).unwrap();
        let mine = |runner| Start {
            runner,
            file: FileId::running(own).unwrap(),
            argv: my_argv.clone(),
        };
        assert!(exec.is(&mine(Runner::Process(own))));
        assert!(exec.is(&mine(Runner::ChildOf(parent))));
        assert!(!exec.is(&mine(Runner::Process(parent))));
        assert!(!exec.is(&mine(Runner::ChildOf(own))));
        assert!(Exec::of(i32::MAX, &my_argv).is_none());
    }

    #[test]
    fn a_start_travels_as_json() {
        let start = asked(PROGRAM, &["ls"]);
        let text = serde_json::to_string(&start).unwrap();
        assert_eq!(
            text,
            r#"{"runner":{"process":7},"file":{"dev":1,"ino":10},"argv":["ls"]}"#
        );
        assert_eq!(serde_json::from_str::<Start>(&text).unwrap(), start);
    }
}
