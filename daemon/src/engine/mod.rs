//! The policy engine: pure, no I/O. It compiles TOML policies once and judges a program
//! start (argv, not only a joined string), seeing through shells and wrappers.
//!
//! Public surface used by the rest of the crate (keep it stable):
//! - [`Policy::compile`] from [`PolicySource`]s (built-in default first, then user files);
//! - [`Policy::builtin`], the shipped default policy compiled into the binary;
//! - [`Policy::evaluate`] of a [`Query`] into a [`Verdict`];
//! - [`Policy::rule_count`].

/// What a rule (or the policy default) decides. Ordered by precedence: the strictest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Allow,
    Log,
    Ask,
    Deny,
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
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: Action,
    /// Name of the deciding rule; `None` when the policy default decided.
    pub rule: Option<String>,
    pub message: Option<String>,
}

/// A compiled policy.
pub struct Policy {}
