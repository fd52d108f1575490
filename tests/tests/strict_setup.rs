//! `warden setup codex --strict`: the wrapper runs the agent in strict mode, so a plain
//! `codex` has even what its static programs start judged.

use warden_tests::setup_support::{fake_codex, SetupHome};
use warden_tests::strict_support::{bare_start, policy, KEY_CONTENT};
use warden_tests::{run, text, Daemon};

#[test]
fn a_plain_codex_wrapped_with_strict_runs_in_strict_mode() {
    let h = SetupHome::new();
    let _daemon = Daemon::start(h.warden_home(), &policy());
    let tools = h.dir("tools");
    fake_codex(&tools);
    let path = h.path_var(&[&h.bin, &tools]);
    let installed = h.setup(&path, &["codex", "--strict"], &[]);
    installed.assert_success();
    assert!(
        installed
            .stdout
            .contains("under `warden preload --agent codex --strict`"),
        "{installed:?}"
    );
    let wrapper = std::fs::read_to_string(h.wrapper()).unwrap();
    assert!(
        wrapper.contains(" preload --agent codex --strict -- "),
        "{wrapper}"
    );

    let key = h.root.join("secret.key");
    std::fs::write(&key, KEY_CONTENT).unwrap();
    let out = run(h
        .command("codex")
        .env("PATH", &path)
        .args(bare_start())
        .arg("/bin/cat")
        .arg(&key));
    assert!(!text(&out.stdout).contains(KEY_CONTENT), "{out:?}");
    assert!(
        text(&out.stderr).contains("test policy: keys stay secret"),
        "{out:?}"
    );

    // Installing again without --strict rewrites the wrapper back.
    let plain = h.setup(&path, &["codex"], &[]);
    plain.assert_success();
    let wrapper = std::fs::read_to_string(h.wrapper()).unwrap();
    assert!(wrapper.contains(" preload --agent codex -- "), "{wrapper}");
}
