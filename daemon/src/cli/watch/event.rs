//! Everything the loop of `warden watch` reacts to, from every source, in one enum: the
//! keyboard, the daemon's live records, snapshots of the pending approvals, the clock,
//! losing and regaining the daemon, the outcome of an action, and SIGTERM.

use ratatui::crossterm::event::KeyEvent;

use crate::wire::{Approval, AuditRecord};

#[derive(Debug)]
pub enum Event {
    Key(KeyEvent),
    /// The terminal changed size: draw again.
    Resize,
    Record(Box<AuditRecord>),
    Pending(Vec<Approval>),
    /// A second passed: ages move on.
    Tick,
    /// The daemon's stream ended or could not be opened; why.
    Lost(String),
    /// A daemon answers again.
    Back,
    /// What an action did (`approved #7: …`), or why it failed.
    Done(Result<String, String>),
    /// SIGTERM or SIGHUP: leave, restoring the terminal.
    Terminate,
}
