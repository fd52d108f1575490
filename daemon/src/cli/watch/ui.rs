//! Drawing `warden watch` from the [`App`] alone: a title line, the pending approvals, the
//! live decisions, a status line and the keys; the selected approval in full on `Enter`.
//! Colour only marks what the words already say, and `NO_COLOR` removes it.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Link, Mode};
use crate::cli::present::{self, Colour, Tone};
use crate::quote;

const KEYS: &str =
    "a approve · d deny · A approve always · ↑↓/j k select · Enter details · / filter · q quit";

pub fn render(app: &App, colour: Colour, frame: &mut Frame) {
    let area = frame.area();
    let pending_rows = app.visible_pending().len().max(1) as u16;
    let pending_height = (pending_rows + 3)
        .min(area.height.saturating_sub(4) / 2)
        .max(4);
    let [title, pending, decisions, status, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(pending_height),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(title_line(app, colour), title);
    render_pending(app, colour, frame, pending);
    render_decisions(app, colour, frame, decisions);
    if let Some((tone, text)) = &app.status {
        frame.render_widget(
            Line::from(Span::styled(text.as_str(), tone_style(*tone, colour))),
            status,
        );
    }
    let hint = match app.mode {
        Mode::Filter => format!("filter: {}▏ (Enter keeps it, Esc clears it)", app.filter),
        _ => KEYS.to_string(),
    };
    frame.render_widget(
        Line::from(Span::styled(hint, Style::new().add_modifier(Modifier::DIM))),
        keys,
    );
    if app.mode == Mode::Details {
        render_details(app, colour, frame, area);
    }
}

fn tone_style(tone: Tone, colour: Colour) -> Style {
    match colour {
        Colour::Plain => Style::new(),
        Colour::Ansi => Style::new().fg(match tone {
            Tone::Allow => Color::Green,
            Tone::Deny => Color::Red,
            Tone::Ask => Color::Yellow,
        }),
    }
}

fn title_line(app: &App, colour: Colour) -> Line<'_> {
    let link = match &app.link {
        Link::Live => Span::styled("daemon connected", tone_style(Tone::Allow, colour)),
        Link::Lost(reason) => Span::styled(
            format!("daemon LOST ({reason}); reconnecting"),
            tone_style(Tone::Deny, colour).add_modifier(Modifier::BOLD),
        ),
    };
    let mut spans = vec![
        Span::styled("warden watch", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw("  ·  "),
        link,
        Span::raw(format!("  ·  {} pending", app.pending.len())),
    ];
    if !app.filter.is_empty() {
        spans.push(Span::raw(format!("  ·  filter: {}", app.filter)));
    }
    Line::from(spans)
}

fn render_pending(app: &App, colour: Colour, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Pending approvals (oldest first) ");
    let visible = app.visible_pending();
    let mut lines = Vec::new();
    if visible.is_empty() {
        lines.push(Line::from("no approvals pending"));
    } else {
        let ids = visible
            .iter()
            .map(|a| format!("#{}", a.id).len())
            .max()
            .unwrap_or(2);
        let agents = visible
            .iter()
            .map(|a| a.agent.as_deref().unwrap_or("-").chars().count())
            .max()
            .unwrap_or(1)
            .max(5);
        let cwds = visible
            .iter()
            .map(|a| a.cwd.display().chars().count())
            .max()
            .unwrap_or(3)
            .max(3);
        lines.push(Line::from(Span::styled(
            format!(
                "  {:<ids$}  {:>4}  {:<agents$}  {:<cwds$}  COMMAND",
                "ID", "AGE", "AGENT", "CWD"
            ),
            Style::new().add_modifier(Modifier::BOLD),
        )));
        // Keep the selected row on screen.
        let room = area.height.saturating_sub(3) as usize;
        let at = visible
            .iter()
            .position(|a| Some(a.id) == app.selected)
            .unwrap_or(0);
        let skip = (at + 1).saturating_sub(room);
        for approval in visible.iter().skip(skip).take(room) {
            let selected = Some(approval.id) == app.selected;
            let text = format!(
                "{} {:<ids$}  {:>4}  {:<agents$}  {:<cwds$}  {}",
                if selected { "▶" } else { " " },
                format!("#{}", approval.id),
                present::age(app.now_ms.saturating_sub(approval.created_ms)),
                approval.agent.as_deref().unwrap_or("-"),
                approval.cwd.display(),
                quote::brief(approval.command.as_deref().unwrap_or(&approval.argv)),
            );
            let style = match selected {
                true => tone_style(Tone::Ask, colour).add_modifier(Modifier::REVERSED),
                false => tone_style(Tone::Ask, colour),
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_decisions(app: &App, colour: Colour, frame: &mut Frame, area: Rect) {
    let block = Block::bordered().title(" Decisions (newest last, times UTC) ");
    let room = area.height.saturating_sub(2) as usize;
    let records = app.visible_records();
    let lines: Vec<Line> = records
        .iter()
        .skip(records.len().saturating_sub(room))
        .map(|record| {
            let (word, tone) = present::outcome(record);
            let mut spans = vec![
                Span::raw(format!("{}  ", present::clock(&record.time))),
                Span::styled(format!("{word:<8}"), tone_style(tone, colour)),
                Span::raw(format!(
                    " {}",
                    record
                        .approval
                        .map(|id| format!("#{id} "))
                        .unwrap_or_default()
                )),
                Span::raw(format!(
                    "[{}] ",
                    record
                        .agent
                        .as_deref()
                        .or(record.session.as_deref())
                        .unwrap_or("-")
                )),
                Span::raw(present::command_brief(
                    record.command.as_deref(),
                    record.argv.as_deref(),
                )),
            ];
            if let Some(resolver) = &record.resolver {
                spans.push(Span::raw(format!("  by {resolver}")));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn render_details(app: &App, colour: Colour, frame: &mut Frame, area: Rect) {
    let Some(approval) = app.selected_approval() else {
        return;
    };
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage(15),
        Constraint::Percentage(70),
        Constraint::Percentage(15),
    ])
    .areas(area);
    let [_, popup, _] = Layout::horizontal([
        Constraint::Percentage(5),
        Constraint::Percentage(90),
        Constraint::Percentage(5),
    ])
    .areas(middle);
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(
                format!("{name:<9}"),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(value),
        ])
    };
    let none = || "-".to_string();
    let expires = approval.expires_ms.saturating_sub(app.now_ms);
    let lines = vec![
        Line::from(Span::styled(
            format!(
                "approval #{} · waiting {} · denied in {} unless answered",
                approval.id,
                present::age(app.now_ms.saturating_sub(approval.created_ms)),
                present::age(expires)
            ),
            tone_style(Tone::Ask, colour).add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
        field(
            "decided",
            quote::command_line(approval.command.as_deref().unwrap_or(&approval.argv)),
        ),
        field("argv", quote::command_line(&approval.argv)),
        field("cwd", approval.cwd.display().into_owned()),
        field("session", approval.session.clone().unwrap_or_else(none)),
        field("agent", approval.agent.clone().unwrap_or_else(none)),
        field(
            "caller",
            format!("pid {} ({})", approval.pid, approval.path.display()),
        ),
        field("rule", approval.rule.clone().unwrap_or_else(none)),
        field("message", approval.message.clone().unwrap_or_else(none)),
        field(
            "waiting",
            match approval.waiters {
                0 => "no process waits for this answer right now".into(),
                1 => "1 process".into(),
                n => format!("{n} processes"),
            },
        ),
        Line::from(""),
        Line::from("a approve · A approve always · d deny · Esc back"),
    ];
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Details ")),
        popup,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Approval, ApprovalState, Bytes};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(app: &App, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|frame| render(app, Colour::Plain, frame))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    fn approval() -> Approval {
        Approval {
            id: 7,
            state: ApprovalState::Pending,
            created_ms: 0,
            expires_ms: 600_000,
            session: Some("s-1".into()),
            agent: Some("codex".into()),
            pid: 42,
            cwd: Bytes::from("/srv/app"),
            path: Bytes::from("/bin/bash"),
            argv: vec![
                Bytes::from("bash"),
                Bytes::from("-c"),
                Bytes::from("kubectl apply -f x"),
            ],
            rule: Some("kubectl-change".into()),
            message: Some("changing a cluster".into()),
            command: Some(vec![
                Bytes::from("kubectl"),
                Bytes::from("apply"),
                Bytes::from("-f"),
                Bytes::from("x"),
            ]),
            resolver: None,
            resolved_ms: None,
            waiters: 1,
        }
    }

    #[test]
    fn the_pending_row_shows_id_age_agent_cwd_and_the_deciding_command() {
        let app = App::new(vec![approval()], Vec::new(), Link::Live, 12_000);
        let shown = screen(&app, 100, 20);
        assert!(
            shown.contains("▶ #7   12s  codex  /srv/app  kubectl apply -f x"),
            "{shown}"
        );
        assert!(shown.contains("1 pending"), "{shown}");
    }

    #[test]
    fn details_show_the_full_command_line_and_where_it_came_from() {
        let mut app = App::new(vec![approval()], Vec::new(), Link::Live, 12_000);
        app.mode = Mode::Details;
        let shown = screen(&app, 100, 30);
        for expected in [
            "bash -c 'kubectl apply -f x'",
            "s-1",
            "pid 42",
            "kubectl-change",
            "changing a cluster",
        ] {
            assert!(shown.contains(expected), "{expected} missing:\n{shown}");
        }
    }

    #[test]
    fn a_small_terminal_still_draws() {
        let app = App::new(vec![approval()], Vec::new(), Link::Lost("gone".into()), 0);
        let shown = screen(&app, 20, 6);
        assert!(shown.contains("warden watch"), "{shown}");
    }
}
