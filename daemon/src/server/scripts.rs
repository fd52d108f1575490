//! The daemon's reader of the script files commands run (`bash F`, `python F`, `./F`): the
//! engine's [`FileSource`]. Bounded in size ([`MAX_SCRIPT_BYTES`], the rest is reported as
//! cut) and in time: only regular files are opened, with `O_NONBLOCK`, so a FIFO or a
//! device is never waited on. Paths are read as the requesting process means them (its
//! `/proc/self`, `/dev/fd`), and the system's own files are not read at all: they are
//! judged by their names, like the programs they are.

use std::io::Read;

use super::identity::{open_regular, Identities};
use crate::engine::{FileRead, FileSource, MAX_SCRIPT_BYTES};
use crate::procfs::as_seen_by;

/// Reads scripts for one preflight of the process `pid`.
pub struct Scripts<'d> {
    pub pid: Option<i32>,
    pub identities: &'d Identities,
}

impl FileSource for Scripts<'_> {
    fn read(&self, path: &[u8]) -> FileRead {
        let path = as_seen_by(path, self.pid);
        let Ok(meta) = std::fs::metadata(&path) else {
            return FileRead::Unavailable;
        };
        if !meta.is_file() {
            return FileRead::Unavailable;
        }
        if self.identities.is_system(&path, &meta) {
            return FileRead::System;
        }
        let Some(file) = open_regular(&path) else {
            return FileRead::Unavailable;
        };
        let mut content = Vec::with_capacity((meta.len() as usize).min(MAX_SCRIPT_BYTES + 1));
        // One byte past the bound tells a cut file from one of exactly the bound.
        match file
            .take(MAX_SCRIPT_BYTES as u64 + 1)
            .read_to_end(&mut content)
        {
            Ok(_) if content.len() > MAX_SCRIPT_BYTES => {
                content.truncate(MAX_SCRIPT_BYTES);
                FileRead::Truncated(content)
            }
            Ok(_) => FileRead::Content(content),
            Err(_) => FileRead::Unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn reader(identities: &Identities) -> Scripts<'_> {
        Scripts {
            pid: Some(std::process::id() as i32),
            identities,
        }
    }

    #[test]
    fn scripts_are_read_up_to_the_bound() {
        let dir = std::env::temp_dir().join(format!("warden-scripts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = dir.join("small.sh");
        std::fs::write(&small, "rm -rf ~\n").unwrap();
        let large = dir.join("large.sh");
        std::fs::write(&large, vec![b'#'; MAX_SCRIPT_BYTES + 10]).unwrap();
        let identities = Identities::default();
        let scripts = reader(&identities);
        assert_eq!(
            scripts.read(small.as_os_str().as_bytes()),
            FileRead::Content(b"rm -rf ~\n".to_vec())
        );
        match scripts.read(large.as_os_str().as_bytes()) {
            FileRead::Truncated(prefix) => assert_eq!(prefix.len(), MAX_SCRIPT_BYTES),
            other => panic!("{other:?}"),
        }
        assert_eq!(scripts.read(b"/no/such/file"), FileRead::Unavailable);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fifos_and_devices_are_never_waited_on() {
        let dir = std::env::temp_dir().join(format!("warden-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("f");
        let path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let identities = Identities::default();
        let scripts = reader(&identities);
        let started = std::time::Instant::now();
        assert_eq!(
            scripts.read(fifo.as_os_str().as_bytes()),
            FileRead::Unavailable
        );
        assert_eq!(scripts.read(b"/dev/zero"), FileRead::Unavailable);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn system_files_are_judged_by_name() {
        let identities = Identities::default();
        let scripts = reader(&identities);
        // Root's own files; the tests may run as root, but the path decides too.
        if std::fs::metadata("/etc/profile")
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        {
            assert_eq!(scripts.read(b"/etc/profile"), FileRead::System);
        }
    }
}
