//! The README's command blocks, run as a new user would run them.
//!
//! Every line of every ```sh block in README.md must be in [`TABLE`], with how to check it;
//! every entry of the table must still be in the README. So a command a section adds is
//! checked (or the suite fails and says where to add it), and a command a section drops does
//! not linger here. A `warden …` line runs through `sh -c` as shown, with a temporary `HOME`
//! and `WARDEN_HOME`, the built `warden` first on `PATH` and the pinned Codex CLI after it;
//! where the README shows a placeholder (approval `7`, `my.toml`, a synopsis) or a command
//! that would not end by itself (`codex`'s interface, a foreground daemon, `log -f`), the
//! check names the safe arguments it uses instead. Each check asserts the exit status the
//! README documents.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use warden_tests::probes::describe;
use warden_tests::{bin_dir, http, run, text, wait_until, Daemon, TempHome};

/// How the line is checked.
enum Check {
    /// Run by this suite: the function runs it (or its safe form) and asserts the outcome.
    Run(fn(&Readme, &str)),
    /// Not run here, and why (another test covers it, or it is this very suite).
    Elsewhere(&'static str),
}

/// Every command line of README.md's ```sh blocks (comments stripped, spaces collapsed).
const TABLE: &[(&str, Check)] = &[
    (
        "make install",
        Check::Elsewhere("tests/tests/make_targets.rs runs its recipe"),
    ),
    ("make test", Check::Elsewhere("this suite is make test")),
    (
        "make uninstall",
        Check::Elsewhere("tests/tests/make_targets.rs runs its recipe"),
    ),
    (
        "make lint",
        Check::Elsewhere("CI runs it before every merge"),
    ),
    (
        "make bench",
        Check::Elsewhere("minutes of benchmarks; BENCHMARKS.md records its runs"),
    ),
    ("warden preload -- codex", Check::Run(preload_codex)),
    ("warden setup codex", Check::Run(setup_codex)),
    ("warden setup codex --remove", Check::Run(setup_remove)),
    ("warden setup codex --dry-run", Check::Run(setup_dry_run)),
    ("warden setup --list", Check::Run(exits_zero_with_daemon)),
    ("warden stop", Check::Run(stop)),
    (
        "warden preload [--agent NAME] [--monitor] [--fail-open] [--no-isolate] -- CMD [ARGS…]",
        Check::Run(preload_synopsis),
    ),
    ("warden pending", Check::Run(exits_zero_with_daemon)),
    ("warden approve 7", Check::Run(approve)),
    ("warden approve 7 --always", Check::Run(approve)),
    ("warden serve --background", Check::Run(serve_background)),
    ("warden serve --monitor", Check::Run(serve_foreground)),
    (
        "warden serve --policy my.toml --approval-timeout 300 --max-pending 50",
        Check::Run(serve_foreground),
    ),
    ("warden status [--json]", Check::Run(status)),
    ("warden log [-n 50] [--json] [-f]", Check::Run(log)),
    ("warden policy reload", Check::Run(exits_zero_with_daemon)),
    (
        "warden watch",
        Check::Elsewhere("a full-screen program: tests/tests/watch_tui.rs drives it in tmux"),
    ),
    ("warden audit verify", Check::Run(exits_zero_with_daemon)),
    ("warden test \"rm -rf ~\"", Check::Run(test_command)),
    (
        "warden test --json --cwd /srv/app \"kubectl apply -f prod.yaml\"",
        Check::Run(test_command),
    ),
    ("warden policy check my.toml", Check::Run(policy_check)),
    ("warden policy test", Check::Run(exits_zero_with_daemon)),
    (
        "warden completions bash > ~/.local/share/bash-completion/completions/warden",
        Check::Run(completions),
    ),
    (
        "warden completions zsh > ~/.local/share/zsh/site-functions/_warden",
        Check::Run(completions),
    ),
    (
        "warden completions fish > ~/.config/fish/completions/warden.fish",
        Check::Run(completions),
    ),
    ("warden man | man -l -", Check::Run(man)),
];

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

/// The command lines of the README's ```sh blocks, in order, without repeats.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(readme_path()).expect("read README.md");
    let mut commands: Vec<String> = Vec::new();
    let mut in_sh = false;
    let mut in_other = false;
    for line in readme.lines() {
        let trimmed = line.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            match (in_sh, in_other) {
                (false, false) if info.trim() == "sh" => in_sh = true,
                (false, false) => in_other = true,
                _ => (in_sh, in_other) = (false, false),
            }
            continue;
        }
        if !in_sh || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let command = normalise(strip_comment(trimmed));
        if !commands.contains(&command) {
            commands.push(command);
        }
    }
    commands
}

/// The line without a trailing ` # comment` (a `#` after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..at],
            _ => {}
        }
        previous = c;
    }
    line
}

fn normalise(command: &str) -> String {
    command.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_readme_command_is_in_the_table_and_every_entry_is_in_the_readme() {
    let shown = readme_commands();
    assert!(
        shown.len() > 10,
        "no commands found in README.md: {shown:?}"
    );
    let unknown: Vec<&String> = shown
        .iter()
        .filter(|c| !TABLE.iter().any(|(line, _)| line == c))
        .collect();
    assert!(
        unknown.is_empty(),
        "README.md shows commands that nobody checks: {unknown:#?}\n\
         add each to TABLE in {} with how to run it safely and what it must exit with",
        file!()
    );
    let stale: Vec<&str> = TABLE
        .iter()
        .map(|(line, _)| *line)
        .filter(|line| !shown.iter().any(|c| c == line))
        .collect();
    assert!(
        stale.is_empty(),
        "TABLE checks commands README.md no longer shows: {stale:#?}"
    );
    for (line, check) in TABLE {
        if let Check::Elsewhere(why) = check {
            assert!(!why.trim().is_empty(), "{line:?} is not run: say why");
        }
    }
}

#[test]
fn every_readme_command_exits_as_documented() {
    for shown in readme_commands() {
        if let Some((line, Check::Run(check))) = TABLE.iter().find(|(line, _)| *line == shown) {
            check(&Readme::new(), line);
        }
    }
}

/// A new user's environment: a temporary `HOME` and `WARDEN_HOME`, the built `warden` first
/// on `PATH`, then the pinned Codex CLI and the system directories.
struct Readme {
    home: TempHome,
    user_home: PathBuf,
}

impl Readme {
    fn new() -> Readme {
        let home = TempHome::new();
        let user_home = home.work().join("user");
        std::fs::create_dir_all(&user_home).unwrap();
        Readme { home, user_home }
    }

    fn path(&self) -> String {
        let codex = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin");
        format!("{}:{}:/usr/bin:/bin", bin_dir().display(), codex.display())
    }

    /// `sh -c LINE` in this environment, in the user's home directory.
    fn command(&self, line: &str) -> Command {
        let mut command = self.home.command("sh");
        command
            .args(["-c", line])
            .env("HOME", &self.user_home)
            .env("PATH", self.path())
            .current_dir(&self.user_home);
        command
    }

    fn sh(&self, line: &str) -> Output {
        run(&mut self.command(line))
    }

    /// Runs `line` and asserts its exit status.
    fn expect(&self, line: &str, status: i32) -> Output {
        let out = self.sh(line);
        assert_eq!(
            out.status.code(),
            Some(status),
            "{line}: {}",
            describe(&out)
        );
        out
    }

    /// A daemon with the default policy, as a user's first `warden` command starts it.
    fn daemon(&self) -> Daemon {
        Daemon::start_with(&self.home, None, &[])
    }

    fn wrapper(&self) -> PathBuf {
        self.user_home.join(".local/bin/codex")
    }

    /// Runs `line` in the background until `daemon answers`, then stops it with SIGTERM and
    /// expects a clean exit.
    fn foreground_daemon(&self, line: &str, answers: impl Fn(&serde_json::Value) -> bool) {
        let mut child = self
            .command(&format!("exec {line}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let socket = self.home.socket();
        wait_until(line, || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        let status = http(&socket, "GET", "/v1/status", None).json();
        assert!(answers(&status), "{line}: {status}");
        // SAFETY: kill on our own child, not yet reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let exit = child.wait().unwrap();
        assert!(exit.success(), "{line}: {exit:?}");
    }
}

impl Drop for Readme {
    /// A daemon a README command started in the background is stopped like a user would.
    fn drop(&mut self) {
        if std::os::unix::net::UnixStream::connect(self.home.socket()).is_ok() {
            let _ = self.sh("warden stop");
        }
    }
}

fn exits_zero_with_daemon(readme: &Readme, line: &str) {
    let _daemon = readme.daemon();
    readme.expect(line, 0);
}

fn preload_codex(readme: &Readme, line: &str) {
    // Codex's interactive interface would wait for a terminal: the safe form asks its version.
    // No daemon runs yet: `warden preload` starts one, and `warden stop` ends it again.
    let out = readme.expect(&format!("{line} --version"), 0);
    assert!(
        text(&out.stdout).starts_with("codex-cli "),
        "{}",
        describe(&out)
    );
    readme.expect("warden stop", 0);
}

fn setup_codex(readme: &Readme, line: &str) {
    readme.expect(line, 0);
    assert!(readme.wrapper().exists());
}

fn setup_remove(readme: &Readme, line: &str) {
    readme.expect("warden setup codex", 0);
    readme.expect(line, 0);
    assert!(!readme.wrapper().exists());
}

fn setup_dry_run(readme: &Readme, line: &str) {
    let out = readme.expect(line, 0);
    assert!(text(&out.stdout).contains("preload"), "{}", describe(&out));
    assert!(!readme.wrapper().exists(), "a dry run wrote the wrapper");
}

fn stop(readme: &Readme, line: &str) {
    readme.expect("warden serve --background", 0);
    readme.expect(line, 0);
    assert!(std::os::unix::net::UnixStream::connect(readme.home.socket()).is_err());
}

fn preload_synopsis(readme: &Readme, _line: &str) {
    let _daemon = readme.daemon();
    readme.expect(
        "warden preload --agent NAME --monitor --fail-open -- true",
        0,
    );
    readme.expect("warden preload -- sh -c 'exit 5'", 5);
}

fn approve(readme: &Readme, line: &str) {
    let _daemon = readme.daemon();
    // An approval the default policy asks for, made the way a guarded program makes it.
    let id = warden_tests::ask(
        &readme.home.socket(),
        &["kubectl", "apply", "-f", "prod.yaml"],
    );
    readme.expect(&line.replace(" 7", &format!(" {id}")), 0);
    let answer = warden_tests::wait_for_answer(&readme.home.socket(), id);
    assert_eq!(answer["decision"], "allow", "{answer}");
}

fn serve_background(readme: &Readme, line: &str) {
    readme.expect(line, 0);
    readme.expect("warden status", 0);
    readme.expect("warden stop", 0);
}

fn serve_foreground(readme: &Readme, line: &str) {
    std::fs::write(
        readme.user_home.join("my.toml"),
        "include_default = true\n\n[[rule]]\nname = \"mine\"\naction = \"deny\"\nprogram = [\"x\"]\n",
    )
    .unwrap();
    readme.foreground_daemon(line, |status| {
        if line.contains("--monitor") {
            status["default_mode"] == "monitor"
        } else {
            status["policy_sources"].to_string().contains("my.toml")
        }
    });
}

fn status(readme: &Readme, _line: &str) {
    let _daemon = readme.daemon();
    readme.expect("warden status", 0);
    let out = readme.expect("warden status --json", 0);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["running"], true);
}

fn log(readme: &Readme, _line: &str) {
    let _daemon = readme.daemon();
    let socket = readme.home.socket();
    warden_tests::preflight(&socket, &["ls"]);
    readme.expect("warden log", 0);
    let out = readme.expect("warden log -n 50 --json", 0);
    assert_eq!(text(&out.stdout).lines().count(), 1, "{}", describe(&out));
    // -f follows until it is stopped: it must show a decision made after it started.
    let mut follow: Child = readme
        .command("exec warden log -f")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    std::thread::sleep(std::time::Duration::from_millis(200));
    warden_tests::preflight(&socket, &["followed-command"]);
    let seen = lines.any(|l| l.is_ok_and(|l| l.contains("followed-command")));
    let _ = follow.kill();
    let _ = follow.wait();
    assert!(seen, "warden log -f did not show a new decision");
}

fn test_command(readme: &Readme, line: &str) {
    // Exit 0 allow/log, 1 deny, 2 ask, as the README says.
    let status = if line.contains("rm -rf") { 1 } else { 2 };
    readme.expect(line, status);
}

fn policy_check(readme: &Readme, line: &str) {
    std::fs::write(
        readme.user_home.join("my.toml"),
        "[[rule]]\nname = \"mine\"\naction = \"deny\"\nprogram = [\"x\"]\n",
    )
    .unwrap();
    readme.expect(line, 0);
}

fn completions(readme: &Readme, line: &str) {
    let target = line.rsplit_once("> ~/").expect("a redirect into ~").1;
    let target = readme.user_home.join(target);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    readme.expect(line, 0);
    let script = std::fs::read_to_string(&target).unwrap();
    assert!(script.contains("warden"), "{}", target.display());
    if line.contains(" bash ") {
        let loaded = readme.sh(&format!(
            "bash -c '. {}; complete -p warden'",
            target.display()
        ));
        assert!(loaded.status.success(), "{}", describe(&loaded));
    }
}

fn man(readme: &Readme, line: &str) {
    let mut command = readme.command(line);
    command.env("MANPAGER", "cat").env("MANWIDTH", "80");
    let out = run(&mut command);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains("warden-preload(1)"),
        "{}",
        describe(&out)
    );
}
