//! The policy in force, and its reload: the policy files are polled (mtime and size, about
//! once a second); a valid new policy is swapped in atomically, an invalid one keeps the old
//! policy in force and the reason is logged and shown by `warden status`.
//!
//! Without session isolation an agent can write the policy file itself. So while a session
//! without isolation runs, and from then on until an operator reloads, a change that loosens
//! the policy (`engine::loosenings`: a rule removed or changed, a new `[[approved]]` entry,
//! new flag aliases, a weaker default) is held: the old policy stays in force, `warden status`
//! shows what waits, and only `warden policy reload` (an operator endpoint) applies it. A
//! change that only tightens is applied as before.
//!
//! The texts of the policy in force and whether changes are held are kept in
//! `$WARDEN_HOME/policy-state.json`, so that killing the daemon does not apply a held change:
//! a daemon that starts while changes are held starts with the policy that was in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::audit::now_ms;
use super::persist;
use crate::engine::{loosenings, Loosening, Policy, PolicySource, BUILTIN_ORIGIN};
use crate::policy_files;
use crate::wire::HeldPolicy;

/// A compiled policy with where it came from.
pub struct Loaded {
    pub policy: Policy,
    /// Origins of the policy texts (`<builtin>` and file paths), for `warden status`.
    pub sources: Vec<String>,
    /// The texts it was compiled from, kept to start with them again (`Saved`).
    texts: Vec<PolicySource>,
    /// Files whose changes trigger a reload (including ones that do not exist yet).
    watched: Vec<PathBuf>,
}

impl Loaded {
    /// Whether `file` is one of the files behind this policy.
    pub fn watches(&self, file: &Path) -> bool {
        self.watched.iter().any(|w| w == file)
    }
}

/// What happens to a change of the policy files that loosens the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Changes {
    /// Applied like any other (no session without isolation has run since the operator
    /// last reloaded).
    Apply,
    /// Held until an operator reloads.
    Hold,
}

/// What became of an operator's edit of the user policy.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    Applied,
    /// The file also loosens the policy otherwise (these reasons): held with it.
    Held(Vec<String>),
    /// The file does not compile.
    Invalid(String),
}

/// A file's identity for change detection; `None` when it does not exist.
type Stamp = Option<(SystemTime, u64)>;

pub struct PolicyState {
    explicit: Option<PathBuf>,
    current: RwLock<Arc<Loaded>>,
    /// Stamps of the watched files at the last load attempt (successful or not).
    seen: Mutex<Vec<Stamp>>,
    error: Mutex<Option<String>>,
    changes: Mutex<Changes>,
    held: Mutex<Option<HeldPolicy>>,
    /// Where the policy in force and `changes` are kept (`policy-state.json`).
    state_file: PathBuf,
}

/// `policy-state.json`.
#[derive(Serialize, Deserialize)]
struct Saved {
    changes: Changes,
    /// The texts of the policy in force; the built-in layer without its text (the binary
    /// has it).
    sources: Vec<SavedSource>,
}

#[derive(Serialize, Deserialize)]
struct SavedSource {
    origin: String,
    #[serde(default)]
    text: Option<String>,
}

impl Saved {
    fn sources(&self) -> Vec<PolicySource> {
        self.sources
            .iter()
            .map(|source| match &source.text {
                Some(text) => PolicySource {
                    origin: source.origin.clone(),
                    text: text.clone(),
                },
                None => Policy::builtin_source(),
            })
            .collect()
    }
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn compile(texts: Vec<PolicySource>, explicit: Option<&Path>) -> Result<Loaded, String> {
    let policy = Policy::compile(&texts).map_err(|e| e.to_string())?;
    Ok(Loaded {
        sources: policy.origins().to_vec(),
        policy,
        texts,
        watched: policy_files::watched_files(explicit),
    })
}

fn load(explicit: Option<&Path>) -> Result<Loaded, String> {
    let texts = policy_files::effective_sources(explicit).map_err(|e| e.to_string())?;
    compile(texts, explicit)
}

impl PolicyState {
    /// Loads the policy at start. When changes are held (saved so, or `changes` says a
    /// session without isolation is live), the policy saved as in force is the baseline and
    /// the files are a change to it. Otherwise an invalid policy is an error, not a fallback.
    pub fn load(
        explicit: Option<PathBuf>,
        state_file: PathBuf,
        changes: Changes,
    ) -> Result<Self, String> {
        let saved: Option<Saved> = persist::load(&state_file).unwrap_or_else(|e| {
            eprintln!(
                "warden serve: ignoring {} ({e}); starting from the policy files",
                state_file.display()
            );
            None
        });
        let changes = match saved.as_ref().map(|s| s.changes) {
            Some(Changes::Hold) => Changes::Hold,
            _ => changes,
        };
        let baseline = match (&saved, changes) {
            (Some(saved), Changes::Hold) => compile(saved.sources(), explicit.as_deref())
                .map_err(|e| eprintln!("warden serve: the saved policy does not compile ({e})"))
                .ok(),
            _ => None,
        };
        let files = load(explicit.as_deref());
        let watched = policy_files::watched_files(explicit.as_deref());
        let state = |current: Loaded| PolicyState {
            explicit: explicit.clone(),
            current: RwLock::new(Arc::new(current)),
            seen: Mutex::new(watched.iter().map(|p| stamp(p)).collect()),
            error: Mutex::new(None),
            changes: Mutex::new(changes),
            held: Mutex::new(None),
            state_file: state_file.clone(),
        };
        let state = match baseline {
            None => state(files?),
            Some(baseline) => {
                let state = state(baseline);
                match files {
                    Ok(files) => state.offer(files),
                    Err(reason) => state.failed(reason),
                }
                state
            }
        };
        state.save();
        Ok(state)
    }

    pub fn current(&self) -> Arc<Loaded> {
        self.current.read().unwrap().clone()
    }

    /// Why the last reload failed, while the previous policy stays in force.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap().clone()
    }

    /// The change waiting for an operator, if any.
    pub fn held(&self) -> Option<HeldPolicy> {
        self.held.lock().unwrap().clone()
    }

    /// The operator's reload: compiles the policy files again and swaps the result in,
    /// held or not; on error the old policy stays in force. Changes are held from now on
    /// when `changes` says so (a session without isolation is live).
    pub fn reload(&self, changes: Changes) -> Result<Arc<Loaded>, String> {
        self.stamp_files();
        let loaded =
            load(self.explicit.as_deref()).inspect_err(|reason| self.failed(reason.clone()))?;
        *self.changes.lock().unwrap() = changes;
        Ok(self.apply(loaded))
    }

    /// The operator's `approve --always`, which added the `[[approved]]` entry `added` to the
    /// user policy: the files are reloaded, and while changes are held they may differ from
    /// the policy in force by that entry alone; anything more is held like any change.
    pub fn reload_with_entry(&self, added: &str) -> Edit {
        self.stamp_files();
        let loaded = match load(self.explicit.as_deref()) {
            Ok(loaded) => loaded,
            Err(reason) => return Edit::Invalid(reason),
        };
        let mut reasons = match *self.changes.lock().unwrap() {
            Changes::Apply => Vec::new(),
            Changes::Hold => loosenings(&self.current().policy, &loaded.policy),
        };
        reasons.retain(|r| *r != Loosening::Approved(added.to_string()));
        if reasons.is_empty() {
            self.apply(loaded);
            return Edit::Applied;
        }
        self.offer(loaded);
        Edit::Held(reasons.iter().map(ToString::to_string).collect())
    }

    /// From now on until an operator reloads, changes that loosen the policy wait for the
    /// operator: a session without isolation registered.
    pub fn hold_changes(&self) {
        let mut changes = self.changes.lock().unwrap();
        if *changes != Changes::Hold {
            *changes = Changes::Hold;
            drop(changes);
            self.save();
        }
    }

    /// Reloads when a watched file changed since the last attempt; a change that loosens the
    /// policy is held while changes are held.
    pub fn reload_if_changed(&self) {
        let watched = self.current().watched.clone();
        let now: Vec<Stamp> = watched.iter().map(|p| stamp(p)).collect();
        if *self.seen.lock().unwrap() == now {
            return;
        }
        *self.seen.lock().unwrap() = now;
        match load(self.explicit.as_deref()) {
            Ok(loaded) => self.offer(loaded),
            Err(reason) => self.failed(reason),
        }
    }

    /// Applies `loaded`, or holds it when it loosens the policy in force and changes are held.
    fn offer(&self, loaded: Loaded) {
        let reasons = match *self.changes.lock().unwrap() {
            Changes::Apply => Vec::new(),
            Changes::Hold => loosenings(&self.current().policy, &loaded.policy),
        };
        if reasons.is_empty() {
            self.apply(loaded);
            return;
        }
        let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        eprintln!(
            "warden serve: policy change held until an operator runs \"warden policy reload\" \
             (a session without isolation could have written it): {}",
            reasons.join("; ")
        );
        let mut held = self.held.lock().unwrap();
        let since_ms = held.as_ref().map_or_else(now_ms, |h| h.since_ms);
        *held = Some(HeldPolicy { reasons, since_ms });
        *self.error.lock().unwrap() = None;
    }

    fn apply(&self, loaded: Loaded) -> Arc<Loaded> {
        let loaded = Arc::new(loaded);
        *self.current.write().unwrap() = loaded.clone();
        *self.error.lock().unwrap() = None;
        *self.held.lock().unwrap() = None;
        eprintln!(
            "warden serve: policy in force: {} from {}",
            crate::quote::count(loaded.policy.rule_count(), "rule"),
            loaded.sources.join(", ")
        );
        self.save();
        loaded
    }

    fn failed(&self, reason: String) {
        eprintln!("warden serve: policy reload failed, keeping the previous policy: {reason}");
        *self.error.lock().unwrap() = Some(reason);
    }

    fn stamp_files(&self) {
        let watched = self.current().watched.clone();
        *self.seen.lock().unwrap() = watched.iter().map(|p| stamp(p)).collect();
    }

    /// Keeps the policy in force and the hold in `policy-state.json`; a failure is logged
    /// (the policy in force does not depend on it).
    fn save(&self) {
        let current = self.current();
        let saved = Saved {
            changes: *self.changes.lock().unwrap(),
            sources: current
                .texts
                .iter()
                .map(|source| SavedSource {
                    origin: source.origin.clone(),
                    text: (source.origin != BUILTIN_ORIGIN).then(|| source.text.clone()),
                })
                .collect(),
        };
        if let Err(e) = persist::save(&self.state_file, &saved) {
            eprintln!(
                "warden serve: cannot save {}: {e}",
                self.state_file.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DENY_RM: &str = "[[rule]]\nname = \"no-rm\"\naction = \"deny\"\nprogram = [\"rm\"]\n";
    const DENY_CURL: &str =
        "[[rule]]\nname = \"no-curl\"\naction = \"deny\"\nprogram = [\"curl\"]\n";

    struct Files {
        dir: PathBuf,
    }

    impl Files {
        fn new(name: &str, policy: &str) -> Files {
            let dir =
                std::env::temp_dir().join(format!("warden-reload-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let files = Files { dir };
            files.write(policy);
            files
        }

        fn policy(&self) -> PathBuf {
            self.dir.join("policy.toml")
        }

        /// Writes the policy so that its stamp changes (the size differs or a second passed).
        fn write(&self, text: &str) {
            std::fs::write(self.policy(), text).unwrap();
            let later = SystemTime::now() + std::time::Duration::from_secs(2);
            std::fs::File::options()
                .write(true)
                .open(self.policy())
                .unwrap()
                .set_modified(later)
                .unwrap();
        }

        fn state(&self, changes: Changes) -> PolicyState {
            PolicyState::load(
                Some(self.policy()),
                self.dir.join("policy-state.json"),
                changes,
            )
            .unwrap()
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn rules(state: &PolicyState) -> usize {
        state.current().policy.rule_count()
    }

    #[test]
    fn without_sessions_lacking_isolation_every_valid_change_applies() {
        let files = Files::new("apply", &format!("{DENY_RM}{DENY_CURL}"));
        let state = files.state(Changes::Apply);
        files.write(DENY_CURL);
        state.reload_if_changed();
        assert_eq!(rules(&state), 1);
        assert_eq!(state.held(), None);
    }

    #[test]
    fn a_loosening_change_waits_for_the_operator_and_a_tightening_one_does_not() {
        let files = Files::new("hold", DENY_RM);
        let state = files.state(Changes::Apply);
        // A session without isolation starts: from now on loosening changes wait.
        state.hold_changes();
        files.write(&format!("{DENY_RM}{DENY_CURL}"));
        state.reload_if_changed();
        assert_eq!(rules(&state), 2, "an added deny rule applies at once");
        files.write(DENY_CURL);
        state.reload_if_changed();
        assert_eq!(rules(&state), 2, "removing a rule waits");
        let held = state.held().expect("held");
        assert_eq!(held.reasons, ["rule \"no-rm\" removed"]);
        // The operator reloads, with no such session left: applied, and no longer held.
        state.reload(Changes::Apply).unwrap();
        assert_eq!(rules(&state), 1);
        assert_eq!(state.held(), None);
        files.write("");
        state.reload_if_changed();
        assert_eq!(rules(&state), 0);
    }

    #[test]
    fn a_restarted_daemon_keeps_the_policy_in_force_while_changes_are_held() {
        let files = Files::new("restart", DENY_RM);
        let state = files.state(Changes::Hold);
        files.write("[[approved]]\nname = \"mine\"\nargv = [\"rm\", \"-rf\", \"/\"]\n");
        state.reload_if_changed();
        assert!(state.held().is_some());
        drop(state);
        // The daemon is killed and started again (its session's root is gone too).
        let state = files.state(Changes::Apply);
        assert_eq!(
            rules(&state),
            1,
            "the held change did not apply at the restart"
        );
        assert!(state.held().is_some(), "it still waits");
        state.reload(Changes::Apply).unwrap();
        assert_eq!(rules(&state), 0);
        drop(state);
        let state = files.state(Changes::Apply);
        assert_eq!(rules(&state), 0);
        assert_eq!(state.held(), None);
    }

    #[test]
    fn the_operators_approve_always_applies_its_own_entry_and_nothing_else() {
        let entry = |name: &str, program: &str| {
            format!("\n[[approved]]\nname = \"{name}\"\nargv = [\"{program}\"]\n")
        };
        let files = Files::new("edit", DENY_RM);
        let state = files.state(Changes::Hold);
        files.write(&format!("{DENY_RM}{}", entry("approved-1", "make")));
        assert_eq!(state.reload_with_entry("approved-1"), Edit::Applied);
        assert_eq!(state.held(), None);
        // The agent slipped an entry of its own in beside the operator's.
        let both = format!(
            "{DENY_RM}{}{}{}",
            entry("approved-1", "make"),
            entry("agent", "rm"),
            entry("approved-2", "ls")
        );
        files.write(&both);
        assert_eq!(
            state.reload_with_entry("approved-2"),
            Edit::Held(vec!["new [[approved]] entry \"agent\"".to_string()])
        );
        assert!(state.held().is_some());
    }

    #[test]
    fn while_held_an_invalid_file_at_start_keeps_the_policy_in_force() {
        let files = Files::new("invalid", DENY_RM);
        drop(files.state(Changes::Hold));
        files.write("this is not toml [");
        let state = files.state(Changes::Hold);
        assert_eq!(rules(&state), 1);
        assert!(state.error().is_some());
    }
}
