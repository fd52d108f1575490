//! The session's namespaces as data, decided before anything is created (pure, no I/O): the
//! uid/gid maps `warden preload` writes for its child, the mounts the session's init makes,
//! in order, and what the agent must find locked.
//!
//! The mounts, in the order [`mounts`] lists them:
//! 1. every mount becomes a slave: nothing the session mounts shows outside it, while mounts
//!    the user makes later (a USB stick) still appear inside;
//! 2. a fresh `/proc` for the session's pid namespace: the old one lists every process of
//!    the user, and `/proc/<pid>/root` or `/proc/<pid>/fd` of the daemon would reach the
//!    files hidden below;
//! 3. the cgroup file systems read-only: writing `cgroup.kill` or `cgroup.freeze` of a group
//!    holding the daemon would stop it without naming its pid;
//! 4. warden's own binary and library pinned read-only: the agent can neither rewrite nor
//!    replace (rename over, delete) what guards the next session; so is a socket kept
//!    outside the state directory, which later sessions and the operator connect to;
//! 5. the state directory replaced by an empty tmpfs showing only the two sockets, bound
//!    read-only from wherever the daemon made them (`WARDEN_SOCKET` and `WARDEN_DOOR` may
//!    point elsewhere) and published under the two names the agent is told to use; then the
//!    tmpfs read-only. A name is a symbolic link to the bound socket in a directory of its
//!    own (`.0/warden.sock`): a restarted daemon makes new sockets, and the init publishes
//!    them the same way ([`followed`]), since nothing can be mounted over the deleted old
//!    one. The tmpfs is a shared mount, so that these later binds reach the agent.
//!
//! The init makes these mounts in the session's first user namespace, and the agent runs in
//! a user namespace nested below it, which is what locks them (the bubblewrap way): the
//! kernel refuses to unmount, or to make writable, a mount inherited from a more privileged
//! user namespace, also from any namespace the agent creates later.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the plan is made from, read once by `warden preload`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    /// warden's state directory in use (`$WARDEN_HOME`, else `~/.warden`), absolute.
    #[serde(with = "path_bytes")]
    pub state_dir: PathBuf,
    /// The daemon's stream socket and door, absolute, wherever they are.
    #[serde(with = "path_bytes")]
    pub socket: PathBuf,
    #[serde(with = "path_bytes")]
    pub door: PathBuf,
    /// warden's own files that guard later sessions: the `warden` binary and the library.
    #[serde(with = "paths_bytes")]
    pub own_files: Vec<PathBuf>,
    /// Where cgroup file systems are mounted.
    #[serde(with = "paths_bytes")]
    pub cgroups: Vec<PathBuf>,
    /// The user's ids, mapped to themselves in every namespace of the session.
    pub uid: u32,
    pub gid: u32,
}

/// The lines written to `/proc/<pid>/{setgroups,uid_map,gid_map}`: the user's own uid and
/// gid, one to one. `setgroups` is denied first, which the kernel requires before an
/// unprivileged process may write a gid map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdMaps {
    pub setgroups: &'static str,
    pub uid_map: String,
    pub gid_map: String,
}

/// One mount operation of the init, run in order by `mounts::apply`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `/` and everything below become slave mounts.
    DetachPropagation,
    /// A new procfs on `/proc`, showing the session's pid namespace only.
    FreshProc,
    /// Makes the mount at `target` read-only, keeping its other flags.
    ReadOnly { target: PathBuf },
    /// Binds `target` onto itself, making it a mount point: the agent can no longer rename
    /// or delete it, and it can be made read-only on its own.
    Pin { target: PathBuf },
    /// Opens `path` (the kernel's handle, `O_PATH`) before a later step hides it.
    Keep { path: PathBuf },
    /// An empty tmpfs on `target`, owned by the user, mode 0700.
    Tmpfs { target: PathBuf },
    /// Makes the mount at `target` shared: what is mounted below it later also appears in
    /// the namespaces copied from this one (as slaves, which send nothing back).
    Share { target: PathBuf },
    /// Shows the kept file `kept` read-only in the tmpfs on `dir`, under `name`.
    Publish {
        kept: PathBuf,
        dir: PathBuf,
        name: &'static str,
    },
}

/// A socket that a restarted daemon replaces, and the init publishes again: one inside the
/// hidden state directory (the agent cannot put its own socket there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Followed {
    /// Its path relative to the state directory.
    pub real: PathBuf,
    /// The name it is published under.
    pub name: &'static str,
}

/// What the agent must find locked: neither unmountable nor writable (checked before the
/// agent starts, by trying).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locked {
    /// The tmpfs in place of the state directory.
    pub state_dir: PathBuf,
    /// The session's `/proc`.
    pub proc: PathBuf,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The session hides the state directory, so the agent could not load what lies in it.
    #[error(
        "{} lies inside warden's state directory {}, which the session hides from the agent; \
         keep warden's binary and library elsewhere",
        file.display(),
        state_dir.display()
    )]
    InsideStateDir { file: PathBuf, state_dir: PathBuf },
    /// Hiding `/`, or a directory holding the sockets' mount points, cannot work.
    #[error("warden's state directory cannot be {}", .0.display())]
    Root(PathBuf),
}

/// The names under which the agent finds the two sockets: inside the hidden state directory.
pub fn agent_sockets(layout: &Layout) -> (PathBuf, PathBuf) {
    (
        layout.state_dir.join(SOCKET_NAME),
        layout.state_dir.join(DOOR_NAME),
    )
}

const SOCKET_NAME: &str = "warden.sock";
const DOOR_NAME: &str = "door.sock";

pub fn id_maps(layout: &Layout) -> IdMaps {
    IdMaps {
        setgroups: "deny",
        uid_map: format!("{0} {0} 1\n", layout.uid),
        gid_map: format!("{0} {0} 1\n", layout.gid),
    }
}

/// The init's mounts, in order (see the module doc for why each exists).
pub fn mounts(layout: &Layout) -> Result<Vec<Step>, PlanError> {
    let state_dir = &layout.state_dir;
    if state_dir.parent().is_none() {
        return Err(PlanError::Root(state_dir.clone()));
    }
    if let Some(file) = layout.own_files.iter().find(|f| f.starts_with(state_dir)) {
        return Err(PlanError::InsideStateDir {
            file: file.clone(),
            state_dir: state_dir.clone(),
        });
    }
    let mut steps = vec![Step::DetachPropagation, Step::FreshProc];
    steps.extend(layout.cgroups.iter().map(|target| Step::ReadOnly {
        target: target.clone(),
    }));
    let outside = [&layout.socket, &layout.door]
        .into_iter()
        .filter(|socket| !socket.starts_with(state_dir));
    for file in layout.own_files.iter().chain(outside) {
        steps.push(Step::Pin {
            target: file.clone(),
        });
        steps.push(Step::ReadOnly {
            target: file.clone(),
        });
    }
    steps.extend([
        Step::Keep {
            path: layout.socket.clone(),
        },
        Step::Keep {
            path: layout.door.clone(),
        },
        Step::Keep {
            path: state_dir.clone(),
        },
        Step::Tmpfs {
            target: state_dir.clone(),
        },
        Step::Share {
            target: state_dir.clone(),
        },
        Step::Publish {
            kept: layout.socket.clone(),
            dir: state_dir.clone(),
            name: SOCKET_NAME,
        },
        Step::Publish {
            kept: layout.door.clone(),
            dir: state_dir.clone(),
            name: DOOR_NAME,
        },
        Step::ReadOnly {
            target: state_dir.clone(),
        },
    ]);
    Ok(steps)
}

/// The sockets the init follows through a daemon restart (the door and socket inside the
/// state directory; one elsewhere is bound once).
pub fn followed(layout: &Layout) -> Vec<Followed> {
    [(&layout.socket, SOCKET_NAME), (&layout.door, DOOR_NAME)]
        .into_iter()
        .filter_map(|(real, name)| {
            let real = real.strip_prefix(&layout.state_dir).ok()?;
            (!real.as_os_str().is_empty()).then(|| Followed {
                real: real.to_path_buf(),
                name,
            })
        })
        .collect()
}

/// The capabilities left in the agent's bounding set. A root agent gets the set back at its
/// next exec, and needs `CAP_SETFCAP` in it to map root into a user namespace of its own
/// (Codex's bubblewrap does); it controls no mount. Everyone else keeps none.
pub fn bounding_set(layout: &Layout) -> Vec<u32> {
    match layout.uid {
        0 => vec![super::caps::CAP_SETFCAP],
        _ => vec![],
    }
}

pub fn locked(layout: &Layout) -> Locked {
    Locked {
        state_dir: layout.state_dir.clone(),
        proc: Path::new("/proc").to_path_buf(),
    }
}

/// A path as [`crate::wire::Bytes`]: any bytes, not only UTF-8.
mod path_bytes {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::wire::Bytes;

    // serde's `with` hands over the field as it is declared.
    #[allow(clippy::ptr_arg)]
    pub fn serialize<S: Serializer>(path: &PathBuf, serializer: S) -> Result<S::Ok, S::Error> {
        Bytes(path.as_os_str().as_bytes().to_vec()).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
        let bytes = Bytes::deserialize(deserializer)?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes.0)))
    }
}

/// A list of paths as [`crate::wire::Bytes`].
mod paths_bytes {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::wire::Bytes;

    pub fn serialize<S: Serializer>(paths: &[PathBuf], serializer: S) -> Result<S::Ok, S::Error> {
        let list: Vec<Bytes> = paths
            .iter()
            .map(|p| Bytes(p.as_os_str().as_bytes().to_vec()))
            .collect();
        list.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<PathBuf>, D::Error> {
        let list = Vec::<Bytes>::deserialize(deserializer)?;
        Ok(list
            .into_iter()
            .map(|b| PathBuf::from(std::ffi::OsString::from_vec(b.0)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            state_dir: "/home/u/.warden".into(),
            socket: "/home/u/.warden/warden.sock".into(),
            door: "/run/user/1000/warden-door.sock".into(),
            own_files: vec![
                "/home/u/.local/bin/warden".into(),
                "/home/u/.local/lib/warden/libwarden.so".into(),
            ],
            cgroups: vec!["/sys/fs/cgroup".into()],
            uid: 1000,
            gid: 100,
        }
    }

    fn path(p: &str) -> PathBuf {
        PathBuf::from(p)
    }

    #[test]
    fn the_user_is_mapped_to_itself_and_may_not_drop_groups() {
        assert_eq!(
            id_maps(&layout()),
            IdMaps {
                setgroups: "deny",
                uid_map: "1000 1000 1\n".into(),
                gid_map: "100 100 1\n".into(),
            }
        );
    }

    #[test]
    fn only_a_root_agent_keeps_a_capability_in_its_bounding_set() {
        assert_eq!(bounding_set(&layout()), Vec::<u32>::new());
        let root = Layout { uid: 0, ..layout() };
        assert_eq!(bounding_set(&root), vec![super::super::caps::CAP_SETFCAP]);
    }

    #[test]
    fn the_state_directory_shows_only_the_two_sockets_read_only() {
        assert_eq!(
            mounts(&layout()).unwrap(),
            vec![
                Step::DetachPropagation,
                Step::FreshProc,
                Step::ReadOnly {
                    target: path("/sys/fs/cgroup")
                },
                Step::Pin {
                    target: path("/home/u/.local/bin/warden")
                },
                Step::ReadOnly {
                    target: path("/home/u/.local/bin/warden")
                },
                Step::Pin {
                    target: path("/home/u/.local/lib/warden/libwarden.so")
                },
                Step::ReadOnly {
                    target: path("/home/u/.local/lib/warden/libwarden.so")
                },
                Step::Pin {
                    target: path("/run/user/1000/warden-door.sock")
                },
                Step::ReadOnly {
                    target: path("/run/user/1000/warden-door.sock")
                },
                // The door lives elsewhere: it is kept from there and shown in the state
                // directory, under the name the agent is told to use.
                Step::Keep {
                    path: path("/home/u/.warden/warden.sock")
                },
                Step::Keep {
                    path: path("/run/user/1000/warden-door.sock")
                },
                Step::Keep {
                    path: path("/home/u/.warden")
                },
                Step::Tmpfs {
                    target: path("/home/u/.warden")
                },
                Step::Share {
                    target: path("/home/u/.warden")
                },
                Step::Publish {
                    kept: path("/home/u/.warden/warden.sock"),
                    dir: path("/home/u/.warden"),
                    name: "warden.sock",
                },
                Step::Publish {
                    kept: path("/run/user/1000/warden-door.sock"),
                    dir: path("/home/u/.warden"),
                    name: "door.sock",
                },
                Step::ReadOnly {
                    target: path("/home/u/.warden")
                },
            ]
        );
        assert_eq!(
            agent_sockets(&layout()),
            (
                path("/home/u/.warden/warden.sock"),
                path("/home/u/.warden/door.sock")
            )
        );
        // The door outside the state directory is bound once; the socket is followed.
        assert_eq!(
            followed(&layout()),
            vec![Followed {
                real: path("warden.sock"),
                name: "warden.sock",
            }]
        );
        assert_eq!(
            locked(&layout()),
            Locked {
                state_dir: path("/home/u/.warden"),
                proc: path("/proc"),
            }
        );
    }

    #[test]
    fn without_cgroups_or_own_files_only_proc_and_the_state_directory_change() {
        let bare = Layout {
            own_files: vec![],
            cgroups: vec![],
            socket: "/w/s".into(),
            door: "/w/d".into(),
            state_dir: "/w".into(),
            ..layout()
        };
        let steps = mounts(&bare).unwrap();
        assert_eq!(steps[..2], [Step::DetachPropagation, Step::FreshProc]);
        assert_eq!(
            steps[2..7],
            [
                Step::Keep { path: path("/w/s") },
                Step::Keep { path: path("/w/d") },
                Step::Keep { path: path("/w") },
                Step::Tmpfs { target: path("/w") },
                Step::Share { target: path("/w") },
            ]
        );
        assert_eq!(steps.len(), 10);
        let names: Vec<PathBuf> = followed(&bare).into_iter().map(|f| f.real).collect();
        assert_eq!(names, [path("s"), path("d")]);
    }

    #[test]
    fn a_library_inside_the_state_directory_is_refused() {
        let inside = Layout {
            own_files: vec!["/home/u/.warden/lib/libwarden.so".into()],
            ..layout()
        };
        let err = mounts(&inside).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/home/u/.warden/lib/libwarden.so lies inside warden's state directory \
             /home/u/.warden, which the session hides from the agent; keep warden's binary \
             and library elsewhere"
        );
        let root = Layout {
            state_dir: "/".into(),
            own_files: vec![],
            ..layout()
        };
        assert_eq!(mounts(&root), Err(PlanError::Root("/".into())));
    }

    #[test]
    fn a_layout_with_bytes_that_are_not_utf8_survives_the_trip_to_the_init() {
        use std::os::unix::ffi::OsStringExt;
        let odd = Layout {
            state_dir: PathBuf::from(std::ffi::OsString::from_vec(b"/home/\xff/.warden".to_vec())),
            ..layout()
        };
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(serde_json::from_str::<Layout>(&json).unwrap(), odd);
    }
}
