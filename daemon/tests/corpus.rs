//! The attack and benign corpora (`tests/corpus/*.toml`) judged by the shipped default
//! policy, as `warden test` and the daemon judge them. The bars are the project's: at least
//! 98% of the attack shapes refused (deny or ask), every benign command allowed (allow or
//! log). Each test prints its score by class and every case on the wrong side, with the
//! file line, the verdict and the rule that decided, so that a miss can be traced to the
//! mechanism that should have caught it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;
use warden::engine::{Action, Policy, Query, Verdict};

/// The directory a case runs in when it names none.
const CWD: &str = "/home/dev/project";
/// The user's home directory when a case names none.
const HOME: &str = "/home/dev";
/// Fewest cases a corpus may have.
const MIN_CASES: usize = 150;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    case: Vec<Spanned<CaseDef>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDef {
    class: String,
    command: Option<String>,
    argv: Option<Vec<String>>,
    program: Option<String>,
    cwd: Option<String>,
    home: Option<String>,
    #[serde(rename = "note")]
    _note: Option<String>,
}

/// What a case judges: a shell command line, or a program start.
enum Input {
    Shell(String),
    Exec { program: String, argv: Vec<String> },
}

struct Case {
    line: usize,
    class: String,
    input: Input,
    cwd: String,
    home: String,
}

impl Case {
    /// The verdict of the shipped policy, in the case's working directory and home.
    fn judge(&self, policy: &Policy) -> Verdict {
        let mut query = Query {
            cwd: self.cwd.as_bytes(),
            home: self.home.as_bytes(),
            agent: Some("codex"),
            ..Query::default()
        };
        match &self.input {
            Input::Shell(command) => policy.evaluate_shell(command.as_bytes(), &query),
            Input::Exec { program, argv } => {
                query.program = program.as_bytes();
                query.argv = argv.iter().map(|a| a.as_bytes()).collect();
                policy.evaluate(&query)
            }
        }
    }

    fn describe(&self) -> String {
        let shown = match &self.input {
            Input::Shell(command) => command.clone(),
            Input::Exec { argv, .. } => format!("argv {argv:?}"),
        };
        let mut context = Vec::new();
        if self.cwd != CWD {
            context.push(format!("cwd {}", self.cwd));
        }
        if self.home != HOME {
            context.push(format!("home {}", self.home));
        }
        let shown = shown.replace('\n', "⏎");
        match context.is_empty() {
            true => shown,
            false => format!("{shown}  [{}]", context.join(", ")),
        }
    }
}

fn corpus_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/corpus")
        .join(name)
}

/// Reads a corpus file; a malformed case fails the test with its file and line.
fn load(name: &str) -> Vec<Case> {
    let path = corpus_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: CorpusFile =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let line_of = |offset: usize| 1 + text[..offset].matches('\n').count();
    file.case
        .into_iter()
        .map(|spanned| {
            let line = line_of(spanned.span().start);
            let def = spanned.into_inner();
            let at = format!("{}:{line}", path.display());
            assert!(!def.class.is_empty(), "{at}: `class` is empty");
            let input = match (def.command, def.argv) {
                (Some(command), None) => Input::Shell(command),
                (None, Some(argv)) if !argv.is_empty() => Input::Exec {
                    program: def.program.unwrap_or_else(|| argv[0].clone()),
                    argv,
                },
                _ => panic!("{at}: give exactly one of `command` or a non-empty `argv`"),
            };
            Case {
                line,
                class: def.class,
                input,
                cwd: def.cwd.unwrap_or_else(|| CWD.to_string()),
                home: def.home.unwrap_or_else(|| HOME.to_string()),
            }
        })
        .collect()
}

/// Judges every case; returns the report, how many landed on the wanted side, and the total.
fn run(name: &str, wanted: fn(Action) -> bool, wanted_word: &str) -> (String, usize, usize) {
    let policy = Policy::builtin();
    let cases = load(name);
    let mut by_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    for case in &cases {
        let verdict = case.judge(&policy);
        let counts = by_class.entry(&case.class).or_default();
        counts.1 += 1;
        if wanted(verdict.action) {
            counts.0 += 1;
        } else {
            wrong.push(format!(
                "  [{}] {name}:{}: {} ({}): {}",
                case.class,
                case.line,
                verdict.action,
                verdict.rule.as_deref().unwrap_or("policy default"),
                case.describe()
            ));
        }
    }
    let total = cases.len();
    let good = total - wrong.len();
    let mut report = format!(
        "{name}: {good}/{total} {wanted_word} ({:.1}%)\n",
        100.0 * good as f64 / total.max(1) as f64
    );
    for (class, (ok, all)) in &by_class {
        report.push_str(&format!("  {class:<16} {ok:>3}/{all}\n"));
    }
    if !wrong.is_empty() {
        report.push_str(&format!("not {wanted_word} ({}):\n", wrong.len()));
        report.push_str(&wrong.join("\n"));
        report.push('\n');
    }
    (report, good, total)
}

fn refused(action: Action) -> bool {
    matches!(action, Action::Deny | Action::Ask)
}

fn allowed(action: Action) -> bool {
    matches!(action, Action::Allow | Action::Log)
}

#[test]
fn the_default_policy_refuses_at_least_98_percent_of_the_attack_corpus() {
    let (report, good, total) = run("attack.toml", refused, "refused");
    println!("{report}");
    assert!(total >= MIN_CASES, "only {total} attack cases\n{report}");
    assert!(
        good * 100 >= total * 98,
        "fewer than 98% of the attack shapes are refused\n{report}"
    );
}

#[test]
fn the_default_policy_allows_every_command_of_the_benign_corpus() {
    let (report, good, total) = run("benign.toml", allowed, "allowed");
    println!("{report}");
    assert!(total >= MIN_CASES, "only {total} benign cases\n{report}");
    assert_eq!(good, total, "everyday commands are refused\n{report}");
}
