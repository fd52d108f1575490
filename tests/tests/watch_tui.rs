//! `warden watch` in a real terminal (tmux): a real ask from a guarded `bash` is approved
//! and denied with a key; the screen survives a resize, `NO_COLOR` and a daemon restart;
//! the terminal is restored on quit and on SIGTERM; inside a guarded session it is refused
//! before the screen changes.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread::JoinHandle;

use warden_tests::{run, text, warden_bin, Daemon, TempHome, Tmux};

/// `touch` waits for a person; everything else runs.
const POLICY: &str = r#"
[[rule]]
name = "ask-touch"
action = "ask"
message = "touching needs a person"
program = ["touch"]
"#;

struct Watched {
    home: TempHome,
    daemon: Option<Daemon>,
    tmux: Tmux,
}

impl Watched {
    fn start(env: &[(&str, &OsStr)]) -> Watched {
        let home = TempHome::new();
        let daemon = Daemon::start(&home, POLICY);
        std::fs::create_dir_all(home.work().join("m")).unwrap();
        let mut all = vec![("WARDEN_HOME", home.path().as_os_str())];
        all.extend_from_slice(env);
        let tmux = Tmux::start(120, 30, &all);
        Watched {
            home,
            daemon: Some(daemon),
            tmux,
        }
    }

    fn watch(&self) {
        self.tmux
            .type_line(&format!("{} watch", warden_bin().display()));
        self.tmux.wait_for_text("daemon connected");
    }

    fn marker(&self, name: &str) -> PathBuf {
        self.home.work().join("m").join(name)
    }

    /// A guarded `bash` that touches `marker` (asking first), in the background.
    fn ask_to_touch(&self, marker: &Path) -> JoinHandle<Output> {
        let mut command = self.home.warden_command(&[
            "preload",
            "--",
            "bash",
            "-c",
            &format!("touch {}", marker.display()),
        ]);
        std::thread::spawn(move || run(&mut command))
    }

    /// The shell's terminal settings, as `stty` sees them after `warden watch` left.
    fn terminal_modes(&self) -> String {
        self.tmux.type_line("clear; stty -a | tr ' ' '\\n' | grep -x -e '-\\?icanon' -e '-\\?echo'; echo modes-$((1+1))-shown");
        self.tmux.wait_for_text("modes-2-shown")
    }

    fn assert_terminal_restored(&self) {
        assert_eq!(
            self.tmux.pane("alternate_on"),
            "0",
            "left the alternate screen"
        );
        assert_eq!(self.tmux.pane("cursor_flag"), "1", "the cursor is visible");
        let modes = self.terminal_modes();
        let on = |mode: &str| modes.lines().any(|line| line.trim() == mode);
        assert!(
            on("icanon") && on("echo"),
            "line editing and echo are back:\n{modes}"
        );
    }
}

#[test]
fn watch_approves_and_denies_a_real_ask_from_a_guarded_bash() {
    let w = Watched::start(&[]);
    w.watch();

    let approved = w.marker("approved");
    let asker = w.ask_to_touch(&approved);
    let screen = w
        .tmux
        .wait_for_text(&format!("touch {}", approved.display()));
    assert!(screen.contains("▶ #1"), "the ask is selected:\n{screen}");
    assert!(screen.contains("1 pending"), "{screen}");
    w.tmux.keys(&["a"]);
    w.tmux.wait_for_text("approved #1");
    let out = asker.join().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(approved.exists(), "the approved touch ran");
    let screen = w.tmux.wait_for_text("APPROVED #1");
    assert!(screen.contains("0 pending"), "{screen}");

    let denied = w.marker("denied");
    let asker = w.ask_to_touch(&denied);
    w.tmux.wait_for_text(&format!("touch {}", denied.display()));
    w.tmux.keys(&["d"]);
    w.tmux.wait_for_text("denied #2");
    let out = asker.join().unwrap();
    assert!(!out.status.success(), "the denied bash failed");
    assert!(!denied.exists(), "the denied touch did not run");
    assert!(
        text(&out.stderr).contains(&format!("warden: denied: touch {}", denied.display())),
        "{}",
        text(&out.stderr)
    );
    w.tmux.wait_for_text("REFUSED  #2");

    w.tmux.keys(&["q"]);
    w.tmux.wait_for("the shell back", |screen| {
        !screen.contains("warden watch  ·")
    });
    w.assert_terminal_restored();
}

#[test]
fn watch_shows_the_full_command_line_on_enter() {
    let w = Watched::start(&[]);
    w.watch();
    let marker = w.marker("details");
    let asker = w.ask_to_touch(&marker);
    w.tmux.wait_for_text(&format!("touch {}", marker.display()));
    w.tmux.keys(&["Enter"]);
    let screen = w.tmux.wait_for_text("Details");
    for expected in [
        format!("bash -c 'touch {}'", marker.display()),
        "touching needs a person".to_string(),
        "ask-touch".to_string(),
    ] {
        assert!(screen.contains(&expected), "{expected} missing:\n{screen}");
    }
    w.tmux.keys(&["Escape"]);
    w.tmux
        .wait_for("the details closed", |screen| !screen.contains("Details"));
    w.tmux.keys(&["d"]);
    assert!(!asker.join().unwrap().status.success());
}

#[test]
fn watch_redraws_for_a_new_terminal_size() {
    let w = Watched::start(&[]);
    w.watch();
    w.tmux.resize(60, 15);
    // Drawn for the new size: the keys on its last row, the title on its first, nothing wider.
    w.tmux.wait_for("the screen redrawn for 60x15", |screen| {
        screen
            .lines()
            .nth(14)
            .is_some_and(|line| line.starts_with("a approve"))
            && screen.starts_with("warden watch")
            && screen.lines().all(|line| line.chars().count() <= 60)
    });
    w.tmux.resize(100, 40);
    w.tmux
        .wait_for("the keys line at the bottom again", |screen| {
            screen
                .lines()
                .nth(39)
                .is_some_and(|line| line.starts_with("a approve"))
        });
}

/// SGR sequences that set a colour (30–37, 90–97, 38;…, and their backgrounds).
fn has_colour(screen: &str) -> bool {
    screen.split("\x1b[").skip(1).any(|sequence| {
        let params = sequence.split('m').next().unwrap_or_default();
        params.split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        })
    })
}

#[test]
fn watch_paints_nothing_under_no_color() {
    for (env, coloured) in [(None, true), (Some("1"), false)] {
        let extra: Vec<(&str, &OsStr)> = env
            .map(|v| ("NO_COLOR", OsStr::new(v)))
            .into_iter()
            .collect();
        let w = Watched::start(&extra);
        w.watch();
        let marker = w.marker("colour");
        let asker = w.ask_to_touch(&marker);
        w.tmux.wait_for_text(&format!("touch {}", marker.display()));
        let screen = w.tmux.screen_with_escapes();
        assert_eq!(
            has_colour(&screen),
            coloured,
            "NO_COLOR={env:?}:\n{screen:?}"
        );
        assert!(
            screen.contains("\x1b[7m"),
            "the selection stays visible without colour"
        );
        w.tmux.keys(&["d"]);
        asker.join().unwrap();
    }
}

#[test]
fn watch_reconnects_after_a_daemon_restart_and_says_so() {
    let mut w = Watched::start(&[]);
    w.watch();
    w.daemon.take().unwrap().stop();
    w.tmux.wait_for_text("daemon LOST");
    w.daemon = Some(Daemon::start(&w.home, POLICY));
    w.tmux.wait_for_text("reconnected to the daemon");
    w.tmux.wait_for_text("daemon connected");
    // The stream is live again: a new ask shows up.
    let marker = w.marker("after-restart");
    let asker = w.ask_to_touch(&marker);
    w.tmux.wait_for_text(&format!("touch {}", marker.display()));
    w.tmux.keys(&["a"]);
    assert!(asker.join().unwrap().status.success());
    assert!(marker.exists());
}

#[test]
fn watch_restores_the_terminal_on_sigterm() {
    let w = Watched::start(&[]);
    w.watch();
    let shell: i32 = w.tmux.pane("pane_pid").parse().unwrap();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let watch: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: kill on the pid of the `warden watch` this test started in its own tmux.
    assert_eq!(unsafe { libc::kill(watch, libc::SIGTERM) }, 0);
    w.tmux.wait_for("the shell back", |screen| {
        !screen.contains("warden watch  ·")
    });
    w.assert_terminal_restored();
}

#[test]
fn watch_inside_a_guarded_session_is_refused_once_on_an_untouched_terminal() {
    let w = Watched::start(&[]);
    w.tmux.type_line(&format!(
        "{} preload -- bash --norc --noprofile",
        warden_bin().display()
    ));
    w.tmux.type_line("echo inside-$WARDEN_SESSION-ok");
    w.tmux.wait_for("the guarded shell", |screen| {
        screen
            .lines()
            .any(|l| l.starts_with("inside-") && !l.starts_with("inside--ok"))
    });
    w.tmux.type_line(&format!(
        "clear; {} watch; echo watch-exit=$?",
        warden_bin().display()
    ));
    let screen = w.tmux.wait_for("the exit status", |s| {
        s.lines().any(|l| l.starts_with("watch-exit="))
    });
    assert!(screen.contains("watch-exit=3"), "{screen}");
    assert_eq!(screen.matches("refused").count(), 1, "said once:\n{screen}");
    assert!(screen.contains("inside guarded session"), "{screen}");
    assert_eq!(w.tmux.pane("alternate_on"), "0");
}
