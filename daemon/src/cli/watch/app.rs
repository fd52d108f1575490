//! The state of `warden watch` and how each [`Event`] changes it. `update` never does I/O:
//! what should happen outside (approve #7, fetch the pending list) comes back as a
//! [`Command`] that the loop carries out through the client, feeding the result back in.

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::event::Event;
use crate::cli::present::{self, Tone};
use crate::quote;
use crate::wire::{Approval, AuditRecord, Decision};

/// Decisions kept for the lower pane.
const RECORDS_KEPT: usize = 500;
/// The pending list is fetched again at least this often (the waiters change quietly).
const REFRESH_MS: u64 = 5_000;

/// What the loop must do after an update.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Nothing,
    Approve(u64),
    /// Approve, and allow exactly this argv from now on (`warden approve --always`).
    ApproveAlways(u64),
    Deny(u64),
    RefreshPending,
    Quit,
}

/// Which screen the keys act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    List,
    /// The selected approval in full.
    Details,
    /// Typing a filter.
    Filter,
}

/// The connection to the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    Live,
    Lost(String),
}

pub struct App {
    pub pending: Vec<Approval>,
    pub records: VecDeque<AuditRecord>,
    /// The approval the keys act on, by id (rows move as asks come and go).
    pub selected: Option<u64>,
    pub mode: Mode,
    pub filter: String,
    /// The last thing that happened, for the status line.
    pub status: Option<(Tone, String)>,
    pub link: Link,
    pub now_ms: u64,
    refreshed_ms: u64,
}

impl App {
    pub fn new(pending: Vec<Approval>, records: Vec<AuditRecord>, link: Link, now_ms: u64) -> App {
        let mut app = App {
            pending: Vec::new(),
            records: records.into_iter().collect(),
            selected: None,
            mode: Mode::List,
            filter: String::new(),
            status: None,
            link,
            now_ms,
            refreshed_ms: now_ms,
        };
        app.set_pending(pending);
        app
    }

    pub fn update(&mut self, event: Event) -> Command {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.key(key),
            Event::Key(_) | Event::Resize => Command::Nothing,
            Event::Record(record) => self.record(record),
            Event::Pending(pending) => {
                self.set_pending(pending);
                Command::Nothing
            }
            Event::Tick => {
                self.now_ms = crate::server::audit::now_ms();
                if self.now_ms.saturating_sub(self.refreshed_ms) >= REFRESH_MS {
                    self.refreshed_ms = self.now_ms;
                    return Command::RefreshPending;
                }
                Command::Nothing
            }
            Event::Lost(reason) => {
                self.status = Some((
                    Tone::Deny,
                    format!("lost the daemon ({reason}); reconnecting…"),
                ));
                self.link = Link::Lost(reason);
                Command::Nothing
            }
            Event::Back => {
                self.link = Link::Live;
                self.status = Some((Tone::Allow, "reconnected to the daemon".into()));
                Command::RefreshPending
            }
            Event::Done(outcome) => {
                self.status = Some(match outcome {
                    Ok(said) => (Tone::Allow, said),
                    Err(said) => (Tone::Deny, said),
                });
                Command::RefreshPending
            }
            Event::Terminate => Command::Quit,
        }
    }

    /// The pending approvals that pass the filter, oldest first.
    pub fn visible_pending(&self) -> Vec<&Approval> {
        self.pending
            .iter()
            .filter(|a| self.matches(&approval_text(a)))
            .collect()
    }

    /// The decisions that pass the filter, oldest first.
    pub fn visible_records(&self) -> Vec<&AuditRecord> {
        self.records
            .iter()
            .filter(|r| self.matches(&record_text(r)))
            .collect()
    }

    pub fn selected_approval(&self) -> Option<&Approval> {
        let id = self.selected?;
        self.pending.iter().find(|a| a.id == id)
    }

    fn matches(&self, text: &str) -> bool {
        self.filter.is_empty() || text.to_lowercase().contains(&self.filter.to_lowercase())
    }

    fn key(&mut self, key: KeyEvent) -> Command {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Command::Quit;
        }
        match self.mode {
            Mode::Filter => {
                match key.code {
                    KeyCode::Enter => self.mode = Mode::List,
                    KeyCode::Esc => {
                        self.filter.clear();
                        self.mode = Mode::List;
                    }
                    KeyCode::Backspace => {
                        self.filter.pop();
                    }
                    KeyCode::Char(c) => self.filter.push(c),
                    _ => {}
                }
                self.keep_selection_visible();
                Command::Nothing
            }
            Mode::Details => match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => {
                    self.mode = Mode::List;
                    Command::Nothing
                }
                _ => self.act(key.code),
            },
            Mode::List => match key.code {
                KeyCode::Char('q') => Command::Quit,
                KeyCode::Up | KeyCode::Char('k') => self.step(-1),
                KeyCode::Down | KeyCode::Char('j') => self.step(1),
                KeyCode::Enter if self.selected_approval().is_some() => {
                    self.mode = Mode::Details;
                    Command::Nothing
                }
                KeyCode::Char('/') => {
                    self.mode = Mode::Filter;
                    Command::Nothing
                }
                KeyCode::Esc => {
                    self.filter.clear();
                    Command::Nothing
                }
                code => self.act(code),
            },
        }
    }

    /// `a`, `A` and `d` on the selected approval.
    fn act(&mut self, code: KeyCode) -> Command {
        let Some(id) = self.selected_approval().map(|a| a.id) else {
            if matches!(code, KeyCode::Char('a' | 'A' | 'd')) {
                self.status = Some((
                    Tone::Ask,
                    "nothing is selected: no approval is pending".into(),
                ));
            }
            return Command::Nothing;
        };
        let command = match code {
            KeyCode::Char('a') => Command::Approve(id),
            KeyCode::Char('A') => Command::ApproveAlways(id),
            KeyCode::Char('d') => Command::Deny(id),
            _ => return Command::Nothing,
        };
        self.mode = Mode::List;
        command
    }

    fn step(&mut self, by: isize) -> Command {
        let ids: Vec<u64> = self.visible_pending().iter().map(|a| a.id).collect();
        if ids.is_empty() {
            return Command::Nothing;
        }
        let at = self
            .selected
            .and_then(|id| ids.iter().position(|&i| i == id))
            .unwrap_or(0);
        let next = at.saturating_add_signed(by).min(ids.len() - 1);
        self.selected = Some(ids[next]);
        Command::Nothing
    }

    fn record(&mut self, record: Box<AuditRecord>) -> Command {
        let changes_pending = record.kind == "resolution"
            || (record.decision == Decision::Ask && record.approval.is_some());
        if self.records.len() == RECORDS_KEPT {
            self.records.pop_front();
        }
        self.records.push_back(*record);
        if changes_pending {
            Command::RefreshPending
        } else {
            Command::Nothing
        }
    }

    fn set_pending(&mut self, pending: Vec<Approval>) {
        self.pending = pending;
        self.refreshed_ms = self.now_ms;
        if self.mode == Mode::Details && self.selected_approval().is_none() {
            self.mode = Mode::List;
        }
        self.keep_selection_visible();
    }

    /// The selection stays on its approval while it is shown, else moves to the oldest.
    fn keep_selection_visible(&mut self) {
        let visible: Vec<u64> = self.visible_pending().iter().map(|a| a.id).collect();
        if !self.selected.is_some_and(|id| visible.contains(&id)) {
            self.selected = visible.first().copied();
        }
    }
}

/// What a filter is matched against for an approval.
fn approval_text(approval: &Approval) -> String {
    format!(
        "#{} {} {} {} {}",
        approval.id,
        present::who(approval.agent.as_deref(), approval.session.as_deref()),
        approval.cwd.display(),
        quote::command_line(&approval.argv),
        approval.message.as_deref().unwrap_or_default()
    )
}

/// What a filter is matched against for a decision.
fn record_text(record: &AuditRecord) -> String {
    format!(
        "{} {} {}",
        present::outcome(record).0,
        present::who(record.agent.as_deref(), record.session.as_deref()),
        present::command_brief(record.command.as_deref(), record.argv.as_deref())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{ApprovalState, Bytes, Mode as RecordMode};

    fn approval(id: u64, program: &str) -> Approval {
        Approval {
            id,
            state: ApprovalState::Pending,
            created_ms: 0,
            expires_ms: 0,
            session: None,
            agent: Some("codex".into()),
            pid: 1,
            cwd: Bytes::from("/srv"),
            path: Bytes::from("/usr/bin/x"),
            argv: vec![Bytes::from(program), Bytes::from("apply")],
            rule: None,
            message: None,
            command: None,
            resolver: None,
            resolved_ms: None,
            waiters: 1,
        }
    }

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn app() -> App {
        App::new(
            vec![approval(3, "kubectl"), approval(5, "terraform")],
            Vec::new(),
            Link::Live,
            0,
        )
    }

    #[test]
    fn keys_act_on_the_selected_approval() {
        let mut app = app();
        assert_eq!(app.selected, Some(3));
        assert_eq!(app.update(key(KeyCode::Char('a'))), Command::Approve(3));
        assert_eq!(app.update(key(KeyCode::Char('j'))), Command::Nothing);
        assert_eq!(app.update(key(KeyCode::Char('d'))), Command::Deny(5));
        assert_eq!(
            app.update(key(KeyCode::Char('A'))),
            Command::ApproveAlways(5)
        );
        app.update(key(KeyCode::Down));
        assert_eq!(app.selected, Some(5), "the selection stops at the last row");
        app.update(key(KeyCode::Up));
        assert_eq!(app.selected, Some(3));
        assert_eq!(app.update(key(KeyCode::Char('q'))), Command::Quit);
    }

    #[test]
    fn the_selection_follows_its_approval_and_moves_on_when_it_is_gone() {
        let mut app = app();
        app.update(key(KeyCode::Char('j')));
        app.update(Event::Pending(vec![
            approval(2, "rm"),
            approval(3, "kubectl"),
            approval(5, "terraform"),
        ]));
        assert_eq!(app.selected, Some(5));
        app.update(Event::Pending(vec![approval(3, "kubectl")]));
        assert_eq!(app.selected, Some(3));
        app.update(Event::Pending(Vec::new()));
        assert_eq!(app.selected, None);
        assert_eq!(app.update(key(KeyCode::Char('a'))), Command::Nothing);
        assert!(app.status.is_some(), "says why nothing happened");
    }

    #[test]
    fn a_filter_narrows_both_lists_and_the_selection() {
        let mut app = app();
        app.update(key(KeyCode::Char('/')));
        for c in "terra".chars() {
            app.update(key(KeyCode::Char(c)));
        }
        assert_eq!(app.mode, Mode::Filter);
        assert_eq!(
            app.update(key(KeyCode::Char('q'))),
            Command::Nothing,
            "q is typed"
        );
        app.update(key(KeyCode::Backspace));
        app.update(key(KeyCode::Enter));
        assert_eq!(app.visible_pending().len(), 1);
        assert_eq!(app.selected, Some(5));
        app.update(key(KeyCode::Esc));
        assert_eq!(app.visible_pending().len(), 2);
    }

    #[test]
    fn details_open_on_enter_and_close_on_escape() {
        let mut app = app();
        app.update(key(KeyCode::Enter));
        assert_eq!(app.mode, Mode::Details);
        assert_eq!(app.update(key(KeyCode::Char('d'))), Command::Deny(3));
        assert_eq!(app.mode, Mode::List);
    }

    #[test]
    fn new_asks_and_resolutions_refresh_the_pending_list() {
        let mut app = app();
        let ask = AuditRecord {
            approval: Some(9),
            ..AuditRecord::new("decision", RecordMode::Enforce, Decision::Ask)
        };
        assert_eq!(
            app.update(Event::Record(Box::new(ask))),
            Command::RefreshPending
        );
        let allow = AuditRecord::new("decision", RecordMode::Enforce, Decision::Allow);
        assert_eq!(app.update(Event::Record(Box::new(allow))), Command::Nothing);
        assert_eq!(app.records.len(), 2);
    }

    #[test]
    fn losing_the_daemon_is_shown_until_it_is_back() {
        let mut app = app();
        app.update(Event::Lost("connection refused".into()));
        assert_eq!(app.link, Link::Lost("connection refused".into()));
        assert_eq!(app.update(Event::Back), Command::RefreshPending);
        assert_eq!(app.link, Link::Live);
        assert_eq!(app.update(Event::Terminate), Command::Quit);
    }
}
