//! Webhooks: each ask (and denial, if asked for) is posted to `notify.toml`'s `url` from a
//! thread of its own, in the chosen format, with secrets redacted. The daemon hands a post
//! over without waiting: when the endpoint is slow the queue fills and further posts are
//! dropped, never held. A failing endpoint costs one line in serve.log per outage (when it
//! starts, and how much was lost when it ends).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::broadcast;

use super::notice::{Notice, Subject};
use super::settings::{Format, Settings};

/// Posts waiting for the thread; more are dropped.
const QUEUE: usize = 64;
/// Bound on one post, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Version of the JSON document (`format = "json"`).
const DOCUMENT_VERSION: u32 = 1;
/// Discord refuses longer messages.
const DISCORD_MAX: usize = 2000;

/// One request, ready to send.
#[derive(Debug, PartialEq)]
pub struct Post {
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// Starts the thread that posts to `url` and the task that feeds it.
pub fn start(url: String, settings: &Settings, mut records: broadcast::Receiver<Arc<str>>) {
    let shown = shown_url(&url);
    let (queue, posts) = sync_channel::<Post>(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let counted = dropped.clone();
    let thread_shown = shown.clone();
    let spawned = std::thread::Builder::new()
        .name("warden-webhook".into())
        .spawn(move || post_all(&url, &thread_shown, posts, &counted));
    if let Err(e) = spawned {
        eprintln!("warden serve: webhook {shown} is off: cannot start its thread: {e}");
        return;
    }
    let (on, format, host) = (settings.on.clone(), settings.format, host_name());
    tokio::spawn(async move {
        while let Some(notice) = super::next_notice(&mut records, "the webhook").await {
            let Some(event) = notice.event() else {
                continue;
            };
            if !on.contains(&event) {
                continue;
            }
            let Some(post) = post_for(&notice, format, &host) else {
                continue;
            };
            match queue.try_send(post) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    });
}

/// Sends every post in turn; one line when an outage starts and one when it ends.
fn post_all(url: &str, shown: &str, posts: Receiver<Post>, dropped: &AtomicU64) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut failed_since: Option<u64> = None;
    for post in posts {
        let mut request = agent.post(url).header("Content-Type", post.content_type);
        for (name, value) in &post.headers {
            request = request.header(*name, value);
        }
        match request.send(post.body.as_bytes()) {
            Ok(_) => {
                if let Some(failed) = failed_since.take() {
                    let lost = failed + dropped.swap(0, Ordering::Relaxed);
                    eprintln!(
                        "warden serve: webhook {shown} answers again; {lost} notifications \
                         were lost while it did not"
                    );
                }
            }
            Err(e) => match failed_since.as_mut() {
                Some(failed) => *failed += 1,
                None => {
                    eprintln!(
                        "warden serve: webhook {shown} failed: {e}; its notifications are lost \
                         until it answers again (decisions are not affected)"
                    );
                    failed_since = Some(1);
                }
            },
        }
    }
}

/// `scheme://host/…`: enough to recognise the endpoint in a log, without the path, which
/// often is the secret (Slack, Discord).
fn shown_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    match rest.len() > authority.len() {
        true => format!("{scheme}://{host}/…"),
        false => format!("{scheme}://{host}"),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

/// The request announcing `notice` in `format`; none for a notice that is not an event.
pub fn post_for(notice: &Notice, format: Format, host: &str) -> Option<Post> {
    let event = match notice {
        Notice::Ask(_) => "ask",
        Notice::Deny(_) => "deny",
        Notice::Settled { .. } => return None,
    };
    let (Notice::Ask(subject) | Notice::Deny(subject)) = notice else {
        return None;
    };
    let text = summary(notice, subject, host);
    let post = match format {
        Format::Json => Post {
            content_type: "application/json",
            headers: Vec::new(),
            body: json_document(event, subject, host).to_string(),
        },
        Format::Slack => Post {
            content_type: "application/json",
            headers: Vec::new(),
            body: json!({ "text": text }).to_string(),
        },
        Format::Discord => Post {
            content_type: "application/json",
            headers: Vec::new(),
            body: json!({ "content": crate::quote::shorten(&text, DISCORD_MAX) }).to_string(),
        },
        Format::Ntfy => Post {
            content_type: "text/plain; charset=utf-8",
            headers: vec![
                ("Title", title(notice, subject)),
                (
                    "Priority",
                    if event == "ask" { "high" } else { "default" }.into(),
                ),
                (
                    "Tags",
                    if event == "ask" {
                        "warning"
                    } else {
                        "no_entry"
                    }
                    .into(),
                ),
            ],
            body: text,
        },
    };
    Some(post)
}

/// warden's JSON document (`format = "json"`), version 1.
pub fn json_document(event: &str, subject: &Subject, host: &str) -> serde_json::Value {
    json!({
        "version": DOCUMENT_VERSION,
        "event": event,
        "id": subject.id,
        "agent": subject.agent,
        "session": subject.session,
        "cwd": subject.cwd,
        "command": subject.command,
        "command_line": subject.command_line,
        "rule": subject.rule,
        "message": subject.message,
        "time": subject.time,
        "host": host,
    })
}

fn agent_name(subject: &Subject) -> &str {
    subject.agent.as_deref().unwrap_or("a program")
}

/// A notification's title (ntfy; the desktop says the same).
pub fn title(notice: &Notice, subject: &Subject) -> String {
    match notice {
        Notice::Deny(_) => format!("warden: {} was denied", agent_name(subject)),
        _ => format!("warden: {} asks to run", agent_name(subject)),
    }
}

/// One paragraph for chat: what, who, where, and how to answer.
fn summary(notice: &Notice, subject: &Subject, host: &str) -> String {
    let reason = subject
        .message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    match (notice, subject.id) {
        (Notice::Ask(_), Some(id)) => format!(
            "warden on {host}: {} asks to run `{}` (approval #{id}{reason}). Answer with \
             `warden approve {id}` or `warden deny {id}`, or in `warden watch`.",
            agent_name(subject),
            subject.command
        ),
        _ => format!(
            "warden on {host}: denied `{}` for {}{reason}.",
            subject.command,
            agent_name(subject)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            id: Some(7),
            agent: Some("codex".into()),
            session: Some("s-1".into()),
            cwd: "/srv".into(),
            command: "kubectl apply -f prod.yaml".into(),
            command_line: "bash -c 'kubectl apply -f prod.yaml'".into(),
            rule: Some("kubectl-change".into()),
            message: Some("changing a cluster".into()),
            time: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn the_json_document_carries_every_documented_field() {
        let post = post_for(&Notice::Ask(subject()), Format::Json, "box").unwrap();
        let doc: serde_json::Value = serde_json::from_str(&post.body).unwrap();
        for field in [
            "version",
            "event",
            "id",
            "agent",
            "session",
            "cwd",
            "command",
            "command_line",
            "rule",
            "message",
            "time",
            "host",
        ] {
            assert!(doc.get(field).is_some(), "{field} missing from {doc}");
        }
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["event"], "ask");
        assert_eq!(doc["host"], "box");
    }

    #[test]
    fn chat_formats_say_how_to_answer() {
        let post = post_for(&Notice::Ask(subject()), Format::Slack, "box").unwrap();
        let doc: serde_json::Value = serde_json::from_str(&post.body).unwrap();
        let text = doc["text"].as_str().unwrap();
        assert!(text.contains("`kubectl apply -f prod.yaml`"), "{text}");
        assert!(text.contains("warden approve 7"), "{text}");
        let post = post_for(&Notice::Deny(subject()), Format::Discord, "box").unwrap();
        let doc: serde_json::Value = serde_json::from_str(&post.body).unwrap();
        assert!(doc["content"]
            .as_str()
            .unwrap()
            .starts_with("warden on box: denied"));
        let post = post_for(&Notice::Ask(subject()), Format::Ntfy, "box").unwrap();
        assert!(post
            .headers
            .contains(&("Title", "warden: codex asks to run".into())));
        assert!(post.body.contains("approval #7"));
        assert_eq!(
            post_for(&Notice::Settled { id: 7 }, Format::Json, "box"),
            None
        );
    }

    #[test]
    fn logs_show_the_endpoint_without_its_secret_path() {
        assert_eq!(
            shown_url("https://hooks.slack.com/services/T0/B0/XYZ"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            shown_url("http://u:p@127.0.0.1:8080"),
            "http://127.0.0.1:8080"
        );
    }
}
