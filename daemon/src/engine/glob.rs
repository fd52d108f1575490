//! Glob words judged by what they could match. A shell word with an unquoted `*`, `?`,
//! `[…]` or extglob group names every path it could expand to, so `cat ~/.ss?/id_*` must
//! be judged like `cat ~/.ssh/id_rsa`. The engine never looks at the file system: a glob
//! matches a rule's pattern when the glob's language and the pattern's language intersect.
//! [`Probe`] decides that on the product of the glob's automaton with a lazy DFA of the
//! rule's regexes (`regex-automata`), bounded in the states it visits.
//!
//! Only the glob's own text may name what a pattern protects. A pattern that floats
//! (`.*\.ssh/id_…`, `.*_history`, `.*\.aws(/.*)?`) matches when the glob's *literal*
//! characters take part in its core, the part between the leading `.*` and a generic tail
//! (`.*` or `(/.*)?`): `~/.bash_hist*` matches `.*_history`, `build/*` does not, although
//! `build/x_history` could exist. A wildcard alone names nothing in particular; otherwise
//! every `rm -rf build/*` would be a history wipe. Anchored patterns (`/[/.]*`,
//! `(~|\$HOME)/…`) need no such help: `/*` is judged as every top-level directory.
//!
//! As in bash, wildcards do not match a `.` that starts a path component unless `dotglob`
//! is on ([`Dots`]); `**` also crosses `/` (`globstar`, assumed on). What `find` yields
//! (`{}` of `-exec`) is written with [`FOUND_ANY`] and [`FOUND_DIRS`].
//!
//! Glob text uses the backslash as escape: `\*` is a literal star (quoted in the shell).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Whether wildcards match a `.` at the start of a path component (bash's `dotglob`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum Dots {
    #[default]
    Hidden,
    Matched,
}

/// In glob text, what `find` yields below a directory (see `unwrap`): any path, hidden
/// files included. No argument can contain a NUL byte, so no word can spell these.
pub(crate) const FOUND_ANY: &[u8] = b"\0a";
/// Any number of directories (hidden ones included), each with its `/`: what comes
/// between a `find` starting point and a name that `-name` matches.
pub(crate) const FOUND_DIRS: &[u8] = b"\0d";

/// Most product states one probe visits; beyond it the probe counts as a match.
const MAX_VISITS: usize = 20_000;
/// Longest glob the engine reasons about: longer words are not paths (PATH_MAX is 4096).
pub(crate) const MAX_GLOB_LEN: usize = 4096;
/// Memory for the lazy DFA of one rule condition (a policy has a few dozen; a DFA that
/// fills it is cleared, and the probe in progress counts as a match).
const DFA_CACHE_BYTES: usize = 256 << 10;

/// One element of a glob.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Elem {
    Byte(u8),
    /// `?` or `[…]`: one byte of the set (never `/`).
    Class(Box<[bool; 256]>),
    /// `*` (within a component), `**` (across `/`), or an extglob group.
    Star {
        slashes: bool,
        dots: bool,
    },
    /// [`FOUND_DIRS`]: nothing, or anything that ends with `/`.
    Dirs,
}

/// A parsed glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Glob {
    elems: Vec<Elem>,
    /// Where each element starts in `text`, so a rest of the glob is a slice of it.
    starts: Vec<usize>,
    text: Vec<u8>,
    dots: Dots,
}

/// Whether `text` (glob text with backslash escapes) has an unescaped glob character.
pub(crate) fn has_wildcard(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 1,
            b'*' | b'?' | 0 => return true,
            b'[' if bracket(text, i).is_some() => return true,
            b'@' | b'+' | b'!' if text.get(i + 1) == Some(&b'(') => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The set of a bracket expression starting at `text[at] == b'['` and the index after it,
/// or `None` when it is not closed (then `[` is literal, as in bash).
fn bracket(text: &[u8], at: usize) -> Option<(Box<[bool; 256]>, usize)> {
    let mut i = at + 1;
    let negated = matches!(text.get(i), Some(b'!' | b'^'));
    if negated {
        i += 1;
    }
    let mut set = Box::new([false; 256]);
    let mut first = true;
    loop {
        let &c = text.get(i)?;
        if c == b']' && !first {
            i += 1;
            break;
        }
        first = false;
        if c == b'[' && text.get(i + 1) == Some(&b':') {
            let end = text[i + 2..].windows(2).position(|w| w == b":]")? + i + 2;
            for b in 0..=255u8 {
                if in_named_class(&text[i + 2..end], b) {
                    set[usize::from(b)] = true;
                }
            }
            i = end + 2;
            continue;
        }
        let (low, next) = match c {
            b'\\' => (*text.get(i + 1)?, i + 2),
            _ => (c, i + 1),
        };
        if text.get(next) == Some(&b'-') && text.get(next + 1).is_some_and(|&h| h != b']') {
            let (high, after) = match text[next + 1] {
                b'\\' => (*text.get(next + 2)?, next + 3),
                h => (h, next + 2),
            };
            for b in low..=high.max(low) {
                set[usize::from(b)] = true;
            }
            i = after;
        } else {
            set[usize::from(low)] = true;
            i = next;
        }
    }
    if negated {
        for b in set.iter_mut() {
            *b = !*b;
        }
    }
    set[usize::from(b'/')] = false;
    Some((set, i))
}

fn in_named_class(name: &[u8], b: u8) -> bool {
    match name {
        b"alpha" => b.is_ascii_alphabetic(),
        b"digit" => b.is_ascii_digit(),
        b"alnum" => b.is_ascii_alphanumeric(),
        b"upper" => b.is_ascii_uppercase(),
        b"lower" => b.is_ascii_lowercase(),
        b"space" => b.is_ascii_whitespace() || b == 0x0b,
        b"blank" => b == b' ' || b == b'\t',
        b"punct" => b.is_ascii_punctuation(),
        b"xdigit" => b.is_ascii_hexdigit(),
        b"cntrl" => b.is_ascii_control(),
        b"print" => (0x20..0x7f).contains(&b),
        b"graph" => (0x21..0x7f).contains(&b),
        b"word" => b.is_ascii_alphanumeric() || b == b'_',
        // An unknown class: anything, which can only widen what the glob matches.
        _ => true,
    }
}

/// The index after the `)` that closes the extglob group opened at `text[open] == b'('`.
fn group_end(text: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

impl Glob {
    /// Parses glob text (backslash escapes literal characters); `None` when it has no
    /// wildcard or is longer than [`MAX_GLOB_LEN`].
    pub fn parse(text: &[u8], dots: Dots) -> Option<Glob> {
        if text.len() > MAX_GLOB_LEN || !has_wildcard(text) {
            return None;
        }
        let mut elems = Vec::with_capacity(text.len());
        let mut starts = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            starts.push(i);
            let c = text[i];
            let extglob =
                matches!(c, b'?' | b'*' | b'@' | b'+' | b'!') && text.get(i + 1) == Some(&b'(');
            if extglob {
                if let Some(end) = group_end(text, i + 1) {
                    // Any string within a component: the group's alternatives may start
                    // with a literal dot, so it may match one.
                    elems.push(Elem::Star {
                        slashes: false,
                        dots: true,
                    });
                    i = end;
                    continue;
                }
            }
            match c {
                b'\\' if i + 1 < text.len() => {
                    elems.push(Elem::Byte(text[i + 1]));
                    i += 2;
                }
                b'*' => {
                    let run = text[i..].iter().take_while(|&&b| b == b'*').count();
                    elems.push(Elem::Star {
                        slashes: run > 1,
                        dots: false,
                    });
                    i += run;
                }
                0 => {
                    elems.push(match text.get(i + 1) {
                        Some(b'd') => Elem::Dirs,
                        _ => Elem::Star {
                            slashes: true,
                            dots: true,
                        },
                    });
                    i += 2;
                }
                b'?' => {
                    let mut set = Box::new([true; 256]);
                    set[usize::from(b'/')] = false;
                    elems.push(Elem::Class(set));
                    i += 1;
                }
                b'[' => match bracket(text, i) {
                    Some((set, next)) => {
                        elems.push(Elem::Class(set));
                        i = next;
                    }
                    None => {
                        elems.push(Elem::Byte(b'['));
                        i += 1;
                    }
                },
                _ => {
                    elems.push(Elem::Byte(c));
                    i += 1;
                }
            }
        }
        Some(Glob {
            elems,
            starts,
            text: text.to_vec(),
            dots,
        })
    }

    /// Whether the element at `pos` may produce byte `b`; `at_start` says whether `b`
    /// would begin a path component.
    fn produces(&self, elem: &Elem, b: u8, at_start: bool) -> bool {
        let hidden = b == b'.' && at_start && self.dots == Dots::Hidden;
        match elem {
            Elem::Byte(c) => *c == b,
            Elem::Class(set) => set[usize::from(b)] && !hidden,
            Elem::Star { slashes, dots } => (b != b'/' || *slashes) && (!hidden || *dots),
            Elem::Dirs => true,
        }
    }

    /// The glob texts that remain after a prefix of this glob matched `home` exactly, as
    /// `~`-rooted glob texts: `/srv/d*/x` with home `/srv/dev` gives `~/x`. A `**` that is
    /// still running at the end of the home keeps running (`/**/k` gives `~/**/k`).
    pub fn under_home(&self, home: &[u8]) -> Vec<Vec<u8>> {
        // Positions reachable after each home byte, with stars skippable.
        let mut positions = vec![0usize];
        for (at, &b) in home.iter().enumerate() {
            let at_start = at == 0 || home[at - 1] == b'/';
            let mut next = Vec::new();
            for &pos in &closure(&self.elems, &positions) {
                let Some(elem) = self.elems.get(pos) else {
                    continue;
                };
                if !self.produces(elem, b, at_start) {
                    continue;
                }
                let to = match elem {
                    Elem::Star { .. } | Elem::Dirs => pos,
                    _ => pos + 1,
                };
                if !next.contains(&to) {
                    next.push(to);
                }
            }
            if next.is_empty() {
                return Vec::new();
            }
            positions = next;
        }
        let mut rests = Vec::new();
        for pos in closure(&self.elems, &positions) {
            let rest = &self.elems[pos..];
            let keeps_running = matches!(
                rest.first(),
                Some(Elem::Star { slashes: true, .. } | Elem::Dirs)
            );
            let at_boundary = matches!(rest.first(), None | Some(Elem::Byte(b'/')));
            if at_boundary || keeps_running {
                let mut text = b"~".to_vec();
                if keeps_running {
                    text.push(b'/');
                }
                let from = self.starts.get(pos).copied().unwrap_or(self.text.len());
                text.extend_from_slice(&self.text[from..]);
                if !rests.contains(&text) {
                    rests.push(text);
                }
            }
        }
        rests
    }
}

/// `positions` and every position reachable from them by skipping stars.
fn closure(elems: &[Elem], positions: &[usize]) -> Vec<usize> {
    let mut all = positions.to_vec();
    let mut i = 0;
    while i < all.len() {
        let pos = all[i];
        let skips = matches!(elems.get(pos), Some(Elem::Star { .. } | Elem::Dirs));
        if skips && !all.contains(&(pos + 1)) {
            all.push(pos + 1);
        }
        i += 1;
    }
    all
}

/// Anchored regexes compiled for glob probes: patterns that float (start with `.*`) are
/// kept apart as their core, without that prefix and without a generic tail, so the
/// search knows where their specific part starts and ends.
struct Prepared {
    anchored: Option<Lazy>,
    /// One DFA of cores per kind of tail.
    floating: Vec<(Tail, Lazy)>,
}

/// What may follow the core of a floating pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tail {
    Nothing,
    /// `.*`
    Anything,
    /// `(/.*)?`: nothing, or a path below.
    Below,
}

/// A lazy DFA with its cache. Probes of one policy may run on several threads at once;
/// each takes the cache for the length of one probe.
struct Lazy {
    dfa: DFA,
    cache: Mutex<Cache>,
}

/// What a probe found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    Match,
    NoMatch,
    /// Too many states or the DFA gave up: counted as a match (fail closed).
    Undecided,
}

/// The regexes of one rule condition, ready to be intersected with globs. Built on first
/// use: most policies never see a glob for most of their rules.
#[derive(Debug)]
pub(crate) struct Probe {
    patterns: Vec<String>,
    prepared: OnceLock<Option<PreparedBox>>,
}

/// `Prepared` behind a box, so `Probe` stays `Debug` without the DFA's output.
struct PreparedBox(Box<Prepared>);

impl std::fmt::Debug for PreparedBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared")
    }
}

impl Probe {
    /// A probe for `patterns`, each matching a whole word (as the rule's regexes do).
    pub fn new(patterns: &[String]) -> Probe {
        Probe {
            patterns: patterns.to_vec(),
            prepared: OnceLock::new(),
        }
    }

    /// Whether some path that `glob` could match is matched by one of the patterns.
    pub fn matches(&self, glob: &Glob) -> bool {
        let Some(prepared) = self.prepared.get_or_init(|| prepare(&self.patterns)) else {
            return false;
        };
        let prepared = &prepared.0;
        let anchored = prepared
            .anchored
            .as_ref()
            .map_or(Found::NoMatch, |lazy| search(lazy, glob, Mode::Anchored));
        if anchored != Found::NoMatch {
            return true;
        }
        prepared
            .floating
            .iter()
            .any(|(tail, lazy)| search(lazy, glob, Mode::Floating(*tail)) != Found::NoMatch)
    }
}

fn parse_hir(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
        .build()
        .parse(pattern)
        .ok()
}

/// Whether `pattern` can match a word that starts with `/` or `~`: the normal forms the
/// engine derives are all such words, so a pattern that cannot (`push`, `--force`) is only
/// ever matched against the words as written.
pub(crate) fn may_match_a_path(pattern: &str) -> bool {
    let Some(hir) = parse_hir(pattern) else {
        return true;
    };
    let (first, _) = first_bytes(&hir);
    first[usize::from(b'/')] || first[usize::from(b'~')]
}

/// The bytes a match of `hir` can start with, and whether it can match the empty string.
fn first_bytes(hir: &Hir) -> ([bool; 256], bool) {
    let mut set = [false; 256];
    let nullable = match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(literal) => match literal.0.first() {
            Some(&b) => {
                set[usize::from(b)] = true;
                false
            }
            None => true,
        },
        HirKind::Class(Class::Bytes(class)) => {
            for range in class.ranges() {
                for b in range.start()..=range.end() {
                    set[usize::from(b)] = true;
                }
            }
            false
        }
        // The parser keeps small ASCII classes as Unicode ones (`a|b` is `[ab]`).
        HirKind::Class(Class::Unicode(class)) => {
            for range in class.ranges() {
                for c in u32::from(range.start())..=u32::from(range.end()).min(0x7f) {
                    set[c as usize] = true;
                }
                if u32::from(range.end()) > 0x7f {
                    set[0x80..].fill(true);
                }
            }
            false
        }
        HirKind::Repetition(repetition) => {
            let (sub, nullable) = first_bytes(&repetition.sub);
            set = sub;
            nullable || repetition.min == 0
        }
        HirKind::Capture(capture) => {
            let (sub, nullable) = first_bytes(&capture.sub);
            set = sub;
            nullable
        }
        HirKind::Concat(parts) => {
            let mut nullable = true;
            for part in parts {
                let (sub, part_nullable) = first_bytes(part);
                add_bytes(&mut set, &sub);
                if !part_nullable {
                    nullable = false;
                    break;
                }
            }
            nullable
        }
        HirKind::Alternation(alternatives) => {
            let mut nullable = false;
            for alternative in alternatives {
                let (sub, alternative_nullable) = first_bytes(alternative);
                add_bytes(&mut set, &sub);
                nullable |= alternative_nullable;
            }
            nullable
        }
    };
    (set, nullable)
}

fn add_bytes(set: &mut [bool; 256], more: &[bool; 256]) {
    for (b, yes) in more.iter().enumerate() {
        set[b] |= yes;
    }
}

/// Splits each pattern into its top-level alternatives; those that start with `.*` lose
/// that prefix and go to the floating DFA. `None` when a DFA cannot be built (then globs
/// are judged as written only, as before this module existed).
fn prepare(patterns: &[String]) -> Option<PreparedBox> {
    let mut anchored = Vec::new();
    let mut floating: Vec<(Tail, Vec<Hir>)> = Vec::new();
    for pattern in patterns {
        let hir = parse_hir(pattern)?;
        for branch in branches(&hir) {
            match floating_core(branch) {
                Some((core, tail)) => match floating.iter_mut().find(|(t, _)| *t == tail) {
                    Some((_, cores)) => cores.push(core),
                    None => floating.push((tail, vec![core])),
                },
                None => anchored.push(branch.clone()),
            }
        }
    }
    let mut built = Vec::new();
    for (tail, cores) in floating {
        built.extend(lazy_dfa(&cores)?.map(|lazy| (tail, lazy)));
    }
    Some(PreparedBox(Box::new(Prepared {
        anchored: lazy_dfa(&anchored)?,
        floating: built,
    })))
}

/// The top-level alternatives of a pattern (through capture groups).
fn branches(hir: &Hir) -> Vec<&Hir> {
    match hir.kind() {
        HirKind::Capture(capture) => branches(&capture.sub),
        HirKind::Alternation(alternatives) => alternatives.iter().flat_map(branches).collect(),
        _ => vec![hir],
    }
}

/// Whether `hir` is `.*` (any bytes, any number of times).
fn is_any(hir: &Hir) -> bool {
    let HirKind::Repetition(repetition) = hir.kind() else {
        return false;
    };
    let any_byte = match repetition.sub.kind() {
        HirKind::Class(Class::Bytes(class)) => {
            class.ranges().len() == 1
                && class.ranges()[0].start() == 0
                && class.ranges()[0].end() == 255
        }
        _ => false,
    };
    any_byte && repetition.min == 0 && repetition.max.is_none()
}

/// Whether `hir` is `(/.*)?`.
fn is_below(hir: &Hir) -> bool {
    let HirKind::Repetition(optional) = hir.kind() else {
        return false;
    };
    let mut sub = &*optional.sub;
    while let HirKind::Capture(capture) = sub.kind() {
        sub = &capture.sub;
    }
    let HirKind::Concat(parts) = sub.kind() else {
        return false;
    };
    optional.min == 0
        && optional.max == Some(1)
        && parts.len() == 2
        && matches!(parts[0].kind(), HirKind::Literal(literal) if &*literal.0 == b"/")
        && is_any(&parts[1])
}

/// The core and tail of a pattern that starts with `.*`.
fn floating_core(hir: &Hir) -> Option<(Hir, Tail)> {
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    if !parts.first().is_some_and(is_any) {
        return None;
    }
    let rest = &parts[1..];
    let (core, tail) = match rest.split_last() {
        Some((last, core)) if is_any(last) => (core, Tail::Anything),
        Some((last, core)) if is_below(last) => (core, Tail::Below),
        _ => (rest, Tail::Nothing),
    };
    Some((Hir::concat(core.to_vec()), tail))
}

/// `Some(None)` for no patterns; `None` when the DFA cannot be built.
fn lazy_dfa(hirs: &[Hir]) -> Option<Option<Lazy>> {
    if hirs.is_empty() {
        return Some(None);
    }
    let nfa = thompson::Compiler::new()
        .configure(thompson::Config::new().utf8(false).shrink(true))
        .build_many_from_hir(hirs)
        .ok()?;
    let dfa = DFA::builder()
        .configure(
            DFA::config()
                // Every pattern counts, not only the first to match (leftmost-first
                // semantics would drop a longer match of a later pattern).
                .match_kind(MatchKind::All)
                .cache_capacity(DFA_CACHE_BYTES)
                .skip_cache_capacity_check(true),
        )
        .build_from_nfa(nfa)
        .ok()?;
    let cache = Mutex::new(dfa.create_cache());
    Some(Some(Lazy { dfa, cache }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The DFA starts with the glob and ends with it.
    Anchored,
    /// The DFA of cores may start anywhere, must read a literal glob byte other than `/`,
    /// and may end where the rest of the glob fits the tail.
    Floating(Tail),
}

/// A state of the product: glob position, whether the next byte starts a component, the
/// DFA state (`None`: a floating pattern has not started yet), and whether a literal glob
/// byte was read since it started.
type Node = (u32, bool, Option<LazyStateID>, bool);

fn search(lazy: &Lazy, glob: &Glob, mode: Mode) -> Found {
    let mut cache = lazy
        .cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let clears = cache.clear_count();
    let found = walk(&lazy.dfa, &mut cache, glob, mode);
    if cache.clear_count() != clears {
        // State ids from before the clear were compared with ids after it.
        cache.reset(&lazy.dfa);
        return Found::Undecided;
    }
    found.unwrap_or(Found::Undecided)
}

/// Depth-first search of the product; `None` when the DFA gave up.
fn walk(dfa: &DFA, cache: &mut Cache, glob: &Glob, mode: Mode) -> Option<Found> {
    let start = dfa
        .start_state(cache, &start::Config::new().anchored(Anchored::Yes))
        .ok()?;
    let (first, tail): (Node, Tail) = match mode {
        Mode::Anchored => ((0, true, Some(start), true), Tail::Nothing),
        Mode::Floating(tail) => ((0, true, None, false), tail),
    };
    let mut steps = Steps::new(glob, dfa);
    let mut seen: HashSet<Node> = HashSet::new();
    let mut stack = vec![first];
    while let Some(node) = stack.pop() {
        if !seen.insert(node) {
            continue;
        }
        if seen.len() > MAX_VISITS {
            return Some(Found::Undecided);
        }
        let (pos, at_start, state, literal) = node;
        if skippable(glob.elems.get(pos as usize), at_start) {
            stack.push((pos + 1, at_start, state, literal));
        }
        let Some(state) = state else {
            // A floating pattern may start here, or let `.*` take the next byte.
            stack.push((pos, at_start, Some(start), false));
            for &(to, b) in steps.from(pos as usize, at_start) {
                stack.push((to, b == b'/', None, false));
            }
            continue;
        };
        if literal && fits(glob, pos as usize, at_start, tail) {
            let end = dfa.next_eoi_state(cache, state).ok()?;
            if end.is_match() {
                return Some(Found::Match);
            }
        }
        if pos as usize == glob.elems.len() {
            continue;
        }
        let is_literal = matches!(glob.elems[pos as usize], Elem::Byte(b) if b != b'/');
        for &(to, b) in steps.from(pos as usize, at_start) {
            let next = dfa.next_state(cache, state, b).ok()?;
            if !next.is_dead() {
                stack.push((to, b == b'/', Some(next), literal || is_literal));
            }
        }
    }
    Some(Found::NoMatch)
}

/// Whether the element can match nothing here: a star always, [`FOUND_DIRS`] only at
/// the start of a component (it ends with `/`).
fn skippable(elem: Option<&Elem>, at_start: bool) -> bool {
    match elem {
        Some(Elem::Star { .. }) => true,
        Some(Elem::Dirs) => at_start,
        _ => false,
    }
}

/// Whether the glob from `pos` on can be what `tail` accepts.
fn fits(glob: &Glob, mut pos: usize, mut at_start: bool, tail: Tail) -> bool {
    match tail {
        Tail::Anything => true,
        Tail::Nothing => {
            while skippable(glob.elems.get(pos), at_start) {
                pos += 1;
            }
            pos == glob.elems.len()
        }
        Tail::Below => loop {
            match glob.elems.get(pos) {
                None | Some(Elem::Byte(b'/') | Elem::Star { slashes: true, .. } | Elem::Dirs) => {
                    return true;
                }
                elem if skippable(elem, at_start) => {
                    pos += 1;
                    at_start = false;
                }
                _ => return false,
            }
        },
    }
}

/// The steps out of each glob position: (next position, one representative byte of each
/// DFA byte class the element can produce), computed once per position and component
/// start. `/` and `.` are always their own representatives, since they decide components
/// and hidden files.
struct Steps<'g> {
    glob: &'g Glob,
    classes: &'g regex_automata::util::alphabet::ByteClasses,
    known: Vec<Option<Vec<(u32, u8)>>>,
}

impl<'g> Steps<'g> {
    fn new(glob: &'g Glob, dfa: &'g DFA) -> Self {
        Steps {
            glob,
            classes: dfa.byte_classes(),
            known: vec![None; 2 * (glob.elems.len() + 1)],
        }
    }

    fn from(&mut self, pos: usize, at_start: bool) -> &[(u32, u8)] {
        let slot = 2 * pos + usize::from(at_start);
        let (glob, classes) = (self.glob, self.classes);
        self.known[slot].get_or_insert_with(|| {
            let Some(elem) = glob.elems.get(pos) else {
                return Vec::new();
            };
            let to = match elem {
                Elem::Star { .. } | Elem::Dirs => pos as u32,
                _ => pos as u32 + 1,
            };
            if let Elem::Byte(b) = elem {
                return vec![(to, *b)];
            }
            let mut seen_class = [false; 256];
            let mut found = Vec::new();
            for b in 0..=255u8 {
                if !glob.produces(elem, b, at_start) {
                    continue;
                }
                if b != b'/' && b != b'.' {
                    let class = usize::from(classes.get(b));
                    if std::mem::replace(&mut seen_class[class], true) {
                        continue;
                    }
                }
                found.push((to, b));
            }
            found
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(patterns: &[&str]) -> Probe {
        Probe::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    }

    fn glob(text: &str) -> Glob {
        Glob::parse(text.as_bytes(), Dots::Hidden).unwrap()
    }

    const SECRETS: &[&str] = &[
        r".*\.ssh/?\*?",
        r".*\.ssh/(id_[A-Za-z0-9_-]+|[^/]*\.pem|[^/]*_key|identity|\*)",
        r".*(Login Data|Cookies|key[34]\.db|logins\.json)",
        r".*\.(netrc|git-credentials|pypirc|vault-token)",
        r"/etc/(shadow|gshadow|sudoers)",
    ];

    #[test]
    fn a_glob_matches_the_protected_paths_it_could_name() {
        let secrets = probe(SECRETS);
        for word in [
            "~/.ss?/id_*",
            "~/.ssh/id_*",
            "~/.s*/id_rsa",
            "~/.*/id_rsa",
            "~/.[s]sh/id_rsa",
            "/home/*/.ssh/id_ed25519",
            "/etc/sha*",
            "/e?c/shadow",
            "~/.ss?",
            "~/.n[e]trc",
            "~/**/id_rsa",
        ] {
            assert!(secrets.matches(&glob(word)), "{word}");
        }
    }

    #[test]
    fn wildcards_alone_name_nothing_protected() {
        let secrets = probe(SECRETS);
        let history = probe(&[r".*_history"]);
        for word in [
            "~/project/*",
            "/home/dev/project/build/*",
            "~/project/*.rs",
            "src/**/*.ts",
            "*.pem",
        ] {
            assert!(!secrets.matches(&glob(word)), "{word}");
            assert!(!history.matches(&glob(word)), "{word}");
        }
        assert!(history.matches(&glob("~/.bash_hist*")));
        assert!(history.matches(&glob("~/.*_history")));
        assert!(history.matches(&glob("~/.*hist*")));
    }

    #[test]
    fn anchored_patterns_match_any_glob_of_their_language() {
        let system = probe(&[
            r"/+(bin|etc|usr|home)(/[/.]*)?\*?",
            r"(~|\$HOME)(/[/.]*)?\*?",
        ]);
        assert!(system.matches(&glob("/*")));
        assert!(system.matches(&glob("/?*")));
        assert!(system.matches(&glob("/e*")));
        assert!(system.matches(&glob("~/*")), "literal * of the pattern");
        assert!(!system.matches(&glob("/tmp/*")));
        assert!(!system.matches(&glob("~/project/*")));
        assert!(!system.matches(&glob("~/*.log")));
    }

    #[test]
    fn hidden_files_need_a_literal_dot_unless_dotglob() {
        let secrets = probe(SECRETS);
        assert!(!secrets.matches(&glob("~/?ssh/id_rsa")));
        assert!(!secrets.matches(&glob("~/[.]ssh/id_rsa")));
        let dotglob = Glob::parse(b"~/?ssh/id_rsa", Dots::Matched).unwrap();
        assert!(secrets.matches(&dotglob));
        let extglob = glob("~/@(.ssh)/id_rsa");
        assert!(secrets.matches(&extglob));
    }

    #[test]
    fn patterns_that_cannot_match_a_path_are_known() {
        for pattern in [
            r".*\.ssh/?",
            "/etc/shadow",
            r"(~|\$HOME)(/.*)?",
            r"(of=)?/var/log",
            "x?/y",
        ] {
            assert!(may_match_a_path(pattern), "{pattern}");
        }
        for pattern in ["push", r"\+.+", "-[a-z]*f|--force", "--delete.*", "(a|b)c"] {
            assert!(!may_match_a_path(pattern), "{pattern}");
        }
    }

    #[test]
    fn escaped_characters_are_literal() {
        assert_eq!(Glob::parse(br"~/\*", Dots::Hidden), None);
        assert!(has_wildcard(b"a[bc]"));
        assert!(!has_wildcard(b"a[bc"));
        assert!(!has_wildcard(br"a\*"));
        let star = probe(&[r"~/\*"]);
        assert!(!star.matches(&glob(r"~/\*x*")));
        assert!(star.matches(&glob(r"~/[*]")));
    }

    #[test]
    fn home_prefixes_are_found_in_globs() {
        let under = |text: &str| {
            glob(text)
                .under_home(b"/srv/dev")
                .into_iter()
                .map(|t| String::from_utf8(t).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(under("/srv/de?"), ["~"]);
        assert_eq!(under("/srv/d*/.ssh/*"), [r"~/.ssh/*"]);
        assert_eq!(under("/s*/*"), ["~"]);
        assert!(under("/srv/devx*").is_empty());
        assert!(under("/tmp/*").is_empty());
        assert_eq!(under("/**/id_rsa"), ["~/**/id_rsa", "~/id_rsa"]);
    }

    #[test]
    fn probes_are_bounded_and_fail_closed() {
        let secrets = probe(SECRETS);
        // Many stars over a large DFA: the search gives up and counts it as a match.
        let long = format!("/{}", "*/x".repeat(1000));
        let started = std::time::Instant::now();
        assert!(secrets.matches(&glob(&long)));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let too_long = "*".repeat(MAX_GLOB_LEN + 1);
        assert_eq!(Glob::parse(too_long.as_bytes(), Dots::Hidden), None);
    }

    #[test]
    fn find_results_are_any_path_below_hidden_ones_included() {
        let secrets = probe(SECRETS);
        let found = |root: &str, name: Option<&str>| {
            let mut text = root.as_bytes().to_vec();
            text.push(b'/');
            match name {
                Some(name) => {
                    text.extend_from_slice(FOUND_DIRS);
                    text.extend_from_slice(name.as_bytes());
                }
                None => text.extend_from_slice(FOUND_ANY),
            }
            Glob::parse(&text, Dots::Hidden).unwrap()
        };
        assert!(secrets.matches(&found("~/.ssh", None)));
        assert!(secrets.matches(&found("~", Some("id_*"))));
        assert!(!secrets.matches(&found("~/project", Some("__pycache__"))));
        assert!(!secrets.matches(&found("~/project", Some("*.o"))));
        let aws = probe(&[r".*\.aws(/.*)?"]);
        assert!(
            !aws.matches(&found("~/project", Some("x"))),
            "the tail takes no literal"
        );
        assert!(aws.matches(&glob("~/.aw?/credentials")));
    }
}
