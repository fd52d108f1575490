//! Shared harness for the end-to-end tests in `tests/tests/`: the real `warden` binary and
//! `libwarden.so`, a temporary `WARDEN_HOME`, a real daemon on a real socket, raw HTTP over
//! the socket and over the door.
//!
//! The binaries must be built first (`cargo build --workspace`, as `make test` does); they
//! are found in `$CARGO_TARGET_DIR/debug` or `<workspace>/target/debug` (`release` instead
//! when this harness is itself optimised, as in `cargo bench`, which measures release builds).

pub mod isolation;
pub mod model;
pub mod probes;
pub mod setup_support;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A small policy for daemon tests: `rm` is denied, `kubectl` asks, the rest is allowed.
pub const TEST_POLICY: &str = r#"
[[rule]]
name = "no-rm"
action = "deny"
message = "deleting is not allowed here"
program = ["rm"]

[[rule]]
name = "ask-kubectl"
action = "ask"
message = "cluster changes need a person"
program = ["kubectl"]
"#;

/// How long a test waits for anything (a daemon to answer, a command to finish).
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The cargo profile whose binaries this harness runs: the one it was built with.
const PROFILE: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

/// `$CARGO_TARGET_DIR`, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// `<target dir>/<profile>`: where the binaries of this harness's profile are built.
pub fn bin_dir() -> PathBuf {
    target_dir().join(PROFILE)
}

fn built(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace{}` first",
        path.display(),
        if cfg!(debug_assertions) {
            ""
        } else {
            " --release"
        }
    );
    path
}

/// The `warden` binary.
pub fn warden_bin() -> PathBuf {
    built("warden")
}

/// The preload library.
pub fn libwarden() -> PathBuf {
    built("libwarden.so")
}

/// Polls `condition` until it holds; panics naming `what` after [`DEADLINE`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A temporary `WARDEN_HOME` (mode 0700), removed on drop, and beside it a working
/// directory for the files a guarded command must reach ([`TempHome::work`]): an isolated
/// session hides `WARDEN_HOME` from the agent.
pub struct TempHome {
    path: PathBuf,
}

impl Default for TempHome {
    fn default() -> Self {
        Self::new()
    }
}

impl TempHome {
    pub fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "warden-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .expect("create a temporary WARDEN_HOME");
        TempHome { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<WARDEN_HOME>.work`, created on first use: where tests put what the agent must
    /// reach (markers, scripts, working directories).
    pub fn work(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".work");
        let work = PathBuf::from(name);
        std::fs::create_dir_all(&work).expect("create the working directory");
        work
    }

    pub fn socket(&self) -> PathBuf {
        self.path.join("warden.sock")
    }

    pub fn door(&self) -> PathBuf {
        self.path.join("door.sock")
    }

    pub fn audit_dir(&self) -> PathBuf {
        self.path.join("audit")
    }

    /// `program` with this home's environment: `WARDEN_HOME` set, the other `WARDEN_*`
    /// variables and `LD_PRELOAD` removed (so nothing leaks in from the caller).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("WARDEN_HOME", &self.path);
        for name in [
            "WARDEN_SOCKET",
            "WARDEN_DOOR",
            "WARDEN_SESSION",
            "WARDEN_FAIL",
            "WARDEN_LIB",
            "WARDEN_CHECKED",
            "LD_PRELOAD",
        ] {
            command.env_remove(name);
        }
        command
    }

    /// `warden <args>` in this home.
    pub fn warden_command(&self, args: &[&str]) -> Command {
        let mut command = self.command(warden_bin());
        command.args(args);
        command
    }

    /// Runs `warden <args>` to completion (bounded by [`DEADLINE`]) and captures its output.
    pub fn warden(&self, args: &[&str]) -> Output {
        run(&mut self.warden_command(args))
    }
}

impl Drop for TempHome {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        let mut work = self.path.as_os_str().to_owned();
        work.push(".work");
        let _ = std::fs::remove_dir_all(work);
    }
}

/// Runs `command` with captured output, killing it and panicking after [`DEADLINE`].
pub fn run(command: &mut Command) -> Output {
    run_polling(command, || {})
}

/// [`run`], calling `poll` every few milliseconds while the command runs (to answer what it
/// asks, say).
pub fn run_polling(command: &mut Command, mut poll: impl FnMut()) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {DEADLINE:?}");
        }
        poll();
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Text of a captured stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A real `warden serve` in a [`TempHome`]; killed (SIGKILL) on drop if still running.
pub struct Daemon {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    /// Starts `warden serve --policy <file with policy_text>` and waits until it answers.
    pub fn start(home: &TempHome, policy_text: &str) -> Daemon {
        Daemon::start_with(home, Some(policy_text), &[])
    }

    /// Starts `warden serve [--policy FILE] <extra args>`; `None` uses the default policy
    /// files (the built-in one plus `$WARDEN_HOME/policy.toml`).
    pub fn start_with(home: &TempHome, policy_text: Option<&str>, extra: &[&str]) -> Daemon {
        Daemon::start_in(home, policy_text, extra, &[])
    }

    /// [`Daemon::start_with`] with `env` added to the daemon's environment.
    pub fn start_in(
        home: &TempHome,
        policy_text: Option<&str>,
        extra: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Daemon {
        let mut command = home.warden_command(&["serve"]);
        command.envs(env.iter().copied());
        if let Some(text) = policy_text {
            let file = home.path().join("test-policy.toml");
            std::fs::write(&file, text).expect("write the test policy");
            command.arg("--policy").arg(&file);
        }
        command.args(extra);
        Daemon::spawn(home, command)
    }

    /// Starts `command`, a `warden serve` for `home` (perhaps run as another user), with its
    /// output in the home's `test-serve.log`, and waits until it answers.
    pub fn spawn(home: &TempHome, command: Command) -> Daemon {
        Daemon::spawn_at(home, command, None)
    }

    /// [`Daemon::spawn`] for a daemon whose socket is `socket` (default: the home's).
    pub fn spawn_at(home: &TempHome, mut command: Command, socket: Option<PathBuf>) -> Daemon {
        let log = home.path().join("test-serve.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the daemon's log");
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start warden serve");
        let mut daemon = Daemon {
            child,
            socket: socket.unwrap_or_else(|| home.socket()),
            log,
        };
        let deadline = Instant::now() + DEADLINE;
        while UnixStream::connect(&daemon.socket).is_err() {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!(
                    "warden serve exited at start ({status}):\n{}",
                    daemon.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "warden serve did not answer on {} in time:\n{}",
                daemon.socket.display(),
                daemon.log_text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        daemon
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// What the daemon printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` and waits (bounded) for the daemon to exit.
    pub fn signal_and_wait(&mut self, signal: i32) -> ExitStatus {
        // SAFETY: kill on the pid of our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the daemon did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Clean shutdown (SIGTERM).
    pub fn stop(mut self) -> ExitStatus {
        self.signal_and_wait(libc::SIGTERM)
    }

    /// `kill -9`: no chance to clean up.
    pub fn kill9(mut self) -> ExitStatus {
        self.signal_and_wait(libc::SIGKILL)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A parsed HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {:?}", self.body))
    }
}

/// One HTTP/1.1 exchange on a fresh connection to `socket` (`Connection: close`).
pub fn http(socket: &Path, method: &str, path: &str, body: Option<&[u8]>) -> Reply {
    let stream =
        UnixStream::connect(socket).unwrap_or_else(|e| panic!("connect {}: {e}", socket.display()));
    http_over(stream, method, path, body)
}

/// One HTTP/1.1 exchange over an already connected stream (for example a door connection).
pub fn http_over(mut stream: UnixStream, method: &str, path: &str, body: Option<&[u8]>) -> Reply {
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let body = body.unwrap_or_default();
    let head = request_head(method, path, body.len(), true);
    // The daemon may answer (413) and close before it read everything: the reply still
    // arrives, so a failed write is not an error here.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the reply");
    parse_reply(&raw)
}

/// The head of an HTTP/1.1 request with a JSON body of `body_len` bytes; with `close` it asks
/// the daemon to close the connection after its reply.
pub fn request_head(method: &str, path: &str, body_len: usize, close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "{method} {path} HTTP/1.1\r\nHost: warden\r\n{connection}\
         Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
    )
}

/// Parses a complete HTTP/1.1 reply (Content-Length or chunked body).
pub fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("incomplete HTTP reply: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        let mut body = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            body.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        body
    } else {
        rest.to_string()
    };
    Reply { status, body }
}

/// Connects through the datagram door: a socketpair, one end sent with `SCM_RIGHTS`, the
/// other end returned to speak HTTP over (what the preload library does in a sandbox).
pub fn door_connect(door: &Path) -> UnixStream {
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    send_fds(door, &[theirs.as_raw_fd()]);
    ours
}

/// Sends one datagram carrying `fds` to the door.
pub fn send_fds(door: &Path, fds: &[i32]) {
    let sender = std::os::unix::net::UnixDatagram::unbound().expect("datagram socket");
    let path = std::ffi::CString::new(door.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: plain libc socket calls on buffers that live across the call; sockaddr_un is
    // zero-initialised and the path length is checked against its capacity.
    unsafe {
        let mut address: libc::sockaddr_un = std::mem::zeroed();
        address.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.as_bytes_with_nul();
        assert!(bytes.len() <= address.sun_path.len(), "door path too long");
        for (dst, src) in address.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let mut payload = *b"warden";
        let mut iov = libc::iovec {
            iov_base: payload.as_mut_ptr().cast(),
            iov_len: payload.len(),
        };
        let fd_bytes = std::mem::size_of_val(fds);
        let space = libc::CMSG_SPACE(fd_bytes as u32) as usize;
        let mut control = vec![0u64; space.div_ceil(8).max(1)];
        let mut header: libc::msghdr = std::mem::zeroed();
        header.msg_name = (&mut address as *mut libc::sockaddr_un).cast();
        header.msg_namelen = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        header.msg_iov = &mut iov;
        header.msg_iovlen = 1;
        if !fds.is_empty() {
            header.msg_control = control.as_mut_ptr().cast();
            header.msg_controllen = space as _;
            let cmsg = libc::CMSG_FIRSTHDR(&header);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes as u32) as _;
            std::ptr::copy_nonoverlapping(
                fds.as_ptr().cast::<u8>(),
                libc::CMSG_DATA(cmsg),
                fd_bytes,
            );
        }
        let sent = libc::sendmsg(sender.as_raw_fd(), &header, 0);
        assert!(
            sent >= 0,
            "sendmsg to {}: {}",
            door.display(),
            std::io::Error::last_os_error()
        );
    }
}

/// A valid preflight body for `argv` (path `/usr/bin/<argv[0]>`, cwd `/tmp`, our pid).
pub fn exec_request(argv: &[&str]) -> Vec<u8> {
    let pid = std::process::id();
    serde_json::to_vec(&serde_json::json!({
        "session": null,
        "hook": "execve",
        "path": format!("/usr/bin/{}", argv[0]),
        "argv": argv,
        "cwd": "/tmp",
        "pid": pid,
        "ppid": std::os::unix::process::parent_id(),
        "caller": ["warden-tests"],
        "shell": null,
    }))
    .unwrap()
}

/// `POST /v1/preflight/exec` for `argv` on `socket`; returns the reply's JSON.
pub fn preflight(socket: &Path, argv: &[&str]) -> serde_json::Value {
    let reply = http(
        socket,
        "POST",
        "/v1/preflight/exec",
        Some(&exec_request(argv)),
    );
    assert_eq!(reply.status, 200, "preflight {argv:?}: {reply:?}");
    reply.json()
}

/// The approval id of a preflight for `argv` that the policy answers with `ask`.
pub fn ask(socket: &Path, argv: &[&str]) -> u64 {
    let reply = preflight(socket, argv);
    assert_eq!(reply["decision"], "ask", "{reply}");
    reply["id"].as_u64().expect("an approval id")
}

/// Long-polls approval `id` until it is resolved; returns the final reply's JSON.
pub fn wait_for_answer(socket: &Path, id: u64) -> serde_json::Value {
    let reply = http(socket, "GET", &format!("/v1/approvals/{id}/wait"), None);
    assert_eq!(reply.status, 200, "wait for #{id}: {reply:?}");
    reply.json()
}

/// The audit log's `decision` records (one per preflight), oldest first, via `warden log`.
pub fn decision_records(home: &TempHome) -> Vec<serde_json::Value> {
    let out = home.warden(&["log", "--json", "-n", "1000"]);
    assert!(out.status.success(), "warden log: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("a JSON record"))
        .filter(|record| record["kind"] == "decision")
        .collect()
}

impl Daemon {
    /// The daemon's exit status once it has exited (without waiting); `None` while it runs.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for the daemon")
    }
}

/// Kills (SIGKILL) the daemon that answers on a home's socket when dropped, if one does: for
/// tests in which `warden preload` started a daemon (at its start, or again after the
/// test's own daemon ended), which outlives the test otherwise.
pub struct KillsAnsweringDaemon(pub PathBuf);

impl Drop for KillsAnsweringDaemon {
    fn drop(&mut self) {
        let Ok(stream) = UnixStream::connect(&self.0) else {
            return;
        };
        // Never a panic here (this may run while a failed test unwinds).
        let status = std::panic::catch_unwind(|| http_over(stream, "GET", "/v1/status", None));
        if let Some(pid) = status
            .ok()
            .and_then(|reply| serde_json::from_str::<serde_json::Value>(&reply.body).ok())
            .and_then(|status| status["pid"].as_i64())
        {
            // SAFETY: kill on the pid the answering daemon reported for itself.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// A real terminal for testing a full-screen program: a private tmux server (its own
/// socket, so tests never meet) running a plain `bash` in one pane of a fixed size. Keys go
/// in with `send-keys`, the screen comes out with `capture-pane`. Killed on drop.
pub struct Tmux {
    server: String,
}

impl Tmux {
    /// A `width`×`height` pane running `bash --norc` with `env` added to its environment.
    pub fn start(width: u16, height: u16, env: &[(&str, &std::ffi::OsStr)]) -> Tmux {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let server = format!(
            "warden-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let tmux = Tmux { server };
        let mut command = tmux.command();
        command.args(["-f", "/dev/null", "new-session", "-d", "-s", "t"]);
        command.args(["-x", &width.to_string(), "-y", &height.to_string()]);
        for (name, value) in env {
            let mut pair = std::ffi::OsString::from(format!("{name}="));
            pair.push(value);
            command.arg("-e").arg(pair);
        }
        command.args(["bash", "--norc", "--noprofile"]);
        let out = run(&mut command);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            text(&out.stderr)
        );
        tmux.wait_for("a shell prompt", |screen| {
            screen.contains('$') || screen.contains('#')
        });
        tmux
    }

    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.server]);
        command.env_remove("TMUX");
        command
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = run(self.command().args(args));
        assert!(out.status.success(), "tmux {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Types `line` and presses Enter.
    pub fn type_line(&self, line: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", line]);
        self.tmux(&["send-keys", "-t", "t", "Enter"]);
    }

    /// Presses keys by tmux name (`a`, `Enter`, `Escape`, `Down`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// The screen with its escape sequences (colours, attributes).
    pub fn screen_with_escapes(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-e", "-t", "t"])
    }

    /// A pane variable (`alternate_on`, `cursor_flag`, `pane_width`, …).
    pub fn pane(&self, variable: &str) -> String {
        self.tmux(&[
            "display-message",
            "-p",
            "-t",
            "t",
            &format!("#{{{variable}}}"),
        ])
        .trim()
        .to_string()
    }

    pub fn resize(&self, width: u16, height: u16) {
        self.tmux(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// Waits until the screen satisfies `condition`; panics with the screen after
    /// [`DEADLINE`].
    pub fn wait_for(&self, what: &str, mut condition: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if condition(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen shows `needle`.
    pub fn wait_for_text(&self, needle: &str) -> String {
        self.wait_for(&format!("{needle:?} on screen"), |screen| {
            screen.contains(needle)
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command()
            .args(["kill-server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The real Codex CLI, installed by `npm ci` in `tests/`.
pub fn codex_cli() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/codex");
    assert!(
        path.exists(),
        "{} is missing: run `npm ci` in tests/ (as .ci/run does)",
        path.display()
    );
    path
}

/// `codex sandbox` in its workspace-write sandbox running `bash -c SCRIPT`: the command line
/// after `warden preload --`.
pub fn codex_sandbox_bash(script: &str) -> Vec<std::ffi::OsString> {
    let mut args = vec![codex_cli().into_os_string()];
    args.extend(
        [
            "sandbox",
            "-c",
            "sandbox_mode=\"workspace-write\"",
            "--",
            "bash",
            "-c",
            script,
        ]
        .map(std::ffi::OsString::from),
    );
    args
}
