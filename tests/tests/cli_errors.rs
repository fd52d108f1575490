//! What a user sees when something is wrong: each cause said once, the reason a daemon did not
//! start shown where it was started, and a mistyped flag refused before anything runs.

use warden_tests::probes::describe;
use warden_tests::{libwarden, run, text, Daemon, TempHome};

/// How often `needle` occurs in `haystack`.
fn occurrences(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// A `WARDEN_HOME` below a regular file: every path in it fails with "Not a directory".
fn home_below_a_file(home: &TempHome) -> std::path::PathBuf {
    let file = home.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    file.join("home")
}

#[test]
fn a_missing_policy_file_names_its_cause_once() {
    let home = TempHome::new();
    let missing = home.path().join("missing.toml");
    let out = home.warden(&["policy", "check", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot read policy file"), "{stderr}");
    assert_eq!(occurrences(&stderr, "(os error 2)"), 1, "{stderr}");
}

#[test]
fn an_unusable_warden_home_names_each_cause_once() {
    let home = TempHome::new();
    let unusable = home_below_a_file(&home);
    for args in [
        &["preload", "--", "true"][..],
        &["serve"],
        &["serve", "--background"],
        &["log"],
    ] {
        let mut command = home.warden_command(args);
        command
            .env("WARDEN_HOME", &unusable)
            .env("WARDEN_LIB", libwarden());
        let out = run(&mut command);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", describe(&out));
        let stderr = text(&out.stderr);
        assert_eq!(
            occurrences(&stderr, "(os error 20)"),
            1,
            "{args:?}: {stderr}"
        );
        assert_eq!(
            occurrences(&stderr, "warden: error:"),
            1,
            "{args:?}: {stderr}"
        );
        assert!(
            occurrences(&stderr, "cannot start the warden daemon") <= 1,
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn an_invalid_user_policy_is_shown_where_the_daemon_was_started_and_nothing_runs() {
    let home = TempHome::new();
    let policy = home.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"x\"\nmessage = \"unterminated\n",
    )
    .unwrap();
    let marker = home.path().join("ran");
    let mut command = home.warden_command(&["preload", "--", "touch", marker.to_str().unwrap()]);
    command.env("WARDEN_LIB", libwarden());
    let out = run(&mut command);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stderr = text(&out.stderr);
    let place = format!("{}:3:", policy.display());
    assert!(stderr.contains(&place), "names FILE:LINE: {stderr}");
    assert!(stderr.contains("invalid basic string"), "{stderr}");
    assert!(
        stderr.contains("warden policy check"),
        "says what to do: {stderr}"
    );
    assert!(
        !stderr.contains("see "),
        "no pointer to a log instead: {stderr}"
    );
    assert!(!marker.exists(), "the command ran unguarded");
    assert!(
        std::os::unix::net::UnixStream::connect(home.socket()).is_err(),
        "no daemon runs"
    );
}

#[test]
fn a_mistyped_preload_flag_is_a_usage_error_and_runs_nothing() {
    let home = TempHome::new();
    let marker = home.path().join("ran");
    let marker = marker.to_str().unwrap();
    for args in [
        &["preload", "--monitr", "--", "touch", marker][..],
        &["preload", "--monitr", "touch", marker],
        &["preload", "--agent", "x", "-z", "touch", marker],
    ] {
        let out = home.warden(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", describe(&out));
        assert!(
            text(&out.stderr).contains("unexpected argument"),
            "{args:?}: {}",
            describe(&out)
        );
        assert!(!std::path::Path::new(marker).exists(), "{args:?} ran");
    }
}

#[test]
fn words_after_the_command_are_the_commands_own() {
    let home = TempHome::new();
    let _daemon = Daemon::start(&home, "");
    let out_file = home.work().join("args");
    let script = format!("printf '%s\\n' \"$@\" > {}", out_file.display());
    let mut command =
        home.warden_command(&["preload", "sh", "-c", &script, "sh", "--monitor", "-x"]);
    command.env("WARDEN_LIB", libwarden());
    let out = run(&mut command);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "--monitor\n-x\n"
    );
}
