//! What a command line will really do, judged for real: `warden preload` with the built-in
//! policy and a real daemon, a user whose home is outside `/home` (a sandbox under the
//! test's temporary directory, never a real home), and shell strings that get their
//! meaning from the shell (the home `~` expands to, `cd`, variables, globs). Each refused
//! command would have deleted or printed something in the sandbox; the test checks that
//! it did not, and that the audit log names the command that decided.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;
use warden_tests::probes::describe;
use warden_tests::{decision_records, libwarden, preflight, run, text, Daemon, TempHome};

/// A daemon with the built-in policy, and a sandbox home with a project, a fake private
/// key and files to lose.
struct Sandbox {
    home: TempHome,
    _daemon: Daemon,
    user_home: PathBuf,
}

const KEY_MARKER: &str = "FAKE-PRIVATE-KEY-FOR-WARDEN-TESTS";

impl Sandbox {
    fn new() -> Sandbox {
        let home = TempHome::new();
        let daemon = Daemon::start_with(&home, None, &[]);
        let user_home = home.work().join("srv-dev");
        for dir in ["project/build", ".ssh", "notes"] {
            std::fs::create_dir_all(user_home.join(dir)).unwrap();
        }
        std::fs::write(user_home.join(".ssh/id_rsa"), KEY_MARKER).unwrap();
        std::fs::write(user_home.join("notes/todo.txt"), "keep me").unwrap();
        std::fs::write(user_home.join("project/build/out.o"), "object").unwrap();
        Sandbox {
            home,
            _daemon: daemon,
            user_home,
        }
    }

    /// `warden preload -- COMMAND…` as the sandbox user: `HOME` is the sandbox home, the
    /// working directory its project.
    fn preload(&self, command: &[&str]) -> Output {
        let mut preload = self.home.warden_command(&["preload", "--"]);
        preload
            .args(command)
            .env("WARDEN_LIB", libwarden())
            .env("HOME", &self.user_home)
            .current_dir(self.user_home.join("project"));
        run(&mut preload)
    }

    fn intact(&self) -> bool {
        self.user_home.join("notes/todo.txt").exists() && self.user_home.join(".ssh").exists()
    }

    /// The audit records that denied a program start.
    fn denials(&self) -> Vec<Value> {
        decision_records(&self.home)
            .into_iter()
            .filter(|record| record["decision"] == "deny")
            .collect()
    }
}

fn deciding(record: &Value) -> Vec<String> {
    record["command"]
        .as_array()
        .map(|words| {
            words
                .iter()
                .map(|w| w.as_str().unwrap_or("<bytes>").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[track_caller]
fn assert_refused(sandbox: &Sandbox, out: &Output, deciding_command: &[&str]) {
    assert!(!out.status.success(), "ran: {}", describe(out));
    assert!(
        sandbox.intact(),
        "the sandbox home lost files: {}",
        describe(out)
    );
    assert!(
        !text(&out.stdout).contains(KEY_MARKER),
        "the key was printed: {}",
        describe(out)
    );
    let denials = sandbox.denials();
    let last = denials.last().expect("a denial in the audit log");
    assert_eq!(deciding(last), deciding_command, "{last}");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary directory")
}

#[test]
fn the_real_home_is_protected_where_the_shell_expanded_it() {
    let sandbox = Sandbox::new();
    let home = path(&sandbox.user_home).to_string();
    // What `warden preload -- rm -rf ~` gets after the user's shell expanded `~`.
    let out = sandbox.preload(&["rm", "-rf", &home]);
    assert_refused(&sandbox, &out, &["rm", "-rf", &home]);
    let with_dot = format!("{home}/.");
    let out = sandbox.preload(&["rm", "-rf", &with_dot]);
    assert_refused(&sandbox, &out, &["rm", "-rf", &with_dot]);
    let out = sandbox.preload(&["bash", "-c", "rm -rf ~/"]);
    assert_refused(&sandbox, &out, &["rm", "-rf", "~/"]);
}

#[test]
fn cd_variables_and_globs_are_judged_as_the_shell_runs_them() {
    let sandbox = Sandbox::new();
    let out = sandbox.preload(&["bash", "-c", "cd ~ && rm -rf *"]);
    assert_refused(&sandbox, &out, &["rm", "-rf", "*"]);
    let out = sandbox.preload(&["bash", "-c", "p=rm; d=$HOME; $p -rf \"$d\""]);
    assert_refused(&sandbox, &out, &["rm", "-rf", "$HOME"]);
    let out = sandbox.preload(&["bash", "-c", "cat ~/.ss?/id_*"]);
    assert_refused(&sandbox, &out, &["cat", "~/.ss?/id_*"]);
    // The project's parent is the home.
    let out = sandbox.preload(&["bash", "-c", "cd .. && rm -rf ./*"]);
    assert_refused(&sandbox, &out, &["rm", "-rf", "./*"]);
}

#[test]
fn everyday_deletes_in_the_project_still_run() {
    let sandbox = Sandbox::new();
    let out = sandbox.preload(&["bash", "-c", "cd build && rm -rf *"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!sandbox.user_home.join("project/build/out.o").exists());
    let out = sandbox.preload(&["bash", "-c", "find . -name build -type d -exec rm -rf {} +"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!sandbox.user_home.join("project/build").exists());
    assert!(sandbox.intact());
}

#[test]
fn outside_a_session_the_daemons_own_home_is_the_home() {
    let home = TempHome::new();
    let user_home = home.path().join("srv-ops");
    std::fs::create_dir_all(&user_home).unwrap();
    let _daemon = Daemon::start_in(&home, None, &[], &[("HOME", user_home.as_os_str())]);
    let target = path(&user_home).to_string();
    let reply = preflight(&home.socket(), &["rm", "-rf", &target]);
    assert_eq!(reply["decision"], "deny", "{reply}");
    let elsewhere = path(&home.path().join("other")).to_string();
    let reply = preflight(&home.socket(), &["rm", "-rf", &elsewhere]);
    assert_eq!(reply["decision"], "allow", "{reply}");
}
