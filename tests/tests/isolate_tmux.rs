//! An interactive program in an isolated session, in a real terminal (tmux): job control,
//! Ctrl-C, Ctrl-Z, a resize, and the exit status back in the operator's shell; and what the
//! agent pushes into the terminal's input (`TIOCSTI`) never reaches that shell. As root and
//! as the test user.

use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use warden_tests::isolation::{Isolated, Who};
use warden_tests::probes::describe;
use warden_tests::{run, text, warden_bin, DEADLINE};

/// A tmux server of its own (socket in the test's working directory) with one pane running
/// the operator's shell, whose prompt is `outer$`.
struct Terminal<'a> {
    iso: &'a Isolated,
    socket: PathBuf,
}

impl<'a> Terminal<'a> {
    fn start(iso: &'a Isolated) -> Terminal<'a> {
        let terminal = Terminal {
            iso,
            socket: iso.home.work().join("tmux.sock"),
        };
        let out = terminal.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            "env PS1='outer$ ' bash --norc --noprofile -i",
        ]);
        assert!(out.status.success(), "tmux: {}", describe(&out));
        terminal.wait_for_prompt("outer$");
        terminal
    }

    fn tmux(&self, args: &[&str]) -> Output {
        let mut tmux = self.iso.command("tmux");
        tmux.arg("-S")
            .arg(&self.socket)
            .args(["-f", "/dev/null"])
            .args(args)
            .current_dir(self.iso.home.work())
            .env("TERM", "xterm")
            .env("WARDEN", warden_bin());
        run(&mut tmux)
    }

    /// Types `keys` (tmux key names: a line, `Enter`, `C-c`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys);
        let out = self.tmux(&args);
        assert!(out.status.success(), "send-keys: {}", describe(&out));
    }

    fn screen(&self) -> String {
        text(&self.tmux(&["capture-pane", "-p", "-t", "t"]).stdout)
    }

    /// Waits until the screen shows `wanted`.
    fn wait_for(&self, wanted: &str) {
        self.wait_until(wanted, |screen| screen.contains(wanted));
    }

    /// Waits until the last line on the screen is the prompt `prompt` (tmux drops the
    /// trailing space).
    fn wait_for_prompt(&self, prompt: &str) {
        self.wait_until(prompt, |screen| {
            screen.lines().rfind(|line| !line.trim().is_empty()) == Some(prompt)
        });
    }

    fn wait_until(&self, wanted: &str, shown: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if shown(&screen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{:?}: the terminal never showed {wanted:?}:\n{screen}",
                self.iso.who
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clears the screen and its history, so that the next wait sees new output only.
    fn clear(&self) {
        self.keys(&["clear", "Enter"]);
        std::thread::sleep(Duration::from_millis(200));
        self.tmux(&["clear-history", "-t", "t"]);
    }
}

impl Drop for Terminal<'_> {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn an_interactive_shell_keeps_job_control_signals_and_its_status() {
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let terminal = Terminal::start(&iso);
        terminal.keys(&[
            "PS1='inner$ ' \"$WARDEN\" preload -- bash --norc --noprofile -i",
            "Enter",
        ]);
        terminal.wait_for_prompt("inner$");

        // Ctrl-C ends the foreground program, not the session.
        terminal.keys(&["sleep 1000", "Enter"]);
        std::thread::sleep(Duration::from_millis(300));
        terminal.clear();
        terminal.keys(&["C-c"]);
        terminal.wait_for_prompt("inner$");

        // Job control: a background job, Ctrl-Z, fg.
        terminal.clear();
        terminal.keys(&["sleep 1000 &", "Enter"]);
        terminal.keys(&["jobs", "Enter"]);
        terminal.wait_for("Running");
        terminal.keys(&["fg", "Enter"]);
        std::thread::sleep(Duration::from_millis(300));
        terminal.keys(&["C-z"]);
        terminal.wait_for("Stopped");
        terminal.keys(&["kill %1; wait; echo jobs-done", "Enter"]);
        terminal.wait_for("jobs-done");

        // A resize reaches the program.
        terminal.clear();
        let out = terminal.tmux(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
        assert!(out.status.success(), "resize: {}", describe(&out));
        std::thread::sleep(Duration::from_millis(300));
        terminal.keys(&["echo size=$(stty size)", "Enter"]);
        terminal.wait_for("size=40 120");

        // The exit status reaches the operator's shell.
        terminal.clear();
        terminal.keys(&["exit 7", "Enter"]);
        terminal.wait_for_prompt("outer$");
        terminal.keys(&["echo status=$?", "Enter"]);
        terminal.wait_for("status=7");
    }
}

/// Bytes the agent pushes into the terminal's input and leaves unread when it exits would
/// be read by the operator's shell, outside the session; they are discarded.
#[test]
fn what_the_agent_pushes_into_the_terminal_never_reaches_the_operators_shell() {
    if std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").is_ok_and(|v| v.trim() == "0") {
        return; // The kernel refuses TIOCSTI already.
    }
    for who in Who::BOTH {
        let iso = Isolated::start(who);
        let injected = iso.home.work().join("injected");
        let terminal = Terminal::start(&iso);
        terminal.keys(&[
            "PS1='inner$ ' \"$WARDEN\" preload -- bash --norc --noprofile -i",
            "Enter",
        ]);
        terminal.wait_for_prompt("inner$");
        let push = format!(
            "python3 -c 'import fcntl, sys, termios\nfor c in sys.argv[1]: fcntl.ioctl(0, termios.TIOCSTI, c.encode())' 'touch {}\n'; exit",
            injected.display()
        );
        terminal.keys(&[&push, "Enter"]);
        terminal.wait_for_prompt("outer$");
        terminal.keys(&["echo outer-alive", "Enter"]);
        terminal.wait_for("outer-alive");
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            !injected.exists(),
            "{who:?}: the operator's shell ran what the agent typed:\n{}",
            terminal.screen()
        );
    }
}
