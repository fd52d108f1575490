//! `warden watch`: the pending approvals and the live decisions in one terminal screen,
//! answered with a key.
//!
//! - [`event`]: everything the loop reacts to, as one enum;
//! - [`app`]: the state and how each event changes it (no I/O);
//! - [`ui`]: drawing the state.
//!
//! This module sets the terminal up, runs the loop and restores the terminal. Threads feed
//! one channel: keys, the daemon's records (across restarts, `cli::follow`), a one-second
//! tick and SIGTERM/SIGHUP. The workspace aborts on panic, so nothing unwinds to a `Drop`
//! guard: `ratatui::init`'s panic hook restores the terminal, and every other exit goes
//! through [`run`]'s single `ratatui::restore` before anything is printed.

mod app;
mod event;
mod ui;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use anyhow::Context;
use ratatui::crossterm::event::{self as terminal_event, Event as TerminalEvent, KeyEventKind};
use ratatui::DefaultTerminal;

use super::follow::{follow, Change};
use super::present::Colour;
use crate::client::{Client, ClientError};
use crate::server::audit::now_ms;
use app::{App, Command, Link};
use event::Event;

/// Decisions fetched for the lower pane at start.
const RECENT: usize = 200;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        std::io::stdout().is_terminal() && std::io::stdin().is_terminal(),
        "warden watch needs a terminal; use \"warden log -f\" or \"warden pending\" in scripts"
    );
    let client = Client::from_env();
    // Asked before the screen changes: a refusal (inside a guarded session) is printed once,
    // as the daemon said it, on a terminal left as it was.
    let (pending, link) = match client.pending() {
        Ok(pending) => (pending, Link::Live),
        Err(ClientError::NotRunning(socket)) => (
            Vec::new(),
            Link::Lost(format!("no daemon answers on {}", socket.display())),
        ),
        Err(e) => return Err(e.into()),
    };
    let recent = client.log(RECENT).unwrap_or_default();
    let last_seq = recent.last().map_or(0, |record| record.seq);
    let app = App::new(pending, recent, link, now_ms());
    let colour = Colour::for_output(true);

    let (events, inbox) = channel();
    signals(events.clone())?;
    feed(events, client.socket().to_path_buf(), last_seq);
    let mut terminal = ratatui::init();
    let result = run_loop(&mut terminal, &client, app, colour, &inbox);
    ratatui::restore();
    result.map(|()| ExitCode::SUCCESS)
}

fn run_loop(
    terminal: &mut DefaultTerminal,
    client: &Client,
    mut app: App,
    colour: Colour,
    inbox: &Receiver<Event>,
) -> anyhow::Result<()> {
    loop {
        terminal
            .draw(|frame| ui::render(&app, colour, frame))
            .context("cannot draw on the terminal")?;
        let Ok(event) = inbox.recv() else {
            return Ok(());
        };
        let mut command = app.update(event);
        loop {
            let outcome = match command {
                Command::Nothing => break,
                Command::Quit => return Ok(()),
                Command::RefreshPending => match client.pending() {
                    Ok(pending) => Event::Pending(pending),
                    // The record stream reports a lost daemon.
                    Err(_) => break,
                },
                Command::Approve(id) => Event::Done(approve(client, id, Always::No)),
                Command::ApproveAlways(id) => Event::Done(approve(client, id, Always::Yes)),
                Command::Deny(id) => Event::Done(
                    client
                        .deny(id)
                        .map(|_| format!("denied #{id}: its program is refused"))
                        .map_err(|e| format!("could not deny #{id}: {e}")),
                ),
            };
            command = app.update(outcome);
        }
    }
}

/// Whether an approval also adds an `[[approved]]` entry.
#[derive(Clone, Copy)]
enum Always {
    No,
    Yes,
}

fn approve(client: &Client, id: u64, always: Always) -> Result<String, String> {
    let reply = client
        .approve(id, matches!(always, Always::Yes))
        .map_err(|e| format!("could not approve #{id}: {e}"))?;
    Ok(match reply.added_rule {
        Some(rule) => format!(
            "approved #{id}; rule {rule} added to {}: this exact command is allowed from now on",
            crate::paths::user_policy().display()
        ),
        None => format!("approved #{id}: its program runs now"),
    })
}

/// SIGTERM and SIGHUP become [`Event::Terminate`], so the loop restores the terminal
/// before the process ends. Installed before the screen changes.
fn signals(events: Sender<Event>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the signal handler's runtime")?;
    let (mut term, mut hangup) = runtime
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })
        .context("cannot install the SIGTERM handler")?;
    std::thread::Builder::new()
        .name("watch-signals".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = hangup.recv() => {}
                }
            });
            let _ = events.send(Event::Terminate);
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

/// The threads that feed the loop: terminal input, the daemon's records, the clock.
fn feed(events: Sender<Event>, socket: std::path::PathBuf, last_seq: u64) {
    let input = events.clone();
    std::thread::spawn(move || loop {
        let event = match terminal_event::read() {
            Ok(TerminalEvent::Key(key)) if key.kind != KeyEventKind::Release => Event::Key(key),
            Ok(TerminalEvent::Resize(..)) => Event::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if input.send(event).is_err() {
            return;
        }
    });
    let records = events.clone();
    std::thread::spawn(move || {
        let client = Client::new(socket);
        let result = follow(&client, last_seq, |change| {
            let event = match change {
                Change::Record(record) => Event::Record(record),
                Change::Lost(reason) => Event::Lost(reason),
                Change::Back => Event::Back,
            };
            records.send(event).is_ok()
        });
        if let Err(e) = result {
            let _ = records.send(Event::Lost(e.to_string()));
        }
    });
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        if events.send(Event::Tick).is_err() {
            return;
        }
    });
}
