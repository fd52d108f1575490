//! Helpers for the `warden setup` tests: a temporary home with its own `PATH` directories,
//! fake agent executables, and runs of `warden setup` in exactly that environment.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::{run, warden_bin, TempHome};

/// A temporary `WARDEN_HOME` with a user home and scratch directories inside it, all removed
/// on drop. The wrapper goes to `~/.local/bin` unless a test says otherwise.
pub struct SetupHome {
    warden_home: TempHome,
    pub root: PathBuf,
    pub home: PathBuf,
    pub bin: PathBuf,
}

impl Default for SetupHome {
    fn default() -> Self {
        Self::new()
    }
}

impl SetupHome {
    pub fn new() -> SetupHome {
        let warden_home = TempHome::new();
        let root = warden_home.work().join("setup");
        let home = root.join("home");
        std::fs::create_dir_all(&home).expect("create temporary home");
        let bin = home.join(".local/bin");
        SetupHome {
            warden_home,
            root,
            home,
            bin,
        }
    }

    /// The `WARDEN_HOME` every command here uses, for starting a daemon in it.
    pub fn warden_home(&self) -> &TempHome {
        &self.warden_home
    }

    /// The wrapper path in `~/.local/bin`.
    pub fn wrapper(&self) -> PathBuf {
        self.bin.join("codex")
    }

    /// A directory under the scratch root (created).
    pub fn dir(&self, relative: &str) -> PathBuf {
        let dir = self.root.join(relative);
        std::fs::create_dir_all(&dir).expect("create directory");
        dir
    }

    /// `dirs` followed by the system directories, as a `PATH` value.
    pub fn path_var(&self, dirs: &[&Path]) -> OsString {
        let system = [Path::new("/usr/bin"), Path::new("/bin")];
        std::env::join_paths(dirs.iter().chain(system.iter())).expect("PATH entries")
    }

    /// `program` with nothing from the caller's environment but this `HOME` and
    /// `WARDEN_HOME`, and the system directories as `PATH` (a test may set another).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("HOME", &self.home)
            .env("WARDEN_HOME", self.warden_home.path())
            .env("PATH", self.path_var(&[]));
        command
    }

    /// `warden ARGS` in this environment.
    pub fn warden_command(&self, args: &[&str]) -> Command {
        let mut command = self.command(warden_bin());
        command.args(args);
        command
    }

    /// Runs `warden setup ARGS` with `path` as `PATH` and the `extra` variables.
    pub fn setup(&self, path: &OsStr, args: &[&str], extra: &[(&str, &OsStr)]) -> Outcome {
        let mut command = self.warden_command(&["setup"]);
        command.args(args).env("PATH", path);
        for (name, value) in extra {
            command.env(name, value);
        }
        Outcome::from(run(&mut command))
    }
}

/// A finished command with its output as text.
#[derive(Debug)]
pub struct Outcome {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Panics with the whole output unless the command succeeded.
    pub fn assert_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        self
    }

    /// Panics unless the command failed with a message containing `needle` on stderr.
    pub fn assert_refused(&self, needle: &str) -> &Self {
        assert_ne!(self.code, Some(0), "expected a refusal: {self:#?}");
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}: {self:#?}"
        );
        self
    }
}

impl From<Output> for Outcome {
    fn from(output: Output) -> Outcome {
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Writes an executable `sh` script with `body` at `path`.
pub fn write_script(path: &Path, body: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().expect("script has a parent")).expect("mkdir");
    write_executable_file(path, format!("#!/bin/sh\n{body}").as_bytes());
    path.to_path_buf()
}

/// Writes `bytes` to `path` with mode 0755 from a child `sh`, not from this process: a write
/// descriptor held here could leak into a concurrent test's fork, and exec of a file open for
/// writing fails with ETXTBSY.
fn write_executable_file(path: &Path, bytes: &[u8]) {
    let mut child = Command::new("sh")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run sh");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(bytes)
        .expect("write script");
    assert!(
        child.wait().expect("wait for sh").success(),
        "write {}",
        path.display()
    );
}

/// A fake `codex` in `dir` that reports itself and then runs its arguments as a command,
/// so the program it starts is one the daemon judges.
pub fn fake_codex(dir: &Path) -> PathBuf {
    write_script(
        &dir.join("codex"),
        "echo \"fake codex at $0\"\nif [ \"$#\" -gt 0 ]; then exec \"$@\"; fi\n",
    )
}
