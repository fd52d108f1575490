//! Real launchers under `warden preload`: each starts `touch MARKER` its own way (Python's
//! vfork-based subprocess, os.system, os.posix_spawn, Node's child_process, Rust's
//! std::process::Command, bash pipelines, env -i, xargs, find -exec). The allowed marker is
//! created; the denied one is not, and the program's stderr says why.

use std::ffi::OsString;
use std::path::Path;

use warden_tests::probes::{describe, Guarded};
use warden_tests::{run, text};

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

/// Python retries a refused exec under every `PATH` entry; the same file refused moments ago
/// is refused again without a second question or a second line.
#[test]
fn python_path_retries_are_asked_once() {
    let guarded = Guarded::start();
    let mut path = OsString::new();
    for dir in ["bin-a", "bin-b"] {
        let dir = guarded.home.work().join(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink("/usr/bin/touch", dir.join("touch")).unwrap();
        path.push(&dir);
        path.push(":");
    }
    path.push(std::env::var_os("PATH").unwrap_or_default());
    let launcher = |marker: &Path| {
        // The marker comes from the environment: named in the command line, the code would
        // be refused as a whole before it runs, and no exec would be retried.
        let mut command = guarded.preload(&[
            "python3",
            "-c",
            "import os, subprocess\n\
             try:\n    subprocess.run(['touch', os.environ['MARKER']])\n\
             except PermissionError:\n    print('refused')",
        ]);
        command.env("PATH", &path).env("MARKER", marker);
        command
    };

    let denied = guarded.marker("denied-retried");
    let out = run(&mut launcher(&denied));
    assert!(!denied.exists());
    assert!(text(&out.stdout).contains("refused"), "{}", describe(&out));
    assert_eq!(
        text(&out.stderr).matches("warden: denied: ").count(),
        1,
        "{}",
        describe(&out)
    );

    let asked = guarded.marker("asked-retried");
    let out = guarded.resolve_ask(launcher(&asked), "deny");
    assert!(!asked.exists());
    assert!(text(&out.stdout).contains("refused"), "{}", describe(&out));
    let asks = text(&out.stderr)
        .matches("warden: waiting for approval")
        .count();
    assert_eq!(asks, 1, "{}", describe(&out));
}
