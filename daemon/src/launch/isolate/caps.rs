//! Capabilities in the session's user namespaces. The init needs one, `CAP_SYS_ADMIN` in the
//! session's first user namespace, for its mounts; the agent keeps none, so that neither it
//! nor anything it execs can undo them.

use std::io;

/// linux/capability.h: what mounting needs.
pub const CAP_SYS_ADMIN: u32 = 21;
/// linux/capability.h: what mapping root into a new user namespace needs.
pub const CAP_SETFCAP: u32 = 31;

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Sets {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("cannot drop capability {cap} from the bounding set: {error}")]
    Bounding { cap: u32, error: io::Error },
    #[error("cannot clear the ambient capabilities: {0}")]
    Ambient(io::Error),
    #[error("cannot clear the capability sets: {0}")]
    Sets(io::Error),
    #[error("capabilities are left after dropping them all")]
    Left,
}

/// Keeps `CAP_SYS_ADMIN` through the exec of the session's init, as an ambient capability:
/// the user is not root in the new user namespace (it maps the user to itself), and an exec
/// would otherwise drop every capability. Async-signal-safe (`capget`, `capset`, `prctl`), for
/// the child between clone and exec.
pub fn keep_admin_across_exec() -> io::Result<()> {
    let mut sets = [Sets::default(); 2];
    get(&mut sets)?;
    sets[0].inheritable |= 1 << CAP_SYS_ADMIN;
    set(&sets)?;
    // SAFETY: prctl with integer arguments only.
    let raised = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE,
            CAP_SYS_ADMIN as libc::c_ulong,
            0,
            0,
        )
    };
    if raised != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Every capability given up for good before the agent's exec: the bounding set first (all
/// but `keep`), so that an exec as root of the user namespace cannot bring any back, then
/// [`clear`]. Needs `CAP_SETPCAP`, which a process has in the user namespace it has just
/// created.
pub fn drop_all(keep: &[u32]) -> Result<(), CapsError> {
    // Capabilities are numbered from 0; the first number the kernel does not know ends them.
    for cap in (0..).filter(|cap| !keep.contains(cap)) {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } < 0 {
            break;
        }
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            let error = io::Error::last_os_error();
            return Err(CapsError::Bounding { cap, error });
        }
    }
    clear()?;
    match none_held() {
        true => Ok(()),
        false => Err(CapsError::Left),
    }
}

/// The process's own capabilities reduced to `kept` (effective and permitted), the ambient
/// and inheritable sets emptied.
pub fn keep_only(kept: &[u32]) -> Result<(), CapsError> {
    // SAFETY: prctl with integer arguments only.
    let cleared = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    if cleared != 0 {
        return Err(CapsError::Ambient(io::Error::last_os_error()));
    }
    let mut sets = [Sets::default(); 2];
    for &cap in kept {
        let bit = 1 << (cap % 32);
        sets[(cap / 32) as usize].effective |= bit;
        sets[(cap / 32) as usize].permitted |= bit;
    }
    set(&sets).map_err(CapsError::Sets)
}

/// The process's own capabilities emptied: ambient, then effective, permitted and inheritable.
fn clear() -> Result<(), CapsError> {
    keep_only(&[])
}

/// Whether the process holds no capability in any set (the bounding set aside).
pub fn none_held() -> bool {
    let mut sets = [Sets::default(); 2];
    get(&mut sets).is_ok()
        && sets
            .iter()
            .all(|s| s.effective == 0 && s.permitted == 0 && s.inheritable == 0)
}

fn get(sets: &mut [Sets; 2]) -> io::Result<()> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capget with a version 3 header writes two `Sets` into the array we own.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, sets.as_mut_ptr()) };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

fn set(sets: &[Sets; 2]) -> io::Result<()> {
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    // SAFETY: capset with a version 3 header reads two `Sets` from the array we own.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, sets.as_ptr()) };
    match rc {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}
