//! Judging each exec stop through the daemon, the library's own path: one preflight
//! (`Client::preflight`, hook `strict`), so policy, session mode, grants, approvals and the
//! audit record come out as for a hook. A start a hook already decided is not asked about:
//! the daemon told of it ([`Notes`]), or, failing that, answers from its memory
//! (server/decided.rs) instead of judging it again.
//!
//! An ask leaves the tracee stopped (its parent simply waits longer) while a thread waits
//! for the person's answer; the loop goes on with the rest of the tree and settles the stop
//! when the answer comes. A tracee that dies meanwhile abandons its approval, as a waiting
//! process does under the library.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::lines;
use super::deny::{self, Stderr};
use super::notes::Notes;
use super::stop::ExecStop;
use super::tracee::Tracees;
use crate::client::{Client, ClientError};
use crate::wire::{Bytes, Decision, ExecReply, FailMode};

/// While the daemon is away during a wait, retry with this backoff, and deny after the last.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const GIVE_UP: Duration = Duration::from_secs(10 * 60);

/// The person's answer about the exec stop `ticket` of tracee `pid`; `None` when it could
/// not be had (denied).
pub struct Answer {
    pid: libc::pid_t,
    ticket: u64,
    reply: Option<ExecReply>,
}

/// An exec stop waiting for a person.
struct Waiting {
    ticket: u64,
    stop: ExecStop,
    argv: Vec<Bytes>,
    /// Dropped when the tracee is gone: the waiting thread gives up.
    _abandon: tokio::sync::oneshot::Sender<()>,
}

pub struct Judge {
    client: Client,
    notes: Notes,
    tracees: Tracees,
    session: String,
    fail: FailMode,
    waiting: HashMap<libc::pid_t, Waiting>,
    tickets: u64,
    answers: mpsc::Receiver<Answer>,
    answered: mpsc::Sender<Answer>,
    /// Written once per answer, so that a loop blocked in `poll` wakes up.
    wake_read: OwnedFd,
    wake_write: Arc<OwnedFd>,
    said_unreachable: bool,
}

impl Judge {
    pub fn new(session: String, fail: FailMode, notes: Notes) -> anyhow::Result<Judge> {
        let (answered, answers) = mpsc::channel();
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            anyhow::bail!("cannot create a pipe: {}", std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors are new and ours alone.
        let (wake_read, wake_write) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Judge {
            client: Client::from_env(),
            notes,
            tracees: Tracees::default(),
            session,
            fail,
            waiting: HashMap::new(),
            tickets: 0,
            answers,
            answered,
            wake_read,
            wake_write: Arc::new(wake_write),
            said_unreachable: false,
        })
    }

    /// Decides the exec stop: lets it run (right away when the daemon told of this start),
    /// refuses it, or leaves it waiting for a person.
    pub fn exec(&mut self, stop: ExecStop) {
        let pid = stop.pid();
        let request = match self.tracees.argv(pid) {
            Ok(argv) if self.notes.confirm(pid, &argv) => return stop.allow(),
            Ok(argv) => self.tracees.exec_request(pid, argv, &self.session),
            Err(err) => Err(err),
        };
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                let shown = format!("what pid {pid} starts");
                return deny::refuse(stop, &shown, &err.to_string());
            }
        };
        match self.client.preflight(&request) {
            Ok(reply) => self.act(stop, request.argv, reply),
            Err(err) => self.failed(stop, &request.argv, err),
        }
    }

    /// Whether some exec stop waits for a person (and so an [`Answer`] may come).
    pub fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The descriptor that becomes readable when an answer has come.
    pub fn wake_fd(&self) -> libc::c_int {
        self.wake_read.as_raw_fd()
    }

    /// An answer that has come, if any.
    pub fn answered(&self) -> Option<Answer> {
        let mut drained = [0u8; 64];
        // SAFETY: a non-blocking read into a local buffer; the bytes only wake `poll`.
        unsafe {
            libc::read(
                self.wake_read.as_raw_fd(),
                drained.as_mut_ptr().cast(),
                drained.len(),
            )
        };
        self.answers.try_recv().ok()
    }

    /// Acts on a person's answer, if its stop still waits.
    pub fn settle(&mut self, answer: Answer) {
        let current = self.waiting.get(&answer.pid).map(|w| w.ticket);
        if current != Some(answer.ticket) {
            return;
        }
        let waiting = self.waiting.remove(&answer.pid).expect("found just now");
        match answer.reply {
            Some(reply) => self.act(waiting.stop, waiting.argv, reply),
            None => {
                let command = deny::command(None, &waiting.argv);
                deny::refuse(
                    waiting.stop,
                    &command,
                    "the approval could not be waited for",
                )
            }
        }
    }

    /// Tracee `pid` ended: a stop of it that waited for a person waits no more.
    pub fn forget(&mut self, pid: libc::pid_t) {
        self.waiting.remove(&pid);
        self.tracees.forget(pid);
    }

    fn act(&mut self, stop: ExecStop, argv: Vec<Bytes>, reply: ExecReply) {
        let command = deny::command(reply.command.as_deref(), &argv);
        match (reply.decision, reply.id) {
            (Decision::Allow, _) => stop.allow(),
            (Decision::Deny, _) => {
                deny::refuse(stop, &command, &deny::reason(reply.message.as_deref()))
            }
            (Decision::Ask, Some(id)) => self.wait(stop, argv, &command, id),
            (Decision::Ask, None) => {
                deny::refuse(stop, &command, "the daemon's answer could not be read")
            }
        }
    }

    /// Leaves the stop waiting for approval `id`, with the library's waiting line on its
    /// stderr, said again every 30 s while nobody decides.
    fn wait(&mut self, stop: ExecStop, argv: Vec<Bytes>, command: &str, id: u64) {
        let pid = stop.pid();
        let stderr = Stderr::of(pid);
        let say = move |line: &str| {
            if let Some(stderr) = &stderr {
                stderr.say(line);
            }
        };
        self.tickets += 1;
        let ticket = self.tickets;
        let (abandon, abandoned) = tokio::sync::oneshot::channel();
        let answered = self.answered.clone();
        let wake = self.wake_write.clone();
        let command_shown = command.to_string();
        let spawned = std::thread::Builder::new()
            .name(format!("warden-wait-{id}"))
            .spawn(move || {
                let reply =
                    lines::while_waiting(id, &command_shown, say, || wait_for(id, abandoned));
                if answered.send(Answer { pid, ticket, reply }).is_ok() {
                    // SAFETY: a one-byte write from a local to our own non-blocking pipe.
                    unsafe { libc::write(wake.as_raw_fd(), [1u8].as_ptr().cast(), 1) };
                }
            });
        if spawned.is_err() {
            return deny::refuse(stop, command, "the approval could not be waited for");
        }
        self.waiting.insert(
            pid,
            Waiting {
                ticket,
                stop,
                argv,
                _abandon: abandon,
            },
        );
    }

    /// The daemon could not answer: its reachability follows the session's fail mode, as in
    /// the library; any other failure denies.
    fn failed(&mut self, stop: ExecStop, argv: &[Bytes], err: ClientError) {
        let reason = match err {
            ClientError::NotRunning(_)
            | ClientError::Connect { .. }
            | ClientError::Timeout { .. } => {
                return self.unreachable(stop);
            }
            ClientError::Refused(error) => format!("the daemon refused the request (403: {error})"),
            ClientError::Failed { status, message } => {
                format!("the daemon refused the request ({status}: {message})")
            }
            ClientError::Protocol { .. } | ClientError::Start(_) | ClientError::StartFailed(_) => {
                "the daemon's answer could not be read".to_string()
            }
        };
        deny::refuse(
            stop,
            &deny::command(None, argv),
            &deny::reason(Some(&reason)),
        );
    }

    fn unreachable(&mut self, stop: ExecStop) {
        if !std::mem::replace(&mut self.said_unreachable, true) {
            let effect = match self.fail {
                FailMode::Closed => "denying every program (fail-closed)",
                FailMode::Open => "running programs unchecked (fail-open)",
            };
            eprintln!(
                "warden: cannot reach the daemon at {}; {effect}. Start it with \"warden serve\".",
                self.client.socket().display()
            );
        }
        match self.fail {
            FailMode::Closed => stop.kill(),
            FailMode::Open => stop.allow(),
        }
    }
}

/// Waits for the person's answer to approval `id`, riding out daemon restarts for a while,
/// until `abandoned` completes; `None` when no answer can be had.
fn wait_for(id: u64, mut abandoned: tokio::sync::oneshot::Receiver<()>) -> Option<ExecReply> {
    let client = Client::from_env();
    let mut backoff = BACKOFF_MIN;
    let mut away_since: Option<Instant> = None;
    loop {
        let gone = async {
            let _ = (&mut abandoned).await;
        };
        match client.wait_unless(id, gone) {
            Ok(None) => return None,
            Ok(Some(reply)) if reply.decision != Decision::Ask => return Some(reply),
            Ok(Some(_)) => away_since = None,
            Err(
                ClientError::NotRunning(_)
                | ClientError::Connect { .. }
                | ClientError::Protocol { .. },
            ) => {
                let since = *away_since.get_or_insert_with(Instant::now);
                if since.elapsed() > GIVE_UP {
                    return None;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(_) => return None,
        }
    }
}
