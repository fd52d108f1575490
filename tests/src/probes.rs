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

/// Exit status of a probe whose call was refused (`REFUSED` in probe.h).
pub const REFUSED: i32 = 42;

fn probe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("probes")
}

/// The compiled probe `tests/probes/<name>.c`, rebuilt when its source is newer.
pub fn probe(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let source = probe_dir().join(format!("{name}.c"));
    let header = probe_dir().join("probe.h");
    let out_dir = bin_dir().join("warden-probes");
    std::fs::create_dir_all(&out_dir).expect("create the probe directory");
    let binary = out_dir.join(name);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&binary), modified(&source), modified(&header)) {
        (Some(bin), Some(src), Some(hdr)) => bin >= src && bin >= hdr,
        _ => false,
    };
    if !fresh {
        // Built under a temporary name and renamed: another test binary may run it meanwhile.
        let partial = out_dir.join(format!("{name}.{}.partial", std::process::id()));
        let output = Command::new("cc")
            .args(["-O1", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
            .arg(&partial)
            .arg(&source)
            .arg("-ldl")
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
        std::fs::create_dir_all(home.path().join("m")).expect("create the marker directory");
        Guarded { home, daemon }
    }

    /// A marker path; `name` decides the policy's answer (`ok-…`, `denied-…`, `asked-…`).
    pub fn marker(&self, name: &str) -> PathBuf {
        self.home.path().join("m").join(name)
    }

    /// `warden preload -- <command>` in this home.
    pub fn preload<S: AsRef<OsStr>>(&self, command: &[S]) -> Command {
        let mut preload = self.home.warden_command(&["preload", "--"]);
        preload.args(command);
        preload
    }

    /// Starts `command` and resolves with `decision` (`approve` or `deny`, through `warden`)
    /// every approval it asks for until it exits; returns its output. A shell command run by
    /// `system` asks twice when approved: once as `sh -c …`, once as the program the shell
    /// then starts (itself guarded).
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

    /// Ids of the pending approvals.
    pub fn pending(&self) -> Vec<u64> {
        let pending = http(self.home.socket().as_path(), "GET", "/v1/approvals", None).json();
        pending
            .as_array()
            .map(|list| list.iter().filter_map(|a| a["id"].as_u64()).collect())
            .unwrap_or_default()
    }
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
