//! Compiled rules and their evaluation against one unit. Rules are indexed by program name
//! (a hash lookup), program globs (one `GlobSet`) and, for rules without a program, one
//! `RegexSet` over the command line, so that only a handful of rules are ever checked.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use globset::{Candidate, GlobSet};
use regex::bytes::{Regex, RegexSet};

use super::files;
use super::glob::{Dots, Glob, Probe};
use super::paths::{self, Base, Kind, PathWord};
use super::unit::{Slot, Unit, Word};
use super::unwrap::{Flag, FlagAliases};
use super::Action;

/// Regexes over paths: each matches a whole word; the probe judges glob words by every
/// path they could match.
#[derive(Debug)]
pub(crate) struct PathSet {
    pub set: RegexSet,
    pub probe: Probe,
    /// Whether some pattern can match a normal form (a word starting with `/` or `~`).
    pub paths: bool,
}

/// One regex over paths, with its probe.
#[derive(Debug)]
pub(crate) struct PathRegex {
    pub regex: Regex,
    pub probe: Probe,
    /// Whether the pattern can match a normal form (a word starting with `/` or `~`).
    pub paths: bool,
}

/// One compiled rule. Every condition that is present must hold.
#[derive(Debug)]
pub(crate) struct Rule {
    pub name: String,
    pub action: Action,
    pub message: Option<String>,
    pub flags: Vec<Flag<'static>>,
    pub args_all: Vec<PathRegex>,
    pub args_any: Option<PathSet>,
    pub cmdline: Option<Regex>,
    pub redirect: Option<PathSet>,
    pub input: Option<PathSet>,
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
    pub code_from: Option<GlobSet>,
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
    /// The query's working directory in normal form (none when it is not absolute).
    pub cwds: Vec<PathWord>,
    /// The home directory in normal form; empty when unknown.
    pub home: Vec<u8>,
    pub agent: Option<&'q str>,
    pub session: Option<&'q str>,
    caller: &'q [&'q [u8]],
    caller_line: OnceCell<Vec<u8>>,
}

impl<'q> Context<'q> {
    pub fn new(query: &'q super::Query<'q>) -> Self {
        let cwds = match query.cwd.first() {
            Some(b'/') => vec![PathWord::plain(&paths::join(b"/", query.cwd))],
            _ => Vec::new(),
        };
        Context {
            cwd: query.cwd,
            cwds,
            home: paths::normal_home(query.home),
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

/// Path words a condition is matched against besides the words themselves: their plain
/// texts, and the globs among them.
#[derive(Default)]
struct Candidates {
    texts: Vec<Vec<u8>>,
    globs: Vec<Glob>,
}

impl Candidates {
    fn new(words: Vec<PathWord>, dots: Dots) -> Candidates {
        let mut found = Candidates::default();
        for word in words {
            match word.kind {
                Kind::Plain => found.texts.push(word.text),
                Kind::Glob => {
                    found.texts.push(paths::unescape(&word.text));
                    found.globs.extend(Glob::parse(&word.text, dots));
                }
            }
        }
        found
    }

    fn any(&self, words: &[Word<'_>], set: &PathSet) -> bool {
        words.iter().any(|w| set.set.is_match(w))
            || (set.paths
                && (self.texts.iter().any(|t| set.set.is_match(t))
                    || self.globs.iter().any(|g| set.probe.matches(g))))
    }

    fn any_one(&self, words: &[Word<'_>], one: &PathRegex) -> bool {
        words.iter().any(|w| one.regex.is_match(w))
            || (one.paths
                && (self.texts.iter().any(|t| one.regex.is_match(t))
                    || self.globs.iter().any(|g| one.probe.matches(g))))
    }
}

/// A unit with what rules ask of it computed once, when first asked: the command line,
/// canonical flags, and the path words of its arguments, writes and reads in normal form.
struct View<'u, 'w, 'c> {
    unit: &'u Unit<'w>,
    ctx: &'u Context<'c>,
    aliases: &'u FlagAliases,
    cmdline: OnceCell<Vec<u8>>,
    flags: OnceCell<Vec<Flag<'u>>>,
    path_args: OnceCell<Vec<PathWord>>,
    cwds: OnceCell<Cow<'u, [PathWord]>>,
    args: OnceCell<Candidates>,
    writes: OnceCell<Candidates>,
    reads: OnceCell<Candidates>,
}

impl<'u, 'w, 'c> View<'u, 'w, 'c> {
    fn new(unit: &'u Unit<'w>, ctx: &'u Context<'c>, aliases: &'u FlagAliases) -> Self {
        View {
            unit,
            ctx,
            aliases,
            cmdline: OnceCell::new(),
            flags: OnceCell::new(),
            path_args: OnceCell::new(),
            cwds: OnceCell::new(),
            args: OnceCell::new(),
            writes: OnceCell::new(),
            reads: OnceCell::new(),
        }
    }

    fn cmdline(&self) -> &[u8] {
        self.cmdline.get_or_init(|| self.unit.argv.join(&b' '))
    }

    fn flags(&self) -> &[Flag<'_>] {
        self.flags
            .get_or_init(|| self.aliases.flags_of(&self.unit.program, self.unit.args()))
    }

    /// The arguments as owned path words, for the few programs whose options say more.
    fn path_args(&self) -> &[PathWord] {
        self.path_args.get_or_init(|| self.unit.path_args())
    }

    fn dots(&self) -> Dots {
        self.unit.scope.as_ref().map_or(Dots::Hidden, |s| s.dots)
    }

    /// The directories the unit may run in.
    fn cwds(&self) -> &[PathWord] {
        self.cwds.get_or_init(|| {
            self.unit
                .working_dirs(&self.ctx.cwds, &self.ctx.home, || self.path_args())
        })
    }

    fn base(&self) -> Base<'_> {
        Base {
            home: &self.ctx.home,
            cwds: self.cwds(),
            dots: self.dots(),
        }
    }

    /// The paths of the arguments and inside them (`-F f=@P`, `--config=P`), in normal form.
    fn args(&self) -> &Candidates {
        self.args.get_or_init(|| {
            let base = self.base();
            let mut found = Vec::new();
            for (i, arg) in self.unit.args().iter().enumerate() {
                let word = self.unit.path_ref(Slot::Arg(i + 1), arg);
                // A relative glob means nothing until joined to a directory (`*` is no `~`).
                if word.kind == Kind::Glob && word.is_rooted() {
                    found.push(word.to_owned());
                }
                paths::forms(word, &base, &mut found);
                let mut inside = Vec::new();
                paths::embedded(word, &mut inside);
                for part in inside {
                    paths::forms(part.as_ref(), &base, &mut found);
                    if part.kind == Kind::Plain || part.is_rooted() {
                        found.push(part);
                    }
                }
            }
            Candidates::new(found, base.dots)
        })
    }

    /// Files the unit writes besides its redirection targets: what its arguments name
    /// (`tee F`), and all of them in normal form.
    fn writes(&self) -> &Candidates {
        self.writes.get_or_init(|| {
            let named = files::writes(self.unit.name(), || self.path_args());
            self.files(&self.unit.redirects, Slot::Redirect, named)
        })
    }

    /// Files the unit reads besides its redirected input: what its arguments name
    /// (`source F`), and all of them in normal form.
    fn reads(&self) -> &Candidates {
        self.reads.get_or_init(|| {
            let named = files::reads(self.unit.name(), || self.path_args());
            self.files(&self.unit.inputs, Slot::Input, named)
        })
    }

    fn files(
        &self,
        redirected: &[Word<'_>],
        slot: fn(usize) -> Slot,
        named: Vec<PathWord>,
    ) -> Candidates {
        if redirected.is_empty() && named.is_empty() {
            return Candidates::default();
        }
        let base = self.base();
        let mut found = Vec::new();
        for (i, word) in redirected.iter().enumerate() {
            let word = self.unit.path_ref(slot(i), word);
            paths::forms(word, &base, &mut found);
            if word.kind == Kind::Glob && word.is_rooted() {
                found.push(word.to_owned());
            }
        }
        for word in named {
            paths::forms(word.as_ref(), &base, &mut found);
            if word.kind == Kind::Plain || word.is_rooted() {
                found.push(word);
            }
        }
        Candidates::new(found, base.dots)
    }

    /// The unit's directories as rules about the working directory see them.
    fn cwd_texts(&self) -> Vec<Vec<u8>> {
        let base = Base {
            home: &self.ctx.home,
            cwds: &[],
            dots: self.dots(),
        };
        let mut found = Vec::new();
        for cwd in self.cwds() {
            paths::forms(cwd.as_ref(), &base, &mut found);
            found.push(cwd.clone());
        }
        if found.is_empty() {
            found.push(PathWord::plain(self.ctx.cwd));
        }
        found.into_iter().map(|w| w.text).collect()
    }
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
        let view = View::new(unit, ctx, aliases);
        self.collect_candidates(&view, scratch);
        let mut best: Option<&Rule> = None;
        for &idx in &scratch.candidates {
            let rule = &self.rules[idx as usize];
            if best.is_some_and(|b| b.action >= rule.action) {
                continue;
            }
            if rule.matches(&view) {
                best = Some(rule);
                if rule.action == Action::Deny {
                    break;
                }
            }
        }
        best
    }

    fn collect_candidates(&self, view: &View<'_, '_, '_>, scratch: &mut Scratch) {
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
    fn matches(&self, view: &View<'_, '_, '_>) -> bool {
        let (unit, ctx) = (view.unit, view.ctx);
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
            && glob_words(&self.via, &unit.via)
            && glob_words(&self.env, &unit.env)
            && glob_words(&self.fed_by, &unit.fed_by)
            && glob_words(&self.feeds, &unit.feeds)
            && glob_words(&self.code_from, &unit.code_from)
            && self.flags.iter().all(|f| view.flags().contains(f))
            && self
                .not_program
                .as_ref()
                .is_none_or(|set| !set.is_match_candidate(&candidate(unit.name())))
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
            && self.cwd.as_ref().is_none_or(|set| {
                view.cwd_texts()
                    .iter()
                    .any(|cwd| set.is_match_candidate(&candidate(cwd)))
            })
            && self
                .args_all
                .iter()
                .all(|one| view.args().any_one(unit.args(), one))
            && self
                .args_any
                .as_ref()
                .is_none_or(|set| view.args().any(unit.args(), set))
            && self
                .redirect
                .as_ref()
                .is_none_or(|set| view.writes().any(&unit.redirects, set))
            && self
                .input
                .as_ref()
                .is_none_or(|set| view.reads().any(&unit.inputs, set))
    }
}
