//! Helpers for the preload tests: the C probe programs in `tests/probes/` (compiled with `cc`
//! at test time), a daemon with a small test policy, and the approval round trip.
//!
//! Every probe starts `touch MARKER` through one libc entry point. The test policy denies
//! `touch` of a path containing `denied` and asks about one containing `asked`, so a marker
//! file that exists afterwards proves the target ran.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{bin_dir, http, text, Daemon, TempHome, DEADLINE};

/// The library's own proof hash, compiled from its source.
#[path = "../../preload/src/fnv.rs"]
mod fnv;

/// The policy the preload tests run against (used alone, without the default policy).
pub const POLICY: &str = r#"
default = "allow"

[[rule]]
name = "deny-marker"
action = "deny"
message = "test policy: denied marker"
program = ["touch"]
args_any = ['.*denied.*']

[[rule]]
name = "ask-marker"
action = "ask"
message = "test policy: asked marker"
program = ["touch"]
args_any = ['.*asked.*']
"#;

/// [`POLICY`] plus a rule that refuses the shell builtin `echo forbidden-marker`: only a check
/// of the shell itself (the load check) can catch it, since no program starts for it.
pub fn policy_refusing_forbidden_echo() -> String {
    format!(
        r#"{POLICY}
[[rule]]
name = "deny-forbidden-echo"
action = "deny"
message = "test policy: forbidden marker"
program = ["echo"]
args_any = ['.*forbidden-marker.*']
"#
    )
}

/// Exit status of a probe whose call was refused (`REFUSED` in probe.h).
pub const REFUSED: i32 = 42;

fn probe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("probes")
}

/// The compiled probe `tests/probes/<name>.c`, rebuilt when its source is newer.
pub fn probe(name: &str) -> PathBuf {
    build_probe(name, Linking::Dynamic)
}

/// The probe linked statically: the preload library never loads into it (like Codex).
/// Panics when the C library has no static archive (`libc.a`).
pub fn static_probe(name: &str) -> PathBuf {
    build_probe(name, Linking::Static)
}

#[derive(Clone, Copy)]
enum Linking {
    Dynamic,
    Static,
}

fn build_probe(name: &str, linking: Linking) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let source = probe_dir().join(format!("{name}.c"));
    let header = probe_dir().join("probe.h");
    let out_dir = bin_dir().join("warden-probes");
    std::fs::create_dir_all(&out_dir).expect("create the probe directory");
    let (binary, link_flag) = match linking {
        Linking::Dynamic => (out_dir.join(name), "-ldl"),
        Linking::Static => (out_dir.join(format!("{name}-static")), "-static"),
    };
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&binary), modified(&source), modified(&header)) {
        (Some(bin), Some(src), Some(hdr)) => bin >= src && bin >= hdr,
        _ => false,
    };
    if !fresh {
        // Built under a temporary name and renamed: another test binary may run it meanwhile.
        let partial = binary.with_extension(format!("{}.partial", std::process::id()));
        let output = Command::new("cc")
            .args(["-O1", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
            .arg(&partial)
            .arg(&source)
            .arg(link_flag)
            .output()
            .expect("run cc (a C compiler is needed for the preload tests)");
        assert!(
            output.status.success(),
            "cc {} failed:\n{}",
            source.display(),
            text(&output.stderr)
        );
        std::fs::rename(&partial, &binary).expect("install the probe");
    }
    binary
}

/// A daemon with [`POLICY`] in a temporary home, and a place for marker files.
pub struct Guarded {
    pub home: TempHome,
    pub daemon: Daemon,
}

impl Default for Guarded {
    fn default() -> Self {
        Self::start()
    }
}

impl Guarded {
    pub fn start() -> Guarded {
        Guarded::with_policy(POLICY)
    }

    pub fn with_policy(policy: &str) -> Guarded {
        let home = TempHome::new();
        let daemon = Daemon::start(&home, policy);
        std::fs::create_dir_all(home.work().join("m")).expect("create the marker directory");
        Guarded { home, daemon }
    }

    /// A marker path; `name` decides the policy's answer (`ok-…`, `denied-…`, `asked-…`).
    pub fn marker(&self, name: &str) -> PathBuf {
        self.home.work().join("m").join(name)
    }

    /// `warden preload -- <command>` in this home.
    pub fn preload<S: AsRef<OsStr>>(&self, command: &[S]) -> Command {
        let mut preload = self.home.warden_command(&["preload", "--"]);
        preload.args(command);
        preload
    }

    /// `warden preload --no-isolate -- <command>`: the session without namespaces of its own,
    /// for tests of what guards it then (the agent can reach the daemon and its files).
    pub fn preload_shared<S: AsRef<OsStr>>(&self, command: &[S]) -> Command {
        let mut preload = self.home.warden_command(&["preload", "--no-isolate", "--"]);
        preload.args(command);
        preload
    }

    /// Starts `command` and resolves with `decision` (`approve` or `deny`, through `warden`)
    /// every approval it asks for until it exits; returns its output. A shell command run by
    /// `system` asks once, as `sh -c …`: approving that grants the program the shell starts.
    pub fn resolve_ask(&self, mut command: Command, decision: &str) -> Output {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the asking command");
        let deadline = Instant::now() + DEADLINE;
        let mut resolved = std::collections::HashSet::new();
        while child.try_wait().expect("wait for the child").is_none() {
            for id in self.pending() {
                if !resolved.insert(id) {
                    continue;
                }
                let out = self.home.warden(&[decision, &id.to_string()]);
                assert!(
                    out.status.success(),
                    "warden {decision} {id}: {}",
                    text(&out.stderr)
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "the asking command did not finish within {DEADLINE:?}; daemon log:\n{}",
                    self.daemon.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!resolved.is_empty(), "the command finished without asking");
        child
            .wait_with_output()
            .expect("collect the child's output")
    }

    /// The decisions in the audit log (JSON records), oldest first.
    pub fn decisions(&self) -> Vec<serde_json::Value> {
        // The log files (not the head beside them).
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.home.audit_dir())
            .expect("read the audit directory")
            .map(|entry| entry.expect("list the audit directory").path())
            .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        files
            .iter()
            .flat_map(|file| {
                let text = std::fs::read_to_string(file).expect("read an audit file");
                text.lines()
                    .map(|line| serde_json::from_str(line).expect("an audit line is JSON"))
                    .collect::<Vec<serde_json::Value>>()
            })
            .filter(|record: &serde_json::Value| record["kind"] == "decision")
            .collect()
    }

    /// Ids of the pending approvals.
    pub fn pending(&self) -> Vec<u64> {
        let pending = http(self.home.socket().as_path(), "GET", "/v1/approvals", None).json();
        pending
            .as_array()
            .map(|list| list.iter().filter_map(|a| a["id"].as_u64()).collect())
            .unwrap_or_default()
    }
}

/// Marks `command`, which the test process starts with the library loaded directly, as
/// already judged, as a guarded parent would (`WARDEN_CHECKED=s<parent pid>.<n>.<FNV-1a of
/// the n arguments>`, see preload/src/checked.rs and fnv.rs), so that what it shows is the hooks'
/// behaviour and not the load check's. Call it once the arguments are set.
pub fn judged_start(command: &mut Command) -> &mut Command {
    use std::os::unix::ffi::OsStrExt;
    let args: Vec<&[u8]> = command.get_args().map(OsStr::as_bytes).collect();
    let hash = fnv::hash_args(args.iter().copied());
    let proof = format!("s{}.{}.{hash}", std::process::id(), args.len());
    command.env("WARDEN_CHECKED", proof)
}

/// What a command printed (its first few kilobytes), for assertion messages.
pub fn describe(output: &Output) -> String {
    const SHOWN: usize = 4096;
    let shorten = |bytes: &[u8]| text(&bytes[..bytes.len().min(SHOWN)]);
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        shorten(&output.stdout),
        shorten(&output.stderr)
    )
}
