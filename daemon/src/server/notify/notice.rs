//! Which audit records a person hears about, and what they are told: pure, so that every
//! notifier says the same thing and the choice is tested on its own.

use crate::quote;
use crate::wire::{AuditRecord, Decision, Mode};

use super::redact::redact;
use super::settings::{Desktop, Event};

/// Longest full command line that leaves the machine.
const COMMAND_LINE_MAX: usize = 1000;

/// What a record means to someone who is not watching.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// A new approval waits for a person.
    Ask(Subject),
    /// The policy refused a program start.
    Deny(Subject),
    /// Approval `id` was resolved (from anywhere): a notification about it is stale.
    Settled { id: u64 },
}

/// What an ask or a denial was about, with secrets redacted.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// The approval id (asks only).
    pub id: Option<u64>,
    pub agent: Option<String>,
    pub session: Option<String>,
    pub cwd: String,
    /// The command that decided, shell-quoted and shortened.
    pub command: String,
    /// The whole command line, shell-quoted and shortened.
    pub command_line: String,
    pub rule: Option<String>,
    pub message: Option<String>,
    pub time: String,
}

impl Notice {
    pub fn event(&self) -> Option<Event> {
        match self {
            Notice::Ask(_) => Some(Event::Ask),
            Notice::Deny(_) => Some(Event::Deny),
            Notice::Settled { .. } => None,
        }
    }
}

impl Desktop {
    pub fn wants(self, event: Event) -> bool {
        matches!(
            (self, event),
            (Desktop::Asks | Desktop::AsksAndDenials, Event::Ask)
                | (Desktop::AsksAndDenials, Event::Deny)
        )
    }
}

/// The notice for one record: asks and denials that blocked something (not monitor mode's
/// "would"), and resolutions.
pub fn from_record(record: &AuditRecord) -> Option<Notice> {
    match (record.kind.as_str(), record.mode, record.decision) {
        ("decision", Mode::Enforce, Decision::Ask) => {
            let id = record.approval?;
            Some(Notice::Ask(subject(record, Some(id))))
        }
        ("decision", Mode::Enforce, Decision::Deny) => Some(Notice::Deny(subject(record, None))),
        ("resolution", _, _) => record.approval.map(|id| Notice::Settled { id }),
        _ => None,
    }
}

/// [`from_record`] for a line of the log; none for a line that is not a record.
pub fn from_line(line: &str) -> Option<Notice> {
    from_record(&serde_json::from_str(line).ok()?)
}

fn subject(record: &AuditRecord, id: Option<u64>) -> Subject {
    let argv = record.argv.as_deref().unwrap_or_default();
    let command = record.command.as_deref().unwrap_or(argv);
    Subject {
        id,
        agent: record.agent.clone(),
        session: record.session.clone(),
        cwd: record
            .cwd
            .as_ref()
            .map(|cwd| cwd.display().into_owned())
            .unwrap_or_default(),
        command: redact(&quote::brief(command)),
        command_line: quote::shorten(&redact(&quote::command_line(argv)), COMMAND_LINE_MAX),
        rule: record.rule.clone(),
        message: record.message.clone(),
        time: record.time.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Bytes;

    fn record(kind: &str, mode: Mode, decision: Decision) -> AuditRecord {
        AuditRecord {
            argv: Some(vec![
                Bytes::from("bash"),
                Bytes::from("-c"),
                Bytes::from("mysql -phunter2 prod"),
            ]),
            command: Some(vec![
                Bytes::from("mysql"),
                Bytes::from("-phunter2"),
                Bytes::from("prod"),
            ]),
            cwd: Some(Bytes::from("/srv")),
            agent: Some("codex".into()),
            ..AuditRecord::new(kind, mode, decision)
        }
    }

    #[test]
    fn an_ask_with_an_approval_is_announced_with_secrets_redacted() {
        let mut ask = record("decision", Mode::Enforce, Decision::Ask);
        ask.approval = Some(7);
        let Some(Notice::Ask(subject)) = from_record(&ask) else {
            panic!("an ask is announced");
        };
        assert_eq!(subject.id, Some(7));
        assert_eq!(subject.command, "mysql -p*** prod");
        assert_eq!(subject.command_line, "bash -c 'mysql -p*** prod'");
        assert_eq!(subject.cwd, "/srv");
    }

    #[test]
    fn denials_count_but_allows_and_monitor_mode_do_not() {
        assert!(matches!(
            from_record(&record("decision", Mode::Enforce, Decision::Deny)),
            Some(Notice::Deny(_))
        ));
        assert_eq!(
            from_record(&record("decision", Mode::Enforce, Decision::Allow)),
            None
        );
        let mut watched = record("decision", Mode::Monitor, Decision::Allow);
        watched.would = Some(Decision::Deny);
        assert_eq!(from_record(&watched), None);
        // An ask without an approval (a full queue turns it into a deny) is no ask.
        assert_eq!(
            from_record(&record("decision", Mode::Enforce, Decision::Ask)),
            None
        );
    }

    #[test]
    fn a_resolution_settles_its_approval() {
        let mut resolved = record("resolution", Mode::Enforce, Decision::Allow);
        resolved.approval = Some(3);
        assert_eq!(from_record(&resolved), Some(Notice::Settled { id: 3 }));
    }

    #[test]
    fn lines_are_read_as_records() {
        let deny = record("decision", Mode::Enforce, Decision::Deny);
        let line = serde_json::to_string(&deny).unwrap();
        assert!(matches!(from_line(&line), Some(Notice::Deny(_))));
        assert_eq!(from_line("not a record"), None);
    }

    #[test]
    fn desktop_modes_choose_events() {
        assert!(Desktop::Asks.wants(Event::Ask));
        assert!(!Desktop::Asks.wants(Event::Deny));
        assert!(Desktop::AsksAndDenials.wants(Event::Deny));
        assert!(!Desktop::Off.wants(Event::Ask));
    }
}
