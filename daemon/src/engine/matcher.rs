//! Compiled rules and their evaluation against one unit. Rules are indexed by program name
//! (a hash lookup), program globs (one `GlobSet`) and, for rules without a program, one
//! `RegexSet` over the command line, so that only a handful of rules are ever checked.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use globset::{Candidate, GlobSet};
use regex::bytes::{Regex, RegexSet};

use super::unit::{Unit, Word};
use super::unwrap::{Flag, FlagAliases};
use super::Action;

/// One compiled rule. Every condition that is present must hold.
#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub action: Action,
    pub message: Option<String>,
    pub flags: Vec<Flag<'static>>,
    pub args_all: Vec<Regex>,
    pub args_any: Option<RegexSet>,
    pub cmdline: Option<Regex>,
    pub redirect: Option<RegexSet>,
    pub input: Option<RegexSet>,
    pub not_program: Option<GlobSet>,
    pub cwd: Option<GlobSet>,
    pub agent: Option<GlobSet>,
    pub session: Option<GlobSet>,
    pub caller: Option<Regex>,
    pub env: Option<GlobSet>,
    pub fed_by: Option<GlobSet>,
    pub feeds: Option<GlobSet>,
    pub stdin: Option<Regex>,
    pub via: Option<GlobSet>,
}

/// Where a rule's program condition points in the index.
#[derive(Debug, Default)]
pub(crate) struct ProgramIndex {
    /// Literal base names (`rm`).
    pub by_name: HashMap<Vec<u8>, Vec<u32>>,
    /// Base name globs (`python3*`), one entry per glob.
    pub name_globs: GlobSet,
    pub name_glob_rules: Vec<u32>,
    /// Path globs (`/usr/local/bin/*`), one entry per glob.
    pub path_globs: GlobSet,
    pub path_glob_rules: Vec<u32>,
    /// Rules without a program condition that have a command-line regex.
    pub generic_cmdline: RegexSet,
    pub generic_cmdline_rules: Vec<u32>,
    /// Rules without a program condition nor a command-line regex.
    pub generic_other: Vec<u32>,
}

#[derive(Debug)]
pub(crate) struct RuleSet {
    pub rules: Vec<Rule>,
    pub index: ProgramIndex,
}

/// What the query says about where the program starts; the same for every unit.
pub(crate) struct Context<'q> {
    pub cwd: &'q [u8],
    pub agent: Option<&'q str>,
    pub session: Option<&'q str>,
    caller: &'q [&'q [u8]],
    caller_line: OnceCell<Vec<u8>>,
}

impl<'q> Context<'q> {
    pub fn new(query: &'q super::Query<'q>) -> Self {
        Context {
            cwd: query.cwd,
            agent: query.agent,
            session: query.session,
            caller: &query.caller,
            caller_line: OnceCell::new(),
        }
    }

    fn caller_line(&self) -> &[u8] {
        self.caller_line.get_or_init(|| self.caller.join(&b' '))
    }
}

/// Reusable buffers, so that evaluation allocates little.
#[derive(Default)]
pub(crate) struct Scratch {
    candidates: Vec<u32>,
    glob_hits: Vec<usize>,
}

/// A unit with its lazily computed command line, canonical flags and resolved arguments.
struct View<'u, 'w> {
    unit: &'u Unit<'w>,
    aliases: &'u FlagAliases,
    cmdline: OnceCell<Vec<u8>>,
    flags: OnceCell<Vec<Flag<'u>>>,
    resolved_args: OnceCell<Vec<Vec<u8>>>,
}

impl View<'_, '_> {
    fn cmdline(&self) -> &[u8] {
        self.cmdline.get_or_init(|| self.unit.argv.join(&b' '))
    }

    /// The relative arguments as absolute paths in the unit's working directory, so that
    /// `rm -rf ..` in `/home/u/project` is also judged as `rm -rf /home/u`.
    fn resolved_args(&self, ctx: &Context<'_>) -> &[Vec<u8>] {
        self.resolved_args.get_or_init(|| {
            let Some(cwd) = working_directory(self.unit, ctx) else {
                return Vec::new();
            };
            self.unit
                .args()
                .iter()
                .filter_map(|arg| resolve_relative(&cwd, arg))
                .collect()
        })
    }

    fn flags(&self) -> &[Flag<'_>] {
        self.flags
            .get_or_init(|| self.aliases.flags_of(&self.unit.program, self.unit.args()))
    }
}

/// The absolute directory a unit runs in: the query's cwd, moved by an earlier `cd` in the
/// same shell string. `None` when it depends on an expansion (`cd ~`, `cd "$DIR"`).
fn working_directory(unit: &Unit<'_>, ctx: &Context<'_>) -> Option<Vec<u8>> {
    if !ctx.cwd.starts_with(b"/") {
        return None;
    }
    match unit.cwd.as_deref() {
        None => Some(normalise(ctx.cwd, b"")),
        Some(dir) if dir.starts_with(b"/") => Some(normalise(b"/", dir)),
        Some(dir) if is_plain_relative(dir) => Some(normalise(ctx.cwd, dir)),
        Some(_) => None,
    }
}

/// A relative path word (not an option, not starting with `~` or an expansion).
fn is_plain_relative(word: &[u8]) -> bool {
    word.first()
        .is_some_and(|&b| !matches!(b, b'/' | b'~' | b'$' | b'-'))
}

/// `arg` joined to the absolute `cwd` and normalised, when it is a plain relative path.
fn resolve_relative(cwd: &[u8], arg: &[u8]) -> Option<Vec<u8>> {
    is_plain_relative(arg).then(|| normalise(cwd, arg))
}

/// Lexically joins `path` to the absolute `base`, folding `.`, `..` (never above `/`) and
/// repeated slashes. No file system access: symbolic links are not followed.
pub(super) fn normalise(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in base.split(|&b| b == b'/').chain(path.split(|&b| b == b'/')) {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    if parts.is_empty() {
        return b"/".to_vec();
    }
    let mut joined = Vec::with_capacity(base.len() + path.len() + 1);
    for part in parts {
        joined.push(b'/');
        joined.extend_from_slice(part);
    }
    joined
}

fn candidate(bytes: &[u8]) -> Candidate<'_> {
    Candidate::new(Path::new(OsStr::from_bytes(bytes)))
}

fn any_glob(set: &GlobSet, words: &[Word<'_>]) -> bool {
    words.iter().any(|w| set.is_match_candidate(&candidate(w)))
}

impl RuleSet {
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The strictest rule matching `unit` (the first such in policy order), if any.
    pub fn best(
        &self,
        unit: &Unit<'_>,
        ctx: &Context<'_>,
        aliases: &FlagAliases,
        scratch: &mut Scratch,
    ) -> Option<&Rule> {
        let view = View {
            unit,
            aliases,
            cmdline: OnceCell::new(),
            flags: OnceCell::new(),
            resolved_args: OnceCell::new(),
        };
        self.collect_candidates(&view, scratch);
        let mut best: Option<&Rule> = None;
        for &idx in &scratch.candidates {
            let rule = &self.rules[idx as usize];
            if best.is_some_and(|b| b.action >= rule.action) {
                continue;
            }
            if rule.matches(&view, ctx) {
                best = Some(rule);
                if rule.action == Action::Deny {
                    break;
                }
            }
        }
        best
    }

    fn collect_candidates(&self, view: &View<'_, '_>, scratch: &mut Scratch) {
        let index = &self.index;
        let found = &mut scratch.candidates;
        found.clear();
        if let Some(rules) = index.by_name.get(view.unit.name()) {
            found.extend_from_slice(rules);
        }
        if !index.name_globs.is_empty() {
            index
                .name_globs
                .matches_candidate_into(&candidate(view.unit.name()), &mut scratch.glob_hits);
            found.extend(scratch.glob_hits.iter().map(|&g| index.name_glob_rules[g]));
        }
        if !index.path_globs.is_empty() {
            index
                .path_globs
                .matches_candidate_into(&candidate(&view.unit.program), &mut scratch.glob_hits);
            found.extend(scratch.glob_hits.iter().map(|&g| index.path_glob_rules[g]));
        }
        if !index.generic_cmdline_rules.is_empty() && index.generic_cmdline.is_match(view.cmdline())
        {
            let hits = index.generic_cmdline.matches(view.cmdline());
            found.extend(hits.iter().map(|r| index.generic_cmdline_rules[r]));
        }
        found.extend_from_slice(&index.generic_other);
        found.sort_unstable();
        found.dedup();
    }
}

impl Rule {
    fn matches(&self, view: &View<'_, '_>, ctx: &Context<'_>) -> bool {
        let unit = view.unit;
        let glob_str = |set: &Option<GlobSet>, value: Option<&str>| match set {
            None => true,
            Some(set) => value.is_some_and(|v| set.is_match_candidate(&candidate(v.as_bytes()))),
        };
        let glob_words = |set: &Option<GlobSet>, words: &[Word<'_>]| match set {
            None => true,
            Some(set) => any_glob(set, words),
        };
        glob_str(&self.agent, ctx.agent)
            && glob_str(&self.session, ctx.session)
            && self.cwd.as_ref().is_none_or(|set| {
                set.is_match_candidate(&candidate(unit.cwd.as_deref().unwrap_or(ctx.cwd)))
            })
            && glob_words(&self.via, &unit.via)
            && glob_words(&self.env, &unit.env)
            && glob_words(&self.fed_by, &unit.fed_by)
            && glob_words(&self.feeds, &unit.feeds)
            && self.flags.iter().all(|f| view.flags().contains(f))
            && self.args_all.iter().all(|re| {
                unit.args().iter().any(|a| re.is_match(a))
                    || view.resolved_args(ctx).iter().any(|a| re.is_match(a))
            })
            && self.args_any.as_ref().is_none_or(|set| {
                unit.args().iter().any(|a| set.is_match(a))
                    || view.resolved_args(ctx).iter().any(|a| set.is_match(a))
            })
            && self
                .not_program
                .as_ref()
                .is_none_or(|set| !set.is_match_candidate(&candidate(unit.name())))
            && self
                .redirect
                .as_ref()
                .is_none_or(|set| unit.redirects.iter().any(|r| set.is_match(r)))
            && self
                .input
                .as_ref()
                .is_none_or(|set| unit.inputs.iter().any(|r| set.is_match(r)))
            && self
                .cmdline
                .as_ref()
                .is_none_or(|re| re.is_match(view.cmdline()))
            && self.stdin.as_ref().is_none_or(|re| {
                unit.stdin_text
                    .as_deref()
                    .is_some_and(|text| re.is_match(text))
            })
            && self
                .caller
                .as_ref()
                .is_none_or(|re| re.is_match(ctx.caller_line()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_folded_into_the_working_directory() {
        assert_eq!(normalise(b"/home/u/project", b".."), b"/home/u");
        assert_eq!(normalise(b"/home/u/project", b"../.."), b"/home");
        assert_eq!(normalise(b"/home/u", b"../../../.."), b"/");
        assert_eq!(normalise(b"/home/u", b"./a//b/./c/"), b"/home/u/a/b/c");
        assert_eq!(normalise(b"/srv", b"../*"), b"/*");
        assert_eq!(normalise(b"/", b""), b"/");
    }

    #[test]
    fn only_plain_relative_words_are_resolved() {
        assert_eq!(
            resolve_relative(b"/home/u", b"x"),
            Some(b"/home/u/x".to_vec())
        );
        for word in [&b"/etc"[..], b"~/x", b"$HOME", b"-rf", b""] {
            assert_eq!(resolve_relative(b"/home/u", word), None, "{word:?}");
        }
    }
}
