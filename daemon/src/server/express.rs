//! The express lane: preflights answered on plain threads, outside the async runtime.
//!
//! Every program start in a guarded session is one preflight on a fresh connection, and the
//! program waits for the answer. Through tokio and hyper each such connection paid epoll
//! registrations, wake-ups across worker threads and hyper's connection set-up: a third of
//! the daemon's CPU per preflight (BENCHMARKS.md). Here a few threads block in `accept` (and
//! one in `recvmsg` on the door) and answer a complete `POST /v1/preflight/exec` on the spot,
//! with the same judgement and the same reply as the HTTP route.
//!
//! Anything else (another endpoint, a request that has not fully arrived within
//! [`ARRIVAL_WINDOW`], a pipelined, chunked or oversized one) is handed, with the bytes already
//! read, to the HTTP server as before. So the lane changes what the common case costs, not
//! what any request gets, and a slow client holds a lane thread for at most the window.
//!
//! Each connection is first counted against its caller ([`limits`](super::limits)): the
//! session found here, once per connection, is the one the preflight is judged in. A caller
//! over its share gets a refusal at once, without the window. Replies are sent without
//! blocking: a peer that does not read (a socketpair whose other end is full) loses its
//! reply, it does not hold the lane.

use std::io::{ErrorKind, Read};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::StatusCode;
use tokio::runtime::Handle;

use super::access::{Channel, Peer};
use super::limits::Caller;
use super::sessions::SessionView;
use super::{door, listener, routes, Daemon, ServeError};

/// How long a lane thread waits for a request to arrive whole. The library sends its
/// request in one `sendmsg` right after `connect`, so it is normally there at `accept`.
const ARRIVAL_WINDOW: Duration = Duration::from_millis(2);

/// A caller holding this many connections already gets no arrival window: what it has not
/// sent by `accept` goes to the HTTP server at once, so a flood of idle connections costs
/// the lane a read each, not a window each (a `make -j8` burst still has it).
const WINDOW_BURST: usize = 8;

/// Largest request the lane reads; larger ones (a huge argv) go to the HTTP server, which
/// reads up to the body limit and denies beyond it.
const EXPRESS_LIMIT: usize = 64 * 1024;

/// Headers a preflight may carry and still take the lane (the library sends four).
const MAX_HEADERS: usize = 16;

const PREFLIGHT_PATH: &str = "/v1/preflight/exec";

/// Threads accepting on the socket: one per core of the machines warden targets, so that
/// concurrent agents' preflights do not queue behind one another.
const SOCKET_THREADS: usize = 2;

/// Starts the lane's threads: [`SOCKET_THREADS`] on the socket, one on the door. Connections
/// they hand over are served on `runtime`.
pub fn start(
    daemon: Arc<Daemon>,
    socket: UnixListener,
    door: UnixDatagram,
    runtime: Handle,
) -> Result<(), ServeError> {
    let lane = Arc::new(Lane { daemon, runtime });
    let socket = Arc::new(socket);
    for _ in 0..SOCKET_THREADS {
        let (lane, socket) = (lane.clone(), socket.clone());
        spawn("warden-express", move || {
            lane.run(|| listener::next_connection(&socket))
        })?;
    }
    spawn("warden-door", move || {
        lane.run(|| door::next_connection(&door))
    })?;
    Ok(())
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> Result<(), ServeError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .map(drop)
        .map_err(super::start_error(format!("the {name} thread")))
}

struct Lane {
    daemon: Arc<Daemon>,
    runtime: Handle,
}

impl Lane {
    /// Serves the connections `next` yields, forever.
    fn run(&self, mut next: impl FnMut() -> Option<(UnixStream, Peer)>) {
        let mut received = vec![0u8; EXPRESS_LIMIT];
        loop {
            let Some((stream, peer)) = next() else {
                continue;
            };
            self.serve(stream, peer, &mut received);
        }
    }

    fn serve(&self, mut stream: UnixStream, peer: Peer, received: &mut [u8]) {
        let daemon = &self.daemon;
        let session = daemon.sessions.for_process(peer.pid);
        let caller = match (&session, peer.pid) {
            (Some((id, _)), _) => Caller::Session(id.clone()),
            (None, Some(pid)) => Caller::Process(pid),
            (None, None) => Caller::Unknown,
        };
        let is_operator =
            || peer.channel == Channel::Socket && peer.check_operator(&daemon.sessions).is_ok();
        let slot = match daemon.limits.admit(caller, is_operator) {
            Ok(slot) => slot,
            Err(refusal) => {
                let refused = routes::refusal(StatusCode::SERVICE_UNAVAILABLE, refusal.to_string());
                send_without_blocking(&stream, &http_reply(refused));
                return;
            }
        };
        let window = match slot.others() {
            n if n >= WINDOW_BURST => Duration::ZERO,
            _ => ARRIVAL_WINDOW,
        };
        match arrive(&mut stream, received, window) {
            Arrival::Preflight(body) => {
                let reply = self.answer(&peer, session, &received[body]);
                send_without_blocking(&stream, &reply);
            }
            Arrival::Other { len } => {
                let daemon = self.daemon.clone();
                let prefix = received[..len].to_vec();
                if stream.set_nonblocking(true).is_err() {
                    return;
                }
                self.runtime.spawn(async move {
                    let Ok(stream) = tokio::net::UnixStream::from_std(stream) else {
                        return;
                    };
                    let stream = listener::Replay::new(prefix, stream);
                    listener::serve_connection(daemon, peer, stream, slot).await;
                });
            }
            Arrival::Gone => {}
        }
    }

    /// The complete HTTP reply to a preflight, as the HTTP route would give it.
    fn answer(&self, peer: &Peer, session: Option<(String, SessionView)>, body: &[u8]) -> Vec<u8> {
        http_reply(match peer.check_same_user() {
            Ok(()) => routes::preflight_answer(&self.daemon, peer, session, body),
            Err(reason) => routes::refusal(StatusCode::FORBIDDEN, reason),
        })
    }
}

/// A whole HTTP/1.1 reply with a JSON body, closing the connection.
fn http_reply((status, json): (StatusCode, String)) -> Vec<u8> {
    let mut reply = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        json.len()
    )
    .into_bytes();
    reply.extend_from_slice(json.as_bytes());
    reply
}

/// Sends `reply` in one `send` that never waits: a fresh connection has room for a reply of
/// a few hundred bytes unless its peer filled the other end on purpose, and then the peer
/// loses its reply rather than the lane its thread.
fn send_without_blocking(stream: &UnixStream, reply: &[u8]) {
    use std::os::fd::AsRawFd;
    // SAFETY: send on a socket we own, reading `reply.len()` bytes of a live slice;
    // MSG_NOSIGNAL turns a closed peer into EPIPE instead of a SIGPIPE for the daemon.
    unsafe {
        libc::send(
            stream.as_raw_fd(),
            reply.as_ptr().cast(),
            reply.len(),
            libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
        )
    };
}

/// What arrived on a fresh connection within the window.
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// A whole preflight and nothing more; its body is at this range of what was received.
    Preflight(std::ops::Range<usize>),
    /// Something for the HTTP server; `received[..len]` was read already.
    Other { len: usize },
    /// The client closed or the connection failed before sending anything.
    Gone,
}

/// Reads from `stream` into `received` until a request is whole, `window` is over, or the
/// request turns out not to be the lane's.
fn arrive(stream: &mut UnixStream, received: &mut [u8], window: Duration) -> Arrival {
    let deadline = Instant::now() + window;
    let mut len = 0;
    loop {
        // A read that does not wait comes first: the request is usually there already, and
        // then no timeout needs setting.
        let read = match receive_now(stream, &mut received[len..]) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() || stream.set_read_timeout(Some(remaining)).is_err() {
                    return Arrival::Other { len };
                }
                stream.read(&mut received[len..])
            }
            read => read,
        };
        match read {
            Ok(0) if len == 0 => return Arrival::Gone,
            Ok(0) => return Arrival::Other { len },
            Ok(n) => len += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Arrival::Other { len }
            }
            Err(_) if len == 0 => return Arrival::Gone,
            Err(_) => return Arrival::Other { len },
        }
        match classify(&received[..len]) {
            Head::Preflight(body) => return Arrival::Preflight(body),
            Head::Incomplete if len < received.len() => {}
            Head::Incomplete | Head::Other => return Arrival::Other { len },
        }
    }
}

/// One `recv` that returns at once, with what has arrived or `WouldBlock`.
fn receive_now(stream: &UnixStream, into: &mut [u8]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: recv on a socket we own, writing at most `into.len()` bytes into `into`.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            into.as_mut_ptr().cast(),
            into.len(),
            libc::MSG_DONTWAIT,
        )
    };
    match n {
        n if n >= 0 => Ok(n as usize),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// What the bytes received so far are.
#[derive(Debug, PartialEq, Eq)]
enum Head {
    /// Exactly one whole preflight whose body is at this range.
    Preflight(std::ops::Range<usize>),
    /// Possibly a preflight, not all there yet.
    Incomplete,
    /// Not for the lane.
    Other,
}

fn classify(bytes: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Head::Incomplete,
        Err(_) => return Head::Other,
    };
    if request.method != Some("POST")
        || request.path != Some(PREFLIGHT_PATH)
        || request.version != Some(1)
    {
        return Head::Other;
    }
    let mut length = None;
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            if length.is_some() {
                return Head::Other;
            }
            length = decimal(header.value);
            if length.is_none() {
                return Head::Other;
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("expect")
        {
            return Head::Other;
        }
    }
    let Some(end) = length.and_then(|length| head_len.checked_add(length)) else {
        return Head::Other;
    };
    if end > EXPRESS_LIMIT {
        return Head::Other;
    }
    match end.cmp(&bytes.len()) {
        std::cmp::Ordering::Equal => Head::Preflight(head_len..end),
        std::cmp::Ordering::Greater => Head::Incomplete,
        // More than one request (pipelining): the HTTP server answers them in turn.
        std::cmp::Ordering::Less => Head::Other,
    }
}

/// A `Content-Length` value: ASCII digits only (no sign, no spaces inside).
fn decimal(value: &[u8]) -> Option<usize> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 15 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn request(head: &str, body: &str) -> Vec<u8> {
        format!("{head}\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn a_whole_preflight_is_the_lanes() {
        let bytes = request(
            "POST /v1/preflight/exec HTTP/1.1\r\nHost: w\r\nContent-Length: 2",
            "{}",
        );
        let body = classify(&bytes);
        assert_eq!(body, Head::Preflight(bytes.len() - 2..bytes.len()));
    }

    #[test]
    fn a_preflight_still_arriving_is_incomplete() {
        let head = "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: 10";
        assert_eq!(classify(&request(head, "{\"a\"")), Head::Incomplete);
        assert_eq!(classify(b"POST /v1/preflight/ex"), Head::Incomplete);
        assert_eq!(classify(b""), Head::Incomplete);
    }

    #[test]
    fn everything_else_goes_to_the_http_server() {
        let others = [
            request("GET /v1/status HTTP/1.1\r\nHost: w", ""),
            request(
                "POST /v1/approvals/1/approve HTTP/1.1\r\nContent-Length: 0",
                "",
            ),
            request(
                "POST /v1/preflight/exec HTTP/1.0\r\nContent-Length: 2",
                "{}",
            ),
            request(
                "POST /v1/preflight/exec?x HTTP/1.1\r\nContent-Length: 2",
                "{}",
            ),
            request("POST /v1/preflight/exec HTTP/1.1", "{}"),
            request(
                "POST /v1/preflight/exec HTTP/1.1\r\nTransfer-Encoding: chunked",
                "2\r\n{}\r\n0\r\n\r\n",
            ),
            request(
                "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2",
                "{}",
            ),
            request(
                "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: +2",
                "{}",
            ),
            request(
                "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: 99999999",
                "",
            ),
            request(
                "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue",
                "",
            ),
            request(
                "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: 2",
                "{}POST /v1/preflight/exec HTTP/1.1\r\n",
            ),
            b"\x00\x01 not http\r\n\r\n".to_vec(),
        ];
        for bytes in others {
            assert_eq!(classify(&bytes), Head::Other, "{}", bytes.escape_ascii());
        }
    }

    #[test]
    fn content_length_is_digits_only() {
        assert_eq!(decimal(b" 42 "), Some(42));
        assert_eq!(decimal(b"0"), Some(0));
        for bad in [&b""[..], b"-1", b"+1", b"1 2", b"0x10", b"9999999999999999"] {
            assert_eq!(decimal(bad), None, "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn arrival_waits_for_the_rest_within_the_window_only() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        let mut received = vec![0u8; EXPRESS_LIMIT];
        let whole = request(
            "POST /v1/preflight/exec HTTP/1.1\r\nContent-Length: 2",
            "{}",
        );
        client.write_all(&whole).unwrap();
        assert_eq!(
            arrive(&mut server, &mut received, ARRIVAL_WINDOW),
            Arrival::Preflight(whole.len() - 2..whole.len())
        );
        // Half a request and silence: handed over with what came, after the window.
        client.write_all(b"POST /v1/pre").unwrap();
        let started = Instant::now();
        assert_eq!(
            arrive(&mut server, &mut received, ARRIVAL_WINDOW),
            Arrival::Other { len: 12 }
        );
        assert!(started.elapsed() >= ARRIVAL_WINDOW);
        // Without a window, what has not arrived is not waited for.
        assert_eq!(
            arrive(&mut server, &mut received, Duration::ZERO),
            Arrival::Other { len: 0 }
        );
        client.write_all(&whole).unwrap();
        assert_eq!(
            arrive(&mut server, &mut received, Duration::ZERO),
            Arrival::Preflight(whole.len() - 2..whole.len())
        );
        drop(client);
        assert_eq!(
            arrive(&mut server, &mut received, ARRIVAL_WINDOW),
            Arrival::Gone
        );
    }
}
