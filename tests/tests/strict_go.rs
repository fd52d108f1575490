//! A Go binary (static, built at test time with Debian's `golang-go`) starts programs with raw
//! `clone` and `execve` system calls: no hook runs in it, and with an empty environment its
//! child has no library either. Strict mode judges what its `os/exec` starts all the same.

use warden_tests::probes::describe;
use warden_tests::strict_support::{go_probe, Secret, KEY_CONTENT};
use warden_tests::{run, text};

#[test]
fn what_a_go_program_starts_with_os_exec_is_judged() {
    let secret = Secret::start();
    let go_exec = go_probe("go_exec");
    let command = [
        go_exec.as_os_str(),
        "/bin/cat".as_ref(),
        secret.key.as_os_str(),
    ];

    let out = run(&mut secret.strict(&command));
    assert!(
        !text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
    assert!(
        text(&out.stdout).contains("go child: signal: killed"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        secret.key_decisions(),
        [("strict".to_string(), "deny".to_string())]
    );

    // Without strict mode nobody sees it.
    let out = run(&mut secret.guarded.preload(&command));
    assert!(
        text(&out.stdout).contains(KEY_CONTENT),
        "{}",
        describe(&out)
    );
}
