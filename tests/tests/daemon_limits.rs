//! One session cannot starve the others: an agent that floods the daemon with connections
//! (idle ones through the socket or the door, or long polls on an approval) is refused
//! beyond its share, and so are its own program starts while it floods, while another
//! session's program starts and the operator's commands are still answered in time.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use warden_tests::probes::{describe, probe, Guarded, REFUSED};
use warden_tests::{run, text};

/// How many connections the flooding agent opens: more than the daemon's whole cap (1,024).
const FLOOD: usize = 1100;
/// A session's share with the daemon's default settings.
const SHARE: usize = 128;
/// How long another session's program start or an operator's command may take meanwhile.
const ANSWERED_WITHIN: Duration = Duration::from_secs(3);

/// The flooding agent: opens FLOOD connections of the kind `argv[1]` names (`socket`,
/// `door`, `wait`), counts those the daemon refused, tries to run a program of its own, says
/// `ready …` and holds everything until its stdin closes.
const FLOODER: &str = r#"
import array, json, os, resource, socket, subprocess, sys, time
kind, sock_path, door_path, marker = sys.argv[1:5]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def connect():
    if kind == "door":
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        door = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rights = array.array("i", [theirs.fileno()])
        door.sendmsg([b"W"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)], 0, door_path)
        theirs.close()
        door.close()
        return ours
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    return s

request = b""
if kind == "wait":
    body = json.dumps({"session": None, "hook": "execve", "path": "/usr/bin/touch",
        "argv": ["touch", "asked-by-the-flooder"], "cwd": "/tmp", "pid": os.getpid(),
        "ppid": os.getppid(), "caller": [], "shell": None}).encode()
    s = connect()
    s.sendall(b"POST /v1/preflight/exec HTTP/1.1\r\nHost: w\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body)
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    approval = json.loads(reply.split(b"\r\n\r\n", 1)[1])["id"]
    request = b"GET /v1/approvals/%d/wait HTTP/1.1\r\nHost: w\r\n\r\n" % approval

held = []
for _ in range(int(os.environ["FLOOD"])):
    s = connect()
    try:
        s.sendall(request)
    except BrokenPipeError:
        pass  # refused (and closed) before the request went out
    held.append(s)
# Until the daemon has answered all it will not hold (refused with a reply, or dropped).
deadline = time.time() + 20
while True:
    refused = dropped = 0
    for s in held:
        s.setblocking(False)
        try:
            reply = s.recv(64, socket.MSG_PEEK)
            refused += reply.startswith(b"HTTP/1.1 503")
            dropped += reply == b""
        except BlockingIOError:
            pass
    if refused + dropped >= len(held) - int(os.environ["SHARE"]) or time.time() > deadline:
        break
    time.sleep(0.05)
try:
    subprocess.run(["touch", marker])
    own = "ran"
except PermissionError:
    own = "refused"
print(f"ready held={len(held) - refused - dropped} refused={refused} own={own}", flush=True)
sys.stdin.read()
"#;

/// The flooding agent in its own session, once its flood is in place: `(child, ready line)`.
fn flood(guarded: &Guarded, kind: &str) -> (Child, String) {
    let own = guarded.marker("ok-flooder-ran");
    let mut command = guarded.preload(&[
        "python3".as_ref(),
        "-c".as_ref(),
        FLOODER.as_ref(),
        kind.as_ref(),
        guarded.home.socket().as_os_str(),
        guarded.home.door().as_os_str(),
        own.as_os_str(),
    ]);
    command
        .env("FLOOD", FLOOD.to_string())
        .env("SHARE", SHARE.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start the flooding agent");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("the flooder's report");
    if !line.starts_with("ready") {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!("the flooder did not flood: {line}\n{}", describe(&out));
    }
    (child, line)
}

/// Floods with `kind`, then checks that the flooder was refused beyond its share (its own
/// program start too) while another session and the operator were answered.
fn flood_is_contained(kind: &str) {
    let guarded = Guarded::start();
    let (mut flooder, report) = flood(&guarded, kind);
    let number = |name: &str| -> usize {
        report
            .split_whitespace()
            .find_map(|field| field.strip_prefix(&format!("{name}=")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {report:?}"))
    };
    assert!(
        number("held") <= SHARE,
        "the flooder holds more than its share: {report}"
    );
    assert!(
        number("refused") >= FLOOD - SHARE - 1,
        "the flood was not refused: {report}"
    );
    assert!(
        report.contains("own=refused"),
        "the flooder still ran programs while flooding: {report}"
    );

    // Another session: its allowed program runs and its denied one is still denied.
    let allowed = guarded.marker("ok-other-session");
    let denied = guarded.marker("denied-other-session");
    let started = Instant::now();
    let out = run(&mut guarded.preload(&[probe("execve").as_os_str(), allowed.as_os_str()]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(allowed.exists(), "another session was starved");
    let out = run(&mut guarded.preload(&[probe("execve").as_os_str(), denied.as_os_str()]));
    assert_eq!(out.status.code(), Some(REFUSED), "{}", describe(&out));
    assert!(!denied.exists());
    let other_session = started.elapsed();

    // The operator.
    let started = Instant::now();
    let status = guarded.home.warden(&["status"]);
    let operator = started.elapsed();
    assert!(status.status.success(), "{}", describe(&status));
    assert!(
        text(&status.stdout).contains("sessions: 1"),
        "{}",
        text(&status.stdout)
    );

    drop(flooder.stdin.take());
    let _ = flooder.wait();
    assert!(
        other_session < 2 * ANSWERED_WITHIN && operator < ANSWERED_WITHIN,
        "answered too slowly during the flood: two program starts of another session in \
         {other_session:?}, warden status in {operator:?}"
    );
}

#[test]
fn a_session_flooding_the_socket_with_idle_connections_is_refused_while_others_are_answered() {
    flood_is_contained("socket");
}

#[test]
fn a_session_flooding_the_door_is_refused_while_others_are_answered() {
    flood_is_contained("door");
}

#[test]
fn long_polls_beyond_a_sessions_share_are_refused_while_others_are_answered() {
    flood_is_contained("wait");
}

#[test]
fn a_refused_connection_is_told_why_not_dropped() {
    let guarded = Guarded::start();
    let (mut flooder, _) = flood(&guarded, "socket");
    // The program the flooder tried to start while its session was full heard why.
    drop(flooder.stdin.take());
    let out = flooder.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the daemon refused the request (503: refused: session ")
            && stderr.contains("its limit"),
        "{}",
        describe(&out)
    );
}
