//! One HTTP/1.1 exchange with the daemon per connection: write the request, read a bounded
//! reply, classify it.

use core::mem::MaybeUninit;

use crate::buf::{self, Buf, Mapping};
use crate::reply::{self, Answer, Framing};
use crate::transport::{Conn, Deadline, IoEnd};

/// Replies longer than this are malformed: the daemon's answers are a few hundred bytes.
const REPLY_MAX: usize = 4096;

/// Stack room for a reply, enough for the usual ones (every stack page a hook touches is a
/// page fault in a fork child); a longer reply continues in a mapping of REPLY_MAX bytes.
const REPLY_STACK: usize = 512;

/// The result of one exchange.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// No connection, or the daemon closed or timed out before answering anything.
    Unreachable,
    Answered(Answer<'a>),
}

/// Where the daemon is.
pub struct Endpoint<'a> {
    pub socket: &'a [u8],
    pub door: &'a [u8],
}

/// Something said every `every_ms` while a reply is awaited (the waiting line of an ask).
pub struct Reminder<'a> {
    pub every_ms: i64,
    pub remind: &'a dyn Fn(),
}

/// `POST path` with a JSON body, or `GET path` when `body` is `None`; hands the outcome
/// (which borrows the reply's storage) to `consume`.
pub fn exchange<R>(
    endpoint: &Endpoint,
    method_and_path: &[u8],
    body: Option<&[u8]>,
    timeout_ms: i64,
    consume: impl FnOnce(Outcome) -> R,
) -> R {
    exchange_with(endpoint, method_and_path, body, timeout_ms, None, consume)
}

/// `GET path`, a long poll: `reminder` speaks while the reply is awaited, on the same
/// connection (closing it would tell the daemon that nobody waits any more).
pub fn long_poll<R>(
    endpoint: &Endpoint,
    method_and_path: &[u8],
    timeout_ms: i64,
    reminder: &Reminder,
    consume: impl FnOnce(Outcome) -> R,
) -> R {
    exchange_with(
        endpoint,
        method_and_path,
        None,
        timeout_ms,
        Some(reminder),
        consume,
    )
}

fn exchange_with<R>(
    endpoint: &Endpoint,
    method_and_path: &[u8],
    body: Option<&[u8]>,
    timeout_ms: i64,
    reminder: Option<&Reminder>,
    consume: impl FnOnce(Outcome) -> R,
) -> R {
    let deadline = Deadline::after(timeout_ms);
    let Some(conn) = Conn::open(endpoint.socket, endpoint.door, &deadline) else {
        return consume(Outcome::Unreachable);
    };
    let mut head_storage = buf::uninit::<256>();
    let mut head = Buf::uninit(&mut head_storage);
    head.push(method_and_path);
    head.push(b" HTTP/1.1\r\nHost: warden\r\nConnection: close\r\n");
    if let Some(body) = body {
        head.push(b"Content-Type: application/json\r\nContent-Length: ");
        head.num(body.len() as u64);
        head.push(b"\r\n");
    }
    head.push(b"\r\n");
    let Some(head) = head.bytes() else {
        return consume(Outcome::Unreachable);
    };
    // A failed write still gets a read, within the same deadline: the daemon may have answered
    // early (413 for a body over its limit) and closed before taking the rest.
    let _ = conn.write_all(head, body.unwrap_or_default(), &deadline);
    let mut stack = buf::uninit::<REPLY_STACK>();
    let mut mapping = None;
    let outcome = read_reply(&conn, &mut stack, &mut mapping, &deadline, reminder);
    // Closed before the outcome is acted on: in a process that closed its stderr, the
    // connection may be fd 2, where a refusal's message must not go.
    drop(conn);
    consume(outcome)
}

/// Reads a reply into `stack`, continuing in a mapping kept in `mapping` when it is longer.
fn read_reply<'r>(
    conn: &Conn,
    stack: &'r mut [MaybeUninit<u8>],
    mapping: &'r mut Option<Mapping>,
    deadline: &Deadline,
    reminder: Option<&Reminder>,
) -> Outcome<'r> {
    // Right after the request went out the daemon has not answered yet: wait first rather
    // than make a read that would only say EAGAIN.
    let waited = match reminder {
        None => conn.wait_readable(deadline),
        Some(reminder) => loop {
            match conn.wait_readable(&deadline.sooner(reminder.every_ms)) {
                Err(IoEnd::Timeout) if !deadline.passed() => (reminder.remind)(),
                waited => break waited,
            }
        },
    };
    if let Err(IoEnd::Timeout) = waited {
        return Outcome::Unreachable;
    }
    let mut reply = stack;
    let mut spare = Some(mapping);
    let mut len = 0;
    loop {
        if len == reply.len() {
            let (Some(slot), Some(mapped)) = (spare.take(), Mapping::new(REPLY_MAX)) else {
                // Longer than any answer of the daemon (or no memory to read it in).
                return Outcome::Answered(Answer::Malformed);
            };
            let mapped = slot.insert(mapped).as_uninit_mut();
            mapped[..len].copy_from_slice(&reply[..len]);
            reply = mapped;
        }
        let read = conn.read(&mut reply[len..], deadline);
        let ended = match read {
            Ok(0) | Err(IoEnd::Closed) => true,
            Ok(n) => {
                len += n;
                false
            }
            Err(IoEnd::Timeout) if len == 0 => return Outcome::Unreachable,
            Err(IoEnd::Timeout) => return Outcome::Answered(Answer::Malformed),
        };
        if ended && len == 0 {
            return Outcome::Unreachable;
        }
        // SAFETY: the reads so far initialised `..len`. The slice lives on past the loop only
        // when it is returned, after the last write into `reply`.
        let received: &'r [u8] = unsafe { &*(buf::assume_init(&reply[..len]) as *const [u8]) };
        match reply::framing(received) {
            Framing::Complete { total } if len >= total => {
                return Outcome::Answered(reply::parse(&received[..total]))
            }
            Framing::UntilClose if ended => return Outcome::Answered(reply::parse(received)),
            Framing::Malformed => return Outcome::Answered(Answer::Malformed),
            _ if ended => return Outcome::Answered(Answer::Malformed),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Decision;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;

    /// Answers one request on a fresh socket with `reply`, then runs an exchange against it.
    fn exchange_with(reply: Vec<u8>, check: impl FnOnce(Outcome)) {
        let dir = std::env::temp_dir().join(format!(
            "warden-http-{}-{}",
            std::process::id(),
            reply.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("daemon.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).unwrap();
            // The client stops reading at its limit: a broken pipe here is expected then.
            let _ = stream.write_all(&reply);
        });
        let socket = path.as_os_str().as_encoded_bytes();
        let endpoint = Endpoint { socket, door: b"" };
        exchange(
            &endpoint,
            b"POST /v1/preflight/exec",
            Some(b"{}"),
            5_000,
            check,
        );
        server.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn deny_with_message(len: usize) -> (Vec<u8>, String) {
        let message = "m".repeat(len);
        let body = format!(r#"{{"decision":"deny","id":null,"rule":"r","message":"{message}"}}"#);
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        (reply.into_bytes(), message)
    }

    #[test]
    fn replies_longer_than_the_stack_room_are_read_whole() {
        let (reply, message) = deny_with_message(3 * REPLY_STACK);
        assert!(reply.len() > REPLY_STACK && reply.len() < REPLY_MAX);
        exchange_with(reply, |outcome| {
            assert_eq!(
                outcome,
                Outcome::Answered(Answer::Decided {
                    decision: Decision::Deny,
                    id: None,
                    message: Some(message.as_bytes()),
                    command: None,
                })
            )
        });
    }

    #[test]
    fn replies_longer_than_the_limit_are_malformed() {
        let (reply, _) = deny_with_message(REPLY_MAX);
        exchange_with(reply, |outcome| {
            assert_eq!(outcome, Outcome::Answered(Answer::Malformed))
        });
    }
}
