//! The TOML policy format (documented in `policies/README.md`), its compilation into
//! [`super::Policy`], and errors that name file, line and rule.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use base64::Engine as _;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Deserialize;
use toml::Spanned;

use super::approved::Approved;
use super::glob::{self, Probe};
use super::matcher::{PathRegex, PathSet, ProgramIndex, Rule, RuleSet};
use super::tightening::Definitions;
use super::unwrap::{Flag, FlagAliases};
use super::{Action, Policy, PolicySource, Query, Verdict};

/// A policy that cannot be compiled: where, which rule (when one is concerned) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub origin: String,
    pub line: usize,
    pub rule: Option<String>,
    pub problem: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.origin, self.line)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule \"{rule}\": ")?;
        }
        f.write_str(&self.problem)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    default: Option<Action>,
    unparsable: Option<Action>,
    /// Read by `policy_files` only: an explicit policy file that wants the default too.
    #[serde(rename = "include_default")]
    _include_default: Option<bool>,
    #[serde(default)]
    flag_aliases: BTreeMap<String, Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    rule: Vec<Spanned<RuleDef>>,
    #[serde(default)]
    test: Vec<Spanned<TestDef>>,
    #[serde(default)]
    approved: Vec<Spanned<ApprovedDef>>,
}

/// One `[[rule]]` as written; compared whole by `tightening`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDef {
    name: String,
    pub(crate) action: Action,
    message: Option<String>,
    program: Option<Vec<String>>,
    flags: Option<Vec<String>>,
    args_all: Option<Vec<String>>,
    args_any: Option<Vec<String>>,
    cmdline: Option<String>,
    redirect: Option<Vec<String>>,
    input: Option<Vec<String>>,
    not_program: Option<Vec<String>>,
    cwd: Option<Vec<String>>,
    agent: Option<Vec<String>>,
    session: Option<Vec<String>>,
    caller: Option<String>,
    env: Option<Vec<String>>,
    fed_by: Option<Vec<String>>,
    feeds: Option<Vec<String>>,
    stdin: Option<String>,
    via: Option<Vec<String>>,
    code_from: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestDef {
    command: Option<String>,
    argv: Option<Vec<BytesDef>>,
    program: Option<String>,
    cwd: Option<String>,
    home: Option<String>,
    agent: Option<String>,
    expect: Action,
    rule: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovedDef {
    name: String,
    argv: Vec<BytesDef>,
    cwd: Option<BytesDef>,
}

/// Bytes in TOML: a string, or `{ b64 = "…" }` for what is not UTF-8.
#[derive(Deserialize)]
#[serde(untagged)]
enum BytesDef {
    Text(String),
    Base64(Base64Def),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Base64Def {
    b64: String,
}

impl BytesDef {
    fn decode(&self) -> Result<Vec<u8>, String> {
        match self {
            BytesDef::Text(text) => Ok(text.as_bytes().to_vec()),
            BytesDef::Base64(Base64Def { b64 }) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("invalid base64 {b64:?}: {e}")),
        }
    }
}

/// Only what is needed to name the rule an error falls into.
#[derive(Deserialize)]
struct LenientFile {
    #[serde(default)]
    rule: Vec<Spanned<toml::Table>>,
}

/// What a policy test runs.
#[derive(Clone, Debug)]
pub enum TestInput {
    /// A shell command line, judged like `warden test`.
    Shell(String),
    /// A program start, judged like an intercepted exec.
    Exec {
        program: Vec<u8>,
        argv: Vec<Vec<u8>>,
    },
}

/// One `[[test]]` case of a policy file.
#[derive(Clone, Debug)]
pub struct PolicyTest {
    pub origin: String,
    pub line: usize,
    pub input: TestInput,
    pub cwd: String,
    /// The user's home directory the test runs with (default `/home/dev`).
    pub home: String,
    pub agent: Option<String>,
    pub expect: Action,
    /// The rule expected to decide, when the test names one.
    pub rule: Option<String>,
}

/// The result of running one test.
#[derive(Clone, Debug)]
pub struct TestOutcome {
    pub verdict: Verdict,
    pub passed: bool,
}

/// The working directory of tests that do not name one.
const TEST_CWD: &str = "/home/dev/project";
/// The home directory of tests that do not name one.
const TEST_HOME: &str = "/home/dev";

impl PolicyTest {
    pub fn run(&self, policy: &Policy) -> TestOutcome {
        let mut query = Query {
            cwd: self.cwd.as_bytes(),
            agent: self.agent.as_deref(),
            home: self.home.as_bytes(),
            ..Query::default()
        };
        let verdict = match &self.input {
            TestInput::Shell(command) => policy.evaluate_shell(command.as_bytes(), &query),
            TestInput::Exec { program, argv } => {
                query.program = program;
                query.argv = argv.iter().map(Vec::as_slice).collect();
                policy.evaluate(&query)
            }
        };
        let passed = verdict.action == self.expect
            && self
                .rule
                .as_ref()
                .is_none_or(|r| verdict.rule.as_ref() == Some(r));
        TestOutcome { verdict, passed }
    }

    /// The command under test, for people.
    pub fn describe(&self) -> String {
        match &self.input {
            TestInput::Shell(command) => command.clone(),
            TestInput::Exec { argv, .. } => {
                let words: Vec<String> = argv
                    .iter()
                    .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
                    .collect();
                format!("argv [{}]", words.join(", "))
            }
        }
    }
}

/// Whether a policy text asks for the built-in default policy beneath it.
pub fn includes_default(source: &PolicySource) -> Result<bool, PolicyError> {
    Ok(parse(source)?._include_default.unwrap_or(false))
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    1 + text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn parse(source: &PolicySource) -> Result<FileDef, PolicyError> {
    toml::from_str::<FileDef>(&source.text).map_err(|err| {
        let span = err.span().unwrap_or(0..0);
        PolicyError {
            origin: source.origin.clone(),
            line: line_of(&source.text, span.start),
            rule: rule_around(&source.text, &span),
            problem: err.message().trim().to_string(),
        }
    })
}

/// The name of the `[[rule]]` whose text contains `span`, for errors serde reports.
fn rule_around(text: &str, span: &Range<usize>) -> Option<String> {
    let lenient: LenientFile = toml::from_str(text).ok()?;
    lenient
        .rule
        .iter()
        .filter(|r| r.span().start <= span.start)
        .max_by_key(|r| r.span().start)
        .and_then(|r| r.get_ref().get("name")?.as_str().map(str::to_string))
}

/// Where a layer's rule is defined, for errors found after parsing.
struct Located<'s> {
    source: &'s PolicySource,
    /// Where the rule's table starts in its source's text.
    offset: usize,
    line: usize,
    def: RuleDef,
}

pub(crate) fn compile(sources: &[PolicySource]) -> Result<Policy, PolicyError> {
    let mut default = Action::Allow;
    let mut unparsable = Action::Ask;
    let mut aliases = FlagAliases::default();
    let mut definitions = Definitions::default();
    let mut rules: Vec<Located> = Vec::new();
    let mut tests = Vec::new();
    let mut approved = Vec::new();
    for source in sources {
        let file = parse(source)?;
        let at = |span: Range<usize>| line_of(&source.text, span.start);
        let error = |line: usize, rule: Option<&str>, problem: String| PolicyError {
            origin: source.origin.clone(),
            line,
            rule: rule.map(str::to_string),
            problem,
        };
        default = file.default.unwrap_or(default);
        unparsable = file.unparsable.unwrap_or(unparsable);
        for (program, table) in file.flag_aliases {
            let line = at(table.span());
            let written = definitions.flag_aliases.entry(program.clone()).or_default();
            written.extend(table.get_ref().clone());
            for (alias, canonical) in table.into_inner() {
                let parse = |flag: &str| {
                    Flag::parse(flag).ok_or_else(|| {
                        error(
                            line,
                            None,
                            format!(
                                "flag_aliases.{program}: {flag:?} is not a flag (write `-x` or `--name`)"
                            ),
                        )
                    })
                };
                aliases.insert(&program, parse(&alias)?, parse(&canonical)?);
            }
        }
        for rule in file.rule {
            let offset = rule.span().start;
            rules.push(Located {
                source,
                offset,
                line: at(rule.span()),
                def: rule.into_inner(),
            });
        }
        for test in file.test {
            let line = at(test.span());
            tests.push(compile_test(test.into_inner(), &source.origin, line)?);
        }
        for entry in file.approved {
            let line = at(entry.span());
            let entry = entry.into_inner();
            let problem =
                |e: String| error(line, None, format!("approved \"{}\": {e}", entry.name));
            approved.push(Approved {
                argv: entry
                    .argv
                    .iter()
                    .map(BytesDef::decode)
                    .collect::<Result<_, _>>()
                    .map_err(problem)?,
                cwd: entry
                    .cwd
                    .as_ref()
                    .map(BytesDef::decode)
                    .transpose()
                    .map_err(problem)?,
                name: entry.name,
            });
        }
    }
    let mut seen: HashMap<&str, (&str, usize)> = HashMap::new();
    for rule in &rules {
        if let Some((origin, line)) = seen.insert(&rule.def.name, (&rule.source.origin, rule.line))
        {
            return Err(PolicyError {
                origin: rule.source.origin.clone(),
                line: rule.line,
                rule: Some(rule.def.name.clone()),
                problem: format!("duplicate rule name (first defined at {origin}:{line})"),
            });
        }
    }
    definitions.rules = rules
        .iter()
        .map(|rule| (rule.def.name.clone(), rule.def.clone()))
        .collect();
    Ok(Policy {
        rules: compile_rules(rules)?,
        definitions,
        default,
        unparsable,
        aliases,
        approved,
        tests,
        origins: sources.iter().map(|s| s.origin.clone()).collect(),
    })
}

fn compile_test(def: TestDef, origin: &str, line: usize) -> Result<PolicyTest, PolicyError> {
    let problem = |what: &str| PolicyError {
        origin: origin.to_string(),
        line,
        rule: None,
        problem: format!("test: {what}"),
    };
    let input = match (def.command, def.argv) {
        (Some(command), None) => TestInput::Shell(command),
        (None, Some(argv)) => {
            let argv: Vec<Vec<u8>> = argv
                .iter()
                .map(BytesDef::decode)
                .collect::<Result<_, _>>()
                .map_err(|e| problem(&e))?;
            let program = match def.program {
                Some(p) => p.into_bytes(),
                None => argv
                    .first()
                    .cloned()
                    .ok_or_else(|| problem("`argv` is empty"))?,
            };
            TestInput::Exec { program, argv }
        }
        _ => return Err(problem("give exactly one of `command` or `argv`")),
    };
    Ok(PolicyTest {
        origin: origin.to_string(),
        line,
        input,
        cwd: def.cwd.unwrap_or_else(|| TEST_CWD.to_string()),
        home: def.home.unwrap_or_else(|| TEST_HOME.to_string()),
        agent: def.agent,
        expect: def.expect,
        rule: def.rule,
    })
}

/// Builds the compiled rules and the index that finds candidates quickly.
fn compile_rules(located: Vec<Located>) -> Result<RuleSet, PolicyError> {
    let mut rules = Vec::with_capacity(located.len());
    let mut index = ProgramIndex::default();
    let mut name_globs = GlobSetBuilder::new();
    let mut path_globs = GlobSetBuilder::new();
    let mut generic_cmdline = Vec::new();
    for (idx, rule) in located.into_iter().enumerate() {
        let idx = idx as u32;
        check_patterns(&rule)?;
        let Located {
            source, line, def, ..
        } = rule;
        let fail = |problem: String| PolicyError {
            origin: source.origin.clone(),
            line,
            rule: Some(def.name.clone()),
            problem,
        };
        let conditions = [
            def.program.is_some(),
            def.flags.is_some(),
            def.args_all.is_some(),
            def.args_any.is_some(),
            def.cmdline.is_some(),
            def.redirect.is_some(),
            def.input.is_some(),
            def.cwd.is_some(),
            def.agent.is_some(),
            def.session.is_some(),
            def.caller.is_some(),
            def.env.is_some(),
            def.fed_by.is_some(),
            def.feeds.is_some(),
            def.stdin.is_some(),
            def.via.is_some(),
            def.code_from.is_some(),
        ];
        if !conditions.contains(&true) {
            return Err(fail(
                "a rule needs at least one condition (the policy's `default` covers everything else)"
                    .to_string(),
            ));
        }
        match &def.program {
            Some(programs) => {
                if programs.is_empty() {
                    return Err(fail("`program` is empty".to_string()));
                }
                for program in programs {
                    let glob_meta = program.contains(['*', '?', '[', '{']);
                    if program.contains('/') {
                        path_globs.add(glob(program, "program").map_err(&fail)?);
                        index.path_glob_rules.push(idx);
                    } else if glob_meta {
                        name_globs.add(glob(program, "program").map_err(&fail)?);
                        index.name_glob_rules.push(idx);
                    } else if program.is_empty() {
                        return Err(fail("`program` has an empty name".to_string()));
                    } else {
                        index
                            .by_name
                            .entry(program.as_bytes().to_vec())
                            .or_default()
                            .push(idx);
                    }
                }
            }
            None => match &def.cmdline {
                Some(cmdline) => {
                    generic_cmdline.push(cmdline.clone());
                    index.generic_cmdline_rules.push(idx);
                }
                None => index.generic_other.push(idx),
            },
        }
        let flags = def
            .flags
            .iter()
            .flatten()
            .map(|f| {
                Flag::parse(f).ok_or_else(|| {
                    fail(format!(
                        "`flags`: {f:?} is not a flag (write `-x` or `--name`)"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let path_set = |patterns: &Option<Vec<String>>, key: &str| {
            let Some(patterns) = patterns else {
                return Ok(None);
            };
            let whole: Vec<String> = patterns.iter().map(|p| format!("^(?:{p})$")).collect();
            Ok(Some(PathSet {
                set: regex_set(&whole, key).map_err(&fail)?,
                probe: Probe::new(patterns),
                paths: patterns.iter().any(|p| glob::may_match_a_path(p)),
            }))
        };
        let search = |pattern: &Option<String>, key: &str| {
            pattern
                .as_deref()
                .map(|p| regex(p, key))
                .transpose()
                .map_err(&fail)
        };
        let glob_set =
            |patterns: &Option<Vec<String>>, key: &str| globs(patterns, key).map_err(&fail);
        rules.push(Rule {
            flags,
            args_all: def
                .args_all
                .iter()
                .flatten()
                .map(|p| {
                    Ok(PathRegex {
                        regex: regex(&format!("^(?:{p})$"), "args_all")?,
                        probe: Probe::new(std::slice::from_ref(p)),
                        paths: glob::may_match_a_path(p),
                    })
                })
                .collect::<Result<_, String>>()
                .map_err(&fail)?,
            args_any: path_set(&def.args_any, "args_any")?,
            cmdline: search(&def.cmdline, "cmdline")?,
            redirect: path_set(&def.redirect, "redirect")?,
            input: path_set(&def.input, "input")?,
            not_program: glob_set(&def.not_program, "not_program")?,
            cwd: glob_set(&def.cwd, "cwd")?,
            agent: glob_set(&def.agent, "agent")?,
            session: glob_set(&def.session, "session")?,
            caller: search(&def.caller, "caller")?,
            env: glob_set(&def.env, "env")?,
            fed_by: glob_set(&def.fed_by, "fed_by")?,
            feeds: glob_set(&def.feeds, "feeds")?,
            stdin: search(&def.stdin, "stdin")?,
            via: glob_set(&def.via, "via")?,
            code_from: glob_set(&def.code_from, "code_from")?,
            name: def.name,
            action: def.action,
            message: def.message,
        });
    }
    let internal = |what: &str, e: String| PolicyError {
        origin: "<policy>".to_string(),
        line: 0,
        rule: None,
        problem: format!("cannot combine {what}: {e}"),
    };
    index.name_globs = name_globs
        .build()
        .map_err(|e| internal("program globs", e.to_string()))?;
    index.path_globs = path_globs
        .build()
        .map_err(|e| internal("program globs", e.to_string()))?;
    index.generic_cmdline =
        regex_set(&generic_cmdline, "cmdline").map_err(|e| internal("cmdline patterns", e))?;
    Ok(RuleSet { rules, index })
}

/// Compiles each regex of a rule on its own, as written, so that a bad one is reported at its
/// own line and as the author wrote it (the compiled sets anchor and join the patterns).
fn check_patterns(rule: &Located) -> Result<(), PolicyError> {
    let def = &rule.def;
    let lists = [
        ("args_all", &def.args_all),
        ("args_any", &def.args_any),
        ("redirect", &def.redirect),
        ("input", &def.input),
    ];
    let lone = [("cmdline", &def.cmdline), ("caller", &def.caller)];
    let patterns = lists
        .into_iter()
        .flat_map(|(key, list)| {
            list.iter()
                .flatten()
                .enumerate()
                .map(move |(i, p)| (key, Some(i), p))
        })
        .chain(
            lone.into_iter()
                .filter_map(|(key, p)| p.as_ref().map(|p| (key, None, p))),
        );
    for (key, item, pattern) in patterns {
        if let Err(error) = byte_regex(pattern) {
            let line = value_line(&rule.source.text, rule.offset, key, item);
            return Err(PolicyError {
                origin: rule.source.origin.clone(),
                line: line.unwrap_or(rule.line),
                rule: Some(def.name.clone()),
                problem: format!(
                    "bad regex in `{key}`: {pattern:?}: {}",
                    regex_problem(&error)
                ),
            });
        }
    }
    Ok(())
}

/// The line of the value of `key` (its `item`-th element when it is a list) in the
/// `[[rule]]` whose table starts at byte `rule_start` of `text`.
fn value_line(text: &str, rule_start: usize, key: &str, item: Option<usize>) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let file = DeTable::parse(text).ok()?.into_inner();
    let rules = file.get("rule")?.get_ref();
    let DeValue::Array(rules) = rules else {
        return None;
    };
    let rule = rules.iter().find(|r| r.span().start == rule_start)?;
    let value = rule.get_ref().get(key)?;
    let value = match item {
        Some(i) => value.get_ref().get(i)?,
        None => value,
    };
    Some(line_of(text, value.span().start))
}

/// Patterns match bytes: `.` and `[^…]` match any byte (also invalid UTF-8 and newlines),
/// so that no byte sequence can slip between the characters of a pattern.
fn byte_regex(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .dot_matches_new_line(true)
        .build()
}

fn regex(pattern: &str, key: &str) -> Result<Regex, String> {
    byte_regex(pattern).map_err(|e| format!("bad regex in `{key}`: {}", regex_problem(&e)))
}

fn regex_set(patterns: &[String], key: &str) -> Result<RegexSet, String> {
    RegexSetBuilder::new(patterns)
        .unicode(false)
        .dot_matches_new_line(true)
        .build()
        .map_err(|e| format!("bad regex in `{key}`: {}", regex_problem(&e)))
}

/// What is wrong with a pattern, in one line: the parser's message repeats the pattern over
/// several lines, and its last line says what is wrong.
fn regex_problem(error: &regex::Error) -> String {
    match error {
        regex::Error::Syntax(text) => text
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
        other => other.to_string(),
    }
}

fn glob(pattern: &str, key: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("bad glob in `{key}`: {e}"))
}

fn globs(patterns: &Option<Vec<String>>, key: &str) -> Result<Option<GlobSet>, String> {
    let Some(patterns) = patterns else {
        return Ok(None);
    };
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        set.add(glob(pattern, key)?);
    }
    set.build()
        .map(Some)
        .map_err(|e| format!("bad glob in `{key}`: {e}"))
}
