//! Where ptrace is refused (here: a seccomp filter such as a container profile's), `--strict`
//! fails at once with the cause, and runs nothing: it never degrades to the library alone.

use warden_tests::probes::{describe, static_probe, Guarded};
use warden_tests::{run, text};

#[test]
fn strict_mode_refuses_to_start_where_ptrace_is_refused() {
    let guarded = Guarded::start();
    let marker = guarded.marker("ok-never");
    let no_ptrace = static_probe("no_ptrace");
    let mut command = guarded.home.command(&no_ptrace);
    command
        .arg(warden_tests::warden_bin())
        .args(["preload", "--strict", "--", "/usr/bin/touch"])
        .arg(&marker);
    let out = run(&mut command);
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(!marker.exists(), "the agent ran: {}", describe(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--strict needs ptrace, and this system refuses it")
            && stderr.contains("a seccomp filter on this process refuses ptrace")
            && stderr.contains("Run without --strict"),
        "{}",
        describe(&out)
    );
    assert!(guarded.decisions().is_empty(), "nothing was asked about");
}
