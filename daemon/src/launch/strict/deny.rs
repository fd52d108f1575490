//! What a tracee's stderr is told, in the library's own words, so that a program refused at
//! its exec stop reads the same as one refused by a hook: `warden: denied: <command> —
//! <reason>` (`refuse` in preload/src/preflight.rs, `stderr_line` in preload/src/sys.rs), and
//! `warden: waiting for approval #<id>: …` (preload/src/ask.rs). A denied tracee is then
//! killed before its new program runs one instruction; its parent sees a death by SIGKILL.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use super::stop::ExecStop;
use crate::wire::Bytes;

/// Longest line the library writes (`LINE_MAX` less room for "…\n").
const LINE_ROOM: usize = 1020;
/// Longest command shown in a line (`DISPLAY_MAX`), so the reason after it stays visible.
const DISPLAY_MAX: usize = 300;

/// Writes the denial line to the tracee's stderr and kills it.
pub fn refuse(stop: ExecStop, argv: &[Bytes], reason: &str) {
    tell(stop.pid(), &denial(argv, reason));
    stop.kill();
}

/// `warden: denied: <command> — <reason>`.
pub fn denial(argv: &[Bytes], reason: &str) -> Vec<u8> {
    let mut content = b"denied: ".to_vec();
    content.extend(display(argv));
    content.extend(" — ".as_bytes());
    content.extend(reason.as_bytes());
    line(content)
}

/// `warden: waiting for approval #<id>: <command> — run "warden approve <id>" or …`.
pub fn waiting(id: u64, argv: &[Bytes]) -> Vec<u8> {
    let mut content = format!("waiting for approval #{id}: ").into_bytes();
    content.extend(display(argv));
    content.extend(format!(" — run \"warden approve {id}\" or \"warden deny {id}\"").as_bytes());
    line(content)
}

/// The daemon's message as the library shows it: it reads the reply's JSON escapes itself,
/// turning `\n`, `\t` and `\r` into spaces, `\b` and `\f` into their letters, and dropping the
/// other control characters (`push_unescaped` in preload/src/reply.rs).
pub fn reason(message: Option<&str>) -> String {
    match message.filter(|m| !m.is_empty()) {
        None => "denied by policy".into(),
        Some(message) => message
            .chars()
            .filter_map(|c| match c {
                '\n' | '\t' | '\r' => Some(' '),
                '\u{8}' => Some('b'),
                '\u{c}' => Some('f'),
                c if (c as u32) < 0x20 => None,
                c => Some(c),
            })
            .collect(),
    }
}

/// argv joined with spaces, at most [`DISPLAY_MAX`] bytes cut on a character boundary, with
/// "…" when shortened.
fn display(argv: &[Bytes]) -> Vec<u8> {
    let mut shown = Vec::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            shown.push(b' ');
        }
        shown.extend_from_slice(arg.as_slice());
    }
    if shown.len() > DISPLAY_MAX {
        shown.truncate(DISPLAY_MAX);
        if let Err(err) = std::str::from_utf8(&shown) {
            if err.error_len().is_none() {
                shown.truncate(err.valid_up_to());
            }
        }
        shown.extend("…".as_bytes());
    }
    shown
}

/// `warden: <content>` and a newline, shortened to the library's line length ("…").
fn line(content: Vec<u8>) -> Vec<u8> {
    let mut line = b"warden: ".to_vec();
    line.extend(content);
    if line.len() > LINE_ROOM {
        line.truncate(LINE_ROOM);
        line.extend("…".as_bytes());
    }
    line.push(b'\n');
    line
}

/// Writes `line` to the stderr of tracee `pid` without ever blocking: through a copy of the
/// tracee's own descriptor (the same open file, so the line lands where its own write would,
/// whoever owns a pipe), written in the non-blocking way its kind allows. A line that cannot
/// be written at once is lost, never waited for: the supervisor must not hang on a full pipe.
pub fn tell(pid: libc::pid_t, line: &[u8]) {
    let Some(fd) = their_stderr(pid) else {
        return reopened(pid, line);
    };
    let fd = fd.as_raw_fd();
    // SAFETY: fstat into a local; the writes below read `line` for its length through our
    // own descriptor, and none of them blocks (a regular file's write waits for no reader).
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
                libc::send(
                    fd,
                    iov.iov_base,
                    iov.iov_len,
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                );
            }
            // Pipes take RWF_NOWAIT; a terminal does not, but is opened anew without harm.
            _ => {
                if libc::pwritev2(fd, &iov, 1, -1, libc::RWF_NOWAIT) < 0
                    && *libc::__errno_location() == libc::EOPNOTSUPP
                {
                    reopened(pid, line);
                }
            }
        }
    }
}

/// Writes `line` to the tracee's stderr opened anew, without blocking (where the kernel has
/// no `pidfd_getfd`, or for a terminal).
fn reopened(pid: libc::pid_t, line: &[u8]) {
    let reopened = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(format!("/proc/{pid}/fd/2"));
    if let Ok(mut file) = reopened {
        let _ = file.write(line);
    }
}

/// A descriptor of ours for the very file description the tracee has as fd 2.
fn their_stderr(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open and pidfd_getfd take integers and return new descriptors (close-on-
    // exec) or -1; the tracee is in a ptrace-stop, and as its tracer we may take its files.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if pidfd < 0 {
            return None;
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as i32);
        let fd = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), 2, 0);
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(items: &[&str]) -> Vec<Bytes> {
        items.iter().map(|s| Bytes::from(*s)).collect()
    }

    #[test]
    fn the_denial_reads_like_the_librarys() {
        let line = denial(&argv(&["cat", "/k/key"]), &reason(Some("no keys")));
        assert_eq!(line, "warden: denied: cat /k/key — no keys\n".as_bytes());
        let line = denial(&argv(&["rm"]), &reason(None));
        assert_eq!(line, "warden: denied: rm — denied by policy\n".as_bytes());
    }

    #[test]
    fn long_commands_are_cut_on_a_character_boundary() {
        let long = "é".repeat(DISPLAY_MAX);
        let shown = display(&argv(&["x", &long]));
        let text = String::from_utf8(shown).expect("still UTF-8");
        assert!(text.ends_with('…') && text.len() <= DISPLAY_MAX + "…".len());
        let line = denial(&argv(&["x"]), &"r".repeat(2000));
        assert_eq!(line.len(), LINE_ROOM + "…\n".len());
    }

    #[test]
    fn messages_lose_their_control_characters_as_in_the_library() {
        assert_eq!(reason(Some("a\nb\tc\u{1}d\u{8}")), "a b cdb");
        assert_eq!(reason(Some("")), "denied by policy");
    }

    #[test]
    fn the_waiting_line_names_both_answers() {
        let line = waiting(7, &argv(&["kubectl", "apply"]));
        let expected = "warden: waiting for approval #7: kubectl apply — run \"warden approve 7\" \
                        or \"warden deny 7\"\n";
        assert_eq!(line, expected.as_bytes());
    }
}
