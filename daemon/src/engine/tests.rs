//! Unit tests of the engine as a whole; the shipped policy's own `[[test]]` cases run here too.

use super::*;

fn compile(text: &str) -> Result<Policy, PolicyError> {
    Policy::compile(&[PolicySource {
        origin: "test.toml".to_string(),
        text: text.to_string(),
    }])
}

fn shell(policy: &Policy, command: &str) -> Verdict {
    let context = Query {
        cwd: b"/home/dev/project",
        ..Query::default()
    };
    policy.evaluate_shell(command.as_bytes(), &context)
}

fn exec(policy: &Policy, argv: &[&str]) -> Verdict {
    let query = Query {
        program: argv[0].as_bytes(),
        argv: argv.iter().map(|a| a.as_bytes()).collect(),
        cwd: b"/home/dev/project",
        ..Query::default()
    };
    policy.evaluate(&query)
}

#[test]
fn builtin_policy_tests_pass() {
    let policy = Policy::builtin();
    let failures: Vec<String> = policy
        .tests()
        .iter()
        .filter_map(|t| {
            let outcome = t.run(&policy);
            (!outcome.passed).then(|| {
                format!(
                    "{}:{}: {:?}: expected {} {:?}, got {} {:?}",
                    t.origin,
                    t.line,
                    t.describe(),
                    t.expect,
                    t.rule,
                    outcome.verdict.action,
                    outcome.verdict.rule
                )
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn plain_exec_rule() {
    let policy = Policy::builtin();
    assert_eq!(exec(&policy, &["/bin/rm", "-rf", "/"]).action, Action::Deny);
    assert_eq!(
        exec(&policy, &["/bin/rm", "-rf", "target"]).action,
        Action::Allow
    );
    assert_eq!(shell(&policy, "sudo rm -fr /").action, Action::Deny);
}

#[test]
fn builtin_policy_has_tests_for_every_rule() {
    let policy = Policy::builtin();
    assert!(
        policy.tests().len() >= 150,
        "only {} tests",
        policy.tests().len()
    );
    let decided: std::collections::HashSet<String> = policy
        .tests()
        .iter()
        .filter_map(|t| t.run(&policy).verdict.rule)
        .collect();
    let untested: Vec<&str> = policy
        .rules
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|name| !decided.contains(*name))
        .collect();
    assert!(
        untested.is_empty(),
        "rules without a test that they decide: {untested:?}"
    );
}
