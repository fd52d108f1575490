//! How warden shows decisions and approvals to a person, in one place for `warden log`,
//! `warden pending` and `warden watch`, so that the three never disagree.
//!
//! Commands are shown shell-quoted ([`crate::quote`]); a decision names the simple command
//! that decided it (the `cat ~/.ssh/id_rsa` inside a long `bash -c` script) and says which
//! command line it was inside. Colour is a [`Tone`] here; each front end paints it its own
//! way, and nothing is painted when `NO_COLOR` is set (<https://no-color.org>).

use crate::quote;
use crate::server::audit::GAP_KIND;
use crate::server::DAEMON_KIND;
use crate::wire::{Approval, AuditRecord, Bytes, Decision};

/// What a decision means to the person reading it, whatever the front end paints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Allow,
    Deny,
    Ask,
}

impl From<Decision> for Tone {
    fn from(decision: Decision) -> Self {
        match decision {
            Decision::Allow => Tone::Allow,
            Decision::Deny => Tone::Deny,
            Decision::Ask => Tone::Ask,
        }
    }
}

/// Whether text output may carry colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    Plain,
    Ansi,
}

impl Colour {
    /// Colour only on a terminal, and never when `NO_COLOR` asks for none.
    pub fn for_output(is_terminal: bool) -> Colour {
        if is_terminal && !no_color() {
            Colour::Ansi
        } else {
            Colour::Plain
        }
    }

    /// `text` in the tone's colour (green, red, yellow), or as it is.
    pub fn paint(self, text: &str, tone: Tone) -> String {
        match self {
            Colour::Plain => text.to_string(),
            Colour::Ansi => {
                let code = match tone {
                    Tone::Allow => "32",
                    Tone::Deny => "31",
                    Tone::Ask => "33",
                };
                format!("\x1b[{code}m{text}\x1b[0m")
            }
        }
    }
}

/// `NO_COLOR` set to anything but the empty string.
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// The word a record's outcome is shown as: `allow`, `deny`, `ask` for a decision,
/// `APPROVED` or `REFUSED` for an approval's resolution.
pub fn outcome(record: &AuditRecord) -> (&'static str, Tone) {
    let word = match (record.kind.as_str(), record.decision) {
        ("resolution", Decision::Allow) => "APPROVED",
        ("resolution", _) => "REFUSED",
        (_, decision) => decision_word(decision),
    };
    (word, record.decision.into())
}

pub fn decision_word(decision: Decision) -> &'static str {
    match decision {
        Decision::Allow => "allow",
        Decision::Deny => "deny",
        Decision::Ask => "ask",
    }
}

/// Longest outer command line shown after the deciding command on one line.
const OUTER_MAX: usize = 60;

/// The command a decision is about, for one line: the command that decided, shell-quoted
/// and shortened, followed by the command line it was inside when that differs
/// (`cat ~/.ssh/id_rsa  (in bash -c '…')`).
pub fn command_brief(command: Option<&[Bytes]>, argv: Option<&[Bytes]>) -> String {
    match (command, argv) {
        (Some(command), Some(argv)) if command != argv => format!(
            "{}  (in {})",
            quote::brief(command),
            quote::shorten(&quote::command_line(argv), OUTER_MAX)
        ),
        (Some(command), _) => quote::brief(command),
        (None, Some(argv)) => quote::brief(argv),
        (None, None) => "(request not evaluated)".to_string(),
    }
}

/// Who asked: the agent and its session (`codex s-1a2b`), either alone, or `-`.
pub fn who(agent: Option<&str>, session: Option<&str>) -> String {
    match (agent, session) {
        (Some(agent), Some(session)) => format!("{agent} {session}"),
        (Some(one), None) | (None, Some(one)) => one.to_string(),
        (None, None) => "-".to_string(),
    }
}

/// A duration in milliseconds as people say it: `42s`, `3m`, `2h`.
pub fn age(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}

/// The clock time of a record (`18:53:42`), UTC like the record itself.
pub fn clock(time: &str) -> &str {
    time.get(11..19).unwrap_or(time)
}

/// One line of `warden log`.
pub fn record_line(record: &AuditRecord, colour: Colour) -> String {
    // Records about the daemon and the log themselves (a restart, a cut log) carry their
    // whole story in the message.
    if matches!(record.kind.as_str(), DAEMON_KIND | GAP_KIND) {
        let message = record.message.as_deref().unwrap_or_default();
        return format!("{}  {:<8} {message}", record.time, record.kind);
    }
    let (word, tone) = outcome(record);
    let mut line = format!(
        "{}  {}",
        record.time,
        colour.paint(&format!("{word:<8}"), tone)
    );
    if let Some(id) = record.approval {
        line.push_str(&format!(" #{id}"));
    }
    if let Some(agent) = record.agent.as_deref().or(record.session.as_deref()) {
        line.push_str(&format!(" [{agent}]"));
    }
    line.push(' ');
    line.push_str(&command_brief(
        record.command.as_deref(),
        record.argv.as_deref(),
    ));
    if let Some(would) = record.would {
        line.push_str(&format!("  (monitor: would {})", decision_word(would)));
    }
    if let Some(rule) = &record.rule {
        line.push_str(&format!("  rule {rule}"));
    }
    if let Some(resolver) = &record.resolver {
        line.push_str(&format!("  by {resolver}"));
    }
    line
}

/// Where a list of approvals comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// A running daemon: it knows who waits for each answer.
    Live,
    /// The file a stopped daemon left: nobody can be waiting.
    Saved,
}

/// The `warden pending` table: a header, then per approval a row (id, age, session,
/// agent, working directory, command), its message and, when `listing` is live, whether
/// anyone still waits.
pub fn pending_table(approvals: &[Approval], now_ms: u64, listing: Listing) -> Vec<String> {
    let rows: Vec<[String; 6]> = approvals
        .iter()
        .map(|approval| {
            [
                format!("#{}", approval.id),
                age(now_ms.saturating_sub(approval.created_ms)),
                approval.session.clone().unwrap_or_else(|| "-".into()),
                approval.agent.clone().unwrap_or_else(|| "-".into()),
                approval.cwd.display().into_owned(),
                command_brief(approval.command.as_deref(), Some(&approval.argv)),
            ]
        })
        .collect();
    let header = ["ID", "AGE", "SESSION", "AGENT", "CWD", "COMMAND"].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 6]| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            match i {
                1 => text.push_str(&format!("{cell:>width$}  ")),
                5 => text.push_str(cell),
                _ => text.push_str(&format!("{cell:<width$}  ")),
            }
        }
        text
    };
    let indent = " ".repeat(widths[0] + 2);
    let mut lines = vec![line(&header)];
    for (row, approval) in rows.iter().zip(approvals) {
        lines.push(line(row));
        if let Some(message) = &approval.message {
            lines.push(format!("{indent}{message}"));
        }
        if listing == Listing::Live && approval.waiters == 0 {
            lines.push(format!(
                "{indent}(no process is waiting for this answer right now)"
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ApprovalState, Mode};

    fn words(text: &[&str]) -> Vec<Bytes> {
        text.iter().map(|w| Bytes::from(*w)).collect()
    }

    #[test]
    fn the_deciding_command_comes_first_and_names_what_it_was_in() {
        let argv = words(&["bash", "-c", "cd /tmp && cat ~/.ssh/id_rsa"]);
        let command = words(&["cat", "/home/u/.ssh/id_rsa"]);
        assert_eq!(
            command_brief(Some(&command), Some(&argv)),
            "cat /home/u/.ssh/id_rsa  (in bash -c 'cd /tmp && cat ~/.ssh/id_rsa')"
        );
        assert_eq!(command_brief(Some(&argv), Some(&argv)), quote::brief(&argv));
        assert_eq!(command_brief(None, Some(&argv)), quote::brief(&argv));
    }

    #[test]
    fn plain_output_has_no_escape_codes() {
        let record = AuditRecord {
            argv: Some(words(&["rm", "-rf", "/"])),
            ..AuditRecord::new("decision", Mode::Enforce, Decision::Deny)
        };
        assert!(!record_line(&record, Colour::Plain).contains('\x1b'));
        assert!(record_line(&record, Colour::Ansi).contains("\x1b[31m"));
    }

    #[test]
    fn resolutions_read_as_approved_or_refused() {
        let approved = AuditRecord::new("resolution", Mode::Enforce, Decision::Allow);
        let refused = AuditRecord::new("resolution", Mode::Enforce, Decision::Deny);
        assert_eq!(outcome(&approved), ("APPROVED", Tone::Allow));
        assert_eq!(outcome(&refused), ("REFUSED", Tone::Deny));
    }

    #[test]
    fn the_pending_table_has_a_header_and_shows_session_and_agent() {
        let approval = Approval {
            id: 7,
            state: ApprovalState::Pending,
            created_ms: 1_000,
            expires_ms: 0,
            session: Some("s-42".into()),
            agent: Some("codex".into()),
            pid: 1,
            cwd: Bytes::from("/srv/app"),
            path: Bytes::from("/usr/bin/kubectl"),
            argv: words(&["kubectl", "apply", "-f", "prod env.yaml"]),
            rule: None,
            message: Some("cluster changes need a person".into()),
            command: None,
            resolver: None,
            resolved_ms: None,
            waiters: 1,
        };
        let lines = pending_table(&[approval], 43_000, Listing::Live);
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["ID", "AGE", "SESSION", "AGENT", "CWD", "COMMAND"]
        );
        assert!(lines[1].starts_with("#7  42s  s-42     codex  /srv/app  kubectl"));
        assert!(
            lines[1].ends_with("kubectl apply -f 'prod env.yaml'"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2].trim(), "cluster changes need a person");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn ages_round_down_to_their_unit() {
        assert_eq!(age(59_999), "59s");
        assert_eq!(age(60_000), "1m");
        assert_eq!(age(7_200_000), "2h");
    }
}
