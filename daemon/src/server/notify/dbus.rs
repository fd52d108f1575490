//! Desktop notifications through the session bus (`org.freedesktop.Notifications`): every
//! new ask raises one with **Approve** and **Deny** buttons where the notification server
//! offers actions; a click resolves the ask as `warden approve`/`deny` would, recorded with
//! resolver `desktop`. A notification whose ask was settled elsewhere is closed.
//!
//! A click is a signal on the bus, and any program of the user can send signals: an agent
//! must not be able to click for itself. So an `ActionInvoked` counts only when it comes
//! from the very connection that answered our `Notify` (the bus stamps the sender; it
//! cannot be forged), and only when that connection's process passes the operator check
//! that `warden approve` passes (same user, not inside a guarded session).
//!
//! With no session bus this says so in one line and does nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::StreamExt;
use tokio::sync::broadcast;
use zbus::message::Type;
use zbus::names::OwnedUniqueName;
use zbus::zvariant::Value;
use zbus::{Connection, MatchRule, Message, MessageStream};

use super::notice::{Notice, Subject};
use super::settings::{Desktop, Event};
use crate::server::access::{Channel, Peer};
use crate::server::Daemon;
use crate::wire::ApprovalState;

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const BUS: &str = "org.freedesktop.DBus";
/// Bound on every call to the bus or the notification server.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How the resolutions made here are recorded.
const RESOLVER: &str = "desktop";

/// A notification on screen that is about an ask.
struct Shown {
    approval: u64,
    /// The notification server that answered `Notify`: the only one whose clicks count.
    server: OwnedUniqueName,
}

pub async fn run(daemon: Arc<Daemon>, mode: Desktop, mut records: broadcast::Receiver<Arc<str>>) {
    let (connection, mut signals) = match connect().await {
        Ok(connected) => connected,
        Err(reason) => {
            eprintln!("warden serve: no desktop notifications: {reason}");
            return;
        }
    };
    let actions = offers_actions(&connection).await;
    let mut shown: HashMap<u32, Shown> = HashMap::new();
    loop {
        tokio::select! {
            notice = super::next_notice(&mut records, "desktop notifications") => {
                let Some(notice) = notice else { return };
                announce(&connection, mode, actions, notice, &mut shown).await;
            }
            signal = signals.next() => match signal {
                Some(Ok(message)) => clicked(&daemon, &connection, &message, &mut shown).await,
                Some(Err(_)) => {}
                None => {
                    eprintln!("warden serve: the session bus went away; no more desktop notifications");
                    return;
                }
            },
        }
    }
}

/// The session bus (`DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` or
/// `/run/user/<uid>/bus`) and a stream of the notification server's signals.
async fn connect() -> Result<(Connection, MessageStream), String> {
    let connecting = async {
        let connection = zbus::connection::Builder::session()?
            .method_timeout(CALL_TIMEOUT)
            .build()
            .await?;
        let rule = MatchRule::builder()
            .msg_type(Type::Signal)
            .interface(SERVICE)?
            .path(PATH)?
            .build();
        let signals = MessageStream::for_match_rule(rule, &connection, Some(64)).await?;
        Ok::<_, zbus::Error>((connection, signals))
    };
    match tokio::time::timeout(CALL_TIMEOUT, connecting).await {
        Ok(Ok(connected)) => Ok(connected),
        Ok(Err(e)) => Err(format!("cannot reach the session bus: {e}")),
        Err(_) => Err(format!(
            "the session bus did not answer within {} s",
            CALL_TIMEOUT.as_secs()
        )),
    }
}

/// Whether the notification server shows buttons (its `actions` capability).
async fn offers_actions(connection: &Connection) -> bool {
    let reply = connection
        .call_method(Some(SERVICE), PATH, Some(SERVICE), "GetCapabilities", &())
        .await;
    reply
        .ok()
        .and_then(|message| message.body().deserialize::<Vec<String>>().ok())
        .is_some_and(|capabilities| capabilities.iter().any(|c| c == "actions"))
}

async fn announce(
    connection: &Connection,
    mode: Desktop,
    actions: bool,
    notice: Notice,
    shown: &mut HashMap<u32, Shown>,
) {
    match &notice {
        Notice::Ask(subject) if mode.wants(Event::Ask) => {
            let buttons: &[&str] = if actions {
                &["approve", "Approve", "deny", "Deny"]
            } else {
                &[]
            };
            let Some((id, server)) = notify(connection, &notice, subject, buttons).await else {
                return;
            };
            if let Some(approval) = subject.id {
                shown.insert(id, Shown { approval, server });
            }
        }
        Notice::Deny(subject) if mode.wants(Event::Deny) => {
            notify(connection, &notice, subject, &[]).await;
        }
        Notice::Settled { id: approval } => {
            let stale: Vec<u32> = shown
                .iter()
                .filter(|(_, s)| s.approval == *approval)
                .map(|(id, _)| *id)
                .collect();
            for id in stale {
                shown.remove(&id);
                let _ = connection
                    .call_method(Some(SERVICE), PATH, Some(SERVICE), "CloseNotification", &id)
                    .await;
            }
        }
        _ => {}
    }
}

/// `Notify`; the notification's id and the server that showed it.
async fn notify(
    connection: &Connection,
    notice: &Notice,
    subject: &Subject,
    buttons: &[&str],
) -> Option<(u32, OwnedUniqueName)> {
    let title = super::webhook::title(notice, subject);
    let body = match (&subject.message, subject.id) {
        (Some(message), Some(id)) => format!("{}\n#{id}: {message}", subject.command),
        (Some(message), None) => format!("{}\n{message}", subject.command),
        (None, _) => subject.command.clone(),
    };
    // An ask stays until answered (urgency critical, no expiry); a denial is news.
    let urgency: u8 = if buttons.is_empty() { 1 } else { 2 };
    let hints = HashMap::from([("urgency", Value::U8(urgency))]);
    let expire_ms: i32 = if buttons.is_empty() { -1 } else { 0 };
    let reply = connection
        .call_method(
            Some(SERVICE),
            PATH,
            Some(SERVICE),
            "Notify",
            &("warden", 0u32, "", title, body, buttons, hints, expire_ms),
        )
        .await;
    let message = match reply {
        Ok(message) => message,
        Err(e) => {
            eprintln!("warden serve: the desktop notification failed: {e}");
            return None;
        }
    };
    let id = message.body().deserialize::<u32>().ok()?;
    let server = message.header().sender()?.to_owned().into();
    Some((id, server))
}

/// An `ActionInvoked(id, action)` from the server that showed notification `id`.
async fn clicked(
    daemon: &Daemon,
    connection: &Connection,
    message: &Message,
    shown: &mut HashMap<u32, Shown>,
) {
    let header = message.header();
    if header.member().map(|m| m.as_str()) != Some("ActionInvoked") {
        return;
    }
    let Ok((id, action)) = message.body().deserialize::<(u32, String)>() else {
        return;
    };
    let state = match action.as_str() {
        "approve" => ApprovalState::Approved,
        "deny" => ApprovalState::Denied,
        _ => return,
    };
    let Some(entry) = shown.get(&id) else {
        return;
    };
    let sender = header.sender().map(|s| s.as_str().to_string());
    if sender.as_deref() != Some(entry.server.as_str()) {
        eprintln!(
            "warden serve: ignored a click on approval #{} from {}: only the notification \
             server that showed it may answer",
            entry.approval,
            sender.as_deref().unwrap_or("an unknown sender")
        );
        return;
    }
    if let Err(reason) = operator_check(daemon, connection, &entry.server).await {
        eprintln!(
            "warden serve: ignored a click on approval #{}: the notification server is {reason}",
            entry.approval
        );
        return;
    }
    let approval = entry.approval;
    shown.remove(&id);
    if let Err(e) = daemon.resolve_approval(approval, state, RESOLVER.into()) {
        eprintln!("warden serve: a desktop answer to approval #{approval}: {e}");
    }
}

/// The check `warden approve` passes, applied to the process behind a bus connection.
async fn operator_check(
    daemon: &Daemon,
    connection: &Connection,
    name: &OwnedUniqueName,
) -> Result<(), String> {
    let ask = |method: &'static str| {
        connection.call_method(Some(BUS), "/org/freedesktop/DBus", Some(BUS), method, &name)
    };
    let pid = ask("GetConnectionUnixProcessID")
        .await
        .ok()
        .and_then(|m| m.body().deserialize::<u32>().ok());
    let uid = ask("GetConnectionUnixUser")
        .await
        .ok()
        .and_then(|m| m.body().deserialize::<u32>().ok());
    let peer = Peer {
        channel: Channel::Socket,
        pid: pid.and_then(|pid| i32::try_from(pid).ok()),
        uid,
    };
    peer.check_same_user()?;
    peer.check_operator(&daemon.sessions)
}
