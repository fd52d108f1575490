//! Real launchers under `warden preload`: each starts `touch MARKER` its own way (Python's
//! vfork-based subprocess, os.system, os.posix_spawn, Node's child_process, Rust's
//! std::process::Command, bash pipelines, env -i, xargs, find -exec). The allowed marker is
//! created; the denied one is not, and the program's stderr says why.

use std::ffi::OsString;
use std::path::Path;

use warden_tests::probes::{describe, Guarded};
use warden_tests::run;

/// Runs `launcher` (its last argument is the marker) for an allowed and a denied marker.
/// Launchers pass their stderr on to the target, where the library reports a denial.
fn check_launcher(launcher: &[&str]) {
    let guarded = Guarded::start();
    for (name, allowed) in [("ok-launch", true), ("denied-launch", false)] {
        let marker = guarded.marker(name);
        let mut command: Vec<OsString> = launcher.iter().map(OsString::from).collect();
        command.push(marker.clone().into());
        let out = run(&mut guarded.preload(&command));
        assert_eq!(
            marker.exists(),
            allowed,
            "{launcher:?} with {name}: {}",
            describe(&out)
        );
        if !allowed {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("warden: denied: ") && stderr.contains("denied-launch"),
                "{launcher:?}: no denial on stderr: {}",
                describe(&out)
            );
        }
    }
}

#[test]
fn python_subprocess_run() {
    check_launcher(&[
        "python3",
        "-c",
        "import subprocess, sys; subprocess.run(['touch', sys.argv[1]])",
    ]);
}

#[test]
fn python_os_system() {
    check_launcher(&[
        "python3",
        "-c",
        "import os, shlex, sys; os.system('touch ' + shlex.quote(sys.argv[1]))",
    ]);
}

#[test]
fn python_os_posix_spawn() {
    check_launcher(&[
        "python3",
        "-c",
        "import os, sys\n\
         try:\n    os.waitpid(os.posix_spawn('/usr/bin/touch', ['touch', sys.argv[1]], os.environ), 0)\n\
         except PermissionError as e:\n    sys.exit(e.errno)",
    ]);
}

#[test]
fn node_spawn_sync() {
    check_launcher(&[
        "node",
        "-e",
        "const r = require('child_process').spawnSync('touch', [process.argv[1]], { stdio: 'inherit' }); \
         if (r.error) { console.error(r.error.code); process.exit(1); }",
    ]);
}

#[test]
fn node_exec_sync() {
    check_launcher(&[
        "node",
        "-e",
        "require('child_process').execSync('touch ' + JSON.stringify(process.argv[1]), { stdio: 'inherit' })",
    ]);
}

#[test]
fn bash_pipeline() {
    check_launcher(&["bash", "-c", "echo go | touch \"$1\" | cat", "bash"]);
}

#[test]
fn env_i() {
    check_launcher(&["env", "-i", "/usr/bin/touch"]);
}

#[test]
fn xargs() {
    check_launcher(&["bash", "-c", "printf '%s\\n' \"$1\" | xargs touch", "bash"]);
}

#[test]
fn find_exec() {
    check_launcher(&[
        "bash",
        "-c",
        "find / -maxdepth 0 -exec touch \"$1\" ';'",
        "bash",
    ]);
}

/// Set for [`rust_command_child`]: the marker it touches.
const RUST_CHILD_MARKER: &str = "WARDEN_TEST_RUST_MARKER";

#[test]
fn rust_std_process_command() {
    let guarded = Guarded::start();
    let exe = std::env::current_exe().expect("the test binary");
    for (name, allowed) in [("ok-rust", true), ("denied-rust", false)] {
        let marker = guarded.marker(name);
        let mut command = guarded.preload(&[
            exe.as_os_str(),
            "--exact".as_ref(),
            "rust_command_child".as_ref(),
            "--ignored".as_ref(),
            "--nocapture".as_ref(),
        ]);
        command.env(RUST_CHILD_MARKER, &marker);
        let out = run(&mut command);
        assert_eq!(marker.exists(), allowed, "{name}: {}", describe(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let expected = if allowed {
            "touch exited 0"
        } else {
            "spawn failed: Operation not permitted"
        };
        assert!(stdout.contains(expected), "{name}: {}", describe(&out));
    }
}

/// Not a test of its own: the guarded process that `rust_std_process_command` starts.
#[test]
#[ignore = "run by rust_std_process_command under the library"]
fn rust_command_child() {
    let marker = std::env::var_os(RUST_CHILD_MARKER).expect("run by rust_std_process_command");
    match std::process::Command::new("touch")
        .arg(Path::new(&marker))
        .status()
    {
        Ok(status) => println!("touch exited {}", status.code().unwrap_or(-1)),
        Err(err) => println!("spawn failed: {err}"),
    }
}
