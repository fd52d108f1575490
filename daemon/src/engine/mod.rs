//! The policy engine: pure, no I/O. It compiles TOML policies once and judges a program
//! start (argv, not only a joined string), seeing through shells and wrappers.
//!
//! Public surface used by the rest of the crate (keep it stable):
//! - [`Policy::compile`] from [`PolicySource`]s (built-in default first, then user files);
//! - [`Policy::builtin`], the shipped default policy compiled into the binary;
//! - [`Policy::evaluate`] of a [`Query`] into a [`Verdict`], [`Policy::evaluate_with_files`]
//!   reading the scripts it runs through a [`FileSource`], [`Policy::evaluate_shell`] for a
//!   shell command line (`warden test`);
//! - [`Policy::rule_count`], [`Policy::tests`] (the embedded `[[test]]` cases);
//! - [`approved_entry_toml`], one `[[approved]]` entry for `warden approve --always`;
//! - [`unwrapped_commands`], the commands a program start runs on its behalf (what an
//!   operator's approval of it covers);
//! - [`loosenings`], how a new policy is looser than the one in force (empty when it only
//!   tightens it).
//!
//! Modules: [`policy`] (TOML schema, compilation, errors), `matcher` (compiled rule sets),
//! `unwrap` (wrappers and flag spelling), `shell` (shell strings via `brush-parser`),
//! `paths` (paths in normal form), `files` (the files a command's arguments read, write and
//! run), `glob`, `scope` (the shell state a command runs in), `evaluate` (the walk over
//! everything a program start runs), `content` (what really runs: program identity, script
//! files, interpreter code), `interp` (the interpreter code scanners), `tightening`
//! (comparing two policies' definitions).

mod approved;
mod content;
mod evaluate;
mod files;
mod glob;
mod interp;
mod matcher;
mod paths;
pub mod policy;
mod scope;
mod shell;
mod tightening;
mod unit;
mod unwrap;

pub use approved::approved_entry_toml;
pub use content::{FileRead, FileSource, Identity, Launch, NoFiles, MAX_SCRIPT_BYTES};
pub use evaluate::unwrapped_commands;
pub use policy::{PolicyError, PolicyTest, TestInput, TestOutcome};
pub use tightening::{loosenings, Loosening};
pub(crate) use unit::basename;

/// What a rule (or the policy default) decides. Ordered by precedence: the strictest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Log,
    Ask,
    Deny,
}

impl Action {
    /// The lowercase name used in policies, JSON and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Log => "log",
            Action::Ask => "ask",
            Action::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One policy text and where it came from (a file path, or `<builtin>`), for error messages.
#[derive(Clone, Debug)]
pub struct PolicySource {
    pub origin: String,
    pub text: String,
}

/// A program start to judge.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    /// Resolved absolute path of the program, or a bare name when unknown.
    pub program: &'a [u8],
    pub argv: Vec<&'a [u8]>,
    pub cwd: &'a [u8],
    pub agent: Option<&'a str>,
    pub session: Option<&'a str>,
    /// Command line of the process that starts the program.
    pub caller: Vec<&'a [u8]>,
    /// What the program file really is (a system program by another name, a script), when
    /// the caller looked: see [`Identity`].
    pub identity: Option<&'a Identity>,
    /// The user's real home directory; empty when unknown. Rules about `~` also apply to
    /// it, however it is spelled (`/srv/dev`, `/srv/dev/.`, `$HOME`, a glob).
    pub home: &'a [u8],
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: Action,
    /// Name of the deciding rule (or `[[approved]]` entry); `None` when the policy default
    /// decided or a shell string could not be parsed.
    pub rule: Option<String>,
    pub message: Option<String>,
    /// The argv of the command that decided: the exec itself or a command it runs (the
    /// `rm -rf ~` inside `bash -c '…; rm -rf ~'`). `None` when nothing was judged (an
    /// unreadable shell string).
    pub command: Option<Vec<Vec<u8>>>,
    /// What decided: a rule, or which of the policy's own actions.
    pub decided_by: DecidedBy,
}

/// What decided a [`Verdict`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecidedBy {
    /// A rule or an `[[approved]]` entry (`rule` names it).
    Rule,
    /// The policy's `default` action: no rule matched.
    Default,
    /// The policy's `unparsable` action: a shell string could not be read.
    Unparsable,
}

/// Origin name of the policy compiled into the binary.
pub const BUILTIN_ORIGIN: &str = "<builtin>";

const BUILTIN_TEXT: &str = include_str!("../../../policies/default.toml");

/// A compiled policy.
pub struct Policy {
    rules: matcher::RuleSet,
    default: Action,
    unparsable: Action,
    aliases: unwrap::FlagAliases,
    approved: Vec<approved::Approved>,
    definitions: tightening::Definitions,
    tests: Vec<PolicyTest>,
    origins: Vec<String>,
}

impl Policy {
    /// Compiles policy layers in order: rules of all layers count, a later layer's `default`
    /// and `unparsable` override earlier ones. Nothing is half-loaded: any error rejects all.
    pub fn compile(sources: &[PolicySource]) -> Result<Policy, PolicyError> {
        policy::compile(sources)
    }

    /// The shipped default policy as a source (origin `<builtin>`).
    pub fn builtin_source() -> PolicySource {
        PolicySource {
            origin: BUILTIN_ORIGIN.to_string(),
            text: BUILTIN_TEXT.to_string(),
        }
    }

    /// The shipped default policy, compiled.
    pub fn builtin() -> Policy {
        // The built-in policy is checked by the crate's tests, so it always compiles.
        Policy::compile(&[Policy::builtin_source()])
            .unwrap_or_else(|err| panic!("the built-in policy is invalid: {err}"))
    }

    /// Judges a program start: the exec itself and everything it unwraps to, by its words
    /// alone (no script files are read).
    pub fn evaluate(&self, query: &Query) -> Verdict {
        evaluate::evaluate(self, query, &NoFiles)
    }

    /// Judges a program start, reading the scripts it runs from `files`.
    pub fn evaluate_with_files(&self, query: &Query, files: &dyn FileSource) -> Verdict {
        evaluate::evaluate(self, query, files)
    }

    /// Judges `command` as a shell command line, in the cwd/agent/session of `context`.
    pub fn evaluate_shell(&self, command: &[u8], context: &Query) -> Verdict {
        evaluate::evaluate_shell(self, command, context, &NoFiles)
    }

    /// Number of rules over all layers.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The `[[test]]` cases embedded in the policy files, in file order.
    pub fn tests(&self) -> &[PolicyTest] {
        &self.tests
    }

    /// The origins of the compiled layers, in order.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// The policy's fallback action when no rule matches.
    pub fn default_action(&self) -> Action {
        self.default
    }
}

#[cfg(test)]
mod fuzz_regressions;
#[cfg(test)]
mod tests;
