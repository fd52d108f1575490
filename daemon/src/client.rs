//! Talks to a running daemon over its Unix socket: a blocking API for the CLI and
//! `warden preload`. Each call is one HTTP/1.1 exchange (hyper over a tokio `UnixStream` on
//! a current-thread runtime), bounded by a timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{de::DeserializeOwned, Serialize};

use crate::paths;
use crate::wire::{
    Approval, ApproveRequest, AuditRecord, ErrorReply, ExecReply, ExecRequest, ReloadReply,
    ResolveReply, SessionReply, SessionRequest, ShutdownReply, StatusReply,
};

/// Bound on an ordinary call.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on waiting for an approval (the daemon itself expires approvals much sooner).
const WAIT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How long `ensure_daemon` waits for a freshly started daemon.
const START_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no warden daemon is listening on {} (start one with \"warden serve --background\")",
        .0.display()
    )]
    NotRunning(PathBuf),
    #[error("cannot reach the warden daemon on {}: {source}", path.display())]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the warden daemon on {} did not answer within {} s", path.display(), timeout.as_secs())]
    Timeout { path: PathBuf, timeout: Duration },
    /// 403; the daemon's reason starts with "refused:".
    #[error("the warden daemon {0}")]
    Refused(String),
    #[error("the warden daemon answered {status}: {message}")]
    Failed { status: u16, message: String },
    #[error("unexpected reply from the warden daemon on {}: {reason}", path.display())]
    Protocol { path: PathBuf, reason: String },
    #[error("cannot start the warden daemon: {0}")]
    Start(String),
    /// What `warden serve --background` said when it could not start the daemon (it names
    /// what failed itself).
    #[error("{0}")]
    StartFailed(String),
}

pub struct Client {
    socket: PathBuf,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

/// One reply: status and body.
struct Exchange {
    status: StatusCode,
    body: Bytes,
}

impl Client {
    pub fn new(socket: PathBuf) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime needs no resources that can run out");
        Client {
            socket,
            timeout: DEFAULT_TIMEOUT,
            runtime,
        }
    }

    /// The daemon of this `WARDEN_HOME` / `WARDEN_SOCKET`.
    pub fn from_env() -> Self {
        Client::new(paths::socket())
    }

    /// Bound on each call (the approval wait and the event stream have their own).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Whether something accepts connections on the socket.
    pub fn is_running(&self) -> bool {
        std::os::unix::net::UnixStream::connect(&self.socket).is_ok()
    }

    pub fn register_session(&self, request: &SessionRequest) -> Result<SessionReply, ClientError> {
        self.call(Method::POST, "/v1/sessions", Some(request))
    }

    pub fn end_session(&self, id: &str) -> Result<(), ClientError> {
        self.call::<(), serde_json::Value>(Method::DELETE, &format!("/v1/sessions/{id}"), None)
            .map(drop)
    }

    pub fn preflight(&self, request: &ExecRequest) -> Result<ExecReply, ClientError> {
        let reply = self.exchange(
            Method::POST,
            "/v1/preflight/exec",
            Some(to_json(request)),
            self.timeout,
        )?;
        // A request too large to evaluate is answered 413 with a deny decision.
        if reply.status == StatusCode::PAYLOAD_TOO_LARGE {
            if let Ok(decision) = serde_json::from_slice(&reply.body) {
                return Ok(decision);
            }
        }
        self.decode(reply)
    }

    /// Long poll until approval `id` is resolved; returns the final decision.
    pub fn wait(&self, id: u64) -> Result<ExecReply, ClientError> {
        let path = format!("/v1/approvals/{id}/wait");
        let reply = self.exchange(Method::GET, &path, None, WAIT_TIMEOUT)?;
        self.decode(reply)
    }

    pub fn status(&self) -> Result<StatusReply, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/status", None)
    }

    pub fn pending(&self) -> Result<Vec<Approval>, ClientError> {
        self.call::<(), _>(Method::GET, "/v1/approvals", None)
    }

    pub fn approve(&self, id: u64, always: bool) -> Result<ResolveReply, ClientError> {
        let path = format!("/v1/approvals/{id}/approve");
        self.call(Method::POST, &path, Some(&ApproveRequest { always }))
    }

    pub fn deny(&self, id: u64) -> Result<ResolveReply, ClientError> {
        let path = format!("/v1/approvals/{id}/deny");
        self.call::<(), _>(Method::POST, &path, None)
    }

    /// The newest `n` audit records, oldest first.
    pub fn log(&self, n: usize) -> Result<Vec<AuditRecord>, ClientError> {
        self.call::<(), _>(Method::GET, &format!("/v1/log?n={n}"), None)
    }

    pub fn reload_policy(&self) -> Result<ReloadReply, ClientError> {
        self.call::<(), _>(Method::POST, "/v1/policy/reload", None)
    }

    /// Asks the daemon to end (it replies first, then stops as on SIGTERM).
    pub fn shutdown(&self) -> Result<ShutdownReply, ClientError> {
        self.call::<(), _>(Method::POST, "/v1/shutdown", None)
    }

    /// Follows the live event stream, calling `on_record` for each new audit record until
    /// it returns `false` or the daemon closes the stream.
    pub fn follow(
        &self,
        mut on_record: impl FnMut(AuditRecord) -> bool,
    ) -> Result<(), ClientError> {
        self.runtime.block_on(async {
            let response =
                tokio::time::timeout(self.timeout, self.send(Method::GET, "/v1/events", None))
                    .await
                    .map_err(|_| self.timed_out(self.timeout))??;
            let status = response.status();
            let mut body = response.into_body();
            if !status.is_success() {
                let bytes = body
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                return Err(self.failure(status, &bytes));
            }
            let mut pending = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| self.protocol(e.to_string()))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                pending.extend_from_slice(&data);
                while let Some(end) = find(&pending, b"\n\n") {
                    let event: Vec<u8> = pending.drain(..end + 2).collect();
                    for line in event.split(|b| *b == b'\n') {
                        let Some(json) = line.strip_prefix(b"data: ") else {
                            continue;
                        };
                        let record = serde_json::from_slice(json)
                            .map_err(|e| self.protocol(format!("bad event: {e}")))?;
                        if !on_record(record) {
                            return Ok(());
                        }
                    }
                }
            }
            Ok(())
        })
    }

    fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let reply = self.exchange(method, path, body.map(to_json), self.timeout)?;
        self.decode(reply)
    }

    fn decode<T: DeserializeOwned>(&self, reply: Exchange) -> Result<T, ClientError> {
        if !reply.status.is_success() {
            return Err(self.failure(reply.status, &reply.body));
        }
        serde_json::from_slice(&reply.body).map_err(|e| self.protocol(e.to_string()))
    }

    fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Exchange, ClientError> {
        self.runtime.block_on(async {
            let work = async {
                let response = self.send(method, path, body).await?;
                let status = response.status();
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| self.protocol(e.to_string()))?
                    .to_bytes();
                Ok(Exchange { status, body })
            };
            tokio::time::timeout(timeout, work)
                .await
                .map_err(|_| self.timed_out(timeout))?
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, ClientError> {
        let stream = tokio::net::UnixStream::connect(&self.socket)
            .await
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                    ClientError::NotRunning(self.socket.clone())
                }
                _ => ClientError::Connect {
                    path: self.socket.clone(),
                    source,
                },
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.protocol(e.to_string()))?;
        tokio::spawn(connection);
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "warden")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| self.protocol(e.to_string()))?;
        sender
            .send_request(request)
            .await
            .map_err(|e| self.protocol(e.to_string()))
    }

    fn failure(&self, status: StatusCode, body: &[u8]) -> ClientError {
        let message = serde_json::from_slice::<ErrorReply>(body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
        if status == StatusCode::FORBIDDEN {
            ClientError::Refused(message)
        } else {
            ClientError::Failed {
                status: status.as_u16(),
                message,
            }
        }
    }

    fn protocol(&self, reason: String) -> ClientError {
        ClientError::Protocol {
            path: self.socket.clone(),
            reason,
        }
    }

    fn timed_out(&self, timeout: Duration) -> ClientError {
        ClientError::Timeout {
            path: self.socket.clone(),
            timeout,
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("wire types always serialise")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Makes sure a daemon answers on `paths::socket()`: if none does, runs
/// `warden serve --background` (the current executable), which detaches the daemon into its
/// own session outside the caller's process tree and waits until the socket answers. Call it
/// before setting `LD_PRELOAD` or becoming a subreaper.
pub fn ensure_daemon() -> Result<(), ClientError> {
    let client = Client::from_env();
    if client.is_running() {
        return Ok(());
    }
    let exe = std::env::current_exe()
        .map_err(|e| ClientError::Start(format!("cannot find the warden executable: {e}")))?;
    let output = Command::new(&exe)
        .args(["serve", "--background"])
        .env_remove("LD_PRELOAD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| ClientError::Start(format!("cannot run {}: {e}", exe.display())))?;
    // A start that lost a race against another one: that daemon answers soon.
    if output.status.success() || another_daemon_answers(&client) {
        return Ok(());
    }
    // `serve --background` already said what failed; only its prefix is dropped.
    let said: Vec<&str> = std::str::from_utf8(&output.stderr)
        .unwrap_or_default()
        .lines()
        .map(|line| line.strip_prefix(ERROR_PREFIX).unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .collect();
    Err(match said.is_empty() {
        true => ClientError::Start(format!(
            "\"{} serve --background\" failed ({})",
            exe.display(),
            output.status
        )),
        false => ClientError::StartFailed(said.join("; ")),
    })
}

/// How `warden` prefixes the error it exits with.
pub const ERROR_PREFIX: &str = "warden: error: ";

/// Whether a daemon answers, or starts to, in this `WARDEN_HOME`: the pid that the lock file
/// records still runs, and its socket answers within the start timeout.
fn another_daemon_answers(client: &Client) -> bool {
    let recorded = std::fs::read_to_string(paths::serve_lock())
        .ok()
        .and_then(|text| text.trim().parse::<libc::pid_t>().ok())
        .filter(|&pid| pid > 0);
    let Some(pid) = recorded else {
        return client.is_running();
    };
    let deadline = Instant::now() + START_TIMEOUT;
    // SAFETY: kill with signal 0 only checks that the process exists.
    while Instant::now() < deadline && unsafe { libc::kill(pid, 0) } == 0 {
        if client.is_running() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    client.is_running()
}
