//! [`Isolation::Namespaces`](super::Isolation::Namespaces): the agent runs in user, pid and
//! mount namespaces of its own, where it can neither see nor signal warden's daemon or any
//! other process of the user, and where warden's state directory shows only the two sockets,
//! read-only and locked.
//!
//! `warden preload`'s side, in order ([`prepare`], then [`Prepared::release`]):
//! 1. read the layout (state directory, sockets, warden's own files, cgroup mounts) and
//!    decide the plan ([`plan`], pure), refusing a layout that cannot work before anything
//!    is created;
//! 2. clone the session's init in new namespaces, write its uid/gid maps and let it exec
//!    ([`userns`]);
//! 3. (the caller registers the session with the init's pid: the daemon reads the session's
//!    pid namespace from it before any process of the agent exists;)
//! 4. send the init its setup through a pipe, which lets it go on.
//!
//! The init's side is `launch/init.rs`, using [`mounts`], [`userns`] and [`caps`].
//! [`probe`] says beforehand whether this machine allows any of it.

pub mod caps;
pub mod mounts;
pub mod plan;
pub mod probe;
pub mod userns;

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use self::plan::Layout;
use crate::paths;
use crate::procfs;
use crate::wire::Bytes;

/// What the init learns from `warden preload`: the layout its plan is made from, and the
/// agent's program (the file judged), its arguments and environment (the variables set over
/// the inherited ones).
#[derive(Serialize, Deserialize)]
pub struct Setup {
    pub layout: Layout,
    pub program: Bytes,
    pub argv: Vec<Bytes>,
    pub environment: Vec<(String, Bytes)>,
}

/// The init, started and waiting for its setup; killed and reaped if dropped before
/// [`Prepared::release`].
pub struct Prepared {
    init: i32,
    setup: Option<OwnedFd>,
    layout: Layout,
}

/// Steps 1 and 2 (see the module doc).
pub fn prepare(library: &Path) -> anyhow::Result<Prepared> {
    let layout = layout(library)?;
    plan::mounts(&layout)?;
    let (setup_read, setup_write) = userns::setup_pipe()?;
    let cloned = userns::clone_init(&setup_read, super::init::ARGUMENT)?;
    drop(setup_read);
    let prepared = Prepared {
        init: cloned.pid,
        setup: Some(setup_write),
        layout,
    };
    userns::write_maps(prepared.init, &plan::id_maps(&prepared.layout))?;
    cloned.exec(prepared.setup.as_ref().context("the setup pipe is open")?)?;
    Ok(prepared)
}

impl Prepared {
    /// The init's pid (in `warden preload`'s pid namespace): the session's root.
    pub fn init_pid(&self) -> i32 {
        self.init
    }

    /// Where the agent finds the daemon's socket and door.
    pub fn agent_sockets(&self) -> (PathBuf, PathBuf) {
        plan::agent_sockets(&self.layout)
    }

    /// Step 4: sends the init its setup; returns the init's pid, to wait for.
    pub fn release(
        mut self,
        program: &Path,
        argv: &[OsString],
        environment: &[(&str, OsString)],
    ) -> anyhow::Result<i32> {
        let bytes = |value: &std::ffi::OsStr| Bytes(value.as_bytes().to_vec());
        let setup = Setup {
            layout: self.layout.clone(),
            program: bytes(program.as_os_str()),
            argv: argv.iter().map(|a| bytes(a)).collect(),
            environment: environment
                .iter()
                .map(|(name, value)| (name.to_string(), bytes(value)))
                .collect(),
        };
        let text = serde_json::to_vec(&setup).context("cannot encode the session's setup")?;
        let pipe = self
            .setup
            .take()
            .context("the session's setup was sent already")?;
        std::fs::File::from(pipe)
            .write_all(&text)
            .context("cannot send the session's init its setup")?;
        Ok(std::mem::replace(&mut self.init, 0))
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if self.init > 0 {
            userns::reap(self.init);
        }
    }
}

/// What the plan is made from, as this process sees it.
fn layout(library: &Path) -> anyhow::Result<Layout> {
    let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
    let exe = std::fs::read_link("/proc/self/exe").context("cannot read /proc/self/exe")?;
    let library = std::fs::canonicalize(library)
        .with_context(|| format!("cannot resolve {}", library.display()))?;
    let cgroups =
        procfs::mount_points(&["cgroup", "cgroup2"]).context("cannot read /proc/self/mountinfo")?;
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    Ok(Layout {
        state_dir: absolute(paths::home()),
        socket: absolute(paths::socket()),
        door: absolute(paths::door()),
        own_files: vec![exe, library],
        cgroups,
        uid,
        gid,
    })
}
