//! Telling a person about asks (and, if they want, denials) where they are: a desktop
//! notification with Approve and Deny buttons ([`dbus`]) and a webhook ([`webhook`]).
//!
//! Each is a subscriber of the audit log's live records that are not plain allows
//! (`AuditLog::subscribe_notable`: an allowed program start wakes none of them), started
//! next to the daemon's housekeeping. None is a step of judging a program start or of appending its record:
//! nothing here can delay or change a decision. A subscriber that falls behind says how
//! many records it missed and goes on.
//!
//! - [`settings`] reads `$WARDEN_HOME/notify.toml`;
//! - [`notice`] chooses which records a person hears about, and what they are told (pure);
//! - [`redact`] takes secrets out of command lines before they leave the machine (pure);
//! - [`dbus`] raises freedesktop notifications, their buttons resolving the ask;
//! - [`webhook`] makes HTTP(S) posts on a thread of their own.

mod dbus;
pub mod notice;
pub mod redact;
pub mod settings;
mod webhook;

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};

use super::Daemon;
use crate::paths;
use notice::Notice;
use settings::Desktop;

/// Starts the notifiers that `notify.toml` asks for (a desktop notifier by default). Runs on
/// the daemon's runtime; a broken file turns notifications off with one line in the log.
pub fn start(daemon: &Arc<Daemon>) {
    let file = paths::home().join("notify.toml");
    let settings = match settings::load(&file) {
        Ok(settings) => settings,
        Err(reason) => {
            eprintln!("warden serve: notifications are off: {reason}");
            return;
        }
    };
    if settings.desktop != Desktop::Off {
        tokio::spawn(dbus::run(
            daemon.clone(),
            settings.desktop,
            daemon.audit.subscribe_notable(),
        ));
    }
    if let Some(url) = settings.url.clone() {
        webhook::start(url, &settings, daemon.audit.subscribe_notable());
    }
}

/// The next record a notifier may act on, as a [`Notice`]; `None` once the log closes.
/// `who` names the notifier in the line that says how many records it missed.
async fn next_notice(records: &mut broadcast::Receiver<Arc<str>>, who: &str) -> Option<Notice> {
    loop {
        match records.recv().await {
            Ok(line) => {
                if let Some(notice) = notice::from_line(&line) {
                    return Some(notice);
                }
            }
            Err(RecvError::Lagged(missed)) => eprintln!(
                "warden serve: {who} missed {missed} records (they came faster than it could \
                 follow)"
            ),
            Err(RecvError::Closed) => return None,
        }
    }
}
