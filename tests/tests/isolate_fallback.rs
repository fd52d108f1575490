//! Where unprivileged user namespaces are unavailable, `warden preload` says so once, naming
//! the cause and what is lost, and runs the agent without isolation; `--no-isolate` chooses
//! that mode silently. As root and as the test user.

use std::process::Output;

use warden_tests::isolation::{Isolated, Who};
use warden_tests::probes::{describe, probe};
use warden_tests::{run, text};

/// What the agent runs: it tells whether warden's state directory is visible.
const LOOK: &str = r#"if test -e "$WARDEN_HOME/test-policy.toml"; then echo state-visible; else echo state-hidden; fi"#;

/// The one line of the fallback, with its cause.
fn assert_falls_back(who: Who, out: &Output, cause: &str) {
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("isolation")).collect();
    assert_eq!(lines.len(), 1, "{who:?}: {}", describe(out));
    assert!(
        lines[0].starts_with(&format!("warden: no session isolation: {cause}; ")),
        "{who:?}: {}",
        describe(out)
    );
    assert!(
        lines[0].contains("the agent can see warden's daemon and files"),
        "{}",
        lines[0]
    );
    assert!(out.status.success(), "{who:?}: {}", describe(out));
    assert!(
        text(&out.stdout).contains("state-visible"),
        "{who:?}: {}",
        describe(out)
    );
}

/// `user.max_user_namespaces = 0`, set in a user namespace of the test's own (the limit
/// holds for namespaces created below it).
#[test]
fn no_user_namespaces_allowed_falls_back_naming_the_limit() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let mut limited = iso.command("unshare");
        limited
            .args(["--user", "--map-root-user", "sh", "-c"])
            .arg(r#"echo 0 > /proc/sys/user/max_user_namespaces && exec "$@""#)
            .arg("sh")
            .arg(warden_tests::warden_bin())
            .args(["preload", "--", "sh", "-c", LOOK])
            .current_dir(iso.home.work());
        let out = run(&mut limited);
        assert_falls_back(
            who,
            &out,
            "user namespaces are not allowed (user.max_user_namespaces = 0)",
        );
    }
}

/// A seccomp filter refusing new user namespaces with EPERM, as containers have.
#[test]
fn a_filter_refusing_user_namespaces_falls_back_naming_the_refusal() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let mut filtered = iso.command(probe("no_userns"));
        filtered
            .arg(warden_tests::warden_bin())
            .args(["preload", "--", "sh", "-c", LOOK])
            .current_dir(iso.home.work());
        let out = run(&mut filtered);
        assert_falls_back(
            who,
            &out,
            "creating a user, pid and mount namespace was refused (Operation not permitted \
             (os error 1); a container or a seccomp filter?)",
        );
    }
}

#[test]
fn no_isolate_runs_the_agent_beside_warden_without_a_word() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let out = run(&mut iso.preload(&["--no-isolate", "--", "sh", "-c", LOOK]));
        assert!(out.status.success(), "{who:?}: {}", describe(&out));
        assert!(
            text(&out.stdout).contains("state-visible"),
            "{}",
            describe(&out)
        );
        assert_eq!(text(&out.stderr), "", "{who:?}: {}", describe(&out));
        let isolated = run(&mut iso.preload(&["--", "sh", "-c", LOOK]));
        assert!(
            isolated.status.success(),
            "{who:?}: {}",
            describe(&isolated)
        );
        assert!(
            !text(&isolated.stdout).contains("state-visible"),
            "{}",
            describe(&isolated)
        );
        assert_eq!(
            text(&isolated.stderr),
            "",
            "{who:?}: {}",
            describe(&isolated)
        );
    }
}
