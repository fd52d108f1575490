//! The Makefile a new user runs: `make test` gets the pinned Codex CLI itself, `make install`
//! puts the binaries, completions and manual pages under PREFIX, `make uninstall` takes them
//! away again. Install and uninstall run the real recipes on the binaries already built
//! (`-o build` skips the release build) into a temporary PREFIX.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use warden_tests::probes::describe;
use warden_tests::{bin_dir, run, text, TempHome};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn make(args: &[&str]) -> Command {
    let mut command = Command::new("make");
    // Run as a user would, also when the suite itself runs under `make test`.
    for inherited in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL"] {
        command.env_remove(inherited);
    }
    command
        .arg("--no-print-directory")
        .arg("-C")
        .arg(workspace())
        .args(args);
    command
}

/// `make -o build <target>` with the debug binaries, PREFIX and HOME in `home`.
fn make_in(home: &TempHome, target: &str) -> Output {
    let prefix = home.path().join("prefix");
    let mut command = make(&["-o", "build", target]);
    command
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("BUILT={}", bin_dir().display()))
        .arg(format!("MAN_OUT={}", home.path().join("man").display()))
        .env("HOME", home.path())
        .env("WARDEN_HOME", home.path().join("state"));
    run(&mut command)
}

fn installed(home: &TempHome) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&home.path().join("prefix"), &mut found);
    found.sort();
    found
}

#[test]
fn make_test_installs_the_pinned_codex_when_it_is_missing_or_older_than_the_lock_file() {
    let home = TempHome::new();
    let stamp = home.path().join("npm-ci-stamp");
    let planned = |stamp: &Path| {
        let out = run(make(&["-n", "test"]).arg(format!("CODEX_STAMP={}", stamp.display())));
        assert!(out.status.success(), "{}", describe(&out));
        text(&out.stdout).contains("npm ci")
    };
    assert!(planned(&stamp), "missing: npm ci runs");
    std::fs::write(&stamp, "").unwrap();
    assert!(
        !planned(&stamp),
        "newer than the lock file: nothing to install"
    );
    let lock_time = std::fs::metadata(workspace().join("tests/package-lock.json"))
        .and_then(|m| m.modified())
        .unwrap();
    let older = lock_time - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&stamp)
        .unwrap()
        .set_modified(older)
        .unwrap();
    assert!(
        planned(&stamp),
        "older than the lock file: npm ci runs again"
    );
}

#[test]
fn install_puts_binaries_completions_and_manual_pages_under_prefix() {
    let home = TempHome::new();
    let out = make_in(&home, "install");
    assert!(out.status.success(), "{}", describe(&out));
    let prefix = home.path().join("prefix");
    for file in [
        "bin/warden",
        "lib/warden/libwarden.so",
        "share/man/man1/warden.1",
        "share/man/man1/warden-preload.1",
        "share/bash-completion/completions/warden",
        "share/zsh/site-functions/_warden",
        "share/fish/vendor_completions.d/warden.fish",
    ] {
        let path = prefix.join(file);
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 0, "{file} is missing or empty");
    }

    // bash completes a subcommand from the installed script.
    let script = prefix.join("share/bash-completion/completions/warden");
    let completed = run(Command::new("bash").arg("-c").arg(format!(
        "source {}; COMP_WORDS=(warden pre); COMP_CWORD=1; _warden warden pre warden; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    )));
    assert_eq!(
        text(&completed.stdout).trim(),
        "preload",
        "{}",
        describe(&completed)
    );

    // The manual page renders and lists the subcommands' pages.
    let page = run(Command::new("man")
        .arg("-l")
        .arg(prefix.join("share/man/man1/warden.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100"));
    assert!(page.status.success(), "{}", describe(&page));
    let page = text(&page.stdout);
    assert!(page.contains("warden-preload(1)"), "{page}");
    assert!(page.contains("warden-stop(1)"), "{page}");
}

#[test]
fn uninstall_removes_what_install_installed_and_names_what_it_leaves() {
    let home = TempHome::new();
    let out = make_in(&home, "install");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!installed(&home).is_empty());
    let out = make_in(&home, "uninstall");
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(installed(&home), Vec::<PathBuf>::new(), "left behind");
    let said = text(&out.stdout);
    assert!(
        said.contains(&home.path().join("state").display().to_string()),
        "names the state directory: {said}"
    );
    assert!(said.contains("warden setup codex --remove"), "{said}");
}

#[test]
fn uninstall_refuses_while_a_setup_wrapper_still_runs_warden() {
    let home = TempHome::new();
    let out = make_in(&home, "install");
    assert!(out.status.success(), "{}", describe(&out));
    let prefix = home.path().join("prefix");
    let codex_dir = workspace().join("tests/node_modules/.bin");
    let path = format!(
        "{}:{}",
        codex_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let setup = |args: &[&str]| {
        let mut command = home.command(prefix.join("bin/warden"));
        command
            .args(args)
            .env("HOME", home.path())
            .env("PATH", &path);
        run(&mut command)
    };
    let out = setup(&["setup", "codex"]);
    assert!(out.status.success(), "{}", describe(&out));

    let out = make_in(&home, "uninstall");
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("warden setup codex --remove"),
        "{}",
        describe(&out)
    );
    assert!(
        prefix.join("bin/warden").exists(),
        "warden was removed anyway"
    );

    let out = setup(&["setup", "codex", "--remove"]);
    assert!(out.status.success(), "{}", describe(&out));
    let out = make_in(&home, "uninstall");
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!prefix.join("bin/warden").exists());
}
