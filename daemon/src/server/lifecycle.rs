//! The daemon's own life, as the next daemon learns it: the lock file (`serve.lock`) holds
//! the pid of the daemon that runs, and `<pid> stopped: <reason>` once it stopped cleanly. A
//! daemon that starts after another one writes a `daemon` record in the audit log saying
//! which pid ran before and how it ended: stopped (and why), or ended without stopping,
//! which is what `kill -9` or a crash leaves.
//!
//! A daemon whose socket or door path no longer leads to it (removed, renamed, replaced)
//! can no longer be reached there, and as long as it holds the lock no other daemon can
//! start: it stops, so that `warden preload` starts a new one.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::wire::{AuditRecord, Decision, Mode};

/// The kind of the audit record a daemon writes about the one before it.
pub const DAEMON_KIND: &str = "daemon";

/// The reason a daemon stopped by `warden stop` records: an operator's decision, which
/// `warden preload` respects rather than start a new daemon.
pub const OPERATOR_STOP: &str = "on warden stop";

/// How the previous daemon ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It stopped cleanly, for this reason.
    Stopped(String),
    /// It wrote no stop: killed (`kill -9`) or crashed.
    WithoutStopping,
}

/// The daemon that ran before this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Previous {
    pub pid: u32,
    pub ended: Ended,
}

impl Previous {
    /// Whether an operator stopped it with `warden stop`.
    pub fn stopped_by_operator(&self) -> bool {
        self.ended == Ended::Stopped(OPERATOR_STOP.to_string())
    }
}

/// The previous daemon, from the text of the lock file; `None` when there was none.
pub fn previous(lock_text: &str) -> Option<Previous> {
    let line = lock_text.lines().next()?.trim();
    let (pid, rest) = line.split_once(' ').unwrap_or((line, ""));
    let ended = match rest.strip_prefix("stopped: ") {
        Some(reason) => Ended::Stopped(reason.to_string()),
        None => Ended::WithoutStopping,
    };
    Some(Previous {
        pid: pid.parse().ok()?,
        ended,
    })
}

/// What the lock file at `path` says about the daemon that ran last, if it can be read.
pub fn previous_daemon(path: &Path) -> Option<Previous> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(4096)
        .read_to_string(&mut text)
        .ok()?;
    previous(&text)
}

/// What the lock file says once daemon `pid` stopped cleanly.
pub fn stopped_text(pid: u32, reason: &str) -> String {
    format!("{pid} stopped: {reason}\n")
}

/// The audit record of this daemon's start after `previous`.
pub fn start_record(previous: &Previous) -> AuditRecord {
    let how = match &previous.ended {
        Ended::Stopped(reason) => format!("stopped ({reason})"),
        Ended::WithoutStopping => {
            "ended without stopping (killed, for example by kill -9, or crashed)".to_string()
        }
    };
    AuditRecord {
        pid: Some(std::process::id() as i32),
        message: Some(format!(
            "daemon started (pid {}); the previous daemon (pid {}) {how}",
            std::process::id(),
            previous.pid
        )),
        ..AuditRecord::new(DAEMON_KIND, Mode::Enforce, Decision::Allow)
    }
}

/// A socket path as it was bound: its file's identity, to tell whether the path still leads
/// to the socket this daemon listens on.
pub struct Bound {
    path: PathBuf,
    file: (u64, u64),
}

impl Bound {
    /// Remembers what `path` is now (just after binding it).
    pub fn now(path: &Path) -> std::io::Result<Bound> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok(Bound {
            path: path.to_path_buf(),
            file: (meta.dev(), meta.ino()),
        })
    }

    /// Whether the path no longer leads to the bound socket.
    fn gone(&self) -> bool {
        std::fs::symlink_metadata(&self.path)
            .map(|meta| (meta.dev(), meta.ino()) != self.file)
            .unwrap_or(true)
    }

    /// Removes the path if it still leads to the bound socket (never someone else's file).
    pub fn remove(&self) {
        if !self.gone() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Completes, with the reason to stop, once one of `paths` no longer leads to its socket
/// (checked every second).
pub async fn lost(paths: &[Bound]) -> String {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Some(gone) = paths.iter().find(|bound| bound.gone()) {
            return format!(
                "{} was removed or replaced, so the daemon could no longer be reached there",
                gone.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_tells_how_the_previous_daemon_ended() {
        assert_eq!(
            previous("4242\n"),
            Some(Previous {
                pid: 4242,
                ended: Ended::WithoutStopping
            })
        );
        assert_eq!(
            previous(&stopped_text(4242, "SIGTERM")),
            Some(Previous {
                pid: 4242,
                ended: Ended::Stopped("SIGTERM".into())
            })
        );
        assert_eq!(previous(""), None);
        assert_eq!(previous("not a pid\n"), None);
    }

    #[test]
    fn the_start_record_names_the_previous_pid_and_its_end() {
        let record = start_record(&Previous {
            pid: 4242,
            ended: Ended::WithoutStopping,
        });
        assert_eq!(record.kind, DAEMON_KIND);
        let message = record.message.unwrap();
        assert!(message.contains("previous daemon (pid 4242) ended without stopping"));
    }

    #[test]
    fn a_bound_path_is_gone_once_removed_or_replaced() {
        let dir = std::env::temp_dir().join(format!("warden-lifecycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let bound = Bound::now(&path).unwrap();
        assert!(!bound.gone());
        std::fs::remove_file(&path).unwrap();
        assert!(bound.gone());
        let _other = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(bound.gone(), "another socket at the same path is not ours");
        bound.remove();
        assert!(path.exists(), "someone else's socket is left alone");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
