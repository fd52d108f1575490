//! Helpers for the strict-mode tests (`tests/strict_*.rs`): `warden preload --strict`, a
//! policy that keeps a key file secret, programs that start others where no hook can see
//! (static C probes, a Go binary), and an unprivileged user to run everything as.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::probes::{static_probe, Guarded, POLICY};
use crate::{bin_dir, text, Daemon, TempHome};

/// [`POLICY`] (markers denied, asked, allowed by name) plus: reading a file whose name ends
/// in `.key` with `cat` is denied.
pub fn policy() -> String {
    format!(
        r#"{POLICY}
[[rule]]
name = "deny-key"
action = "deny"
message = "test policy: keys stay secret"
program = ["cat"]
args_any = ['.*\.key$']
"#
    )
}

/// A daemon with [`policy`], and a key file (`secret.key`) whose content must never show.
pub struct Secret {
    pub guarded: Guarded,
    pub key: PathBuf,
}

/// What the key file holds.
pub const KEY_CONTENT: &str = "the-key-material-4711";

impl Secret {
    pub fn start() -> Secret {
        let guarded = Guarded::with_policy(&policy());
        let key = guarded.home.work().join("m").join("secret.key");
        std::fs::write(&key, KEY_CONTENT).expect("write the key file");
        Secret { guarded, key }
    }

    /// `/bin/cat <key>`: what the policy denies.
    pub fn cat_key(&self) -> Vec<OsString> {
        vec!["/bin/cat".into(), self.key.clone().into()]
    }

    /// `warden preload --strict -- <command>` in this home.
    pub fn strict<S: AsRef<OsStr>>(&self, command: &[S]) -> Command {
        strict(&self.guarded, command)
    }

    /// The decisions about `/bin/cat <key>`: (hook, decision) of each.
    pub fn key_decisions(&self) -> Vec<(String, String)> {
        let key = self.key.to_str().expect("a UTF-8 path");
        decisions_about(&self.guarded, |argv| argv == ["/bin/cat", key])
    }
}

/// A static parent that starts what follows with the execve system call itself and an empty
/// environment (`run_child --bare`, linked statically): no hook sees the start, and the program
/// gets neither the library nor its proof.
pub fn bare_start() -> Vec<OsString> {
    vec![static_probe("run_child").into(), "--bare".into()]
}

/// `warden preload --strict -- <command>` in `guarded`'s home.
pub fn strict<S: AsRef<OsStr>>(guarded: &Guarded, command: &[S]) -> Command {
    let mut preload = guarded.home.warden_command(&["preload", "--strict", "--"]);
    preload.args(command);
    preload
}

/// (hook, decision) of every decision in the audit log whose argv passes `select`.
pub fn decisions_about(
    guarded: &Guarded,
    select: impl Fn(&[String]) -> bool,
) -> Vec<(String, String)> {
    guarded
        .decisions()
        .into_iter()
        .filter(|record| {
            let argv: Vec<String> = record["argv"]
                .as_array()
                .map(|argv| {
                    argv.iter()
                        .map(|a| a.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            select(&argv)
        })
        .map(|record| {
            (
                record["hook"].as_str().unwrap_or_default().to_string(),
                record["decision"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// `tests/probes/<name>.go` built with the Go toolchain (`golang-go`) into the probe
/// directory, rebuilt when the source is newer.
pub fn go_probe(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("probes")
        .join(format!("{name}.go"));
    let out_dir = bin_dir().join("warden-probes");
    std::fs::create_dir_all(&out_dir).expect("create the probe directory");
    let binary = out_dir.join(format!("{name}-go"));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&binary) >= modified(&source) && modified(&binary).is_some() {
        return binary;
    }
    let partial = binary.with_extension(format!("{}.partial", std::process::id()));
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&partial)
        .arg(&source)
        .env("GOCACHE", out_dir.join("go-cache"))
        .env("GO111MODULE", "off")
        .env("CGO_ENABLED", "0")
        .output()
        .expect("run go (the Go toolchain, Debian's golang-go, is needed for this test)");
    assert!(
        output.status.success(),
        "go build {} failed:\n{}",
        source.display(),
        text(&output.stderr)
    );
    std::fs::rename(&partial, &binary).expect("install the Go probe");
    binary
}

/// The unprivileged user the strict tests run as (created once, kept for later runs).
pub const USER: &str = "warden-str";

/// An unprivileged user: its ids, and commands run as it.
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

impl User {
    /// [`USER`], created if it does not exist yet (needs root).
    pub fn get() -> User {
        static CREATE: Mutex<()> = Mutex::new(());
        let _one_at_a_time = CREATE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(user) = User::lookup() {
            return user;
        }
        // useradd fails while another process holds /etc/passwd's lock: try again a little.
        for _ in 0..50 {
            let out = Command::new("useradd")
                .args([
                    "--no-create-home",
                    "--user-group",
                    "--shell",
                    "/usr/sbin/nologin",
                ])
                .arg(USER)
                .output()
                .expect("run useradd");
            if let Some(user) = User::lookup() {
                return user;
            }
            assert!(
                text(&out.stderr).contains("lock"),
                "useradd {USER}: {}",
                text(&out.stderr)
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("cannot create the user {USER}");
    }

    fn lookup() -> Option<User> {
        let id = |flag: &str| -> Option<u32> {
            let out = Command::new("id").args([flag, USER]).output().ok()?;
            text(&out.stdout).trim().parse().ok()
        };
        Some(User {
            uid: id("-u")?,
            gid: id("-g")?,
        })
    }

    /// `command` run as this user (same environment, no supplementary groups).
    pub fn wrap(&self, command: Command) -> Command {
        let mut wrapped = Command::new("setpriv");
        wrapped
            .arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg("--")
            .arg(command.get_program())
            .args(command.get_args());
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => wrapped.env(name, value),
                None => wrapped.env_remove(name),
            };
        }
        if let Some(dir) = command.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    /// Gives `path` (and everything below it) to this user.
    pub fn own(&self, path: &Path) {
        let status = Command::new("chown")
            .arg("-R")
            .arg(format!("{}:{}", self.uid, self.gid))
            .arg(path)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {}", path.display());
    }
}

/// A `warden serve` with `policy` in `home` (which `user` must own), run as `user`.
pub fn daemon_as(user: &User, home: &TempHome, policy: &str) -> Daemon {
    let file = home.path().join("test-policy.toml");
    std::fs::write(&file, policy).expect("write the test policy");
    let mut command = home.warden_command(&["serve", "--policy"]);
    command.arg(&file);
    Daemon::spawn(home, user.wrap(command))
}

/// Whether a process with this pid still exists (not yet reaped, or a zombie).
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The pid written into `file` by a test's shell (`echo $! > file`), once it is there.
pub fn pid_in(file: &Path) -> u32 {
    let mut pid = None;
    crate::wait_until(&format!("a pid in {}", file.display()), || {
        pid = std::fs::read(file)
            .ok()
            .and_then(|bytes| std::str::from_utf8(bytes.trim_ascii()).ok()?.parse().ok());
        pid.is_some()
    });
    pid.expect("set by wait_until")
}
