//! The wire format between preloaded processes, the CLI and the daemon: JSON over HTTP/1.1.
//!
//! argv elements and paths are bytes on Unix. A value that is valid UTF-8 travels as a JSON
//! string, anything else as `{"b64": "<standard base64>"}`; the engine matches on bytes, so
//! invalid UTF-8 can never dodge a rule.
//!
//! Agent side (what preloaded processes may call, also over the door):
//! - `POST /v1/preflight/exec`, body [`ExecRequest`], reply [`ExecReply`].
//! - `GET /v1/approvals/{id}/wait`, long poll, reply [`ExecReply`] with the final decision.
//!
//! Operator side (refused to peers inside a guarded session and on door connections):
//! - `POST /v1/sessions`, body [`SessionRequest`], reply [`SessionReply`].
//! - `DELETE /v1/sessions/{id}`: the session's command ended.
//! - `GET /v1/status`, `GET /v1/approvals`, `POST /v1/approvals/{id}/approve`
//!   (body [`ApproveRequest`]), `POST /v1/approvals/{id}/deny`, `GET /v1/log?n=N`,
//!   `GET /v1/events` (server-sent events), `POST /v1/policy/reload`, `POST /v1/shutdown`
//!   (reply [`ShutdownReply`]; the daemon then ends as on SIGTERM).
//!
//! Errors are a 4xx/5xx status with body [`ErrorReply`].

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A byte string that is a JSON string when it is UTF-8 and `{"b64": …}` otherwise.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// A lossy rendering for people (logs, `pending`); never used for matching.
    pub fn display(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.display())
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&str> for Bytes {
    fn from(s: &str) -> Self {
        Bytes(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Base64Form {
    b64: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BytesForm {
    Text(String),
    Base64(Base64Form),
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => Base64Form {
                b64: base64::engine::general_purpose::STANDARD.encode(&self.0),
            }
            .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match BytesForm::deserialize(deserializer)? {
            BytesForm::Text(text) => Ok(Bytes(text.into_bytes())),
            BytesForm::Base64(form) => base64::engine::general_purpose::STANDARD
                .decode(form.b64.as_bytes())
                .map(Bytes)
                .map_err(|e| serde::de::Error::custom(format!("invalid base64 in \"b64\": {e}"))),
        }
    }
}

/// What a hook asks before a program starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecRequest {
    /// Session id from `WARDEN_SESSION`, or null outside a session.
    pub session: Option<String>,
    /// The intercepted libc function: `execve`, `posix_spawnp`, `system`, …
    pub hook: String,
    /// Absolute path of the program that will run (for `system`/`popen`: the shell).
    pub path: Bytes,
    /// The program's argv.
    pub argv: Vec<Bytes>,
    /// Working directory of the calling process.
    pub cwd: Bytes,
    pub pid: i32,
    pub ppid: i32,
    /// The calling process's own command line (`/proc/self/cmdline`).
    #[serde(default)]
    pub caller: Vec<Bytes>,
    /// The shell string given to `system`/`popen`; null for the other hooks.
    #[serde(default)]
    pub shell: Option<Bytes>,
}

/// The three answers a hook can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
    Ask,
}

/// The daemon's answer to a preflight or a wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecReply {
    pub decision: Decision,
    /// Approval id when `decision` is `ask` (and on the final answer of a wait).
    pub id: Option<u64>,
    /// The rule that decided, or null when the policy's default action did.
    pub rule: Option<String>,
    pub message: Option<String>,
    /// The command that decided, shell-quoted and shortened for one line: the simple
    /// command inside a long `bash -c` script rather than the script. Shown by the library
    /// in its denial and waiting lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// `enforce` blocks and asks; `monitor` computes and logs every decision but allows all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Monitor,
}

/// What the library does when the daemon cannot be reached: inside a session it refuses
/// unless the operator chose `--fail-open`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    Open,
    #[default]
    Closed,
}

/// How a session is kept apart from the rest of the user's processes and files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// User, pid and mount namespaces of its own (`init_pid` is the init of the session's pid
    /// namespace): every process in that namespace or below it is in the session, and it can
    /// neither see the daemon's processes nor write `$WARDEN_HOME`.
    Namespaces,
    /// The agent runs beside the user's other processes (`--no-isolate`, or where user
    /// namespaces are unavailable): the session is its root's process tree, and the daemon
    /// holds policy changes that loosen the policy until an operator reloads it.
    #[default]
    None,
}

/// `warden preload` registers its session before starting the agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    pub agent: String,
    pub root_pid: i32,
    pub cwd: Bytes,
    /// The session's own mode (`warden preload --monitor`); absent or null: the daemon's
    /// mode when the session starts (`warden serve --monitor` then blocks nothing).
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub fail: FailMode,
    #[serde(default)]
    pub isolation: Isolation,
    /// With `Isolation::Namespaces`: the init of the session's pid namespace, a descendant
    /// of `root_pid`; the daemon reads the namespace from it.
    #[serde(default)]
    pub init_pid: Option<i32>,
    /// The user's real home directory (`$HOME` of `warden preload`), so that rules about `~`
    /// also cover it where the shell already expanded `~`. Absent: the daemon's own.
    #[serde(default)]
    pub home: Option<Bytes>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionReply {
    pub id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Also add an exact-match rule so the same command is allowed from now on.
    #[serde(default)]
    pub always: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub error: String,
}

/// A registered session, as `warden status` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    pub agent: String,
    pub root_pid: i32,
    pub cwd: Bytes,
    pub mode: Mode,
    pub fail: FailMode,
    #[serde(default)]
    pub isolation: Isolation,
    /// Unix time in milliseconds.
    pub started_ms: u64,
}

/// Reply of `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusReply {
    pub pid: u32,
    pub version: String,
    /// Where the policy in force came from (`<builtin>` and file paths).
    pub policy_sources: Vec<String>,
    pub rule_count: usize,
    /// Why the last policy reload failed, while the previous policy stays in force.
    pub policy_error: Option<String>,
    /// A change of the policy files that loosens the policy, waiting for an operator's
    /// `warden policy reload` (sessions without isolation are, or were, running).
    #[serde(default)]
    pub policy_held: Option<HeldPolicy>,
    /// Mode for requests outside any session (`serve --monitor`).
    pub default_mode: Mode,
    pub sessions: Vec<SessionInfo>,
    pub pending: usize,
    pub socket: String,
    pub door: String,
    pub uptime_secs: u64,
    /// The `warden serve` arguments that start a daemon like this one (`warden preload`
    /// restarts its daemon with them).
    #[serde(default)]
    pub serve_args: Vec<Bytes>,
}

/// A policy change held back until an operator reloads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldPolicy {
    /// How the held policy is looser than the one in force, one reason each.
    pub reasons: Vec<String>,
    /// Unix time in milliseconds when it was first held.
    pub since_ms: u64,
}

/// Where an approval stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalState {
    Pending,
    Approved,
    Denied,
    /// Nobody decided in time: denied.
    Expired,
    /// The waiting process went away: denied.
    Abandoned,
}

/// One approval, as `warden pending` lists it (`GET /v1/approvals`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: u64,
    pub state: ApprovalState,
    /// Unix time in milliseconds.
    pub created_ms: u64,
    pub expires_ms: u64,
    pub session: Option<String>,
    pub agent: Option<String>,
    pub pid: i32,
    pub cwd: Bytes,
    pub path: Bytes,
    pub argv: Vec<Bytes>,
    pub rule: Option<String>,
    pub message: Option<String>,
    /// The argv of the command inside `argv` that decided the ask (see [`ExecReply`]).
    #[serde(default)]
    pub command: Option<Vec<Bytes>>,
    /// Who resolved it (`operator pid 123`, `timeout`, `waiter disconnected`).
    #[serde(default)]
    pub resolver: Option<String>,
    /// Unix time in milliseconds of the resolution.
    #[serde(default)]
    pub resolved_ms: Option<u64>,
    /// Processes waiting for the answer right now (not persisted meaningfully).
    #[serde(default)]
    pub waiters: usize,
}

/// Reply of `POST /v1/approvals/{id}/approve|deny`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolveReply {
    pub id: u64,
    pub state: ApprovalState,
    /// The rule added to the user policy by `approve --always`.
    #[serde(default)]
    pub added_rule: Option<String>,
}

/// Reply of `POST /v1/policy/reload`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReloadReply {
    pub policy_sources: Vec<String>,
    pub rule_count: usize,
}

/// Reply of `POST /v1/shutdown`: the daemon that is stopping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShutdownReply {
    pub pid: u32,
}

/// One line of the audit log (`GET /v1/log`, `GET /v1/events`). `prev` is the SHA-256 of
/// the previous line and `hash` the SHA-256 of this line up to (without) its `hash` field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    /// `decision` for a preflight, `resolution` for an approval's outcome.
    pub kind: String,
    pub session: Option<String>,
    pub agent: Option<String>,
    pub pid: Option<i32>,
    pub hook: Option<String>,
    pub cwd: Option<Bytes>,
    pub path: Option<Bytes>,
    pub argv: Option<Vec<Bytes>>,
    pub mode: Mode,
    /// What was replied.
    pub decision: Decision,
    /// The policy's action (`allow`, `log`, `ask`, `deny`).
    pub action: Option<String>,
    /// In monitor mode: what enforce mode would have replied.
    pub would: Option<Decision>,
    pub rule: Option<String>,
    pub message: Option<String>,
    /// The argv of the command inside `argv` that decided (see [`ExecReply`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<Bytes>>,
    pub approval: Option<u64>,
    pub resolver: Option<String>,
    pub prev: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

impl AuditRecord {
    /// A record of `kind` saying nothing else yet. `seq`, `time`, `prev` and `hash` stay
    /// blank: the audit log fills them in when it appends the record.
    pub fn new(kind: &str, mode: Mode, decision: Decision) -> AuditRecord {
        AuditRecord {
            seq: 0,
            time: String::new(),
            kind: kind.to_string(),
            session: None,
            agent: None,
            pid: None,
            hook: None,
            cwd: None,
            path: None,
            argv: None,
            mode,
            decision,
            action: None,
            would: None,
            rule: None,
            message: None,
            command: None,
            approval: None,
            resolver: None,
            prev: String::new(),
            hash: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_request_without_a_home_still_parses() {
        let request: SessionRequest =
            serde_json::from_str(r#"{"agent":"a","root_pid":1,"cwd":"/"}"#).unwrap();
        assert_eq!(request.home, None);
        let request: SessionRequest =
            serde_json::from_str(r#"{"agent":"a","root_pid":1,"cwd":"/","home":"/srv/dev"}"#)
                .unwrap();
        assert_eq!(request.home, Some(Bytes(b"/srv/dev".to_vec())));
    }

    #[test]
    fn utf8_bytes_are_plain_strings() {
        let json = serde_json::to_string(&Bytes::from("rm")).unwrap();
        assert_eq!(json, "\"rm\"");
    }

    #[test]
    fn invalid_utf8_round_trips_through_b64() {
        let raw = Bytes(vec![b'r', 0xff, b'm']);
        let json = serde_json::to_string(&raw).unwrap();
        assert_eq!(json, r#"{"b64":"cv9t"}"#);
        let back: Bytes = serde_json::from_str(&json).unwrap();
        assert_eq!(back, raw);
    }

    #[test]
    fn bad_b64_is_an_error() {
        assert!(serde_json::from_str::<Bytes>(r#"{"b64":"!!"}"#).is_err());
        assert!(serde_json::from_str::<Bytes>(r#"{"b64":"cv9t","x":1}"#).is_err());
    }
}
