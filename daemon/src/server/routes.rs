//! HTTP routing: which endpoint, who may call it, bounded body reading and JSON replies.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::{header, Method, Request, Response, StatusCode};
use serde::{de::DeserializeOwned, Serialize};

use super::access::Peer;
use super::approvals::ApprovalError;
use super::policy_edit::EditError;
use super::sessions::{SessionError, SessionView};
use super::{events, policy_edit, preflight, Daemon, BODY_LIMIT};
use crate::wire::{
    ApprovalState, ApproveRequest, Decision, ErrorReply, ExecReply, ExecRequest, Isolation,
    ReloadReply, ResolveReply, SessionReply, SessionRequest, ShutdownReply, StatusReply,
};

pub type Body = BoxBody<Bytes, Infallible>;
type Reply = Response<Body>;

/// A request body must arrive within this time.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Everything but the long poll and the event stream must finish within this time.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Records `GET /v1/log` returns without `n`, and at most.
const LOG_DEFAULT: usize = 20;
const LOG_MAX: usize = 1000;

enum Route {
    Preflight,
    Wait(u64),
    RegisterSession,
    EndSession(String),
    Status,
    Approvals,
    Approve(u64),
    Deny(u64),
    Log,
    Events,
    Reload,
    Shutdown,
}

/// The endpoint for `method` and `path`, or the status and reason to refuse it with.
fn route(method: &Method, path: &str) -> Result<Route, (StatusCode, String)> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = |text: &str| {
        text.parse::<u64>().map_err(|_| {
            (
                StatusCode::BAD_REQUEST,
                format!("invalid approval id {text:?}: expected a number"),
            )
        })
    };
    let found = match segments.as_slice() {
        ["v1", "preflight", "exec"] => (Method::POST, Route::Preflight),
        ["v1", "approvals", n, "wait"] => (Method::GET, Route::Wait(id(n)?)),
        ["v1", "sessions"] => (Method::POST, Route::RegisterSession),
        ["v1", "sessions", session] => (Method::DELETE, Route::EndSession(session.to_string())),
        ["v1", "status"] => (Method::GET, Route::Status),
        ["v1", "approvals"] => (Method::GET, Route::Approvals),
        ["v1", "approvals", n, "approve"] => (Method::POST, Route::Approve(id(n)?)),
        ["v1", "approvals", n, "deny"] => (Method::POST, Route::Deny(id(n)?)),
        ["v1", "log"] => (Method::GET, Route::Log),
        ["v1", "events"] => (Method::GET, Route::Events),
        ["v1", "policy", "reload"] => (Method::POST, Route::Reload),
        ["v1", "shutdown"] => (Method::POST, Route::Shutdown),
        _ => return Err((StatusCode::NOT_FOUND, format!("no endpoint {path}"))),
    };
    if *method != found.0 {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} expects {}", found.0),
        ));
    }
    Ok(found.1)
}

pub async fn handle(
    daemon: Arc<Daemon>,
    peer: Arc<Peer>,
    request: Request<Incoming>,
) -> Result<Reply, Infallible> {
    if let Err(reason) = peer.check_same_user() {
        return Ok(error(StatusCode::FORBIDDEN, reason));
    }
    let route = match route(request.method(), request.uri().path()) {
        Ok(route) => route,
        Err((status, reason)) => return Ok(error(status, reason)),
    };
    let agent_side = matches!(route, Route::Preflight | Route::Wait(_));
    if !agent_side {
        if let Err(reason) = operator_allowed(&daemon, &peer, &route) {
            return Ok(error(StatusCode::FORBIDDEN, reason));
        }
    }
    // The long poll and the event stream last as long as they need; nothing else may.
    let unbounded = matches!(route, Route::Wait(_) | Route::Events);
    let work = dispatch(daemon, &peer, route, request);
    if unbounded {
        return Ok(work.await);
    }
    let reply = tokio::time::timeout(REQUEST_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the request did not complete in time".into(),
            )
        });
    Ok(reply)
}

/// Operator endpoints: refused on the door and inside sessions. A session's own root (the
/// `warden preload` that registered it) may still end it.
fn operator_allowed(daemon: &Daemon, peer: &Peer, route: &Route) -> Result<(), String> {
    let refused = match peer.check_operator(&daemon.sessions) {
        Ok(()) => return Ok(()),
        Err(reason) => reason,
    };
    if let Route::EndSession(id) = route {
        if peer.channel == super::access::Channel::Socket
            && peer.pid.is_some()
            && daemon.sessions.root_pid(id) == peer.pid
        {
            return Ok(());
        }
    }
    Err(refused)
}

async fn dispatch(
    shared: Arc<Daemon>,
    peer: &Peer,
    route: Route,
    request: Request<Incoming>,
) -> Reply {
    let daemon: &Daemon = &shared;
    match route {
        Route::Wait(id) => wait(shared.clone(), id).await,
        Route::Events => event_stream(daemon),
        Route::Preflight => match read_body(request).await {
            Ok(body) => {
                let session = daemon.sessions.for_process(peer.pid);
                json_reply(preflight_answer(daemon, peer, session, &body))
            }
            Err(BodyError::TooLarge) => json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &preflight::oversized(daemon, peer),
            ),
            Err(e) => e.reply(),
        },
        Route::RegisterSession => match read_json::<SessionRequest>(request).await {
            Ok(session) => match daemon
                .sessions
                .register(&session, peer.pid, daemon.default_mode())
            {
                Ok(id) => {
                    if session.isolation == Isolation::None {
                        daemon.policy.hold_changes();
                    }
                    json(StatusCode::OK, &SessionReply { id })
                }
                Err(e @ (SessionError::NoSuchRoot(_) | SessionError::NoNamespace(_))) => {
                    error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
                }
                Err(e @ SessionError::OutsideCaller(_)) => {
                    error(StatusCode::FORBIDDEN, e.to_string())
                }
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            },
            Err(e) => e.reply(),
        },
        Route::EndSession(id) => match daemon.sessions.end(&id) {
            Ok(true) => json(StatusCode::OK, &serde_json::json!({ "ended": id })),
            Ok(false) => error(StatusCode::NOT_FOUND, format!("no session {id}")),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        },
        Route::Status => json(StatusCode::OK, &status(daemon)),
        Route::Approvals => json(StatusCode::OK, &daemon.approvals.pending()),
        Route::Approve(id) => match read_json_or_default::<ApproveRequest>(request).await {
            Ok(approve) => resolve(daemon, peer, id, approve.always),
            Err(e) => e.reply(),
        },
        Route::Deny(id) => match read_json_or_default::<ApproveRequest>(request).await {
            Ok(_) => resolve_as(daemon, peer, id, ApprovalState::Denied, None),
            Err(e) => e.reply(),
        },
        Route::Log => {
            let n = log_count(request.uri().query());
            let lines = daemon.audit.recent(n);
            let body = format!("[{}]", lines.join(","));
            json_reply((StatusCode::OK, body))
        }
        Route::Shutdown => {
            match peer.pid {
                Some(pid) => eprintln!("warden serve: stopping (warden stop, pid {pid})"),
                None => eprintln!("warden serve: stopping (warden stop)"),
            }
            daemon.request_stop();
            json(
                StatusCode::OK,
                &ShutdownReply {
                    pid: std::process::id(),
                },
            )
        }
        Route::Reload => match daemon.policy.reload(daemon.changes_now()) {
            Ok(loaded) => json(
                StatusCode::OK,
                &ReloadReply {
                    policy_sources: loaded.sources.clone(),
                    rule_count: loaded.policy.rule_count(),
                },
            ),
            Err(reason) => error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the policy was not reloaded, the previous one stays in force: {reason}"),
            ),
        },
    }
}

fn status(daemon: &Daemon) -> StatusReply {
    let current = daemon.policy.current();
    StatusReply {
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        policy_sources: current.sources.clone(),
        rule_count: current.policy.rule_count(),
        policy_error: daemon.policy.error(),
        policy_held: daemon.policy.held(),
        default_mode: daemon.default_mode(),
        sessions: daemon.sessions.list(),
        pending: daemon.approvals.pending_count(),
        socket: daemon.socket.display().to_string(),
        door: daemon.door.display().to_string(),
        uptime_secs: daemon.uptime().as_secs(),
        serve_args: daemon
            .options
            .serve_args()
            .into_iter()
            .map(|arg| crate::wire::Bytes(arg.into_encoded_bytes()))
            .collect(),
    }
}

fn log_count(query: Option<&str>) -> usize {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(LOG_DEFAULT)
        .min(LOG_MAX)
}

fn resolver(peer: &Peer) -> String {
    match peer.pid {
        Some(pid) => format!("operator (pid {pid})"),
        None => "operator".into(),
    }
}

fn resolve(daemon: &Daemon, peer: &Peer, id: u64, always: bool) -> Reply {
    if !always {
        return resolve_as(daemon, peer, id, ApprovalState::Approved, None);
    }
    let Some(approval) = daemon.approvals.get(id) else {
        return approval_error(ApprovalError::NotFound(id));
    };
    if approval.state != ApprovalState::Pending {
        return resolve_as(daemon, peer, id, ApprovalState::Approved, None);
    }
    match policy_edit::allow_always(daemon, &approval) {
        Ok(rule) => resolve_as(daemon, peer, id, ApprovalState::Approved, Some(rule)),
        Err(e @ (EditError::NotInForce(_) | EditError::Held { .. })) => {
            error(StatusCode::CONFLICT, e.to_string())
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn resolve_as(
    daemon: &Daemon,
    peer: &Peer,
    id: u64,
    state: ApprovalState,
    added_rule: Option<String>,
) -> Reply {
    match daemon.resolve_approval(id, state, resolver(peer)) {
        Ok(approval) => json(
            StatusCode::OK,
            &ResolveReply {
                id,
                state: approval.state,
                added_rule,
            },
        ),
        Err(e) => approval_error(e),
    }
}

fn approval_error(e: ApprovalError) -> Reply {
    let status = match e {
        ApprovalError::NotFound(_) => StatusCode::NOT_FOUND,
        ApprovalError::AlreadyResolved(..) => StatusCode::CONFLICT,
        ApprovalError::Full(_) | ApprovalError::SessionFull { .. } | ApprovalError::Save { .. } => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    error(status, e.to_string())
}

/// Marks an approval abandoned when its last waiter goes away before the answer (hyper
/// drops the handler future when the client closes the connection).
struct WaiterGuard {
    daemon: Arc<Daemon>,
    id: u64,
}

impl Drop for WaiterGuard {
    fn drop(&mut self) {
        if !self.daemon.is_shutting_down() && self.daemon.approvals.waiter_left(self.id) {
            let _ = self.daemon.resolve_approval(
                self.id,
                ApprovalState::Abandoned,
                "waiter disconnected".into(),
            );
        }
    }
}

async fn wait(daemon: Arc<Daemon>, id: u64) -> Reply {
    let Some(mut changes) = daemon.approvals.wait(id) else {
        return error(StatusCode::NOT_FOUND, format!("no approval #{id}"));
    };
    let _guard = WaiterGuard {
        daemon: daemon.clone(),
        id,
    };
    while *changes.borrow_and_update() == ApprovalState::Pending {
        if changes.changed().await.is_err() {
            break;
        }
    }
    let Some(approval) = daemon.approvals.get(id) else {
        return error(StatusCode::NOT_FOUND, format!("approval #{id} is gone"));
    };
    let timeout = daemon.options.approval_timeout.as_secs();
    let (decision, message) = match approval.state {
        ApprovalState::Approved => (Decision::Allow, "approved by the operator".to_string()),
        ApprovalState::Denied => (Decision::Deny, "denied by the operator".to_string()),
        ApprovalState::Expired => (
            Decision::Deny,
            format!("denied: nobody approved within {timeout} s"),
        ),
        ApprovalState::Abandoned => (
            Decision::Deny,
            "denied: the waiting process went away".to_string(),
        ),
        ApprovalState::Pending => (Decision::Deny, "denied: approval unavailable".to_string()),
    };
    json(
        StatusCode::OK,
        &ExecReply {
            decision,
            id: Some(id),
            rule: approval.rule,
            message: Some(message),
            command: approval.command.as_deref().map(crate::quote::brief),
        },
    )
}

enum BodyError {
    TooLarge,
    Timeout,
    Unreadable(String),
    Invalid(String),
}

/// The status and JSON body answering a preflight whose whole body has arrived (the caller
/// already checked the peer's uid), from a peer in `session`. Shared by the HTTP route and
/// the express lane.
pub fn preflight_answer(
    daemon: &Daemon,
    peer: &Peer,
    session: Option<(String, SessionView)>,
    body: &[u8],
) -> (StatusCode, String) {
    match parse_json::<ExecRequest>(body) {
        Ok(exec) => match preflight::answer(daemon, peer, session, &exec) {
            Ok(reply) => (StatusCode::OK, to_json(&reply)),
            Err(reason) => refusal(StatusCode::FORBIDDEN, reason),
        },
        Err(e) => e.status_and_body(),
    }
}

/// The status and JSON body refusing a request for `reason`.
pub fn refusal(status: StatusCode, reason: String) -> (StatusCode, String) {
    (status, to_json(&ErrorReply { error: reason }))
}

impl BodyError {
    fn reply(self) -> Reply {
        json_reply(self.status_and_body())
    }

    fn status_and_body(self) -> (StatusCode, String) {
        match self {
            BodyError::TooLarge => refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {BODY_LIMIT} bytes"),
            ),
            BodyError::Timeout => refusal(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "request body not received within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            ),
            BodyError::Unreadable(reason) => refusal(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {reason}"),
            ),
            BodyError::Invalid(reason) => refusal(
                StatusCode::BAD_REQUEST,
                format!("invalid request body: {reason}"),
            ),
        }
    }
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, BodyError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(BodyError::TooLarge);
    }
    let limited = Limited::new(request.into_body(), BODY_LIMIT);
    match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Ok(Err(e)) => Err(BodyError::Unreadable(e.to_string())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

async fn read_json<T: DeserializeOwned>(request: Request<Incoming>) -> Result<T, BodyError> {
    let body = read_body(request).await?;
    parse_json(&body)
}

/// An empty body means the type's default (`POST .../approve` without options).
async fn read_json_or_default<T: DeserializeOwned + Default>(
    request: Request<Incoming>,
) -> Result<T, BodyError> {
    let body = read_body(request).await?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(&body)
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    serde_json::from_slice(body).map_err(|e| BodyError::Invalid(e.to_string()))
}

/// A reply of `status` whose body is the JSON text `body`.
fn json_reply((status, body): (StatusCode, String)) -> Reply {
    let mut reply = Response::new(BodyExt::boxed(Full::new(Bytes::from(body))));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    reply
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("replies always serialise")
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    json_reply((status, to_json(value)))
}

fn error(status: StatusCode, reason: String) -> Reply {
    json_reply(refusal(status, reason))
}

fn event_stream(daemon: &Daemon) -> Reply {
    let mut reply = Response::new(BodyExt::boxed(events::stream(daemon.audit.subscribe())));
    let headers = reply.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    reply
}
