//! What a program file really is. The policy's rules name programs (`rm`), but a file can be
//! a system program under another name: a symlink or hard link (`ln -s /bin/rm ~/tidy`), or
//! a copy (`cp /bin/rm /tmp/x`). The engine judges such a start as the system program too,
//! from the [`Identity`] found here:
//!
//! - the file is found by its inode (`stat` follows symlinks), so links need no hashing: the
//!   system index maps each inode of the system's binary directories to its names;
//! - a file that is not one of those inodes is compared by content, and only with system
//!   files of exactly its size (the index groups them by size): SHA-256 of both, each
//!   cached by (device, inode, size, mtime, ctime), so a file is hashed once per version
//!   (ctime, which no one can set back, catches a file rewritten with its old mtime);
//! - a script's `#!` line (or its lack, for text) says how it starts.
//!
//! What a file is gets cached by the same key, so a program start costs one `stat` and a
//! lookup. The index is built once, in the background when the daemon starts (a request
//! that needs it first waits for it), and again when a directory changes (housekeeping).
//! A program named by one of its own system names (`/usr/bin/python3`) has no identity to
//! add: the common start costs a set lookup and no `stat`.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::engine::{basename, Identity, Launch};
use crate::procfs::{self, as_seen_by};

/// The directories whose programs are the system's.
const SYSTEM_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Where root-owned files count as the system's own (their scripts are judged by name).
const SYSTEM_PREFIXES: &[&str] = &[
    "/usr/",
    "/bin/",
    "/sbin/",
    "/lib/",
    "/lib32/",
    "/lib64/",
    "/libx32/",
    "/etc/",
    "/opt/",
    "/snap/",
    "/nix/store/",
];

/// Files larger than this are never hashed (not recognised as copies).
const MAX_HASHED: u64 = 256 * 1024 * 1024;
/// Most files whose identity or hash is remembered; the caches start over when full.
const MAX_CACHED: usize = 8192;
/// Most names kept for one system file (a multi-call binary can have hundreds).
const MAX_NAMES: usize = 16;
/// The kernel reads at most this much of a `#!` line.
const SHEBANG_MAX: usize = 256;

/// A version of a file: it changes whenever the file's content can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileKey {
    pub fn of(meta: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    fn inode(&self) -> (u64, u64) {
        (self.dev, self.ino)
    }
}

/// The programs of the system directories.
struct SystemIndex {
    /// Each directory and its modification time when indexed.
    dirs: Vec<(PathBuf, Option<SystemTime>)>,
    /// Every indexed path: a start named by one of them is that program.
    paths: HashSet<Vec<u8>>,
    /// Inode → its names (the file's own name first).
    names: HashMap<(u64, u64), Vec<Vec<u8>>>,
    /// Size → one path per inode of that size.
    sizes: HashMap<u64, Vec<PathBuf>>,
}

impl SystemIndex {
    fn build() -> SystemIndex {
        let mut index = SystemIndex {
            dirs: Vec::new(),
            paths: HashSet::new(),
            names: HashMap::new(),
            sizes: HashMap::new(),
        };
        for dir in SYSTEM_DIRS {
            let dir = Path::new(dir);
            index.dirs.push((dir.to_path_buf(), modified(dir)));
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                index.add(&entry.path());
            }
        }
        for names in index.names.values_mut() {
            names.truncate(MAX_NAMES);
        }
        index
    }

    fn add(&mut self, path: &Path) {
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        if !meta.is_file() || meta.mode() & 0o111 == 0 {
            return;
        }
        let inode = (meta.dev(), meta.ino());
        let name = path.as_os_str().as_bytes().to_vec();
        self.paths.insert(name.clone());
        match self.names.get_mut(&inode) {
            Some(names) => {
                // The name that is not a symlink goes first: a multi-call binary's own name.
                let real =
                    std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_symlink());
                if real {
                    names.insert(0, name);
                } else {
                    names.push(name);
                }
            }
            None => {
                self.names.insert(inode, vec![name]);
                self.sizes
                    .entry(meta.size())
                    .or_default()
                    .push(path.to_path_buf());
            }
        }
    }

    fn changed(&self) -> bool {
        self.dirs.iter().any(|(dir, when)| modified(dir) != *when)
    }
}

fn modified(dir: &Path) -> Option<SystemTime> {
    std::fs::metadata(dir).and_then(|m| m.modified()).ok()
}

/// What a file is, independent of the name it was started by.
struct Found {
    /// The system names of the file (or of the system file it is a copy of).
    names: Vec<Vec<u8>>,
    launch: Launch,
}

/// The identities of program files, with the system index and the caches.
#[derive(Default)]
pub struct Identities {
    index: Mutex<Option<Arc<SystemIndex>>>,
    found: Mutex<HashMap<FileKey, Arc<Found>>>,
    hashes: Mutex<HashMap<FileKey, [u8; 32]>>,
}

impl Identities {
    /// Builds the system index now (the daemon calls this on a thread of its own at start).
    pub fn warm(&self) {
        self.index();
    }

    /// Rebuilds the index when a system directory changed, and forgets what was found
    /// with the old one.
    pub fn refresh_if_changed(&self) {
        let current = self.index.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if !current.is_some_and(|index| index.changed()) {
            return;
        }
        let fresh = Arc::new(SystemIndex::build());
        *self.index.lock().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
        self.found.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The index; the first caller builds it while later ones wait.
    fn index(&self) -> Arc<SystemIndex> {
        let mut slot = self.index.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| Arc::new(SystemIndex::build()))
            .clone()
    }

    /// What the program at `path` (as the process `pid` named it) really is, when that adds
    /// anything to its name.
    pub fn of(&self, path: &[u8], pid: Option<i32>) -> Option<Identity> {
        // A relative name would be looked up in the daemon's directory, not the caller's.
        if !path.starts_with(b"/") {
            return None;
        }
        // The common start, a system program by its own name, costs no `stat`.
        if self.index().paths.contains(path) {
            return None;
        }
        let seen = as_seen_by(path, pid);
        let (opened, meta) = match std::fs::metadata(&seen) {
            Ok(meta) => (seen.into_owned(), meta),
            Err(_) => descriptor_of(path, pid)?,
        };
        if !meta.is_file() {
            return None;
        }
        let key = FileKey::of(&meta);
        let found = self.found(key, &opened, &meta);
        if found.names.iter().any(|name| name == path) {
            // Started by one of its own system names: it is what it is called.
            return None;
        }
        let mut known_as: Vec<Vec<u8>> = Vec::new();
        for name in &found.names {
            let base = basename(name);
            if base != basename(path) && !known_as.iter().any(|k| basename(k) == base) {
                known_as.push(name.clone());
            }
        }
        if known_as.is_empty() && found.launch == Launch::Direct {
            return None;
        }
        Some(Identity {
            known_as,
            launch: found.launch.clone(),
        })
    }

    fn found(&self, key: FileKey, path: &Path, meta: &std::fs::Metadata) -> Arc<Found> {
        if let Some(found) = self
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return found.clone();
        }
        let index = self.index();
        let found = Arc::new(match index.names.get(&key.inode()) {
            Some(names) => Found {
                names: names.clone(),
                launch: Launch::Direct,
            },
            None => Found {
                names: self.copies(&index, key, path),
                launch: if is_system_file(path, meta) {
                    Launch::Direct
                } else {
                    launch(path)
                },
            },
        });
        let mut cache = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, found.clone());
        found
    }

    /// The names of the system files that `path` is a byte-for-byte copy of.
    fn copies(&self, index: &SystemIndex, key: FileKey, path: &Path) -> Vec<Vec<u8>> {
        let Some(candidates) = index.sizes.get(&key.size) else {
            return Vec::new();
        };
        let Some(own) = self.hash(key, path) else {
            return Vec::new();
        };
        let mut names = Vec::new();
        for candidate in candidates {
            let Ok(meta) = std::fs::metadata(candidate) else {
                continue;
            };
            let candidate_key = FileKey::of(&meta);
            if self.hash(candidate_key, candidate) == Some(own) {
                if let Some(found) = index.names.get(&candidate_key.inode()) {
                    names.extend(found.iter().cloned());
                }
            }
        }
        names
    }

    /// The SHA-256 of a file's content, cached by its key; `None` when it cannot be read
    /// or changed while being read.
    fn hash(&self, key: FileKey, path: &Path) -> Option<[u8; 32]> {
        if key.size > MAX_HASHED {
            return None;
        }
        if let Some(digest) = self
            .hashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Some(*digest);
        }
        let mut file = open_regular(path)?;
        if FileKey::of(&file.metadata().ok()?) != key {
            return None;
        }
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => hasher.update(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return None,
            }
        }
        let digest: [u8; 32] = hasher.finalize().into();
        let mut hashes = self.hashes.lock().unwrap_or_else(|e| e.into_inner());
        if hashes.len() >= MAX_CACHED {
            hashes.clear();
        }
        hashes.insert(key, digest);
        Some(digest)
    }

    /// Whether `path` (already `stat`ed) is one of the system's own files, judged by name.
    pub fn is_system(&self, path: &Path, meta: &std::fs::Metadata) -> bool {
        self.index().names.contains_key(&(meta.dev(), meta.ino())) || is_system_file(path, meta)
    }
}

/// Root's, not writable by others, and under a system directory: a file only the
/// administrator can have put there.
fn is_system_file(path: &Path, meta: &std::fs::Metadata) -> bool {
    if meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return false;
    }
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    let real = real.as_os_str().as_bytes();
    SYSTEM_PREFIXES
        .iter()
        .any(|p| real.starts_with(p.as_bytes()))
}

/// How a non-system file starts: `#!` names its interpreter; text without it is run by the
/// shell that tries it; anything else is a binary.
fn launch(path: &Path) -> Launch {
    let Some(mut file) = open_regular(path) else {
        return Launch::Direct;
    };
    let mut head = vec![0u8; SHEBANG_MAX];
    let mut len = 0;
    while len < head.len() {
        match file.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Launch::Direct,
        }
    }
    let head = &head[..len];
    if let Some(line) = head.strip_prefix(b"#!") {
        let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
        return Launch::Interpreter(line[..end].to_vec());
    }
    if head.is_empty() || head.starts_with(b"\x7fELF") || head.contains(&0) {
        return Launch::Direct;
    }
    Launch::ShellText
}

/// Opens a regular file for reading without ever waiting: `O_NONBLOCK` (a FIFO swapped in
/// after the `stat` opens at once, and is refused below), no controlling terminal.
pub fn open_regular(path: &Path) -> Option<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// `fexecve` of a deleted file or a memfd: the library sends the descriptor's link text
/// (`/memfd:x (deleted)`), which names no file. The process still holds the descriptor:
/// find it among its open files.
fn descriptor_of(path: &[u8], pid: Option<i32>) -> Option<(PathBuf, std::fs::Metadata)> {
    if !(path.ends_with(b" (deleted)") || path.starts_with(b"/memfd:")) {
        return None;
    }
    let link = procfs::descriptor_of(pid?, path)?;
    let meta = std::fs::metadata(&link).ok()?;
    Some((link, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("warden-identity-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn bytes(path: &Path) -> &[u8] {
        path.as_os_str().as_bytes()
    }

    #[test]
    fn a_system_program_named_by_its_own_name_adds_nothing() {
        let identities = Identities::default();
        assert_eq!(identities.of(b"/bin/ls", None), None);
        assert_eq!(identities.of(b"/usr/bin/ls", None), None);
        assert_eq!(identities.of(b"ls", None), None);
    }

    #[test]
    fn links_and_copies_are_the_system_program() {
        let dir = scratch("links");
        let link = dir.join("tidy");
        std::os::unix::fs::symlink("/bin/ls", &link).unwrap();
        let copy = dir.join("x");
        std::fs::copy("/bin/ls", &copy).unwrap();
        let identities = Identities::default();
        for path in [&link, &copy] {
            let identity = identities.of(bytes(path), None).expect("an identity");
            assert!(
                identity.known_as.iter().any(|n| basename(n) == b"ls"),
                "{path:?}: {identity:?}"
            );
            assert_eq!(identity.launch, Launch::Direct);
        }
        // A one-byte change is another program.
        let mut content = std::fs::read(&copy).unwrap();
        content[100] ^= 1;
        std::fs::write(&copy, content).unwrap();
        assert_eq!(identities.of(bytes(&copy), None), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn scripts_say_how_they_start() {
        let dir = scratch("scripts");
        let cases: [(&str, &[u8], Launch); 3] = [
            (
                "a",
                b"#!/usr/bin/env python3\nprint(1)\n",
                Launch::Interpreter(b"/usr/bin/env python3".to_vec()),
            ),
            ("b", b"rm -rf ~\n", Launch::ShellText),
            ("c", b"\x00\x01binary", Launch::Direct),
        ];
        let identities = Identities::default();
        for (name, content, launch) in cases {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            let found = identities.of(bytes(&path), None);
            assert_eq!(
                found.map(|i| i.launch).unwrap_or_default(),
                launch,
                "{name}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
