//! The caller's command line the library sends (what a policy's `caller` condition matches)
//! is what `/proc/self/cmdline` shows, also after a program retitled itself the way
//! `setproctitle` does, writing past its arguments into its environment strings.

use warden_tests::probes::{describe, probe, Guarded};
use warden_tests::{run, text};

const POLICY: &str = r#"
default = "allow"

[[rule]]
name = "refused-caller"
action = "deny"
message = "test policy: refused caller"
program = ["touch"]
caller = 'refuse-me'
"#;

#[test]
fn the_caller_is_judged_by_the_command_line_the_kernel_shows() {
    let guarded = Guarded::with_policy(POLICY);
    let retitle = probe("retitle");
    // (marker name, RETITLE text, whether touch may run)
    let cases = [
        ("plain-ok", None, true),
        ("plain-refuse-me", None, false),
        ("titled-ok", Some(" idle"), true),
        // "refuse-me" lies only past the end of the original arguments: a copy of the
        // argument strings alone would miss it, the kernel's command line has it.
        ("titled", Some(" refuse-me"), false),
    ];
    for (name, title, allowed) in cases {
        let marker = guarded.marker(name);
        let mut command = guarded.preload(&[retitle.as_os_str(), marker.as_os_str()]);
        if let Some(title) = title {
            command.env("RETITLE", title);
        }
        let out = run(&mut command);
        let stdout = text(&out.stdout);
        let shown = stdout
            .split_once("cmdline:")
            .and_then(|(_, rest)| rest.split_once(":end"))
            .map(|(line, _)| line.to_string())
            .unwrap_or_else(|| panic!("{name}: no command line printed: {}", describe(&out)));
        assert_eq!(
            shown.contains("refuse-me"),
            !allowed,
            "{name}: the kernel shows {shown:?}"
        );
        assert_eq!(marker.exists(), allowed, "{name}: {}", describe(&out));
        if !allowed {
            assert!(
                text(&out.stderr).contains("test policy: refused caller"),
                "{name}: {}",
                describe(&out)
            );
        }
    }
}
