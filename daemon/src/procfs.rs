//! Reading `/proc`: one reader for the daemon (who is calling, which session it belongs to)
//! and for `warden preload` (what a tracee runs, in strict mode). Every read is bounded, and a process that is gone or whose
//! files cannot be read is `None`, never a guess.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// The initial environment block of `pid` (NUL-separated), at most `limit` bytes; `None`
/// when it cannot be read or is larger.
pub fn environ(pid: i32, limit: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    let mut block = Vec::new();
    file.take(limit + 1).read_to_end(&mut block).ok()?;
    (block.len() as u64 <= limit).then_some(block)
}

/// A process's parent and start time (clock ticks since boot), from `/proc/<pid>/stat`.
/// The start time tells a live process apart from a later one that reuses its pid.
pub fn proc_stat(pid: i32) -> Option<(i32, u64)> {
    use std::io::Read;
    // One open and one read (this runs for every preflight; `read_to_string` would stat the
    // file and read it in growing chunks). A line that fills the buffer is refused, not cut.
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut storage = [0u8; STAT_MAX];
    let len = file.read(&mut storage).ok()?;
    if len == storage.len() {
        return None;
    }
    parse_stat(std::str::from_utf8(&storage[..len]).ok()?)
}

/// Room for one `/proc/<pid>/stat` line (52 numeric fields of at most 20 digits, plus the
/// name).
const STAT_MAX: usize = 1536;

/// Parent and start time from the text of `/proc/<pid>/stat`.
fn parse_stat(stat: &str) -> Option<(i32, u64)> {
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3 (state): ppid is field 4, starttime field 22.
    let mut fields = rest.split_ascii_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(17)?.parse().ok()?;
    Some((ppid, start))
}

/// Whether `ancestor` is `pid` itself or one of its ancestors.
pub fn is_self_or_ancestor(ancestor: i32, pid: i32) -> bool {
    ancestry(pid).any(|(current, _)| current == ancestor)
}

/// `pid` and then each of its ancestors, with their start times, as long as /proc tells.
pub fn ancestry(pid: i32) -> impl Iterator<Item = (i32, u64)> {
    let mut next = Some(pid);
    let walk = std::iter::from_fn(move || {
        let current = next.take()?;
        let (ppid, start) = proc_stat(current)?;
        next = (ppid > 0 && ppid != current).then_some(ppid);
        Some((current, start))
    });
    walk.take(ANCESTRY_LIMIT)
}

/// Most processes an ancestry walk visits, so a corrupt or racing /proc cannot loop forever.
pub const ANCESTRY_LIMIT: usize = 4096;

/// The program `pid` runs (`/proc/<pid>/exe`: the kernel's word, not argv[0]).
pub fn exe(pid: i32) -> std::io::Result<Vec<u8>> {
    link(pid, "exe")
}

/// The working directory of `pid` (`/proc/<pid>/cwd`).
pub fn cwd(pid: i32) -> std::io::Result<Vec<u8>> {
    link(pid, "cwd")
}

fn link(pid: i32, name: &str) -> std::io::Result<Vec<u8>> {
    use std::os::unix::ffi::OsStringExt;
    std::fs::read_link(format!("/proc/{pid}/{name}")).map(|path| path.into_os_string().into_vec())
}

/// The arguments of `pid` (`/proc/<pid>/cmdline`), reading at most `limit` bytes of them:
/// `Err` with [`std::io::ErrorKind::FileTooLarge`] beyond, never a shortened list.
pub fn cmdline(pid: i32, limit: u64) -> std::io::Result<Vec<Vec<u8>>> {
    use std::io::Read;
    let file = std::fs::File::open(format!("/proc/{pid}/cmdline"))?;
    let mut block = Vec::new();
    file.take(limit + 1).read_to_end(&mut block)?;
    if block.len() as u64 > limit {
        return Err(std::io::ErrorKind::FileTooLarge.into());
    }
    Ok(split_cmdline(&block))
}

/// The NUL-separated (and usually NUL-ended) arguments of a `cmdline` block.
fn split_cmdline(block: &[u8]) -> Vec<Vec<u8>> {
    let args = block.strip_suffix(b"\0").unwrap_or(block);
    if block.is_empty() {
        return Vec::new();
    }
    args.split(|&b| b == 0).map(<[u8]>::to_vec).collect()
}

/// The live children of `pid`, from a scan of `/proc` (the kernel's own list of children
/// is often not built in).
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: Vec<i32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&candidate| proc_stat(candidate).is_some_and(|(ppid, _)| ppid == pid))
        .collect();
    children.sort_unstable();
    children
}

/// The command name the kernel keeps for `pid` (`/proc/<pid>/comm`, at most 15 bytes).
pub fn command_name(pid: i32) -> Option<String> {
    let name = std::fs::read(format!("/proc/{pid}/comm")).ok()?;
    Some(String::from_utf8_lossy(name.strip_suffix(b"\n").unwrap_or(&name)).into_owned())
}

/// A namespace, told apart from every other live one by the device and inode of its file in
/// the kernel's nsfs (what `/proc/<pid>/ns/*` links to).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    pub dev: u64,
    pub ino: u64,
}

impl Namespace {
    fn of(metadata: &std::fs::Metadata) -> Namespace {
        Namespace {
            dev: metadata.dev(),
            ino: metadata.ino(),
        }
    }
}

/// The pid namespace of `pid`; `None` when the process is gone or its namespace cannot be
/// read. One `stat`, cheap enough for every preflight.
pub fn pid_namespace(pid: i32) -> Option<Namespace> {
    let metadata = std::fs::metadata(format!("/proc/{pid}/ns/pid")).ok()?;
    Some(Namespace::of(&metadata))
}

/// The pid namespace of `pid`, then each namespace above it (through the `NS_GET_PARENT`
/// ioctl), innermost first, up to the reader's own: the kernel refuses to name a parent
/// outside the caller's view. A process cannot leave its pid namespace, so this chain is
/// the process's for life.
pub fn pid_namespaces(pid: i32) -> impl Iterator<Item = Namespace> {
    let mut next = std::fs::File::open(format!("/proc/{pid}/ns/pid")).ok();
    let walk = std::iter::from_fn(move || {
        let current = next.take()?;
        let namespace = Namespace::of(&current.metadata().ok()?);
        next = parent_namespace(&current);
        Some(namespace)
    });
    walk.take(NAMESPACE_DEPTH_LIMIT)
}

/// Pid namespaces nest at most 32 deep (the kernel's `MAX_PID_NS_LEVEL`), plus the first.
const NAMESPACE_DEPTH_LIMIT: usize = 33;

/// `_IO(0xb7, 0x2)` from linux/nsfs.h.
const NS_GET_PARENT: libc::c_ulong = 0xb702;

fn parent_namespace(namespace: &std::fs::File) -> Option<std::fs::File> {
    // SAFETY: NS_GET_PARENT takes no argument and returns a new descriptor (close-on-exec)
    // or -1; the descriptor it is called on is ours and open.
    let fd = unsafe { libc::ioctl(namespace.as_raw_fd(), NS_GET_PARENT) };
    // SAFETY: a non-negative result is a fresh descriptor nobody else owns.
    (fd >= 0).then(|| std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// A path as the process `pid` means it: its `/proc/self`, `/proc/thread-self`, `/dev/fd`
/// and `/dev/std*` are its own, not the reader's.
pub fn as_seen_by(path: &[u8], pid: Option<i32>) -> std::borrow::Cow<'_, std::path::Path> {
    use std::os::unix::ffi::OsStrExt;
    let own = |rest: &[u8], pid: i32| {
        let mut mapped = format!("/proc/{pid}/").into_bytes();
        mapped.extend_from_slice(rest);
        std::borrow::Cow::Owned(PathBuf::from(OsString::from_vec(mapped)))
    };
    if let Some(pid) = pid {
        for prefix in [&b"/proc/self/"[..], b"/proc/thread-self/"] {
            if let Some(rest) = path.strip_prefix(prefix) {
                return own(rest, pid);
            }
        }
        if let Some(fd) = path.strip_prefix(b"/dev/fd/") {
            return own(&[b"fd/", fd].concat(), pid);
        }
        let stream: Option<&[u8]> = match path {
            b"/dev/stdin" => Some(b"fd/0"),
            b"/dev/stdout" => Some(b"fd/1"),
            b"/dev/stderr" => Some(b"fd/2"),
            _ => None,
        };
        if let Some(stream) = stream {
            return own(stream, pid);
        }
    }
    std::borrow::Cow::Borrowed(std::path::Path::new(std::ffi::OsStr::from_bytes(path)))
}

/// The descriptor of `pid` whose link reads `target` (`/memfd:x (deleted)`), as a path
/// that opens the file it holds (`/proc/<pid>/fd/<n>`); the first 4,096 are looked at.
pub fn descriptor_of(pid: i32, target: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    dir.flatten()
        .take(4096)
        .map(|entry| entry.path())
        .find(|link| {
            std::fs::read_link(link).is_ok_and(|found| found.as_os_str().as_bytes() == target)
        })
}

/// Where file systems of the given types are mounted in the reader's mount namespace, from
/// `/proc/self/mountinfo`; `None` when it cannot be read.
pub fn mount_points(types: &[&str]) -> Option<Vec<PathBuf>> {
    use std::io::Read;
    let mut text = Vec::new();
    std::fs::File::open("/proc/self/mountinfo")
        .ok()?
        .take(MOUNTINFO_LIMIT)
        .read_to_end(&mut text)
        .ok()?;
    Some(mount_points_in(&text, types))
}

/// Largest mountinfo read (a few thousand mounts).
const MOUNTINFO_LIMIT: u64 = 4 << 20;

/// The mount points of `types` in the text of a mountinfo file. Each line is
/// `ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL…] - TYPE SOURCE SUPER-OPTIONS`,
/// with spaces, tabs, newlines and backslashes in paths written as octal escapes.
fn mount_points_in(text: &[u8], types: &[&str]) -> Vec<PathBuf> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let separator = fields.iter().position(|f| *f == b"-")?;
            let fs_type = fields.get(separator + 1)?;
            let mount_point = fields.get(4)?;
            types
                .iter()
                .any(|t| t.as_bytes() == *fs_type)
                .then(|| PathBuf::from(OsString::from_vec(unescape_octal(mount_point))))
        })
        .collect()
}

fn unescape_octal(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let digits = field.get(i + 1..i + 4);
        match digits {
            Some(d) if field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            _ => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_self_is_the_named_process() {
        use std::path::Path;
        assert_eq!(
            as_seen_by(b"/proc/self/fd/3", Some(42)),
            Path::new("/proc/42/fd/3")
        );
        assert_eq!(
            as_seen_by(b"/dev/fd/3", Some(42)),
            Path::new("/proc/42/fd/3")
        );
        assert_eq!(
            as_seen_by(b"/dev/stdin", Some(7)),
            Path::new("/proc/7/fd/0")
        );
        assert_eq!(
            as_seen_by(b"/usr/bin/ls", Some(7)),
            Path::new("/usr/bin/ls")
        );
        assert_eq!(
            as_seen_by(b"/proc/self/exe", None),
            Path::new("/proc/self/exe")
        );
    }

    #[test]
    fn own_stat_names_the_parent() {
        let (ppid, _) = proc_stat(std::process::id() as i32).unwrap();
        assert_eq!(ppid as u32, std::os::unix::process::parent_id());
    }

    #[test]
    fn our_parent_is_our_ancestor_and_not_the_reverse() {
        let own = std::process::id() as i32;
        let parent = std::os::unix::process::parent_id() as i32;
        assert!(is_self_or_ancestor(own, own));
        assert!(is_self_or_ancestor(parent, own));
        assert!(!is_self_or_ancestor(own, parent));
    }

    #[test]
    fn ancestry_starts_with_the_process_and_its_start_time() {
        let own = std::process::id() as i32;
        let chain: Vec<(i32, u64)> = ancestry(own).collect();
        assert_eq!(chain[0], (own, proc_stat(own).unwrap().1));
        assert_eq!(chain[1].0 as u32, std::os::unix::process::parent_id());
        assert_eq!(ancestry(i32::MAX).count(), 0);
    }

    #[test]
    fn stat_is_parsed_after_the_last_parenthesis() {
        let line = "42 (a) b) (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3\n";
        assert_eq!(parse_stat(line), Some((7, 987654)));
        assert_eq!(parse_stat("42 (x) S 7"), None);
    }

    #[test]
    fn cmdline_keeps_empty_arguments_and_refuses_to_shorten() {
        assert_eq!(split_cmdline(b"a\0\0b c\0"), [&b"a"[..], b"", b"b c"]);
        assert_eq!(split_cmdline(b"\0"), [&b""[..]]);
        assert!(split_cmdline(b"").is_empty());
        let own = std::process::id() as i32;
        let args: Vec<Vec<u8>> = std::env::args().map(String::into_bytes).collect();
        assert_eq!(cmdline(own, 1 << 20).unwrap(), args);
        let err = cmdline(own, 1).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert_eq!(
            exe(own).unwrap(),
            std::fs::read_link("/proc/self/exe")
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        );
    }

    #[test]
    fn a_spawned_child_is_found_with_its_name() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert!(children_of(std::process::id() as i32).contains(&pid));
        assert_eq!(command_name(pid).as_deref(), Some("sleep"));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!children_of(std::process::id() as i32).contains(&pid));
        assert_eq!(command_name(pid), None);
    }

    #[test]
    fn missing_process_has_no_stat() {
        assert_eq!(proc_stat(i32::MAX), None);
    }

    #[test]
    fn our_pid_namespace_is_our_parents_and_has_no_parent_we_can_see() {
        let own = std::process::id() as i32;
        let parent = std::os::unix::process::parent_id() as i32;
        let namespace = pid_namespace(own).expect("our own pid namespace");
        assert_eq!(pid_namespace(parent), Some(namespace));
        // The walk starts at our namespace and stops there: its parent is outside our view.
        assert_eq!(pid_namespaces(own).collect::<Vec<_>>(), vec![namespace]);
        assert_eq!(pid_namespace(i32::MAX), None);
        assert_eq!(pid_namespaces(i32::MAX).count(), 0);
    }

    #[test]
    fn mount_points_are_found_by_type_and_unescaped() {
        let text = b"22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
            30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n\
            31 25 0:27 / /sys/fs/cgroup/cpu rw shared:9 - cgroup cgroup rw,cpu\n\
            40 1 0:30 / /mnt/with\\040space\\134x rw - cgroup2 none rw\n\
            truncated line without a separator\n";
        assert_eq!(
            mount_points_in(text, &["cgroup", "cgroup2"]),
            vec![
                PathBuf::from("/sys/fs/cgroup/unified"),
                PathBuf::from("/sys/fs/cgroup/cpu"),
                PathBuf::from("/mnt/with space\\x"),
            ]
        );
        assert_eq!(
            mount_points_in(text, &["proc"]),
            vec![PathBuf::from("/proc")]
        );
        assert!(mount_points(&["proc"])
            .unwrap()
            .contains(&PathBuf::from("/proc")));
    }
}
