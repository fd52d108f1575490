//! `warden policy check|test` and `warden test` as a policy author sees them: errors at the
//! line of the mistake, counts in words, who decided, and the built-in cases kept apart from a
//! stricter user policy.

use warden_tests::probes::describe;
use warden_tests::{text, TempHome};

#[test]
fn a_bad_regex_is_reported_at_its_own_line_as_written() {
    let home = TempHome::new();
    let file = home.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"# line 1

[[rule]]
name = "bad-args"
action = "deny"
program = ["x"]
args_any = [
  "fine",
  "(unclosed",
]

[[rule]]
name = "bad-cmdline"
action = "deny"
cmdline = 'a[b'
"#,
    )
    .unwrap();
    let out = home.warden(&["policy", "check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let stderr = text(&out.stderr);
    let expected = format!(
        "{}:9: rule \"bad-args\": bad regex in `args_any`: \"(unclosed\": unclosed group",
        file.display()
    );
    assert_eq!(stderr.trim_end(), format!("warden: error: {expected}"));
    assert!(
        !stderr.contains("^(?:"),
        "internal wrapping shown: {stderr}"
    );

    std::fs::write(
        &file,
        "[[rule]]\nname = \"bad-cmdline\"\naction = \"deny\"\n\ncmdline = 'a[b'\n",
    )
    .unwrap();
    let out = home.warden(&["policy", "check", file.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:5: rule \"bad-cmdline\": bad regex in `cmdline`: \"a[b\"",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn counts_of_one_are_singular() {
    let home = TempHome::new();
    let file = home.path().join("one.toml");
    std::fs::write(
        &file,
        "[[rule]]\nname = \"a\"\naction = \"deny\"\nprogram = [\"zz\"]\n\n\
         [[test]]\ncommand = \"zz\"\nexpect = \"deny\"\n",
    )
    .unwrap();
    let out = home.warden(&["policy", "check", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        text(&out.stdout).trim_end(),
        format!("{}: ok (1 rule, 1 test)", file.display())
    );
}

#[test]
fn a_command_that_cannot_be_read_says_the_unparsable_action_decided() {
    let home = TempHome::new();
    let out = home.warden(&["test", "ls $("]);
    let stdout = text(&out.stdout);
    let rule_line = stdout
        .lines()
        .find(|l| l.starts_with("rule: "))
        .unwrap_or_else(|| panic!("no rule line: {stdout}"));
    assert!(rule_line.contains("`unparsable`"), "{rule_line}");
    assert!(!rule_line.contains("policy default"), "{rule_line}");

    let out = home.warden(&["test", "ls"]);
    assert!(
        text(&out.stdout).contains("rule: (none: the policy default)"),
        "{}",
        describe(&out)
    );
}

#[test]
fn built_in_cases_ignore_a_stricter_user_rule_and_the_users_own_cases_see_it() {
    let home = TempHome::new();
    let user = home.path().join("policy.toml");
    std::fs::write(
        &user,
        r#"[[rule]]
name = "no-destroy"
action = "deny"
program = ["terraform"]
args_any = ["destroy"]

[[test]]
command = "terraform destroy"
expect = "deny"
rule = "no-destroy"
"#,
    )
    .unwrap();
    let builtin_cases = {
        let out = TempHome::new().warden(&["policy", "test"]);
        assert!(out.status.success(), "{}", describe(&out));
        passed(&text(&out.stdout))
    };
    for args in [
        &["policy", "test"][..],
        &["policy", "test", user.to_str().unwrap()],
    ] {
        let out = home.warden(args);
        assert!(out.status.success(), "{args:?}: {}", describe(&out));
        assert_eq!(
            passed(&text(&out.stdout)),
            builtin_cases + 1,
            "{args:?}: {}",
            describe(&out)
        );
    }

    // The user's own case is judged by the whole policy in force: one the built-in rules
    // decide otherwise fails.
    std::fs::write(
        &user,
        "[[test]]\ncommand = \"terraform destroy\"\nexpect = \"allow\"\n",
    )
    .unwrap();
    let out = home.warden(&["policy", "test"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("FAIL {}:1:", user.display())),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL <builtin>"), "{stdout}");
}

/// The passed count of a `N passed, M failed` summary.
fn passed(stdout: &str) -> usize {
    let summary = stdout.lines().last().unwrap_or_default();
    summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary: {stdout}"))
}
