//! What strict mode breaks, shown: under a tracer without CAP_SYS_PTRACE, the kernel runs a
//! setuid program without its privileges (and `no_new_privs`, set for the seccomp filter,
//! would refuse them too). Run as an unprivileged user with a setuid-root copy of `id`.

use std::os::unix::fs::PermissionsExt;

use warden_tests::probes::{describe, Guarded, POLICY};
use warden_tests::strict_support::{daemon_as, strict, User};
use warden_tests::{run, text, TempHome};

#[test]
fn a_setuid_program_runs_without_its_privileges_in_strict_mode() {
    let user = User::get();
    let home = TempHome::new();
    let setuid_id = home.work().join("setuid-id");
    std::fs::copy("/usr/bin/id", &setuid_id).unwrap();
    user.own(home.path());
    user.own(&home.work());
    // Root's again, setuid (after the chown, which would clear the bit).
    std::os::unix::fs::chown(&setuid_id, Some(0), Some(0)).unwrap();
    std::fs::set_permissions(&setuid_id, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let daemon = daemon_as(&user, &home, POLICY);
    let guarded = Guarded { home, daemon };

    let plain = run(&mut user.wrap(guarded.preload(&[&setuid_id])));
    assert!(
        text(&plain.stdout).contains("euid=0(root)"),
        "{}",
        describe(&plain)
    );
    let traced = run(&mut user.wrap(strict(&guarded, &[&setuid_id])));
    assert!(traced.status.success(), "{}", describe(&traced));
    let stdout = text(&traced.stdout);
    assert!(
        stdout.contains(&format!("uid={}", user.uid)) && !stdout.contains("euid="),
        "{}",
        describe(&traced)
    );
}
