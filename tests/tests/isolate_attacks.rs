//! The red-team attempts of the session-isolation issue, each made from inside a session
//! in the namespace mode, as root and as an unprivileged user: each fails, and afterwards a
//! denied command is still denied and an allowed one still runs, in the same session and in
//! a later one. The attempts are scripts (bash, Python), as a prompt-injected agent writes
//! them; the test policy has no rule against any of them, so what stops them is the session.

use std::process::Output;

use warden_tests::isolation::{assert_output, Isolated, Who};
use warden_tests::probes::{describe, POLICY};
use warden_tests::{run, text};

/// Appended to every attempt: what must still hold in the same session.
const STILL_GUARDED: &str = r#"
touch "$M/$NO-after"; echo "denied-touch=$?"
touch "$M/ok-after"; echo "ok-touch=$?"
"#;

/// Runs `attempt` (a bash script) in a fresh session, then checks that the session stayed
/// guarded, that the daemon still runs, and that a later session is guarded as well.
fn attempt(iso: &mut Isolated, attempt: &str) -> Output {
    let out = run(&mut iso.bash(&format!("{attempt}\n{STILL_GUARDED}")));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{:?}: {}", iso.who, describe(&out));
    assert!(
        stdout.contains("denied-touch=126") && stdout.contains("ok-touch=0"),
        "{:?}: the session is no longer guarded: {}",
        iso.who,
        describe(&out)
    );
    assert!(!iso.marker("denied-after").exists());
    assert!(iso.marker("ok-after").exists());
    assert!(iso.daemon_alive(), "{:?}: the daemon is gone", iso.who);
    let later =
        run(&mut iso.bash(r#"touch "$M/$NO-later"; echo "denied-touch=$?"; touch "$M/ok-later""#));
    assert!(
        text(&later.stdout).contains("denied-touch=126")
            && text(&later.stderr).contains("warden: denied: touch"),
        "{:?}: a later session is not guarded: {}",
        iso.who,
        describe(&later)
    );
    assert!(iso.marker("ok-later").exists());
    out
}

#[test]
fn the_daemon_cannot_be_killed_by_the_pid_in_its_lock_file_nor_one_found_in_proc() {
    for who in Who::BOTH {
        let mut iso = Isolated::start(who);
        // The lock file is hidden; the pid itself (handed in as $DAEMON, as if guessed) names
        // no process in the session's pid namespace; /proc shows the session's processes
        // only, and pid 1 ignores SIGKILL from inside.
        let out = attempt(
            &mut iso,
            r#"
kill -9 "$(cat "$WARDEN_HOME/serve.lock")"; echo "lock-kill=$?"
python3 -c 'import os, sys; os.kill(int(sys.argv[1]), 9)' "$DAEMON"; echo "pid-kill=$?"
python3 -c '
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv0 = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")[0]
    except OSError:
        continue
    if os.path.basename(argv0) == b"warden":
        os.kill(int(pid), 9)
        print("sent SIGKILL to", pid)
'
"#,
        );
        assert_output(who, &out, &["lock-kill=1", "pid-kill=1"], &[]);
        // The only warden process the session can see is its own init.
        assert_output(who, &out, &["sent SIGKILL to 1\n"], &[]);
    }
}

#[test]
fn the_sockets_and_the_state_directory_cannot_be_removed_or_renamed() {
    for who in Who::BOTH {
        let mut iso = Isolated::start(who);
        let out = attempt(
            &mut iso,
            r#"
python3 -c '
import os, shutil
home = os.environ["WARDEN_HOME"]
attempts = [
    ("remove socket", os.remove, home + "/warden.sock"),
    ("remove door", os.remove, home + "/door.sock"),
    ("rename socket", lambda p: os.rename(p, p + ".old"), home + "/warden.sock"),
    ("remove bound socket", os.remove, os.path.realpath(home + "/warden.sock")),
    ("rename home", lambda p: os.rename(p, p + ".moved"), home),
    ("remove home", shutil.rmtree, home),
    ("replace socket", lambda p: os.symlink("/tmp/rogue.sock", p), home + "/rogue.sock"),
]
for name, act, path in attempts:
    try:
        act(path)
        print(name, "SUCCEEDED")
    except OSError as e:
        print(name, "refused:", e.strerror)
'
"#,
        );
        let stdout = text(&out.stdout);
        assert_output(who, &out, &[], &["SUCCEEDED"]);
        assert_eq!(
            stdout.matches("refused:").count(),
            7,
            "{who:?}: {}",
            describe(&out)
        );
        assert!(iso.home.socket().exists() && iso.home.door().exists());
    }
}

#[test]
fn a_rogue_daemon_started_inside_cannot_take_over() {
    for who in Who::BOTH {
        let mut iso = Isolated::start(who);
        let out = attempt(
            &mut iso,
            r#"
allow="$M/../allow-all.toml"; rogue="$M/../rogue-home"
printf 'default = "allow"\n' > "$allow"
kill -9 "$DAEMON"; sleep 0.3
"$WARDEN" serve --background --policy "$allow"; echo "in-place=$?"
WARDEN_HOME="$rogue" "$WARDEN" serve --background --policy "$allow"; echo "elsewhere=$?"
WARDEN_SOCKET="$rogue/warden.sock" WARDEN_DOOR="$rogue/door.sock" touch "$M/$NO-rogue"
echo "rogue-touch=$?"
"#,
        );
        // In place of the real one (which could not be killed): the state directory is
        // read-only and the real daemon answers; elsewhere it starts, but the library keeps
        // its own socket for every program it lets start.
        assert_output(who, &out, &["in-place=3", "rogue-touch=126"], &[]);
        assert!(!iso.marker("denied-rogue").exists());
    }
}

/// The policy file the daemon watches (and `policy.toml` beside it) cannot be written, so an
/// `[[approved]]` entry or a flag alias never reaches the daemon.
#[test]
fn the_policy_cannot_be_loosened_from_inside() {
    let policy = format!(
        r#"{POLICY}
[[rule]]
name = "keep-precious"
action = "deny"
message = "test policy: precious"
program = ["rm"]
flags = ["-r"]
args_any = ['.*precious.*']
"#
    );
    for who in Who::BOTH {
        let mut iso = Isolated::with_policy(who, &policy);
        let precious = iso.home.work().join("precious");
        std::fs::create_dir_all(&precious).unwrap();
        warden_tests::isolation::give(&precious, who);
        let asked = iso.marker("asked-after-edit");
        let script = r#"
python3 -c '
import os, sys
home = os.environ["WARDEN_HOME"]
loosen = "\n[[approved]]\nname = \"sneaky\"\nargv = [\"touch\", \"%s\"]\n\n[flag_aliases.rm]\n\"-r\" = \"-Z\"\n" % sys.argv[1]
for name in ("test-policy.toml", "policy.toml"):
    try:
        with open(os.path.join(home, name), "a") as f:
            f.write(loosen)
        print(name, "WRITTEN")
    except OSError as e:
        print(name, "refused:", e.strerror)
' "$ASKED"
sleep 1.5
rm -r "$KEEP"; echo "rm=$?"
touch "$ASKED"; echo "asked-touch=$?"
"#;
        let mut session = iso.bash(script);
        session.env("ASKED", &asked).env("KEEP", &precious);
        let out = iso.resolve_every_ask(&mut session, "deny");
        let stdout = text(&out.stdout);
        assert_output(who, &out, &[], &["WRITTEN"]);
        assert_eq!(
            stdout.matches("refused:").count(),
            2,
            "{who:?}: {}",
            describe(&out)
        );
        assert!(
            stdout.contains("rm=126") && precious.exists(),
            "{who:?}: {}",
            describe(&out)
        );
        assert!(
            stdout.contains("asked-touch=126") && !asked.exists(),
            "{}",
            describe(&out)
        );
        attempt(&mut iso, "true");
    }
}

/// The agent's own ask, approved by a process it double-forked (re-parented away from the
/// agent) after trying to kill its `warden preload`, through a raw `execve` of `warden
/// approve` that keeps no variable of the session: the daemon sees a process of the
/// session's pid namespace, and refuses.
#[test]
fn a_double_forked_raw_execve_of_warden_approve_is_refused() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let asked = iso.marker("asked-self");
        let script = r#"
touch "$ASKED" & asker=$!; sleep 1
python3 -c '
import ctypes, os, sys, time
warden, socket, result = (a.encode() for a in sys.argv[1:4])
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(0.3)
        try:
            os.kill(os.getppid(), 9)
        except OSError:
            pass
        out = os.open(result, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1); os.dup2(out, 2)
        libc = ctypes.CDLL(None, use_errno=True)
        for n in (b"1", b"2", b"3"):
            if os.fork() == 0:
                argv = (ctypes.c_char_p * 4)(warden, b"approve", n, None)
                envp = (ctypes.c_char_p * 2)(b"WARDEN_SOCKET=" + socket, None)
                libc.syscall(59, warden, argv, envp)
                os._exit(99)
            os.wait()
        os._exit(0)
    os._exit(0)
os.wait()
for _ in range(100):
    time.sleep(0.1)
    if os.path.exists(sys.argv[3]) and open(sys.argv[3]).read().count("\n") >= 3:
        break
' "$WARDEN" "$WARDEN_SOCKET" "$M/../approve-result"
cat "$M/../approve-result"
wait $asker; echo "asked-touch=$?"
"#;
        let mut session = iso.bash(script);
        session.env("ASKED", &asked);
        let out = iso.resolve_every_ask(&mut session, "deny");
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("runs inside guarded session") && stdout.contains("pid namespace"),
            "{who:?}: {}",
            describe(&out)
        );
        assert_output(who, &out, &[], &["approved"]);
        assert!(
            stdout.contains("asked-touch=126") && !asked.exists(),
            "{}",
            describe(&out)
        );
    }
}

#[test]
fn the_audit_log_cannot_be_truncated() {
    for who in Who::BOTH {
        let mut iso = Isolated::start(who);
        let out = attempt(
            &mut iso,
            r#"
python3 -c '
import glob, os
home = os.environ["WARDEN_HOME"]
print("found", len(glob.glob(home + "/audit/*.jsonl")), "audit files")
for path in (home + "/audit/audit-000001.jsonl", home + "/audit"):
    try:
        open(path, "w").close()
        print(path, "TRUNCATED")
    except OSError as e:
        print(path, "refused:", e.strerror)
'
"#,
        );
        assert_output(who, &out, &["found 0 audit files"], &["TRUNCATED"]);
        let verify = iso.warden(&["audit", "verify"]);
        assert!(verify.status.success(), "{who:?}: {}", describe(&verify));
        assert!(
            !text(&verify.stdout).contains(" 0 records"),
            "{}",
            describe(&verify)
        );
    }
}
