//! Applying the mount plan ([`super::plan::mounts`]) in the session's mount namespace, one
//! step at a time; checking afterwards that the agent cannot undo it; and following a daemon
//! restart ([`Follower`]). Each error names its step and its object once; the cause comes
//! from the kernel.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::plan::{Followed, Locked, Step};

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("cannot make the mounts under / slaves of the user's: {0}")]
    Propagation(io::Error),
    #[error("cannot mount a fresh /proc for the session's pid namespace: {0}")]
    Proc(io::Error),
    #[error("cannot make {} read-only: {error}", target.display())]
    ReadOnly { target: PathBuf, error: io::Error },
    #[error("cannot bind {} onto itself: {error}", target.display())]
    Pin { target: PathBuf, error: io::Error },
    #[error("cannot open {}: {error}", path.display())]
    Keep { path: PathBuf, error: io::Error },
    #[error("cannot mount a tmpfs on {}: {error}", target.display())]
    Tmpfs { target: PathBuf, error: io::Error },
    #[error("cannot show {} as {}: {error}", kept.display(), target.display())]
    Publish {
        kept: PathBuf,
        target: PathBuf,
        error: io::Error,
    },
    #[error("cannot share the mount at {}: {error}", target.display())]
    Share { target: PathBuf, error: io::Error },
    #[error("cannot look at {}: {error}", path.display())]
    Follow { path: PathBuf, error: io::Error },
    /// The effect check failed: something the agent must not be able to do, worked.
    #[error("the session's mounts are not locked: {0}")]
    NotLocked(String),
}

/// The files the plan kept a handle on ([`Step::Keep`]), by their path.
pub struct Kept(Vec<(PathBuf, OwnedFd)>);

impl Kept {
    fn get(&self, path: &Path) -> Option<&OwnedFd> {
        self.0.iter().find(|(p, _)| p == path).map(|(_, fd)| fd)
    }
}

/// What the steps leave the init: the files kept, and the publisher of the sockets.
pub struct Applied {
    pub kept: Kept,
    pub publisher: Option<Publisher>,
}

/// Runs `steps` in order; stops at the first that fails.
pub fn apply(steps: &[Step]) -> Result<Applied, MountError> {
    let mut kept: Vec<(PathBuf, OwnedFd)> = Vec::new();
    let mut publisher: Option<Publisher> = None;
    for step in steps {
        match step {
            Step::DetachPropagation => mount(
                None,
                Path::new("/"),
                None,
                libc::MS_REC | libc::MS_SLAVE,
                None,
            )
            .map_err(MountError::Propagation)?,
            Step::FreshProc => mount(
                Some(c"proc"),
                Path::new("/proc"),
                Some(c"proc"),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                None,
            )
            .map_err(MountError::Proc)?,
            Step::ReadOnly { target } => {
                read_only(target).map_err(|error| MountError::ReadOnly {
                    target: target.clone(),
                    error,
                })?
            }
            Step::Pin { target } => bind(target, target).map_err(|error| MountError::Pin {
                target: target.clone(),
                error,
            })?,
            Step::Keep { path } => {
                let handle = open_path(path).map_err(|error| MountError::Keep {
                    path: path.clone(),
                    error,
                })?;
                kept.push((path.clone(), handle));
            }
            Step::Tmpfs { target } => mount(
                Some(c"tmpfs"),
                target,
                Some(c"tmpfs"),
                libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                Some(c"mode=0700,size=64k,nr_inodes=4096"),
            )
            .map_err(|error| MountError::Tmpfs {
                target: target.clone(),
                error,
            })?,
            Step::Share { target } => {
                mount(None, target, None, libc::MS_SHARED, None).map_err(|error| {
                    MountError::Share {
                        target: target.clone(),
                        error,
                    }
                })?
            }
            Step::Publish {
                kept: source,
                dir,
                name,
            } => {
                let failed = |error| MountError::Publish {
                    kept: source.clone(),
                    target: dir.join(name),
                    error,
                };
                let handle = kept
                    .iter()
                    .find(|(path, _)| path == source)
                    .map(|(_, handle)| handle)
                    .ok_or_else(|| failed(io::Error::from_raw_os_error(libc::EBADF)))?;
                let publishing = match publisher.as_mut() {
                    Some(publishing) => publishing,
                    None => publisher.insert(Publisher::new(dir).map_err(failed)?),
                };
                let tree = clone_tree(handle, c"", libc::AT_EMPTY_PATH).map_err(failed)?;
                let name = CString::new(*name).expect("a socket name has no NUL");
                publishing.publish(&tree, &name).map_err(failed)?;
            }
        }
    }
    Ok(Applied {
        kept: Kept(kept),
        publisher,
    })
}

/// Shows sockets in the tmpfs over the state directory: each bound read-only onto a file in
/// a new directory (`.0/warden.sock`), then a symbolic link under the agent's name pointed
/// at it (replaced in one rename). A restarted daemon deletes the old socket, and nothing can
/// be mounted over a deleted file, so a new socket is published next to the old one.
pub struct Publisher {
    /// A detached, writable clone of the tmpfs: the mount the agent sees is read-only, but
    /// shows the same files.
    writable: OwnedFd,
    /// The tmpfs as mounted, where the binds are attached (and from where they reach the
    /// agent's namespaces).
    attached: OwnedFd,
    /// The number of the next directory.
    next: u32,
}

impl Publisher {
    fn new(dir: &Path) -> io::Result<Publisher> {
        let path = c_path(dir)?;
        let writable = clone_tree_at(libc::AT_FDCWD, &path, 0)?;
        // SAFETY: open with a valid C string; the result is checked below.
        let fd = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Publisher {
            writable,
            // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
            attached: unsafe { OwnedFd::from_raw_fd(fd) },
            next: 0,
        })
    }

    /// Publishes the mount `tree` (a detached bind of a socket) under `name`. No allocation:
    /// the init's loop calls it.
    pub fn publish(&mut self, tree: &OwnedFd, name: &CStr) -> io::Result<()> {
        let mut dir = ShortPath::new();
        dir.push(b".");
        dir.push_number(self.next);
        let mut file = dir;
        file.push(b"/");
        file.push(name.to_bytes());
        let mut link = ShortPath::new();
        link.push(name.to_bytes());
        link.push(b".new");
        let (dir, file, link) = (dir.c_str()?, file.c_str()?, link.c_str()?);
        let writable = self.writable.as_raw_fd();
        // SAFETY: each call takes our directory handles and NUL-terminated paths on our
        // stack, or the mount descriptor we own; each result is checked.
        unsafe {
            check(libc::mkdirat(writable, dir.as_ptr(), 0o700))?;
            let created = libc::openat(
                writable,
                file.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                0o600,
            );
            check(created)?;
            libc::close(created);
            read_only_tree(tree)?;
            check(libc::syscall(
                libc::SYS_move_mount,
                tree.as_raw_fd(),
                c"".as_ptr(),
                self.attached.as_raw_fd(),
                file.as_ptr(),
                libc::MOVE_MOUNT_F_EMPTY_PATH,
            ) as i32)?;
            check(libc::symlinkat(file.as_ptr(), writable, link.as_ptr()))?;
            check(libc::renameat(
                writable,
                link.as_ptr(),
                writable,
                name.as_ptr(),
            ))?;
        }
        self.next += 1;
        Ok(())
    }
}

/// The sockets the init publishes again when the daemon replaces them: a restarted daemon
/// makes new sockets at the same paths, while the session still sees the old ones, which
/// nobody answers any more. Looked at a few times a second by the init's loop, without
/// allocating.
pub struct Follower {
    /// The real state directory, below the tmpfs.
    dir: OwnedFd,
    sockets: Vec<FollowedSocket>,
    publisher: Publisher,
}

struct FollowedSocket {
    real: CString,
    name: CString,
    /// Device and inode of the socket published now.
    published: (u64, u64),
}

impl Follower {
    /// Follows `followed` through the handle on the state directory kept from before the
    /// tmpfs hid it.
    pub fn new(
        applied: Applied,
        state_dir: &Path,
        followed: &[Followed],
    ) -> Result<Follower, MountError> {
        let lost = |path: PathBuf, error| MountError::Follow { path, error };
        let unknown = || io::Error::from_raw_os_error(libc::EBADF);
        let publisher = applied
            .publisher
            .ok_or_else(|| lost(state_dir.into(), unknown()))?;
        let dir = applied
            .kept
            .get(state_dir)
            .ok_or_else(|| lost(state_dir.into(), unknown()))?
            .try_clone()
            .map_err(|error| lost(state_dir.into(), error))?;
        let mut sockets = Vec::new();
        for socket in followed {
            let path = state_dir.join(&socket.real);
            let real = c_path(&socket.real).map_err(|error| lost(path.clone(), error))?;
            let published = identity_at(&dir, &real).map_err(|error| lost(path, error))?;
            let name = CString::new(socket.name).expect("a socket name has no NUL");
            sockets.push(FollowedSocket {
                real,
                name,
                published,
            });
        }
        Ok(Follower {
            dir,
            sockets,
            publisher,
        })
    }

    /// Publishes each socket that the daemon replaced since the last look; the first failure
    /// is returned (the next look tries again).
    pub fn follow(&mut self) -> io::Result<()> {
        for socket in &mut self.sockets {
            let Ok(now) = identity_at(&self.dir, &socket.real) else {
                continue;
            };
            if now != socket.published {
                let tree = clone_tree(&self.dir, &socket.real, 0)?;
                self.publisher.publish(&tree, &socket.name)?;
                socket.published = now;
            }
        }
        Ok(())
    }
}

/// Device and inode of the socket `name` in `dir`; an error when it is not a socket.
fn identity_at(dir: &OwnedFd, name: &CStr) -> io::Result<(u64, u64)> {
    // SAFETY: stat is plain data that fstatat fills.
    let mut info: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstatat with our directory handle, a valid C string and a local out-struct.
    check(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut info, 0) })?;
    if info.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::from_raw_os_error(libc::ENOTSOCK));
    }
    Ok((info.st_dev, info.st_ino))
}

/// A detached bind of `name` under `dir` (`open_tree` with `OPEN_TREE_CLONE`).
fn clone_tree(dir: &OwnedFd, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    clone_tree_at(dir.as_raw_fd(), name, flags)
}

fn clone_tree_at(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | flags as libc::c_uint;
    // SAFETY: open_tree with a directory handle (or AT_FDCWD) and a valid C string; it
    // returns a new descriptor of a detached mount, or -1.
    let tree = unsafe { libc::syscall(libc::SYS_open_tree, dir, name.as_ptr(), flags) };
    check(tree as i32)?;
    // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(tree as i32) })
}

/// Makes a detached mount read-only (and nosuid, nodev, noexec) before it is attached, so
/// that every copy of it, in the agent's namespaces too, is.
fn read_only_tree(tree: &OwnedFd) -> io::Result<()> {
    let attributes = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY
            | libc::MOUNT_ATTR_NOSUID
            | libc::MOUNT_ATTR_NODEV
            | libc::MOUNT_ATTR_NOEXEC,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr on the detached mount we own, with an attribute struct of the
    // size passed.
    let set = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attributes,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    check(set as i32)
}

/// A NUL-terminated path on the stack, for the publisher's short relative paths.
#[derive(Clone, Copy)]
struct ShortPath {
    bytes: [u8; 128],
    len: usize,
}

impl ShortPath {
    fn new() -> ShortPath {
        ShortPath {
            bytes: [0; 128],
            len: 0,
        }
    }

    fn push(&mut self, part: &[u8]) {
        let end = (self.len + part.len()).min(self.bytes.len());
        self.bytes[self.len..end].copy_from_slice(&part[..end - self.len]);
        self.len = end;
    }

    fn push_number(&mut self, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[start..]);
    }

    /// The path with its NUL; an error when it did not fit.
    fn c_str(&self) -> io::Result<&CStr> {
        if self.len >= self.bytes.len() {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        CStr::from_bytes_until_nul(&self.bytes[..=self.len])
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    }
}

fn check(rc: libc::c_int) -> io::Result<()> {
    match rc {
        -1 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}

/// Checks the effect of the lock from where the agent starts: in its own user and mount
/// namespaces, still holding every capability there (before they are dropped), neither the
/// tmpfs over the state directory nor `/proc` can be unmounted, the tmpfs cannot be made
/// writable, and nothing can be created in it.
pub fn verify_locked(locked: &Locked) -> Result<(), MountError> {
    let not_locked = |what: String| Err(MountError::NotLocked(what));
    for target in [&locked.state_dir, &locked.proc] {
        if detach(target).is_ok() {
            return not_locked(format!("{} could be unmounted", target.display()));
        }
    }
    let writable = flags_of(&locked.state_dir).map(|flags| flags & !libc::MS_RDONLY);
    if let Ok(flags) = writable {
        let remount = libc::MS_REMOUNT | libc::MS_BIND | flags;
        if mount(None, &locked.state_dir, None, remount, None).is_ok() {
            return not_locked(format!(
                "{} could be made writable",
                locked.state_dir.display()
            ));
        }
    }
    let probe = locked.state_dir.join(".warden-lock-check");
    if create_file(&probe).is_ok() {
        return not_locked(format!("{} could be created", probe.display()));
    }
    Ok(())
}

fn mount(
    source: Option<&CStr>,
    target: &Path,
    fs_type: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let target = c_path(target)?;
    let pointer = |value: Option<&CStr>| value.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: mount with valid C strings or null pointers, which live across the call.
    let rc = unsafe {
        libc::mount(
            pointer(source),
            target.as_ptr(),
            pointer(fs_type),
            flags,
            pointer(data).cast(),
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn detach(target: &Path) -> io::Result<()> {
    let target = c_path(target)?;
    // SAFETY: umount2 with a valid C string.
    match unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn bind(source: &Path, target: &Path) -> io::Result<()> {
    let source = c_path(source)?;
    mount(Some(&source), target, None, libc::MS_BIND, None)
}

/// Makes the mount at `target` read-only. A bind remount must repeat the flags the mount
/// already has (the kernel refuses to clear `nosuid` and the like on a mount it locked).
fn read_only(target: &Path) -> io::Result<()> {
    let flags = flags_of(target)?;
    let remount = libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | flags;
    mount(None, target, None, remount, None)
}

/// The per-mount flags of the mount at `path`, as `mount(2)` flags.
fn flags_of(path: &Path) -> io::Result<libc::c_ulong> {
    let path = c_path(path)?;
    // SAFETY: statvfs is plain data that the call fills.
    let mut info: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: statvfs with a valid C string and a pointer to a local struct.
    if unsafe { libc::statvfs(path.as_ptr(), &mut info) } != 0 {
        return Err(io::Error::last_os_error());
    }
    const KEPT: [(libc::c_ulong, libc::c_ulong); 7] = [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(KEPT
        .iter()
        .filter(|(st, _)| info.f_flag & st != 0)
        .fold(0, |flags, (_, ms)| flags | ms))
}

/// The kernel's handle on `path` (`O_PATH`), valid after the path is hidden.
fn open_path(path: &Path) -> io::Result<OwnedFd> {
    let path = c_path(path)?;
    // SAFETY: open with a valid C string; the result is checked below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn create_file(path: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "the path contains a NUL byte"))
}
