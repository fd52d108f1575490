//! The policy in force, and its reload: the policy files are polled (mtime and size, about
//! once a second); a valid new policy is swapped in atomically, an invalid one keeps the old
//! policy in force and the reason is logged and shown by `warden status`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::engine::Policy;
use crate::policy_files;

/// A compiled policy with where it came from.
pub struct Loaded {
    pub policy: Policy,
    /// Origins of the policy texts (`<builtin>` and file paths), for `warden status`.
    pub sources: Vec<String>,
    /// Files whose changes trigger a reload (including ones that do not exist yet).
    watched: Vec<PathBuf>,
}

impl Loaded {
    /// Whether `file` is one of the files behind this policy.
    pub fn watches(&self, file: &Path) -> bool {
        self.watched.iter().any(|w| w == file)
    }
}

/// A file's identity for change detection; `None` when it does not exist.
type Stamp = Option<(SystemTime, u64)>;

pub struct PolicyState {
    explicit: Option<PathBuf>,
    current: RwLock<Arc<Loaded>>,
    /// Stamps of the watched files at the last load attempt (successful or not).
    seen: Mutex<Vec<Stamp>>,
    error: Mutex<Option<String>>,
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn load(explicit: Option<&Path>) -> Result<Loaded, String> {
    let policy = policy_files::load_effective(explicit).map_err(|e| e.to_string())?;
    let sources = policy.origins().to_vec();
    Ok(Loaded {
        policy,
        sources,
        watched: policy_files::watched_files(explicit),
    })
}

impl PolicyState {
    /// Loads the policy at start; an invalid policy here is an error, not a fallback.
    pub fn load(explicit: Option<PathBuf>) -> Result<Self, String> {
        let loaded = load(explicit.as_deref())?;
        let seen = loaded.watched.iter().map(|p| stamp(p)).collect();
        Ok(PolicyState {
            explicit,
            current: RwLock::new(Arc::new(loaded)),
            seen: Mutex::new(seen),
            error: Mutex::new(None),
        })
    }

    pub fn current(&self) -> Arc<Loaded> {
        self.current.read().unwrap().clone()
    }

    /// Why the last reload failed, while the previous policy stays in force.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap().clone()
    }

    /// Compiles the policy files again and swaps the result in; on error the old policy
    /// stays in force.
    pub fn reload(&self) -> Result<Arc<Loaded>, String> {
        let watched = self.current().watched.clone();
        *self.seen.lock().unwrap() = watched.iter().map(|p| stamp(p)).collect();
        match load(self.explicit.as_deref()) {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                *self.seen.lock().unwrap() = loaded.watched.iter().map(|p| stamp(p)).collect();
                *self.current.write().unwrap() = loaded.clone();
                *self.error.lock().unwrap() = None;
                eprintln!(
                    "warden serve: policy reloaded: {} from {}",
                    crate::quote::count(loaded.policy.rule_count(), "rule"),
                    loaded.sources.join(", ")
                );
                Ok(loaded)
            }
            Err(reason) => {
                eprintln!(
                    "warden serve: policy reload failed, keeping the previous policy: {reason}"
                );
                *self.error.lock().unwrap() = Some(reason.clone());
                Err(reason)
            }
        }
    }

    /// Reloads when a watched file changed since the last attempt.
    pub fn reload_if_changed(&self) {
        let watched = self.current().watched.clone();
        let now: Vec<Stamp> = watched.iter().map(|p| stamp(p)).collect();
        if *self.seen.lock().unwrap() != now {
            let _ = self.reload();
        }
    }
}
