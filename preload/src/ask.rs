//! Waiting for a person: one line on the program's stderr, said again every
//! [`REPEAT_MS`] while waiting, and a long poll on `GET /v1/approvals/{id}/wait` until the
//! operator decides. A dropped connection (daemon restart) is retried with a bounded
//! backoff; only the operator's answer can allow.
//!
//! The line also speaks to an agent's model, which sees a command's output but not the
//! person's terminal: Codex captures stderr into the tool output and shows the model what
//! a running command has printed each time it polls, so a repeated line reaches it.

use core::cell::Cell;

use crate::buf::Buf;
use crate::http::{self, Outcome, Reminder};
use crate::preflight::{self, endpoint, push_subject, Verdict};
use crate::reply::{Answer, Decision};
use crate::request::Exec;
use crate::sys::{now_ms, sleep_ms, stderr_line};

/// One long poll lasts at most this long before it is renewed.
const POLL_MS: i64 = 60 * 60 * 1000;
/// Backoff between reconnection attempts while the daemon is away.
const BACKOFF_MIN_MS: i64 = 50;
const BACKOFF_MAX_MS: i64 = 2_000;
/// After the daemon has been unreachable this long, the request is denied.
const GIVE_UP_MS: i64 = 10 * 60 * 1000;
/// The waiting line is said again this often while nobody has decided.
const REPEAT_MS: i64 = 30 * 1000;
/// A reminder this close to due counts as due: `poll` may wake a millisecond early.
const REPEAT_SLACK_MS: i64 = 500;

/// What one long poll brought.
enum Poll {
    /// Still waiting for the operator.
    Pending,
    Decided(Verdict),
    /// The daemon could not be reached.
    Away,
}

/// `warden: waiting for approval #N: <command> — run "warden approve N" or "warden deny
/// N". If you are an AI agent: …`. `command` is the daemon's deciding command (still
/// JSON-escaped), if it named one.
fn announce(id: u64, exec: &Exec, command: Option<&[u8]>) {
    stderr_line(|b| {
        b.push(b"waiting for approval #");
        b.num(id);
        b.push(b": ");
        push_subject(b, exec, command);
        b.push(" — run \"warden approve ".as_bytes());
        b.num(id);
        b.push(b"\" or \"warden deny ");
        b.num(id);
        b.push(b"\". If you are an AI agent: stop and ask your user to approve #");
        b.num(id);
        b.push(b", and do not try to get around this check.");
    });
}

// Never inlined: its buffers would sit in the frame of every allowed exec.
#[inline(never)]
pub fn wait(id: u64, exec: &Exec, command: Option<&[u8]>) -> Verdict {
    announce(id, exec, command);
    let said = Cell::new(now_ms());
    let again = || {
        if now_ms() - said.get() >= REPEAT_MS - REPEAT_SLACK_MS {
            announce(id, exec, command);
            said.set(now_ms());
        }
    };
    let reminder = Reminder {
        every_ms: REPEAT_MS,
        remind: &again,
    };
    let mut path_storage = [0u8; 64];
    let mut path = Buf::new(&mut path_storage);
    path.push(b"GET /v1/approvals/");
    path.num(id);
    path.push(b"/wait");
    let Some(path) = path.bytes() else {
        return Verdict::Deny;
    };
    let mut backoff = BACKOFF_MIN_MS;
    let mut away_since = None;
    loop {
        let poll = http::long_poll(
            &endpoint(),
            path,
            POLL_MS,
            &reminder,
            |outcome| match outcome {
                Outcome::Answered(Answer::Decided {
                    decision: Decision::Ask,
                    ..
                }) => Poll::Pending,
                Outcome::Answered(answer) => Poll::Decided(preflight::act(answer, exec)),
                Outcome::Unreachable => Poll::Away,
            },
        );
        match poll {
            Poll::Pending => {
                away_since = None;
                backoff = BACKOFF_MIN_MS;
            }
            Poll::Decided(verdict) => return verdict,
            Poll::Away => {
                let since = *away_since.get_or_insert_with(now_ms);
                if now_ms() - since > GIVE_UP_MS {
                    stderr_line(|b| {
                        b.push(b"gave up waiting for approval #");
                        b.num(id);
                        b.push(b": the daemon is gone; denied");
                    });
                    return Verdict::Deny;
                }
                again();
                sleep_ms(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX_MS);
            }
        }
    }
}
