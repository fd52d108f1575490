//! Helpers for the session isolation tests (`tests/tests/isolate_*.rs`): every scenario runs
//! as root and as an unprivileged user the tests create (`warden-iso`), with a real daemon
//! running as that user in a `WARDEN_HOME` it owns.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

use crate::probes::{describe, POLICY};
use crate::{run, run_polling, text, Daemon, TempHome};

/// The unprivileged user of these tests (each area has its own, so parallel helpers do
/// not collide).
pub const TEST_USER: &str = "warden-iso";

/// Who runs a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Root,
    /// [`TEST_USER`], created on first use.
    User,
}

impl Who {
    /// Every scenario runs for both.
    pub const BOTH: [Who; 2] = [Who::Root, Who::User];

    /// The uid and gid.
    pub fn ids(self) -> (u32, u32) {
        match self {
            Who::Root => (0, 0),
            Who::User => test_user(),
        }
    }

    /// `command` as this user: unchanged for root; through `setpriv` for the test user,
    /// which execs (the pid stays the command's) and keeps the environment, with `HOME` set
    /// to `home`.
    pub fn wrap(self, command: &Command, home: &Path) -> Command {
        let (uid, gid) = match self {
            Who::Root => return clone_command(command, None),
            Who::User => test_user(),
        };
        let mut wrapped = Command::new("setpriv");
        wrapped
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--init-groups")
            .arg("--");
        let mut wrapped = clone_command(command, Some(wrapped));
        wrapped.env("HOME", home);
        wrapped
    }
}

/// A copy of `command` (program, arguments, environment, directory), appended to `prefix`
/// when one is given.
fn clone_command(command: &Command, prefix: Option<Command>) -> Command {
    let mut copy = match prefix {
        Some(mut prefix) => {
            prefix.arg(command.get_program());
            prefix
        }
        None => Command::new(command.get_program()),
    };
    copy.args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => copy.env(name, value),
            None => copy.env_remove(name),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        copy.current_dir(dir);
    }
    copy
}

/// Creates [`TEST_USER`] once (idempotent across test processes: another may be creating it,
/// or holding the password file's lock for its own user); returns its uid and gid.
pub fn test_user() -> (u32, u32) {
    static CREATED: Mutex<Option<(u32, u32)>> = Mutex::new(None);
    let mut created = CREATED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(ids) = *created {
        return ids;
    }
    for _ in 0..100 {
        if let Some(ids) = lookup(TEST_USER) {
            *created = Some(ids);
            return ids;
        }
        let _ = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home", TEST_USER])
            .output();
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("cannot create the test user {TEST_USER}");
}

fn lookup(user: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").arg(flag).arg(user).output().ok()?;
        text(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// Gives `path` to `who` (recursively).
pub fn give(path: &Path, who: Who) {
    let (uid, gid) = who.ids();
    let out = run(Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(path));
    assert!(
        out.status.success(),
        "chown {}: {}",
        path.display(),
        text(&out.stderr)
    );
}

/// A real daemon in a temporary `WARDEN_HOME`, both owned by `who`, with the preload tests'
/// policy ([`POLICY`]: `touch` of a `denied…` path is denied, of an `asked…` path asks).
pub struct Isolated {
    pub who: Who,
    pub home: TempHome,
    pub daemon: Daemon,
    /// Variables set for every command (the daemon's too).
    env: Vec<(&'static str, OsString)>,
}

impl Isolated {
    pub fn start(who: Who) -> Isolated {
        Isolated::with_policy(who, POLICY)
    }

    pub fn with_policy(who: Who, policy: &str) -> Isolated {
        Isolated::with_env(who, policy, Vec::new())
    }

    /// With `env` set for the daemon and every command (say, `WARDEN_SOCKET`).
    pub fn with_env(who: Who, policy: &str, env: Vec<(&'static str, OsString)>) -> Isolated {
        let home = TempHome::new();
        let work = home.work();
        std::fs::create_dir_all(work.join("m")).expect("create the marker directory");
        give(home.path(), who);
        give(&work, who);
        let file = home.path().join("test-policy.toml");
        std::fs::write(&file, policy).expect("write the test policy");
        give(&file, who);
        let mut serve = home.warden_command(&["serve", "--policy"]);
        serve.arg(&file).envs(env.iter().map(|(k, v)| (k, v)));
        let socket = env
            .iter()
            .find(|(name, _)| *name == "WARDEN_SOCKET")
            .map(|(_, path)| PathBuf::from(path));
        let daemon = Daemon::spawn_at(&home, who.wrap(&serve, &work), socket);
        Isolated {
            who,
            home,
            daemon,
            env,
        }
    }

    /// `command` with this session's variables, run as [`Isolated::who`].
    fn wrap(&self, mut command: Command) -> Command {
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        self.who.wrap(&command, &self.home.work())
    }

    /// `program` in this home's environment, run as [`Isolated::who`].
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        self.wrap(self.home.command(program))
    }

    /// `warden <args>` as [`Isolated::who`], to completion.
    pub fn warden(&self, args: &[&str]) -> Output {
        run(&mut self.wrap(self.home.warden_command(args)))
    }

    /// `warden preload <args>` as [`Isolated::who`], in the working directory.
    pub fn preload<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut preload = self.home.warden_command(&["preload"]);
        preload.args(args).current_dir(self.home.work());
        self.wrap(preload)
    }

    /// `warden preload -- bash -c SCRIPT`: `$WARDEN` is the warden binary, `$M` the marker
    /// directory, `$DAEMON` the daemon's pid (outside the session), and `$NO` and `$ASK`
    /// the markers' prefixes that the policy denies and asks about (a script that spelled
    /// them out would be refused as a whole when its shell judges itself at load).
    pub fn bash(&self, script: &str) -> Command {
        let mut command = self.preload(&["--", "bash", "-c", script]);
        command
            .env("WARDEN", crate::warden_bin())
            .env("M", self.home.work().join("m"))
            .env("DAEMON", self.daemon.pid().to_string())
            .env("NO", "denied")
            .env("ASK", "asked");
        command
    }

    /// A marker path in the working directory; `name` decides the policy's answer.
    pub fn marker(&self, name: &str) -> PathBuf {
        self.home.work().join("m").join(name)
    }

    /// Whether the daemon this test started still runs.
    pub fn daemon_alive(&mut self) -> bool {
        self.daemon.exited().is_none()
    }

    /// Runs `session`, resolving from outside with `warden <decision>` (`approve` or
    /// `deny`), as the operator would, every approval it asks for; returns its output.
    pub fn resolve_every_ask(&self, session: &mut Command, decision: &str) -> Output {
        run_polling(session, || {
            let pending = self.warden(&["pending", "--json"]);
            let list: serde_json::Value =
                serde_json::from_slice(&pending.stdout).unwrap_or_default();
            let ids = list.as_array().into_iter().flatten();
            for id in ids.filter_map(|approval| approval["id"].as_u64()) {
                let resolved = self.warden(&[decision, &id.to_string()]);
                assert!(resolved.status.success(), "{}", describe(&resolved));
            }
            std::thread::sleep(Duration::from_millis(50));
        })
    }
}

/// Asserts that the output shows each of `wanted` and none of `unwanted`.
pub fn assert_output(who: Who, out: &Output, wanted: &[&str], unwanted: &[&str]) {
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    for text in wanted {
        assert!(
            all.contains(text),
            "{who:?}: {text:?} is missing: {}",
            describe(out)
        );
    }
    for text in unwanted {
        assert!(
            !all.contains(text),
            "{who:?}: {text:?} shown: {}",
            describe(out)
        );
    }
}
