//! The daemon's live records for `warden log -f` and `warden watch`, across daemon restarts.
//!
//! The event stream ends when the daemon stops (or lags behind a slow reader). Following
//! then says so, waits until a daemon answers again, says that too, and goes on. Records
//! carry a sequence number that continues across restarts, so a gap (records made while
//! the stream was down, or skipped for a slow reader) is filled from the daemon's recent
//! records before the record after it, and nothing is shown twice.

use std::time::Duration;

use crate::client::{Client, ClientError};
use crate::wire::AuditRecord;

/// How often a lost daemon is looked for.
const RETRY: Duration = Duration::from_millis(250);
/// Most records the daemon hands back to fill a gap (its `GET /v1/log` limit).
const GAP_MAX: usize = 1000;

/// What following brings.
#[derive(Debug)]
pub enum Change {
    Record(Box<AuditRecord>),
    /// The stream ended or could not be opened; why.
    Lost(String),
    /// A daemon answers again and its records follow.
    Back,
}

/// Follows the records after `last_seq` until `on` returns `false`. Ends with an error
/// only when the daemon refuses the caller (inside a guarded session): retrying cannot
/// change that.
pub fn follow(
    client: &Client,
    mut last_seq: u64,
    mut on: impl FnMut(Change) -> bool,
) -> Result<(), ClientError> {
    // The stream's callback runs inside the client's runtime: gaps are filled through a
    // second client, on a thread of its own (see `gap`).
    let backfill = Client::new(client.socket().to_path_buf());
    loop {
        let mut stopped = false;
        let result = client.follow(|record| {
            let missed = gap(&backfill, last_seq, record.seq);
            for record in missed.into_iter().chain([record]) {
                if record.seq <= last_seq {
                    continue;
                }
                last_seq = record.seq;
                if !on(Change::Record(Box::new(record))) {
                    stopped = true;
                    return false;
                }
            }
            true
        });
        if stopped {
            return Ok(());
        }
        let reason = match result {
            Ok(()) => "the daemon closed the event stream".to_string(),
            Err(refused @ ClientError::Refused(_)) => return Err(refused),
            Err(e) => e.to_string(),
        };
        if !on(Change::Lost(reason)) {
            return Ok(());
        }
        std::thread::sleep(RETRY);
        while !client.is_running() {
            std::thread::sleep(RETRY);
        }
        if !on(Change::Back) {
            return Ok(());
        }
        let recent = backfill.log(GAP_MAX).unwrap_or_default();
        match recent.last() {
            // A new chain (the audit directory was replaced): follow it from its end.
            None => last_seq = 0,
            Some(newest) if newest.seq < last_seq => last_seq = newest.seq,
            Some(_) => {
                let after = last_seq;
                for record in recent.into_iter().filter(|r| r.seq > after) {
                    last_seq = record.seq;
                    if !on(Change::Record(Box::new(record))) {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// The records strictly between `last_seq` and `next`, oldest first, from the daemon's
/// recent records; none when there is no gap or nothing came before.
fn gap(client: &Client, last_seq: u64, next: u64) -> Vec<AuditRecord> {
    if last_seq == 0 || next <= last_seq + 1 {
        return Vec::new();
    }
    let missing = ((next - last_seq - 1) as usize).min(GAP_MAX);
    // Ask for a little more: records may have been added since `next`. From a thread of its
    // own: this runs inside the stream's runtime, where tokio forbids blocking on another.
    let wanted = (missing + 64).min(GAP_MAX);
    let recent = std::thread::scope(|scope| scope.spawn(|| client.log(wanted)).join())
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    recent
        .into_iter()
        .filter(|record| record.seq > last_seq && record.seq < next)
        .collect()
}
