//! `warden serve`: sockets, door, sessions, approvals, audit and policy reload around the engine.
//!
//! One concern per module:
//! - [`listener`]: the stream socket, its peer credentials and the HTTP connection;
//! - [`door`]: the datagram door that receives socketpair ends (`SCM_RIGHTS`);
//! - [`express`]: the threads that accept on both and answer preflights on the spot,
//!   handing everything else to the HTTP server;
//! - [`routes`]: HTTP routing, bounded body reading, JSON replies;
//! - [`preflight`]: judging a program start (policy, mode, approvals, audit);
//! - [`identity`]: what a program file really is (a system program by another name, a
//!   copy, a script); [`scripts`]: the bounded reader of the scripts commands run;
//! - [`access`]: who may call what; [`sessions`]: guarded sessions; [`process`]: telling
//!   processes apart (pidfds, `/proc`);
//! - [`approvals`]: pending approvals; [`grants`]: what an approval lets its process run;
//! - [`audit`]: the hash-chained log;
//! - [`events`]: the live event stream; [`reload`]: the policy in force and its reload;
//! - [`policy_edit`]: rules added by `approve --always`; [`persist`]: atomic state files.

pub mod access;
pub mod approvals;
pub mod audit;
mod door;
mod events;
mod express;
mod grants;
mod identity;
mod listener;
mod persist;
mod policy_edit;
mod preflight;
mod process;
mod reload;
mod routes;
mod scripts;
pub mod sessions;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::paths;
use crate::wire::{ApprovalState, AuditRecord, Decision, Mode};

/// Largest request body: bigger preflights are denied, never truncated.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub struct Options {
    /// Explicit policy file (`serve --policy`), else the default layering.
    pub policy: Option<PathBuf>,
    /// Monitor mode for requests outside any session.
    pub monitor: bool,
    /// How long an approval may stay pending before it is denied.
    pub approval_timeout: Duration,
    /// How long an approved command's inner commands stay allowed to its process tree.
    pub grant_lifetime: Duration,
    /// Most approvals pending at once; further asks are denied.
    pub max_pending: usize,
    /// Audit file size that starts a new file.
    pub audit_rotate_bytes: u64,
    /// Open connections at once (socket and door together); beyond it new ones are dropped.
    pub max_connections: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "another warden daemon is already running for {home} (pid {pid}); \
         stop it first or use another WARDEN_HOME"
    )]
    AlreadyRunning { home: PathBuf, pid: String },
    #[error("another warden daemon already answers on {0}")]
    SocketInUse(PathBuf),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid policy, the daemon did not start: {0}")]
    Policy(String),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ServeError {
    let path = path.to_path_buf();
    move |source| ServeError::Io { what, path, source }
}

/// Everything the request handlers share.
pub struct Daemon {
    pub options: Options,
    pub policy: reload::PolicyState,
    pub sessions: sessions::Sessions,
    pub approvals: approvals::Approvals,
    grants: grants::Grants,
    pub audit: audit::AuditLog,
    identities: identity::Identities,
    pub socket: PathBuf,
    pub door: PathBuf,
    started: Instant,
    /// Set before the runtime stops, so dropped waiters do not count as abandoned.
    shutting_down: AtomicBool,
    connections: Arc<Semaphore>,
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

    /// Settles an approval and records the outcome in the audit log.
    pub fn resolve_approval(
        &self,
        id: u64,
        state: ApprovalState,
        resolver: String,
    ) -> Result<crate::wire::Approval, approvals::ApprovalError> {
        let approval = self.approvals.resolve(id, state, resolver)?;
        self.grants.settle(id, state == ApprovalState::Approved);
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
    let _lock = take_lock(&home)?;

    let socket = paths::socket();
    let door = paths::door();
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Err(ServeError::SocketInUse(socket));
    }
    let policy = reload::PolicyState::load(options.policy.clone()).map_err(ServeError::Policy)?;
    let sessions_file = home.join("sessions.json");
    let sessions = sessions::Sessions::load(sessions_file.clone())
        .map_err(io_error("cannot read sessions", &sessions_file))?;
    let pending_file = paths::pending();
    let approvals = approvals::Approvals::load(pending_file.clone(), options.max_pending)
        .map_err(io_error("cannot read pending approvals", &pending_file))?;
    let audit = audit::AuditLog::open(&paths::audit_dir(), options.audit_rotate_bytes)?;
    raise_fd_limit();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io_error("cannot start the runtime for", &socket))?;
    let max_connections = options.max_connections;
    let grants = grants::Grants::new(options.grant_lifetime);
    let daemon = Arc::new(Daemon {
        options,
        policy,
        sessions,
        approvals,
        grants,
        audit,
        identities: identity::Identities::default(),
        socket,
        door,
        started: Instant::now(),
        shutting_down: AtomicBool::new(false),
        connections: Arc::new(Semaphore::new(max_connections)),
    });
    let result = runtime.block_on(serve(daemon.clone()));
    daemon.shutting_down.store(true, Ordering::SeqCst);
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve(daemon: Arc<Daemon>) -> Result<(), ServeError> {
    // Before the socket answers, so a SIGTERM right after start still cleans up.
    let stop = stop_signals()?;
    let listener = listener::bind(&daemon.socket)?;
    let door = door::bind(&daemon.door)?;
    let current = daemon.policy.current();
    eprintln!(
        "warden serve: pid {} listening on {} and door {} ({}; {} rules from {})",
        std::process::id(),
        daemon.socket.display(),
        daemon.door.display(),
        if daemon.options.monitor {
            "monitor mode"
        } else {
            "enforce mode"
        },
        current.policy.rule_count(),
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

    stop.await;
    daemon.shutting_down.store(true, Ordering::SeqCst);
    let _ = std::fs::remove_file(&daemon.socket);
    let _ = std::fs::remove_file(&daemon.door);
    eprintln!("warden serve: stopped");
    Ok(())
}

/// Installs the SIGTERM/SIGINT handlers now; the returned future completes on either.
fn stop_signals() -> Result<impl std::future::Future<Output = ()>, ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let here = Path::new("signal handler");
    let mut term = signal(SignalKind::terminate()).map_err(io_error("cannot install", here))?;
    let mut int = signal(SignalKind::interrupt()).map_err(io_error("cannot install", here))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
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
/// racing to start cannot both take the socket.
fn take_lock(home: &Path) -> Result<std::fs::File, ServeError> {
    use std::io::{Read, Seek, Write};
    let path = home.join("serve.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_error("cannot open", &path))?;
    // SAFETY: flock on a descriptor we own; non-blocking, so it cannot hang.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        return Err(ServeError::AlreadyRunning {
            home: home.to_path_buf(),
            pid: pid.trim().to_string(),
        });
    }
    let write_pid = |file: &mut std::fs::File| -> std::io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())
    };
    write_pid(&mut file).map_err(io_error("cannot write", &path))?;
    Ok(file)
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
