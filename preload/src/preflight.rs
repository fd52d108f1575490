//! Asking the daemon about one program start and turning its answer into a verdict:
//! allow, deny (with one line on stderr saying why), wait for an approval, or — when the daemon
//! cannot be reached — the fail mode: closed inside a session (after a short wait for a
//! restarting daemon), open outside one unless the operator chose otherwise. A malformed
//! answer never allows.

use core::ffi::c_int;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::args;
use crate::buf::{self, Buf};
use crate::environ::{FailMode, SNAPSHOT};
use crate::http::{self, Endpoint, Outcome};
use crate::reply::{push_unescaped, Answer, Decision};
use crate::request::{self, Caller, Exec};
use crate::sys::{self, now_ms, sleep_ms, stderr_line};
use crate::syscall;

/// A verdict the hook acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
}

/// Bound on one preflight exchange (connect, write, read).
const PREFLIGHT_TIMEOUT_MS: i64 = 5_000;

/// Set once this process has said that the daemon is unreachable.
static UNREACHABLE_REPORTED: AtomicBool = AtomicBool::new(false);

pub fn endpoint() -> Endpoint<'static> {
    let snapshot = SNAPSHOT.get();
    Endpoint {
        socket: snapshot.socket.value(),
        door: snapshot.door.value(),
    }
}

/// The process that starts the program being judged, whose command line the daemon sees as
/// the caller's.
#[derive(Clone, Copy)]
pub enum Starter {
    /// A hook: this process is about to start the program.
    ThisProcess,
    /// The load check: this process is the program, its parent started it.
    Parent,
}

/// Stack room for the caller's command line and for the request body.
const CMDLINE_STACK: usize = 1024;
const BODY_STACK: usize = 2048;

/// Asks the daemon whether `exec` may run; `cwd` is the caller's working directory.
pub fn judge(exec: &Exec, starter: Starter, cwd: &[u8]) -> Verdict {
    // Sized for the common case: every stack page a hook touches is a page fault in the
    // fork child that runs it. Longer ones are built again in a mapping.
    let verdict = buf::build::<CMDLINE_STACK, _>(
        |b| read_cmdline(b, starter),
        |cmdline| {
            let snapshot = SNAPSHOT.get();
            let caller = Caller {
                session: snapshot.session.is_set().then(|| snapshot.session.value()),
                cwd,
                pid: syscall::getpid(),
                ppid: syscall::getppid(),
                cmdline,
            };
            buf::build::<BODY_STACK, _>(
                |b| request::write_body(b, exec, &caller),
                |body| consult(exec, body),
            )
        },
    );
    verdict.flatten().unwrap_or_else(|| {
        refuse(exec, None, |b| {
            b.push(b"the request is too large to be checked")
        });
        Verdict::Deny
    })
}

fn consult(exec: &Exec, body: &[u8]) -> Verdict {
    match ask_daemon(exec, body) {
        Some(verdict) => {
            // Read first: a store on every exec would copy a page in each fork child.
            if DAEMON_AWAY.load(Ordering::Relaxed) {
                DAEMON_AWAY.store(false, Ordering::Relaxed);
            }
            verdict
        }
        None => unreachable(exec, body),
    }
}

/// One preflight exchange; `None` when the daemon could not be reached.
fn ask_daemon(exec: &Exec, body: &[u8]) -> Option<Verdict> {
    http::exchange(
        &endpoint(),
        b"POST /v1/preflight/exec",
        Some(body),
        PREFLIGHT_TIMEOUT_MS,
        |outcome| match outcome {
            Outcome::Unreachable => None,
            Outcome::Answered(answer) => Some(act(answer, exec)),
        },
    )
}

/// Acts on a final answer; `Ask` starts waiting for the operator.
pub fn act(answer: Answer, exec: &Exec) -> Verdict {
    match answer {
        Answer::Decided {
            decision: Decision::Allow,
            ..
        } => Verdict::Allow,
        Answer::Decided {
            decision: Decision::Ask,
            id: Some(id),
            command,
            ..
        } => crate::ask::wait(id, exec, command),
        Answer::Decided {
            decision: Decision::Deny,
            message,
            command,
            ..
        } => {
            refuse(exec, command, |b| match message {
                Some(message) if !message.is_empty() => push_unescaped(b, message),
                _ => b.push(b"denied by policy"),
            });
            Verdict::Deny
        }
        Answer::Refused { status, error } => {
            refuse(exec, None, |b| {
                b.push(b"the daemon refused the request (");
                b.num(status as u64);
                if let Some(error) = error {
                    b.push(b": ");
                    push_unescaped(b, error);
                }
                b.byte(b')');
            });
            Verdict::Deny
        }
        Answer::Decided { .. } | Answer::Malformed => {
            refuse(exec, None, |b| {
                b.push(b"the daemon's answer could not be read")
            });
            Verdict::Deny
        }
    }
}

/// The fail mode. Open: the program runs, with one line per process saying so. Closed: the
/// daemon may be restarting (`warden preload` starts a new one at once when it dies), so the
/// request is tried again for up to [`RESTART_WAIT_MS`] before the program is refused, with
/// a line saying why.
#[cold]
#[inline(never)]
fn unreachable(exec: &Exec, body: &[u8]) -> Verdict {
    let snapshot = SNAPSHOT.get();
    match snapshot.fail_mode() {
        FailMode::Open => {
            if !UNREACHABLE_REPORTED.swap(true, Ordering::Relaxed) {
                stderr_line(|b| {
                    b.push(b"cannot reach the daemon at ");
                    b.push(snapshot.socket.value());
                    b.push(
                        b"; running programs unchecked (fail-open). Start it with \"warden serve\".",
                    );
                });
            }
            Verdict::Allow
        }
        FailMode::Closed => {
            if let Some(verdict) = retry_while_restarting(exec, body) {
                return verdict;
            }
            stderr_line(|b| {
                b.push(b"the warden daemon is not answering on ");
                b.push(snapshot.socket.value());
                b.push(b"; refusing ");
                push_display(b, exec);
                b.push(b" until it is back (fail-closed)");
            });
            Verdict::Deny
        }
    }
}

/// How long a refused connection is retried, inside a session, before the program is refused:
/// long enough for `warden preload` to start a new daemon (a few hundred milliseconds on a
/// busy machine), short enough that an agent is told soon when none comes back.
const RESTART_WAIT_MS: i64 = 2_000;
/// Pause between two attempts: short at first (a restart is usually quick), then longer.
const RETRY_FIRST_MS: i64 = 10;
const RETRY_MAX_MS: i64 = 250;

/// Set once this process waited the whole [`RESTART_WAIT_MS`] in vain: its later program
/// starts ask once and do not wait again until the daemon has answered.
static DAEMON_AWAY: AtomicBool = AtomicBool::new(false);

/// The verdict once the daemon answers again within the wait, `None` if it does not.
fn retry_while_restarting(exec: &Exec, body: &[u8]) -> Option<Verdict> {
    if DAEMON_AWAY.load(Ordering::Relaxed) {
        return None;
    }
    let give_up = now_ms() + RESTART_WAIT_MS;
    let mut pause = RETRY_FIRST_MS;
    loop {
        let left = give_up - now_ms();
        if left <= 0 {
            DAEMON_AWAY.store(true, Ordering::Relaxed);
            return None;
        }
        sleep_ms(pause.min(left));
        pause = (pause * 2).min(RETRY_MAX_MS);
        if let Some(verdict) = ask_daemon(exec, body) {
            return Some(verdict);
        }
    }
}

/// `warden: denied: <command> — <reason>`, naming the command the daemon says decided
/// (`command`, still JSON-escaped) or else the program start itself. Cold and out of line,
/// so that its buffers stay out of the frames of allowed execs.
#[cold]
#[inline(never)]
fn refuse(exec: &Exec, command: Option<&[u8]>, reason: impl Fn(&mut Buf)) {
    stderr_line(|b| {
        b.push(b"denied: ");
        push_subject(b, exec, command);
        b.push(" — ".as_bytes());
        reason(b);
    });
}

/// The command a line is about: the daemon's deciding command (the simple command inside a
/// long `bash -c` script) when the reply names one, else the program start as the library
/// sees it.
pub fn push_subject(buf: &mut Buf, exec: &Exec, command: Option<&[u8]>) {
    match command {
        Some(command) if !command.is_empty() => push_unescaped(buf, command),
        _ => push_display(buf, exec),
    }
}

/// Longest command shown in a message, so that the reason after it stays visible.
const DISPLAY_MAX: usize = 300;

/// The command as people know it (the shell string for `system`/`popen`, else the argv
/// shell-quoted), shortened for display.
fn push_display(buf: &mut Buf, exec: &Exec) {
    let mut storage = [0u8; DISPLAY_MAX];
    let mut shown = Buf::new(&mut storage);
    match exec.shell {
        Some(shell) => shown.push(shell),
        None => sys::push_command(&mut shown, exec.argv),
    }
    let (overflowed, len) = (shown.overflowed(), shown.len().min(DISPLAY_MAX));
    let mut kept = &storage[..len];
    // Cut on a character boundary: drop a character the limit split.
    if let Err(err) = core::str::from_utf8(kept) {
        if err.error_len().is_none() {
            kept = &kept[..err.valid_up_to()];
        }
    }
    buf.push(kept);
    if overflowed {
        buf.push("…".as_bytes());
    }
}

/// The starting process's command line: this process's from its own memory where the
/// constructor could tell where it lies, else from `/proc`.
fn read_cmdline(buf: &mut Buf, starter: Starter) {
    let mut path_storage = [0u8; 32];
    let mut path = Buf::new(&mut path_storage);
    match starter {
        Starter::ThisProcess if args::copy(buf) => return,
        Starter::ThisProcess => path.push(b"/proc/self"),
        Starter::Parent => {
            path.push(b"/proc/");
            path.num(syscall::getppid().unsigned_abs() as u64);
        }
    }
    path.push(b"/cmdline\0");
    let Some(path) = path.bytes() else {
        return;
    };
    let Ok(fd) = syscall::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) else {
        return;
    };
    let fd = fd as c_int;
    let mut chunk = buf::uninit::<512>();
    loop {
        match syscall::read(fd, &mut chunk) {
            Err(libc::EINTR) => continue,
            Ok(0) | Err(_) => break,
            Ok(n) => {
                // SAFETY: the read initialised the first `n` bytes.
                buf.push(unsafe { buf::assume_init(&chunk[..n]) });
                // procfs hands over all of the command line that fits: a short read is its
                // end, and saves the read that would say so.
                if n < chunk.len() {
                    break;
                }
            }
        }
    }
    syscall::close(fd);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn display(exec: &Exec) -> String {
        let mut storage = vec![0u8; 4096];
        let mut buf = Buf::new(&mut storage);
        push_display(&mut buf, exec);
        String::from_utf8(buf.bytes().unwrap().to_vec()).expect("display stays UTF-8")
    }

    #[test]
    fn long_commands_are_shortened_on_a_character_boundary() {
        let sh = c"sh";
        let argv = [sh.as_ptr(), core::ptr::null()];
        for filler in ["é", "x", "€"] {
            for extra in 0..4 {
                let shell = format!("{}{}", "x".repeat(extra), filler.repeat(DISPLAY_MAX + 1));
                let exec = Exec {
                    hook: "system",
                    path: b"/bin/sh",
                    argv: argv.as_ptr(),
                    shell: Some(shell.as_bytes()),
                };
                let shown = display(&exec);
                assert!(shown.ends_with('…'), "{shown}");
                assert!(shown.len() <= DISPLAY_MAX + "…".len());
            }
        }
    }

    #[test]
    fn short_commands_are_shown_whole() {
        let touch = c"touch";
        let file = c"a b";
        let argv = [touch.as_ptr(), file.as_ptr(), core::ptr::null()];
        let exec = Exec {
            hook: "execve",
            path: b"/usr/bin/touch",
            argv: argv.as_ptr(),
            shell: None,
        };
        assert_eq!(display(&exec), "touch 'a b'");
    }
}
