//! What a tracee's stderr is told, in the library's own words ([`lines`], which
//! `warden preload` shares for the agent command), so that a program refused at its exec stop
//! reads the same as one refused by a hook: `warden: denied: <command> — <reason>`, and the
//! waiting line while a person decides. A denied tracee is then killed before its new program
//! runs one instruction; its parent sees a death by SIGKILL.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use super::super::lines;
use super::stop::ExecStop;
use crate::quote;
use crate::wire::Bytes;

/// Longest line the library writes (`LINE_MAX` less room for "…\n").
const LINE_ROOM: usize = 1020;
/// Longest argv shown when the daemon names no deciding command (`DISPLAY_MAX`).
const DISPLAY_MAX: usize = 300;

/// Writes the denial line to the tracee's stderr and kills it.
pub fn refuse(stop: ExecStop, command: &str, reason: &str) {
    if let Some(stderr) = Stderr::of(stop.pid()) {
        stderr.say(&lines::denied(command, Some(reason)));
    }
    stop.kill();
}

/// The command a line is about, as the library shows it: the daemon's deciding command when
/// its reply names one, else the argv shell-quoted, at most [`DISPLAY_MAX`] bytes (cut on a
/// character boundary, "…" when cut).
pub fn command(deciding: Option<&str>, argv: &[Bytes]) -> String {
    if let Some(deciding) = deciding.filter(|c| !c.is_empty()) {
        return as_the_library_reads(deciding);
    }
    let mut shown = quote::command_line(argv);
    if shown.len() > DISPLAY_MAX {
        let mut cut = DISPLAY_MAX;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}

/// The daemon's message as the library shows it.
pub fn reason(message: Option<&str>) -> String {
    message.map(as_the_library_reads).unwrap_or_default()
}

/// Text from the daemon's reply as the library prints it: it reads the JSON escapes itself,
/// turning `\n`, `\t` and `\r` into spaces, `\b` and `\f` into their letters, and dropping the
/// other control characters (`push_unescaped` in preload/src/reply.rs).
fn as_the_library_reads(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\t' | '\r' => Some(' '),
            '\u{8}' => Some('b'),
            '\u{c}' => Some('f'),
            c if (c as u32) < 0x20 => None,
            c => Some(c),
        })
        .collect()
}

/// A line as the library writes it: shortened to its length ("…"), one newline.
fn line_bytes(line: &str) -> Vec<u8> {
    let mut bytes = line.as_bytes().to_vec();
    if bytes.len() > LINE_ROOM {
        bytes.truncate(LINE_ROOM);
        bytes.extend("…".as_bytes());
    }
    bytes.push(b'\n');
    bytes
}

/// A tracee's stderr: a copy of its own descriptor (the same open file, so a line lands
/// where its own write would, whoever owns a pipe), taken through a pidfd while the tracee is
/// stopped, so it never names another process later.
pub struct Stderr(OwnedFd);

impl Stderr {
    /// The stderr of tracee `pid` (in a ptrace-stop); `None` when it cannot be taken.
    pub fn of(pid: libc::pid_t) -> Option<Stderr> {
        // SAFETY: pidfd_open and pidfd_getfd take integers and return new descriptors
        // (close-on-exec) or -1; the tracee is in a ptrace-stop, and as its tracer we may take
        // its files.
        unsafe {
            let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
            if pidfd < 0 {
                return None;
            }
            let pidfd = OwnedFd::from_raw_fd(pidfd as i32);
            let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), 2, 0);
            (fd >= 0).then(|| Stderr(OwnedFd::from_raw_fd(fd as i32)))
        }
    }

    /// Writes `line` without ever blocking, in the way the file's kind allows: the
    /// supervisor must not hang on a full pipe. A line that cannot be written at once is
    /// lost.
    pub fn say(&self, line: &str) {
        let line = line_bytes(line);
        let fd = self.0.as_raw_fd();
        // SAFETY: fstat into a local; the writes read `line` for its length through our own
        // descriptor, and none of them blocks (a regular file's write waits for no reader).
        unsafe {
            let mut stat: libc::stat = std::mem::zeroed();
            if libc::fstat(fd, &mut stat) != 0 {
                return;
            }
            let iov = libc::iovec {
                iov_base: line.as_ptr().cast_mut().cast(),
                iov_len: line.len(),
            };
            match stat.st_mode & libc::S_IFMT {
                libc::S_IFREG => {
                    libc::write(fd, iov.iov_base, iov.iov_len);
                }
                libc::S_IFSOCK => {
                    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
                    libc::send(fd, iov.iov_base, iov.iov_len, flags);
                }
                // Pipes take RWF_NOWAIT; a terminal does not, and is opened anew.
                _ => {
                    if libc::pwritev2(fd, &iov, 1, -1, libc::RWF_NOWAIT) < 0
                        && *libc::__errno_location() == libc::EOPNOTSUPP
                    {
                        self.reopened(&line);
                    }
                }
            }
        }
    }

    /// Writes `line` to the same file opened anew without blocking (a terminal).
    fn reopened(&self, line: &[u8]) {
        let reopened = std::fs::OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(format!("/proc/self/fd/{}", self.0.as_raw_fd()));
        if let Ok(mut file) = reopened {
            let _ = file.write(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::from(*s)).collect()
    }

    #[test]
    fn the_command_is_the_deciding_one_or_the_argv_shell_quoted() {
        let key = argv(&["cat", "/k/my key"]);
        assert_eq!(command(Some("cat /k/key"), &key), "cat /k/key");
        assert_eq!(command(None, &key), "cat '/k/my key'");
        assert_eq!(command(Some(""), &key), "cat '/k/my key'");
        let long = "é".repeat(DISPLAY_MAX);
        let shown = command(None, &argv(&["x", &long]));
        assert!(shown.ends_with('…') && shown.len() <= DISPLAY_MAX + "…".len());
    }

    #[test]
    fn messages_lose_their_control_characters_as_in_the_library() {
        assert_eq!(reason(Some("a\nb\tc\u{1}d\u{8}")), "a b cdb");
        assert_eq!(
            lines::denied("rm", Some(&reason(None))),
            "warden: denied: rm — denied by policy"
        );
    }

    #[test]
    fn lines_are_cut_to_the_librarys_length() {
        let line = line_bytes(&lines::denied("x", Some(&"r".repeat(2000))));
        assert_eq!(line.len(), LINE_ROOM + "…\n".len());
        assert_eq!(line_bytes("warden: x"), b"warden: x\n");
    }

    #[test]
    fn a_line_goes_to_the_processes_own_stderr_without_blocking() {
        use std::io::Read;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Stderr::of(child.id() as i32).expect("the child's stderr");
        stderr.say("warden: one");
        // A full pipe: the rest is dropped, never waited for.
        for _ in 0..100 {
            stderr.say(&"x".repeat(1000));
        }
        let mut head = [0u8; 12];
        let mut pipe = child.stderr.take().unwrap();
        pipe.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"warden: one\n");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
