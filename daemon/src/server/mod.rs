//! `warden serve`: sockets, door, sessions, approvals, audit and policy reload around the engine.
//!
//! One concern per module:
//! - [`listener`]: the stream socket, its peer credentials and the HTTP connection;
//! - [`door`]: the datagram door that receives socketpair ends (`SCM_RIGHTS`);
//! - [`express`]: the threads that accept on both and answer preflights on the spot,
//!   handing everything else to the HTTP server; [`limits`]: how many connections each
//!   caller may hold;
//! - [`routes`]: HTTP routing, bounded body reading, JSON replies;
//! - [`preflight`]: judging a program start (policy, mode, approvals, audit);
//!   [`subject`]: which process a preflight is about (the caller, or a strict supervisor's
//!   tracee); [`decided`]: starts decided a moment ago, so each is judged once;
//! - [`identity`]: what a program file really is (a system program by another name, a
//!   copy, a script); [`scripts`]: the bounded reader of the scripts commands run;
//! - [`access`]: who may call what; [`sessions`]: guarded sessions; [`process`]: telling
//!   processes apart (pidfds, `/proc`);
//! - [`approvals`]: pending approvals; [`grants`]: what an approval lets its process run;
//! - [`audit`]: the hash-chained log;
//! - [`events`]: the live event stream; [`reload`]: the policy in force and its reload;
//! - [`lifecycle`]: what the lock file says about the previous daemon, the record of a
//!   restart, stepping down when the sockets are taken away;
//! - [`notify`]: desktop notifications and webhooks, subscribers of the live records;
//! - [`policy_edit`]: rules added by `approve --always`; [`persist`]: atomic state files.

pub mod access;
pub mod approvals;
pub mod audit;
mod decided;
mod door;
mod events;
mod express;
mod grants;
mod identity;
mod lifecycle;
mod limits;

pub use lifecycle::{previous_daemon, DAEMON_KIND};
mod listener;
mod notify;
mod persist;
mod policy_edit;
mod preflight;
pub mod process;
mod reload;
mod routes;
mod scripts;
pub mod sessions;
mod subject;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::paths;
use crate::wire::{ApprovalState, AuditRecord, Decision, Mode};

/// How long a stopping daemon lets replies already being written leave.
const STOP_GRACE: Duration = Duration::from_millis(100);

/// Largest request body: bigger preflights are denied, never truncated.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub struct Options {
    /// Explicit policy file (`serve --policy`), else the default layering.
    pub policy: Option<PathBuf>,
    /// Monitor mode outside sessions, and for sessions that do not choose their own.
    pub monitor: bool,
    /// How long an approval may stay pending before it is denied.
    pub approval_timeout: Duration,
    /// How long an approved command's inner commands stay allowed to its process tree.
    pub grant_lifetime: Duration,
    /// Most approvals pending at once; further asks are denied.
    pub max_pending: usize,
    /// Audit file size that starts a new file.
    pub audit_rotate_bytes: u64,
    /// Open connections at once (socket and door together); beyond it new ones are refused.
    pub max_connections: usize,
    /// Open connections of one session (or one process outside sessions).
    pub max_session_connections: usize,
}

impl Options {
    /// The `warden serve` arguments that start a daemon with these options (what
    /// `serve --background` passes on, and what `warden preload` restarts a daemon with).
    pub fn serve_args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        if let Some(policy) = &self.policy {
            args.extend(["--policy".into(), policy.into()]);
        }
        if self.monitor {
            args.push("--monitor".into());
        }
        for (flag, value) in [
            ("--approval-timeout", self.approval_timeout.as_secs()),
            ("--grant-seconds", self.grant_lifetime.as_secs()),
            ("--max-pending", self.max_pending as u64),
            ("--audit-rotate-bytes", self.audit_rotate_bytes),
            ("--max-connections", self.max_connections as u64),
            (
                "--max-session-connections",
                self.max_session_connections as u64,
            ),
        ] {
            args.extend([flag.into(), value.to_string().into()]);
        }
        args
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "another warden daemon is already running for {home} (pid {pid}); \
         stop it first with \"warden stop\" or use another WARDEN_HOME"
    )]
    AlreadyRunning { home: PathBuf, pid: String },
    #[error(
        "another warden daemon already answers on {0}; \
         stop it first with \"warden stop\" or use another WARDEN_HOME"
    )]
    SocketInUse(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A part of the daemon that is not a file: its runtime, a thread, a signal handler.
    #[error("cannot start {what}: {source}")]
    Start {
        what: String,
        source: std::io::Error,
    },
    #[error(
        "invalid policy: {0}; fix it and try again \
         (\"warden policy check FILE\" checks a file without a daemon)"
    )]
    Policy(String),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ServeError {
    let path = path.to_path_buf();
    move |source| ServeError::Io { what, path, source }
}

fn start_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Start { what, source }
}

/// Everything the request handlers share.
pub struct Daemon {
    pub options: Options,
    pub policy: reload::PolicyState,
    pub sessions: sessions::Sessions,
    pub approvals: approvals::Approvals,
    grants: grants::Grants,
    decided: decided::Decided,
    pub audit: audit::AuditLog,
    identities: identity::Identities,
    pub socket: PathBuf,
    pub door: PathBuf,
    started: Instant,
    /// Set before the runtime stops, so dropped waiters do not count as abandoned.
    shutting_down: AtomicBool,
    /// Notified by `POST /v1/shutdown` (`warden stop`): the daemon ends as on SIGTERM.
    stop_requested: Notify,
    limits: Arc<limits::Limits>,
}

impl Daemon {
    pub fn default_mode(&self) -> Mode {
        if self.options.monitor {
            Mode::Monitor
        } else {
            Mode::Enforce
        }
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Ends the daemon as SIGTERM does (`warden stop`; only operators reach it).
    pub fn request_stop(&self) {
        self.stop_requested.notify_one();
    }

    /// Settles an approval and records the outcome in the audit log.
    pub fn resolve_approval(
        &self,
        id: u64,
        state: ApprovalState,
        resolver: String,
    ) -> Result<crate::wire::Approval, approvals::ApprovalError> {
        let approval = self.approvals.resolve(id, state, resolver)?;
        self.grants.settle(id, state == ApprovalState::Approved);
        self.decided.settle(id, state == ApprovalState::Approved);
        let decision = if state == ApprovalState::Approved {
            Decision::Allow
        } else {
            Decision::Deny
        };
        let record = AuditRecord {
            session: approval.session.clone(),
            agent: approval.agent.clone(),
            pid: Some(approval.pid),
            cwd: Some(approval.cwd.clone()),
            path: Some(approval.path.clone()),
            argv: Some(approval.argv.clone()),
            rule: approval.rule.clone(),
            message: approval.message.clone(),
            command: approval.command.clone(),
            approval: Some(id),
            resolver: approval.resolver.clone(),
            ..AuditRecord::new("resolution", Mode::Enforce, decision)
        };
        if let Err(e) = self.audit.append(record) {
            eprintln!("warden serve: {e}");
        }
        Ok(approval)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether a policy change that loosens the policy waits for the operator from now on:
    /// yes while a session without isolation runs.
    pub fn changes_now(&self) -> reload::Changes {
        changes_for(&self.sessions)
    }
}

fn changes_for(sessions: &sessions::Sessions) -> reload::Changes {
    match sessions.any_without_isolation() {
        true => reload::Changes::Hold,
        false => reload::Changes::Apply,
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(options: Options) -> Result<(), ServeError> {
    let home = paths::home();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&home)
        .map_err(io_error("cannot create the state directory", &home))?;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
        .map_err(io_error("cannot restrict the state directory", &home))?;
    let lock_path = paths::serve_lock();
    let (mut lock, previous) = take_lock(&home, &lock_path)?;

    let socket = paths::socket();
    let door = paths::door();
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(ServeError::SocketInUse(socket));
    }
    let sessions_file = home.join("sessions.json");
    let sessions = sessions::Sessions::load(sessions_file.clone())
        .map_err(io_error("cannot read sessions", &sessions_file))?;
    let policy = reload::PolicyState::load(
        options.policy.clone(),
        paths::policy_state(),
        changes_for(&sessions),
    )
    .map_err(ServeError::Policy)?;
    let pending_file = paths::pending();
    let approvals = approvals::Approvals::load(pending_file.clone(), options.max_pending)
        .map_err(io_error("cannot read pending approvals", &pending_file))?;
    let audit = audit::AuditLog::open(&paths::audit_dir(), options.audit_rotate_bytes)?;
    if let Some(previous) = &previous {
        audit.append(lifecycle::start_record(previous))?;
    }
    raise_fd_limit();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(start_error("the daemon's runtime"))?;
    let limits = limits::Limits::new(options.max_connections, options.max_session_connections);
    let grants = grants::Grants::new(options.grant_lifetime);
    let daemon = Arc::new(Daemon {
        options,
        policy,
        sessions,
        approvals,
        grants,
        decided: decided::Decided::default(),
        audit,
        identities: identity::Identities::default(),
        socket,
        door,
        started: Instant::now(),
        shutting_down: AtomicBool::new(false),
        stop_requested: Notify::new(),
        limits: Arc::new(limits),
    });
    let result = runtime.block_on(serve(daemon.clone()));
    daemon.shutting_down.store(true, Ordering::SeqCst);
    runtime.shutdown_timeout(Duration::from_secs(1));
    let reason = result?;
    rewrite(
        &mut lock,
        &lifecycle::stopped_text(std::process::id(), &reason),
    )
    .map_err(io_error("cannot write", &lock_path))
}

/// Serves until a stop signal, or until a socket path no longer leads to the daemon; returns
/// why it stopped.
async fn serve(daemon: Arc<Daemon>) -> Result<String, ServeError> {
    // Before the socket answers, so a SIGTERM right after start still cleans up.
    let stop = stop_signals()?;
    let listener = listener::bind(&daemon.socket)?;
    let door = door::bind(&daemon.door)?;
    let bound = [
        lifecycle::Bound::now(&daemon.socket)
            .map_err(io_error("cannot inspect", &daemon.socket))?,
        lifecycle::Bound::now(&daemon.door).map_err(io_error("cannot inspect", &daemon.door))?,
    ];
    let current = daemon.policy.current();
    eprintln!(
        "warden serve: pid {} listening on {} and door {} ({}; {} from {})",
        std::process::id(),
        daemon.socket.display(),
        daemon.door.display(),
        if daemon.options.monitor {
            "monitor mode"
        } else {
            "enforce mode"
        },
        crate::quote::count(current.policy.rule_count(), "rule"),
        current.sources.join(", ")
    );
    drop(current);
    // The system index, off the request path: the first request that needs it waits for
    // this build rather than starting its own (and builds it, should no thread start).
    let warming = daemon.clone();
    let _ = std::thread::Builder::new()
        .name("warden-index".to_string())
        .spawn(move || warming.identities.warm());
    express::start(
        daemon.clone(),
        listener,
        door,
        tokio::runtime::Handle::current(),
    )?;
    tokio::spawn(housekeeping(daemon.clone()));
    notify::start(&daemon);

    let reason = tokio::select! {
        signal = stop => format!("on {signal}"),
        _ = daemon.stop_requested.notified() => lifecycle::OPERATOR_STOP.to_string(),
        lost = lifecycle::lost(&bound) => lost,
    };
    daemon.shutting_down.store(true, Ordering::SeqCst);
    for path in &bound {
        path.remove();
    }
    // Replies already on their way (the answer to `warden stop` among them) leave before the
    // runtime and its connections stop.
    tokio::time::sleep(STOP_GRACE).await;
    eprintln!("warden serve: stopped {reason}");
    Ok(reason)
}

/// Installs the SIGTERM/SIGINT handlers now; the returned future completes on either, with
/// its name.
fn stop_signals() -> Result<impl std::future::Future<Output = &'static str>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(start_error("the SIGTERM handler"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(start_error("the SIGINT handler"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    })
}

/// Once a second: reload a changed policy, expire overdue approvals and grants, forget dead
/// sessions, re-index changed system directories.
async fn housekeeping(daemon: Arc<Daemon>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        daemon.policy.reload_if_changed();
        for id in daemon.approvals.overdue(audit::now_ms()) {
            let _ = daemon.resolve_approval(id, ApprovalState::Expired, "timeout".into());
        }
        daemon.grants.prune();
        daemon.sessions.prune();
        let indexing = daemon.clone();
        let _ = tokio::task::spawn_blocking(move || indexing.identities.refresh_if_changed()).await;
    }
}

/// An exclusive lock on `<home>/serve.lock`, held for the daemon's lifetime: two daemons
/// racing to start cannot both take the socket. Returns the lock and what the file said
/// about the daemon before this one.
fn take_lock(
    home: &Path,
    path: &Path,
) -> Result<(std::fs::File, Option<lifecycle::Previous>), ServeError> {
    use std::io::Read;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_error("cannot open", path))?;
    let mut text = String::new();
    // SAFETY: flock on a descriptor we own; non-blocking, so it cannot hang.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let _ = file.read_to_string(&mut text);
        return Err(ServeError::AlreadyRunning {
            home: home.to_path_buf(),
            pid: text.trim().to_string(),
        });
    }
    let _ = file.read_to_string(&mut text);
    rewrite(&mut file, &format!("{}\n", std::process::id()))
        .map_err(io_error("cannot write", path))?;
    Ok((file, lifecycle::previous(&text)))
}

/// Replaces the whole content of `file` with `text`.
fn rewrite(file: &mut std::fs::File, text: &str) -> std::io::Result<()> {
    use std::io::{Seek, Write};
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(text.as_bytes())
}

/// Long polls and many agent processes hold descriptors: use the whole hard limit.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
