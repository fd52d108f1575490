//! A plain `codex` after `warden setup codex`: the wrapper starts the agent under
//! `warden preload`, and the programs the agent starts are judged by a real daemon.

use std::path::Path;

use warden_tests::setup_support::{fake_codex, SetupHome};
use warden_tests::{run, text, Daemon};

/// Denies two programs whose effect (or output) a test can observe.
const POLICY: &str = r#"
[[rule]]
name = "setup-test-deny"
action = "deny"
message = "denied by the warden setup test"
program = ["touch", "id"]
"#;

/// Runs `script` with `sh -c` where a plain `codex` resolves through `path`.
fn shell(h: &SetupHome, path: &std::ffi::OsStr, script: &str) -> std::process::Output {
    run(h.command("sh").args(["-c", script]).env("PATH", path))
}

/// The decisions the daemon recorded for programs started by an agent called `codex`.
fn codex_denials(h: &SetupHome, program: &str) -> usize {
    let out = run(&mut h.warden_command(&["log", "--json", "-n", "200"]));
    text(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|r| r["agent"] == "codex" && r["decision"] == "deny")
        .filter(|r| r["argv"][0].as_str().is_some_and(|a| a.ends_with(program)))
        .count()
}

#[test]
fn a_plain_codex_runs_under_warden_and_its_children_are_judged() {
    let h = SetupHome::new();
    let _daemon = Daemon::start(h.warden_home(), POLICY);
    let tools = h.dir("tools");
    let real = fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    h.setup(&path, &["codex"], &[]).assert_success();

    let allowed = shell(&h, &path, "codex /bin/echo allowed-child-ran");
    assert!(allowed.status.success(), "{allowed:?}");
    let stdout = text(&allowed.stdout);
    assert!(
        stdout.contains(&format!("fake codex at {}", real.display())),
        "{stdout}"
    );
    assert!(stdout.contains("allowed-child-ran"), "{stdout}");

    let target = h.root.join("created-by-touch");
    let denied = shell(&h, &path, &format!("codex touch '{}'", target.display()));
    assert!(!denied.status.success(), "{denied:?}");
    assert!(!target.exists(), "the denied touch ran");
    assert!(
        text(&denied.stderr).contains("warden: denied: touch"),
        "{denied:?}"
    );
    assert!(
        codex_denials(&h, "touch") >= 1,
        "no denial recorded for codex"
    );
}

#[test]
fn odd_paths_and_arguments_pass_through_the_wrapper_intact() {
    let h = SetupHome::new();
    let _daemon = Daemon::start(h.warden_home(), POLICY);
    let odd = "it's \"odd\" $HOME `id` and space";
    let tools = h.dir(&format!("{odd}/tools"));
    let real = fake_codex(&tools);
    let bin = h.dir(&format!("{odd}/bin"));
    let path = h.path_var(&[&bin, &tools]);
    let bin_arg = bin.to_str().unwrap();
    h.setup(&path, &["codex", "--bin-dir", bin_arg], &[])
        .assert_success();

    let out = run(h
        .command(bin.join("codex"))
        .args(["/usr/bin/printf", "<%s>", "a b", "$x", "'q'", "`id`"])
        .env("PATH", &path));
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("fake codex at {}", real.display())),
        "{stdout}"
    );
    assert!(stdout.ends_with("<a b><$x><'q'><`id`>"), "{stdout}");
}

/// The real `@openai/codex` from `tests/node_modules` (installed by `npm ci` in `tests/`).
fn npm_codex() -> std::path::PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin");
    assert!(
        bin.join("codex").exists(),
        "{} missing: run `npm ci` in tests/",
        bin.join("codex").display()
    );
    bin
}

#[test]
fn the_real_npm_codex_runs_guarded_inside_its_own_sandbox() {
    let npm_bin = npm_codex();
    let h = SetupHome::new();
    let _daemon = Daemon::start(h.warden_home(), POLICY);
    let path = h.path_var(&[&h.bin, &npm_bin]);
    let out = h.setup(&path, &["codex"], &[]);
    out.assert_success();
    // Kept as found on PATH: the npm symlink, not the versioned file behind it.
    assert!(out
        .stdout
        .contains(&format!("It runs {}", npm_bin.join("codex").display())));

    let version = shell(&h, &path, "codex --version");
    assert!(version.status.success(), "{version:?}");
    assert!(
        text(&version.stdout).starts_with("codex-cli "),
        "{version:?}"
    );

    // `id` comes in as an argument, so that bash starts and `id` is judged as bash starts it:
    // a script or `bash -c` string naming `id` would be refused as a whole before bash runs.
    let script = h.dir("scripts").join("probe.sh");
    std::fs::write(&script, "uname -s; \"$1\" -u; echo status=$?\n").unwrap();
    let codex_home = h.dir("codex-home");
    let sandboxed = run(h
        .command("sh")
        .args(["-c", "codex sandbox -- bash \"$1\" id", "sh"])
        .arg(&script)
        .env("PATH", &path)
        .env("CODEX_HOME", &codex_home)
        .current_dir(&h.root));
    let stdout = text(&sandboxed.stdout);
    assert!(
        stdout.contains("Linux"),
        "the sandbox ran nothing: {sandboxed:?}"
    );
    assert!(
        stdout.contains("status=126"),
        "id was not denied: {sandboxed:?}"
    );
    let stderr = text(&sandboxed.stderr);
    assert!(stderr.contains("warden: denied: id -u"), "{sandboxed:?}");
    assert!(codex_denials(&h, "id") >= 1, "no denial recorded for codex");
}
