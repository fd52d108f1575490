//! Hooks run right after `fork` in multithreaded parents: 1,000 fork+exec rounds from a
//! parent whose threads allocate all the time finish, each exec checked by the daemon,
//! without a deadlock and within a bounded time.

use std::time::{Duration, Instant};

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::run;

const ROUNDS: usize = 1000;

#[test]
fn fork_exec_from_a_multithreaded_parent() {
    let guarded = Guarded::start();
    let storm = probe("fork_storm");
    let started = Instant::now();
    let out = run(&mut guarded.preload(&[storm.as_os_str(), ROUNDS.to_string().as_ref()]));
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("forked {ROUNDS} failed 0")),
        "{}",
        describe(&out)
    );
    // `run` already kills a hung run after its deadline; this bound is tighter.
    assert!(
        elapsed < Duration::from_secs(25),
        "{ROUNDS} rounds took {elapsed:?}"
    );
    // Every exec was asked about: the daemon logged at least one decision per round.
    let log = warden_tests::http(
        guarded.home.socket().as_path(),
        "GET",
        &format!("/v1/log?n={}", ROUNDS * 2),
        None,
    )
    .json();
    let checked = log
        .as_array()
        .map(|records| {
            records
                .iter()
                .filter(|r| r["path"] == "/bin/true" || r["path"] == "/usr/bin/true")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(checked, ROUNDS, "decisions logged for /bin/true");
    println!("{ROUNDS} guarded fork+exec rounds in {elapsed:?}");
}
