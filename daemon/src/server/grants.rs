//! Approval grants. A person who approves `bash -c "kubectl apply -f x"` has approved the
//! `kubectl apply -f x` that bash then starts; asking again about it is noise that trains
//! people to approve blindly. So an approval, once approved, grants for a short while the
//! commands the engine unwrapped from it, to the approved process (same pid and start
//! time: exec in place) and its descendants (pipelines and subshells fork).
//!
//! A grant only turns what the policy would *ask* into allow, never a deny; the preflight
//! decides that. Grants live in memory only: a daemon restart forgets them (and the offers
//! of approvals still pending), so such an approval simply asks again for its inner commands.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::engine::{basename, unwrapped_commands, Query};
use crate::procfs::{ancestry, proc_stat};
use crate::wire::Approval;

/// A process, told apart from a later one reusing its pid by its start time.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Process {
    pid: i32,
    start: u64,
}

/// What approving one pending approval would grant.
struct Offer {
    holder: Process,
    commands: Vec<Vec<Vec<u8>>>,
}

struct Grant {
    approval: u64,
    holder: Process,
    commands: Vec<Vec<Vec<u8>>>,
    expires: Instant,
}

impl Grant {
    fn covers(&self, path: &[u8], argv: &[&[u8]]) -> bool {
        self.commands
            .iter()
            .any(|granted| same_command(granted, path, argv))
    }
}

#[derive(Default)]
struct Inner {
    offers: HashMap<u64, Offer>,
    active: Vec<Grant>,
}

pub struct Grants {
    lifetime: Duration,
    inner: Mutex<Inner>,
}

impl Grants {
    /// Grants last `lifetime` from their approval; zero turns them off.
    pub fn new(lifetime: Duration) -> Self {
        Grants {
            lifetime,
            inner: Mutex::default(),
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Creates the approval for a preflight of `query` from `pid` with `create`, and
    /// remembers what approving it will grant. Under one lock, so an operator who approves
    /// at once (before `create`'s caller even sees the id) still finds the offer.
    pub fn offer<E>(
        &self,
        pid: Option<i32>,
        query: &Query,
        create: impl FnOnce() -> Result<Approval, E>,
    ) -> Result<Approval, E> {
        let offer = self.prepare(pid, query);
        let mut inner = self.inner.lock().unwrap();
        let approval = create()?;
        if let Some(offer) = offer {
            inner.offers.insert(approval.id, offer);
        }
        Ok(approval)
    }

    /// The offer for a preflight from `pid`; its start time is read now, while the asker
    /// waits for our reply, so it cannot be a later process reusing the pid.
    fn prepare(&self, pid: Option<i32>, query: &Query) -> Option<Offer> {
        if self.lifetime.is_zero() {
            return None;
        }
        let pid = pid?;
        let (_, start) = proc_stat(pid)?;
        let commands = unwrapped_commands(query);
        (!commands.is_empty()).then_some(Offer {
            holder: Process { pid, start },
            commands,
        })
    }

    /// Approval `approval` was settled: approved, its offer becomes a grant; any other
    /// outcome (denied, expired, abandoned) grants nothing.
    pub fn settle(&self, approval: u64, approved: bool) {
        let mut inner = self.inner.lock().unwrap();
        let Some(offer) = inner.offers.remove(&approval) else {
            return;
        };
        if approved {
            inner.active.push(Grant {
                approval,
                holder: offer.holder,
                commands: offer.commands,
                expires: Instant::now() + self.lifetime,
            });
        }
    }

    /// The approval whose live grant covers `argv` (the program at `path`) started by
    /// `pid`, if any.
    pub fn covering(&self, pid: Option<i32>, path: &[u8], argv: &[&[u8]]) -> Option<u64> {
        let pid = pid?;
        let candidates: Vec<(u64, Process)> = {
            let mut inner = self.inner.lock().unwrap();
            let now = Instant::now();
            inner.active.retain(|g| g.expires > now);
            inner
                .active
                .iter()
                .filter(|g| g.covers(path, argv))
                .map(|g| (g.approval, g.holder))
                .collect()
        };
        if candidates.is_empty() {
            return None;
        }
        // /proc is read outside the lock: other preflights need not wait for it.
        ancestry(pid).find_map(|(ancestor, start)| {
            let process = Process {
                pid: ancestor,
                start,
            };
            candidates
                .iter()
                .find(|(_, holder)| *holder == process)
                .map(|(approval, _)| *approval)
        })
    }

    /// Forgets expired grants.
    pub fn prune(&self) {
        let now = Instant::now();
        self.inner
            .lock()
            .unwrap()
            .active
            .retain(|g| g.expires > now);
    }
}

/// Whether a program start runs exactly the granted command: argv[0] by base name (a shell
/// may run `kubectl` as `/usr/bin/kubectl`), and the program's path must carry that name
/// too (so `exec -a kubectl other` is not it); every other argument byte for byte.
fn same_command(granted: &[Vec<u8>], path: &[u8], argv: &[&[u8]]) -> bool {
    let (Some((name, granted_args)), Some((first, args))) =
        (granted.split_first(), argv.split_first())
    else {
        return false;
    };
    let name = basename(name);
    name == basename(first)
        && (path.is_empty() || name == basename(path))
        && granted_args.len() == args.len()
        && granted_args.iter().zip(args).all(|(a, b)| a[..] == b[..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv<'a>(words: &[&'a str]) -> Vec<&'a [u8]> {
        words.iter().map(|w| w.as_bytes()).collect()
    }

    fn granted(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn commands_match_by_base_name_then_exact_arguments() {
        let kubectl = granted(&["kubectl", "apply", "-f", "x"]);
        let path = b"/usr/bin/kubectl";
        assert!(same_command(
            &kubectl,
            path,
            &argv(&["kubectl", "apply", "-f", "x"])
        ));
        assert!(same_command(
            &kubectl,
            path,
            &argv(&["/usr/bin/kubectl", "apply", "-f", "x"])
        ));
        assert!(!same_command(
            &kubectl,
            path,
            &argv(&["kubectl", "apply", "-f", "y"])
        ));
        assert!(!same_command(
            &kubectl,
            path,
            &argv(&["kubectl", "apply", "-f"])
        ));
        assert!(!same_command(
            &kubectl,
            path,
            &argv(&["kubectl", "apply", "-f", "x", "--force"])
        ));
        assert!(!same_command(
            &kubectl,
            path,
            &argv(&["kubectx", "apply", "-f", "x"])
        ));
        // argv[0] claims kubectl, the program is something else.
        assert!(!same_command(
            &kubectl,
            b"/tmp/other",
            &argv(&["kubectl", "apply", "-f", "x"])
        ));
        assert!(!same_command(&kubectl, path, &[]));
        assert!(!same_command(&[], path, &argv(&["kubectl"])));
    }

    fn offer_from_self(grants: &Grants, id: u64, words: &[&str]) {
        let query = Query {
            argv: argv(words),
            ..Query::default()
        };
        let approval: Approval = serde_json::from_value(serde_json::json!({
            "id": id, "state": "pending", "created_ms": 0, "expires_ms": 0, "session": null,
            "agent": null, "pid": 0, "cwd": "/", "path": "/bin/bash", "argv": [],
            "rule": null, "message": null
        }))
        .unwrap();
        let created = grants.offer(Some(std::process::id() as i32), &query, || {
            Ok::<_, ()>(approval)
        });
        assert_eq!(created.map(|a| a.id), Ok(id));
    }

    #[test]
    fn only_an_approved_offer_grants_and_only_to_its_process_tree() {
        let grants = Grants::new(Duration::from_secs(60));
        let me = Some(std::process::id() as i32);
        let parent = Some(std::os::unix::process::parent_id() as i32);
        let inner = argv(&["kubectl", "apply"]);
        offer_from_self(&grants, 1, &["bash", "-c", "kubectl apply"]);
        offer_from_self(&grants, 2, &["sh", "-c", "kubectl apply"]);
        assert_eq!(grants.covering(me, b"", &inner), None, "not approved yet");
        grants.settle(2, false);
        assert_eq!(grants.covering(me, b"", &inner), None, "denied");
        grants.settle(1, true);
        assert_eq!(grants.covering(me, b"", &inner), Some(1));
        assert_eq!(grants.covering(parent, b"", &inner), None);
        assert_eq!(grants.covering(None, b"", &inner), None);
        assert_eq!(
            grants.covering(me, b"", &argv(&["bash", "-c", "kubectl apply"])),
            None,
            "the approved command itself was answered by its approval"
        );
    }

    #[test]
    fn grants_expire_and_a_zero_lifetime_grants_nothing() {
        let inner = argv(&["kubectl", "apply"]);
        let me = Some(std::process::id() as i32);
        let off = Grants::new(Duration::ZERO);
        offer_from_self(&off, 1, &["bash", "-c", "kubectl apply"]);
        off.settle(1, true);
        assert_eq!(off.covering(me, b"", &inner), None);

        let short = Grants::new(Duration::from_millis(1));
        offer_from_self(&short, 1, &["bash", "-c", "kubectl apply"]);
        short.settle(1, true);
        // Time passing is the point here: the grant ends 1 ms after its approval.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.covering(me, b"", &inner), None);
        short.prune();
        assert!(short.inner.lock().unwrap().active.is_empty());
    }
}
