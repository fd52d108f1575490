//! `warden stop`: ends the daemon cleanly and waits until it has exited.
//!
//! It goes through the daemon (`POST /v1/shutdown`), an operator endpoint: like `approve`, it
//! is refused from inside a guarded session and through the door, so an agent cannot switch
//! warden off this way.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use crate::client::{Client, ClientError};
use crate::server::process::Identity;

#[derive(clap::Args)]
pub struct Args {
    /// Wait at most this many seconds for the daemon to exit.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    timeout: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = Client::from_env();
    let pid = match client.status() {
        Ok(status) => status.pid as i32,
        Err(ClientError::NotRunning(socket)) => {
            println!(
                "warden daemon: not running (no daemon on {})",
                socket.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(err) => return Err(err.into()),
    };
    // Known before the daemon is asked to end, so a later process with its pid is never
    // mistaken for it.
    let Some(daemon) = Identity::of(pid) else {
        println!("warden daemon stopped (pid {pid})");
        return Ok(ExitCode::SUCCESS);
    };
    match client.shutdown() {
        Ok(_) => {}
        // The daemon may close the connection as it stops; whether it ended decides.
        Err(ClientError::Protocol { .. }) => {}
        Err(err) => return Err(err.into()),
    }
    let timeout = Duration::from_secs(args.timeout);
    if !daemon.wait_ended(pid, timeout) {
        bail!(
            "the daemon (pid {pid}) is still running {} s after it was asked to stop; \
             see {}",
            timeout.as_secs(),
            crate::paths::serve_log().display()
        );
    }
    println!("warden daemon stopped (pid {pid})");
    Ok(ExitCode::SUCCESS)
}
