//! The real Codex sandbox under strict mode: Codex (static) runs the command in bubblewrap
//! with new user and pid namespaces; the supervisor, outside them, follows every process in
//! and judges what starts there, a static program's raw `execve` included. As root and as an
//! unprivileged user (created by the test), whose daemon runs as that user too.

use std::ffi::OsStr;
use std::process::Output;

use warden_tests::probes::{describe, Guarded};
use warden_tests::strict_support::{bare_start, daemon_as, policy, Secret, User, KEY_CONTENT};
use warden_tests::{codex_cli, run, text, TempHome};

/// A daemon and key file owned by `user` (root when `None`).
fn secret_for(user: Option<&User>) -> Secret {
    let Some(user) = user else {
        return Secret::start();
    };
    let home = TempHome::new();
    std::fs::create_dir_all(home.work().join("m")).unwrap();
    let key = home.work().join("m").join("secret.key");
    std::fs::write(&key, KEY_CONTENT).unwrap();
    user.own(home.path());
    user.own(&home.work());
    let daemon = daemon_as(user, &home, &policy());
    Secret {
        guarded: Guarded { home, daemon },
        key,
    }
}

/// `warden preload --strict -- codex sandbox -- bash -c SCRIPT`, as `user`, in the markers'
/// directory (the sandbox lets the command write there only).
fn sandboxed(secret: &Secret, user: Option<&User>, script: &str) -> Output {
    let home = &secret.guarded.home;
    let codex_home = home.work().join("codex-home");
    std::fs::create_dir_all(&codex_home).unwrap();
    if let Some(user) = user {
        user.own(&codex_home);
    }
    let mut command = secret.strict(&[
        codex_cli().as_os_str(),
        OsStr::new("sandbox"),
        OsStr::new("-c"),
        OsStr::new("sandbox_mode=\"workspace-write\""),
        // Codex makes (and removes) mount targets in every writable root; in a shared /tmp,
        // another user's concurrent run could own them.
        OsStr::new("-c"),
        OsStr::new("sandbox_workspace_write.exclude_slash_tmp=true"),
        OsStr::new("-c"),
        OsStr::new("sandbox_workspace_write.exclude_tmpdir_env_var=true"),
        OsStr::new("--"),
        OsStr::new("bash"),
        OsStr::new("-c"),
        OsStr::new(script),
    ]);
    command
        .current_dir(home.work().join("m"))
        .env("CODEX_HOME", &codex_home)
        .env("HOME", home.work());
    match user {
        Some(user) => run(&mut user.wrap(command)),
        None => run(&mut command),
    }
}

fn denied_and_allowed_inside_the_sandbox(user: Option<&User>) {
    let secret = secret_for(user);
    let starter = bare_start().join(OsStr::new(" "));
    let key = secret.key.display();
    for script in [
        format!("cat {key}"),
        format!("{} /bin/cat {key}", starter.to_str().unwrap()),
    ] {
        let out = sandboxed(&secret, user, &script);
        assert!(
            !text(&out.stdout).contains(KEY_CONTENT),
            "{script}: {}",
            describe(&out)
        );
        assert!(
            text(&out.stderr).contains("test policy: keys stay secret"),
            "{script}: {}",
            describe(&out)
        );
    }
    // The raw execve of the static program inside the sandbox was judged at its exec stop.
    assert!(
        secret
            .key_decisions()
            .contains(&("strict".to_string(), "deny".to_string())),
        "{:?}",
        secret.key_decisions()
    );
    let marker = secret.guarded.marker("ok-codex");
    let out = sandboxed(
        &secret,
        user,
        &format!("/usr/bin/touch {}", marker.display()),
    );
    assert!(marker.exists(), "{}", describe(&out));
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn codex_sandbox_commands_are_judged_in_strict_mode_as_root() {
    denied_and_allowed_inside_the_sandbox(None);
}

#[test]
fn codex_sandbox_commands_are_judged_in_strict_mode_as_an_unprivileged_user() {
    let user = User::get();
    denied_and_allowed_inside_the_sandbox(Some(&user));
}
