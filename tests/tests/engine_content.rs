//! What really runs, end to end: `warden preload` with the real daemon and real programs.
//! A copy or symlink of `rm` is refused as `rm`; a script is refused for what it holds,
//! whether run by `bash F`, directly through its `#!`, or written and run in one string;
//! `python3 -c` and `node -e` are refused for what their code does. Every destructive
//! command aims at a sandbox directory the test creates; each test checks that the command
//! was refused before it ran (a marker it would have written first is absent, the target
//! is intact).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use warden_tests::probes::{describe, probe, Guarded, REFUSED};
use warden_tests::{run, text};

/// The default policy plus one rule: `rm` of this test's target is denied.
const POLICY: &str = r#"
include_default = true

[[rule]]
name = "protect-sandbox-target"
action = "deny"
message = "test policy: the sandbox target is protected"
program = ["rm"]
args_any = ['.*warden-cnt-target.*']
"#;

/// A sandbox with a directory the commands try to delete and a marker path they would write.
struct Sandbox {
    guarded: Guarded,
    dir: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let guarded = Guarded::with_policy(POLICY);
        let dir = guarded.home.work().join("sandbox");
        std::fs::create_dir_all(dir.join("warden-cnt-target")).unwrap();
        std::fs::write(dir.join("warden-cnt-target/keep"), "precious").unwrap();
        Sandbox { guarded, dir }
    }

    fn target(&self) -> PathBuf {
        self.dir.join("warden-cnt-target")
    }

    fn marker(&self) -> PathBuf {
        self.dir.join("started")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn executable(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Runs `command` under `warden preload` in the sandbox and asserts it was refused
    /// before it ran.
    fn assert_refused_before_it_runs(&self, command: &[&str]) {
        let mut preload = self.guarded.preload(command);
        preload.current_dir(&self.dir);
        let out = run(&mut preload);
        assert!(!out.status.success(), "{command:?} ran: {}", describe(&out));
        assert!(
            text(&out.stderr).contains("warden: denied"),
            "{command:?}: {}",
            describe(&out)
        );
        assert!(
            self.target().join("keep").exists(),
            "{command:?} deleted the target: {}",
            describe(&out)
        );
        assert!(
            !self.marker().exists(),
            "{command:?} started before it was refused: {}",
            describe(&out)
        );
    }
}

fn os(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 sandbox path")
}

#[test]
fn a_copy_of_rm_under_another_name_is_refused_as_rm() {
    let sandbox = Sandbox::new();
    let copy = sandbox.path("tidy");
    std::fs::copy("/bin/rm", &copy).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    sandbox.assert_refused_before_it_runs(&[os(&copy), "-rf", os(&sandbox.target())]);
    let command = format!("{} -rf {}", os(&copy), os(&sandbox.target()));
    sandbox.assert_refused_before_it_runs(&["bash", "-c", &command]);
}

#[test]
fn a_symlink_to_rm_is_refused_as_rm() {
    let sandbox = Sandbox::new();
    let link = sandbox.path("cleanup");
    std::os::unix::fs::symlink("/bin/rm", &link).unwrap();
    // Started by a shell's exec, which names the link (a start without a judged parent is
    // also checked by the program itself, through /proc/self/exe).
    let command = format!("{} -r -f {}", os(&link), os(&sandbox.target()));
    sandbox.assert_refused_before_it_runs(&["bash", "-c", &command]);
}

#[test]
fn a_copy_of_rm_in_a_memfd_is_refused_as_rm() {
    let sandbox = Sandbox::new();
    let program = probe("memfd_exec");
    let mut preload = sandbox
        .guarded
        .preload(&[program.as_os_str(), sandbox.target().as_os_str()]);
    preload.current_dir(&sandbox.dir);
    let out = run(&mut preload);
    assert_eq!(out.status.code(), Some(REFUSED), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("warden: denied"),
        "{}",
        describe(&out)
    );
    assert!(sandbox.target().join("keep").exists(), "the memfd rm ran");
}

#[test]
fn a_script_is_refused_for_what_it_holds() {
    let sandbox = Sandbox::new();
    let script = format!(
        "echo started > {}\nrm -rf {}\n",
        os(&sandbox.marker()),
        os(&sandbox.target())
    );
    let file = sandbox.executable("tidy.sh", &format!("#!/bin/bash\n{script}"));
    sandbox.assert_refused_before_it_runs(&["bash", os(&file)]);
    sandbox.assert_refused_before_it_runs(&["sh", "./tidy.sh"]);
    sandbox.assert_refused_before_it_runs(&["./tidy.sh"]);
    let no_shebang = sandbox.executable("plain", &script);
    sandbox.assert_refused_before_it_runs(&["bash", "-c", &format!("{} && true", os(&no_shebang))]);
}

#[test]
fn a_script_written_then_run_in_one_string_is_refused() {
    let sandbox = Sandbox::new();
    let command = format!(
        "printf 'echo started > %s\\nrm -rf %s\\n' {} {} > s.sh && bash s.sh",
        os(&sandbox.marker()),
        os(&sandbox.target())
    );
    sandbox.assert_refused_before_it_runs(&["bash", "-c", &command]);
    assert!(
        !sandbox.path("s.sh").exists(),
        "the string ran before it was refused"
    );
}

#[test]
fn python_c_calling_os_system_with_a_denied_command_is_refused() {
    let sandbox = Sandbox::new();
    let code = format!(
        "open({:?}, 'w').write('x'); import os; os.system('rm -rf {}')",
        os(&sandbox.marker()),
        os(&sandbox.target())
    );
    sandbox.assert_refused_before_it_runs(&["python3", "-c", &code]);
}

#[test]
fn node_e_deleting_the_home_directory_is_refused() {
    let sandbox = Sandbox::new();
    let home = sandbox.path("home");
    std::fs::create_dir_all(home.join("project")).unwrap();
    let code = format!(
        "const fs = require('fs'); fs.writeFileSync({:?}, 'x'); \
         fs.rmSync(require('os').homedir(), {{recursive: true, force: true}})",
        os(&sandbox.marker())
    );
    let mut preload = sandbox.guarded.preload(&["node", "-e", &code]);
    preload.current_dir(&sandbox.dir).env("HOME", &home);
    let out = run(&mut preload);
    assert!(!out.status.success(), "node ran: {}", describe(&out));
    assert!(
        text(&out.stderr).contains("warden: denied"),
        "{}",
        describe(&out)
    );
    assert!(
        home.join("project").exists(),
        "the sandbox home was deleted"
    );
    assert!(
        !sandbox.marker().exists(),
        "node started before it was refused"
    );
}

#[test]
fn benign_scripts_and_one_liners_still_run() {
    let sandbox = Sandbox::new();
    let script = sandbox.executable(
        "build.sh",
        &format!("#!/bin/sh\necho built > {}\n", os(&sandbox.path("out.txt"))),
    );
    for command in [
        vec![os(&script)],
        vec!["python3", "-c", "print(1)"],
        vec!["node", "-e", "console.log(process.version)"],
    ] {
        let mut preload = sandbox.guarded.preload(&command);
        preload.current_dir(&sandbox.dir);
        let out = run(&mut preload);
        assert!(out.status.success(), "{command:?}: {}", describe(&out));
    }
    assert!(sandbox.path("out.txt").exists());
}
