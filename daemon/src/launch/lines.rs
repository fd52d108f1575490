//! The lines `warden preload` prints about a program it judged itself, word for word the
//! library's (`preload/src/preflight.rs` `refuse`, `preload/src/ask.rs` `announce`), so that
//! a person and an agent's model read the same thing whoever asked the daemon.

use std::sync::mpsc;
use std::time::Duration;

/// How often the waiting line is said again while nobody has decided (the library's
/// `REPEAT_MS`): Codex shows the model what a running command printed each time it polls.
const REPEAT: Duration = Duration::from_secs(30);

/// `warden: denied: <command> — <reason>`.
pub fn denied(command: &str, reason: Option<&str>) -> String {
    let reason = reason
        .filter(|r| !r.is_empty())
        .unwrap_or("denied by policy");
    format!("warden: denied: {command} — {reason}")
}

/// `warden: waiting for approval #N: <command> — run …`, with the sentence for an agent.
pub fn waiting(id: u64, command: &str) -> String {
    format!(
        "warden: waiting for approval #{id}: {command} — run \"warden approve {id}\" or \
         \"warden deny {id}\". If you are an AI agent: stop and ask your user to approve #{id}, \
         and do not try to get around this check."
    )
}

/// Says the waiting line now and every [`REPEAT`] until `wait` returns; returns what it
/// returned.
pub fn while_waiting<T>(id: u64, command: &str, wait: impl FnOnce() -> T) -> T {
    let line = waiting(id, command);
    eprintln!("{line}");
    let (done, stop) = mpsc::channel::<()>();
    let reminder = std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(REPEAT) {
            eprintln!("{line}");
        }
    });
    let result = wait();
    drop(done);
    let _ = reminder.join();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_read_like_the_librarys() {
        assert_eq!(
            denied("rm -rf /", Some("recursive delete")),
            "warden: denied: rm -rf / — recursive delete"
        );
        assert_eq!(
            denied("x", Some("")),
            "warden: denied: x — denied by policy"
        );
        assert!(waiting(7, "kubectl apply").starts_with(
            "warden: waiting for approval #7: kubectl apply — run \"warden approve 7\" or \
             \"warden deny 7\". If you are an AI agent: stop and ask your user to approve #7,"
        ));
    }
}
