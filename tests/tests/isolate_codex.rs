//! The real Codex CLI in an isolated session: `codex sandbox` makes its own user, pid and
//! mount namespaces (bubblewrap) inside the session's, and its commands are judged as before,
//! through the door, with warden's state still hidden; `codex exec` runs a model's command
//! (a stand-in model on loopback) judged the same way. As root and as the test user.

use warden_tests::isolation::{assert_output, give, Isolated, Who};
use warden_tests::model::Model;
use warden_tests::probes::{describe, probe};
use warden_tests::{codex_cli, codex_sandbox_bash, run, text};

#[test]
fn codex_sandbox_works_unchanged_in_an_isolated_session() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let codex_home = iso.home.work().join("codex-home");
        std::fs::create_dir_all(&codex_home).unwrap();
        give(&codex_home, who);
        // In the sandbox: connect() is forbidden (the door carries the questions), the
        // state directory shows the two sockets and the library only, one marker is
        // allowed, one denied.
        let script = r#"
"$CONNECT"
ls -A "$WARDEN_HOME" | grep -v '^\.[0-9]' | tr '\n' ' '; echo
touch "$M/ok-codex"; touch "$M/$NO-codex"; echo "denied-touch=$?"
"#;
        let mut args = vec![std::ffi::OsString::from("--")];
        args.extend(codex_sandbox_bash(script));
        let mut command = iso.preload(&args);
        command
            .current_dir(iso.home.work().join("m"))
            .env("CODEX_HOME", &codex_home)
            .env("CONNECT", probe("connect_socket"))
            .env("M", iso.home.work().join("m"))
            .env("NO", "denied");
        let out = run(&mut command);
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{who:?}: {}", describe(&out));
        assert!(
            stdout.contains(&format!("connect errno={}", libc::EPERM)),
            "{who:?}: connect() was not forbidden in the sandbox: {}",
            describe(&out)
        );
        assert_output(
            who,
            &out,
            &["door.sock libwarden.so warden.sock \n", "denied-touch=126"],
            &[],
        );
        assert!(
            text(&out.stderr).contains("warden: denied: touch"),
            "{who:?}: {}",
            describe(&out)
        );
        assert!(
            iso.marker("ok-codex").exists(),
            "{who:?}: {}",
            describe(&out)
        );
        assert!(!iso.marker("denied-codex").exists());
    }
}

/// `codex exec` in its workspace-write sandbox, with a model that asks for one command: an
/// allowed one runs, a denied one is refused (the shell Codex starts judges itself at load).
#[test]
fn codex_exec_runs_a_models_commands_judged_in_an_isolated_session() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let codex_home = iso.home.work().join("codex-home");
        std::fs::create_dir_all(&codex_home).unwrap();
        give(&codex_home, who);
        for (name, allowed) in [("ok-exec", true), ("denied-exec", false)] {
            let marker = iso.marker(name);
            let model = Model::asking_to_run(&format!("touch '{}'", marker.display()));
            let mut args: Vec<String> = vec!["--".into(), codex_cli().display().to_string()];
            args.push("exec".into());
            args.extend(model.codex_args());
            args.extend(
                [
                    "--skip-git-repo-check",
                    "-s",
                    "workspace-write",
                    "make a file",
                ]
                .map(String::from),
            );
            let mut command = iso.preload(&args);
            command
                .current_dir(iso.home.work().join("m"))
                .env("CODEX_HOME", &codex_home);
            let out = run(&mut command);
            assert!(out.status.success(), "{who:?} {name}: {}", describe(&out));
            assert_eq!(
                marker.exists(),
                allowed,
                "{who:?} {name}: {}",
                describe(&out)
            );
            if !allowed {
                let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
                assert!(
                    all.contains("warden: denied: ") && all.contains("test policy: denied marker"),
                    "{who:?}: {all}"
                );
            }
        }
    }
}
