//! `warden setup codex` without a daemon: what it writes, refuses, replaces and removes.
//! Runs the real `warden` binary with a temporary HOME and PATH and fake codex scripts.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use warden_tests::setup_support::{fake_codex, write_script, SetupHome};
use warden_tests::{bin_dir, run, text, warden_bin};

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn install_writes_a_marked_0755_wrapper_for_the_first_codex_on_path() {
    let h = SetupHome::new();
    let first = fake_codex(&h.dir("first"));
    fake_codex(&h.dir("second"));
    let path = h.path_var(&[&h.bin, &h.root.join("first"), &h.root.join("second")]);

    let out = h.setup(&path, &["codex"], &[]);
    out.assert_success();

    let text = read(&h.wrapper());
    assert!(
        text.starts_with("#!/bin/sh\n# warden-wrapper: codex\n"),
        "{text}"
    );
    let exec_line = format!(
        "exec '{}' preload --agent codex -- '{}' \"$@\"\n",
        warden_bin().canonicalize().unwrap().display(),
        first.display()
    );
    assert!(text.ends_with(&exec_line), "{text}");
    let mode = std::fs::metadata(h.wrapper()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(
        out.stdout
            .contains(&format!("Installed {}", h.wrapper().display())),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!("It runs {}", first.display())),
        "{out:?}"
    );
    assert!(out.stdout.contains("comes first on PATH"), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

#[test]
fn reinstalling_gives_the_same_wrapper() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    h.setup(&path, &["codex"], &[]).assert_success();
    let before = std::fs::read(h.wrapper()).unwrap();

    let again = h.setup(&path, &["codex"], &[]);
    again.assert_success();
    assert!(again.stdout.contains("already up to date"), "{again:?}");
    assert_eq!(std::fs::read(h.wrapper()).unwrap(), before);
    let entries = std::fs::read_dir(&h.bin).unwrap().count();
    assert_eq!(entries, 1, "no temp or backup files are left behind");
}

#[test]
fn after_codex_moves_running_setup_again_records_the_new_path() {
    let h = SetupHome::new();
    let old_dir = h.dir("old");
    let old = fake_codex(&old_dir);
    h.setup(&h.path_var(&[&h.bin, &old_dir]), &["codex"], &[])
        .assert_success();

    let new_dir = h.dir("new place");
    let new = new_dir.join("codex");
    std::fs::rename(&old, &new).unwrap();
    let out = h.setup(&h.path_var(&[&h.bin, &new_dir]), &["codex"], &[]);
    out.assert_success();
    assert!(
        out.stdout
            .contains(&format!("it ran {} before", old.display())),
        "{out:?}"
    );
    let text = read(&h.wrapper());
    assert!(
        text.contains(&format!("-- '{}' \"$@\"", new.display())),
        "{text}"
    );
    assert!(!text.contains(&old.display().to_string()), "{text}");
}

#[test]
fn a_vanished_codex_is_explained_by_the_wrapper_with_exit_127() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    let real = fake_codex(&tools);
    h.setup(&h.path_var(&[&h.bin, &tools]), &["codex"], &[])
        .assert_success();
    std::fs::remove_file(&real).unwrap();

    let out = run(&mut h.command(h.wrapper()));
    assert_eq!(out.status.code(), Some(127));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{} is gone", real.display())),
        "{stderr}"
    );
    assert!(stderr.contains("run \"warden setup codex\""), "{stderr}");
}

#[test]
fn codex_real_overrides_the_path_search() {
    let h = SetupHome::new();
    let on_path = h.dir("on-path");
    fake_codex(&on_path);
    let chosen = fake_codex(&h.dir("chosen"));
    let out = h.setup(
        &h.path_var(&[&h.bin, &on_path]),
        &["codex"],
        &[("CODEX_REAL", chosen.as_os_str())],
    );
    out.assert_success();
    assert!(read(&h.wrapper()).contains(&format!("-- '{}' \"$@\"", chosen.display())));
}

#[test]
fn no_codex_anywhere_is_refused_and_nothing_is_written() {
    let h = SetupHome::new();
    let out = h.setup(&h.path_var(&[&h.bin]), &["codex"], &[]);
    out.assert_refused("no codex found on PATH")
        .assert_refused("CODEX_REAL=");
    assert!(!h.bin.exists());
}

#[test]
fn a_wrapper_that_would_run_itself_is_refused() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    let wrapper = h.wrapper();
    let out = h.setup(&path, &["codex"], &[("CODEX_REAL", wrapper.as_os_str())]);
    out.assert_refused("is the wrapper itself");
    assert!(!wrapper.exists());

    // Through a symlinked directory it is still the same file.
    h.setup(&path, &["codex"], &[]).assert_success();
    let link = h.root.join("bin-link");
    std::os::unix::fs::symlink(&h.bin, &link).unwrap();
    let before = std::fs::read(&wrapper).unwrap();
    let out = h.setup(
        &path,
        &["codex"],
        &[("CODEX_REAL", link.join("codex").as_os_str())],
    );
    out.assert_refused("is the wrapper itself");
    assert_eq!(std::fs::read(&wrapper).unwrap(), before);
}

#[test]
fn a_foreign_file_is_refused_without_force_and_left_intact() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let mine = write_script(&h.wrapper(), "echo my own codex script\n");
    let out = h.setup(&h.path_var(&[&h.bin, &tools]), &["codex"], &[]);
    out.assert_refused("is not a warden wrapper")
        .assert_refused("--force");
    assert_eq!(read(&mine), "#!/bin/sh\necho my own codex script\n");
    assert!(!h.bin.join("codex.warden-backup").exists());
}

#[test]
fn force_keeps_a_backup_and_remove_restores_it() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    write_script(&h.wrapper(), "echo my own codex script\n");
    let backup = h.bin.join("codex.warden-backup");

    let out = h.setup(&path, &["codex", "--force"], &[]);
    out.assert_success();
    assert!(
        out.stdout
            .contains(&format!("kept at {}", backup.display())),
        "{out:?}"
    );
    assert_eq!(read(&backup), "#!/bin/sh\necho my own codex script\n");
    assert!(read(&h.wrapper()).contains("# warden-wrapper: codex"));

    let out = h.setup(&path, &["codex", "--remove"], &[]);
    out.assert_success();
    assert!(
        out.stdout.contains("put back the file it replaced"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(&format!(
            "A plain `codex` now runs {}",
            h.wrapper().display()
        )),
        "{out:?}"
    );
    assert_eq!(read(&h.wrapper()), "#!/bin/sh\necho my own codex script\n");
    assert!(!backup.exists());
}

#[test]
fn remove_deletes_only_warden_s_wrapper_and_says_which_codex_runs_now() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    let real = fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    h.setup(&path, &["codex"], &[]).assert_success();

    let out = h.setup(&path, &["codex", "--remove"], &[]);
    out.assert_success();
    assert!(!h.wrapper().exists());
    assert!(
        out.stdout.contains(&format!("now runs {}", real.display())),
        "{out:?}"
    );

    let out = h.setup(&path, &["codex", "--remove"], &[]);
    out.assert_success();
    assert!(out.stdout.contains("nothing to remove"), "{out:?}");

    write_script(&h.wrapper(), "echo not warden's\n");
    h.setup(&path, &["codex", "--remove"], &[])
        .assert_refused("is not a warden wrapper; left untouched");
    assert!(h.wrapper().exists());
}

#[test]
fn a_missing_library_is_refused_and_nothing_is_written() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let missing = h.root.join("nowhere/libwarden.so");
    let out = h.setup(
        &h.path_var(&[&h.bin, &tools]),
        &["codex"],
        &[("WARDEN_LIB", missing.as_os_str())],
    );
    out.assert_refused(&format!(
        "WARDEN_LIB points to {}, which does not exist",
        missing.display()
    ));
    assert!(!h.bin.exists());
}

/// Without WARDEN_LIB and with no installed copy, only the build tree's library remains:
/// a warden binary copied away from it finds nothing.
#[test]
fn a_warden_with_no_library_anywhere_is_refused() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let lonely = h.dir("lonely/bin").join("warden");
    // `cp` rather than std::fs::copy: a write descriptor open in this multi-threaded test
    // process could leak into another test's fork and make exec fail with ETXTBSY.
    let copied = run(Command::new("cp").arg(warden_bin()).arg(&lonely));
    assert!(copied.status.success());
    let out = run(h
        .command(&lonely)
        .args(["setup", "codex"])
        .env("PATH", h.path_var(&[&h.bin, &tools])));
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("libwarden.so not found"), "{stderr}");
    assert!(
        stderr.contains(".local/lib/warden/libwarden.so"),
        "{stderr}"
    );
    assert!(!h.bin.exists());
}

#[test]
fn an_unloadable_library_is_refused_and_nothing_is_written() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let bogus = h.root.join("libwarden.so");
    std::fs::write(&bogus, "this is not a shared object").unwrap();
    let out = h.setup(
        &h.path_var(&[&h.bin, &tools]),
        &["codex"],
        &[("WARDEN_LIB", bogus.as_os_str())],
    );
    out.assert_refused("cannot be preloaded");
    assert!(!h.bin.exists());
}

#[test]
fn the_build_tree_library_is_found_and_loads() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let out = h.setup(&h.path_var(&[&h.bin, &tools]), &["codex"], &[]);
    out.assert_success();
    let lib = bin_dir().canonicalize().unwrap().join("libwarden.so");
    assert!(
        out.stdout
            .contains(&format!("library {} loads", lib.display())),
        "{out:?}"
    );
}

#[test]
fn dry_run_prints_the_wrapper_and_changes_nothing() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    let real = fake_codex(&tools);
    let out = h.setup(&h.path_var(&[&h.bin, &tools]), &["codex", "--dry-run"], &[]);
    out.assert_success();
    assert!(out.stdout.contains("# warden-wrapper: codex"), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("-- '{}' \"$@\"", real.display())),
        "{out:?}"
    );
    assert!(out.stdout.contains("nothing was changed"), "{out:?}");
    assert!(!h.bin.exists());

    // Over a foreign file, a dry run with --force neither replaces nor backs it up.
    write_script(&h.wrapper(), "echo mine\n");
    let out = h.setup(
        &h.path_var(&[&h.bin, &tools]),
        &["codex", "--dry-run", "--force"],
        &[],
    );
    out.assert_success();
    assert_eq!(read(&h.wrapper()), "#!/bin/sh\necho mine\n");
    assert!(!h.bin.join("codex.warden-backup").exists());
}

#[test]
fn fail_open_is_written_into_the_wrapper_only_when_asked_for() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    h.setup(&path, &["codex"], &[]).assert_success();
    assert!(read(&h.wrapper()).contains(" preload --agent codex -- "));
    let out = h.setup(&path, &["codex", "--fail-open"], &[]);
    out.assert_success();
    assert!(out.stdout.contains("updated"), "{out:?}");
    assert!(read(&h.wrapper()).contains(" preload --agent codex --fail-open -- "));
    // Setup without the flag again makes the wrapper fail closed again.
    h.setup(&path, &["codex"], &[]).assert_success();
    assert!(read(&h.wrapper()).contains(" preload --agent codex -- "));
}

#[test]
fn a_real_codex_earlier_on_path_triggers_a_warning_with_the_profile_line() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    let real = fake_codex(&tools);
    let out = h.setup(&h.path_var(&[&tools, &h.bin]), &["codex"], &[]);
    out.assert_success();
    assert!(
        out.stderr.contains(&format!(
            "{} comes before {} on PATH, so a plain `codex` is NOT guarded",
            real.display(),
            h.bin.display()
        )),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("    export PATH=\"$HOME/.local/bin:$PATH\"\n"),
        "{out:?}"
    );

    let out = h.setup(&h.path_var(&[&tools]), &["codex"], &[]);
    out.assert_success();
    assert!(out.stderr.contains("is not on PATH"), "{out:?}");
    assert!(
        out.stderr
            .contains("export PATH=\"$HOME/.local/bin:$PATH\""),
        "{out:?}"
    );
}

/// Directory names with spaces, both quote kinds, `$` and backticks survive into the
/// wrapper: `sh` reads back exactly the recorded paths (shown by the wrapper's own check
/// once the odd codex is gone).
#[test]
fn odd_paths_are_quoted_so_sh_reads_them_back_exactly() {
    let h = SetupHome::new();
    let odd = "it's a \"dir\" with $HOME `id` $(id) and \\ backslash";
    let tools = h.dir(&format!("{odd}/tools"));
    let real = fake_codex(&tools);
    let bin = h.dir(&format!("{odd}/bin"));
    let out = h.setup(
        &h.path_var(&[&bin, &tools]),
        &["codex", "--bin-dir", bin.to_str().unwrap()],
        &[],
    );
    out.assert_success();
    let wrapper = bin.join("codex");
    let syntax = run(h.command("sh").arg("-n").arg(&wrapper));
    assert!(syntax.status.success(), "{syntax:?}");

    std::fs::remove_file(&real).unwrap();
    let out = run(&mut h.command(&wrapper));
    assert_eq!(out.status.code(), Some(127));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("warden: {} is gone", real.display())),
        "{stderr}"
    );
}

#[test]
fn list_shows_whether_codex_is_installed_and_wrapped() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    let path = h.path_var(&[&h.bin, &tools]);
    let out = h.setup(&path, &["--list"], &[]);
    out.assert_success();
    assert_eq!(out.stdout, "codex\tinstalled: no\twrapped: no\n");

    let real = fake_codex(&tools);
    h.setup(&path, &["codex"], &[]).assert_success();
    let out = h.setup(&path, &["--list"], &[]);
    out.assert_success();
    let wrapper = h.wrapper();
    assert_eq!(
        out.stdout,
        format!(
            "codex\tinstalled: {}\twrapped: {} runs {}\n",
            real.display(),
            wrapper.display(),
            real.display()
        )
    );
}

#[test]
fn unknown_agents_and_missing_arguments_are_usage_errors() {
    let h = SetupHome::new();
    let path = h.path_var(&[]);
    h.setup(&path, &["nonesuch"], &[])
        .assert_refused("unknown agent `nonesuch`; supported: codex");
    let out = h.setup(&path, &[], &[]);
    assert_eq!(out.code, Some(3), "{out:?}");
    let out = h.setup(&path, &["codex", "--remove", "--force"], &[]);
    assert_eq!(out.code, Some(3), "{out:?}");
}

#[test]
fn a_relative_bin_dir_is_taken_from_the_working_directory() {
    let h = SetupHome::new();
    let tools = h.dir("tools");
    fake_codex(&tools);
    let out = run(h
        .warden_command(&["setup", "codex", "--bin-dir", "rel/bin"])
        .env("PATH", h.path_var(&[&tools]))
        .current_dir(&h.home));
    assert!(out.status.success(), "{out:?}");
    let wrapper = h.home.join("rel/bin/codex");
    assert!(read(&wrapper).contains("# warden-wrapper: codex"));
    assert!(text(&out.stdout).contains(&format!("Installed {}", wrapper.display())));
}
