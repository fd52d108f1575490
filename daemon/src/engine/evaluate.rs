//! The walk over everything a program start runs: the exec itself, what its wrappers run,
//! and every simple command of the shell strings it carries. Each command gets the action
//! of its strictest matching rule (or the policy default); the strictest of all wins.

use std::borrow::Cow;

use super::content::{self, Content, Derived, FileSource, Identity};
use super::matcher::{Context, Scratch};
use super::shell::{self, ShellError, MAX_DEPTH};
use super::unit::Unit;
use super::unwrap::{self, Inner};
use super::{Action, DecidedBy, Policy, Query, Verdict};

/// Who decided, for the verdict's `rule` and `message`.
#[derive(Clone, Copy)]
enum Decider<'p> {
    Default,
    Rule(&'p str, Option<&'p str>),
    Approved(&'p str),
    Unparsable,
}

struct Walk<'p> {
    policy: &'p Policy,
    scratch: Scratch,
    best: Option<(Action, Decider<'p>)>,
    /// The argv of the command that `best` came from (the exec itself, or a command it
    /// runs), so that a denial can name what matched rather than a whole shell script.
    deciding: Option<Vec<Vec<u8>>>,
    /// Why a command could not be read, when one could not.
    unparsable: Option<String>,
    /// What the program file of the start really is, from the caller.
    identity: Option<&'p Identity>,
    /// Scripts and files the walk has seen (see `content`).
    content: Content<'p>,
}

pub(crate) fn evaluate(policy: &Policy, query: &Query, files: &dyn FileSource) -> Verdict {
    let ctx = Context::new(query);
    let mut walk = Walk::new(policy, files);
    walk.identity = query.identity;
    walk.visit(&root_unit(query), &ctx, 0, None);
    walk.verdict()
}

pub(crate) fn evaluate_shell(
    policy: &Policy,
    command: &[u8],
    context: &Query,
    files: &dyn FileSource,
) -> Verdict {
    let ctx = Context::new(context);
    let mut walk = Walk::new(policy, files);
    walk.shell(command, &ctx, 0, None);
    walk.verdict()
}

/// The argv of every command the program start runs on its behalf, as [`evaluate`] judges
/// them (the exec itself excluded): what wrappers run and each simple command of its shell
/// strings, outermost first. A shell string that cannot be parsed contributes nothing.
pub fn unwrapped_commands(query: &Query) -> Vec<Vec<Vec<u8>>> {
    let mut commands = Vec::new();
    let mut collector = Collector {
        content: Content::new(&content::NoFiles),
        identity: query.identity,
        cwd: query.cwd,
    };
    collector.collect(&root_unit(query), 0, &mut commands);
    commands.remove(0);
    commands
}

/// The program start itself: its resolved path (else argv[0]) and its argv.
fn root_unit<'q>(query: &Query<'q>) -> Unit<'q> {
    let program: &[u8] = match (query.program, query.argv.first()) {
        (b"", Some(first)) => first,
        (program, _) => program,
    };
    let mut argv: Vec<Cow<[u8]>> = query.argv.iter().map(|a| Cow::Borrowed(*a)).collect();
    if argv.is_empty() {
        argv.push(Cow::Borrowed(program));
    }
    Unit {
        program: Cow::Borrowed(program),
        argv,
        ..Unit::default()
    }
}

/// What [`unwrapped_commands`] needs to follow what really runs, as the walk does.
struct Collector<'q> {
    content: Content<'q>,
    identity: Option<&'q Identity>,
    cwd: &'q [u8],
}

impl Collector<'_> {
    /// Appends `unit`'s argv and those of everything it runs, with the depths
    /// [`Walk::visit`] uses, so exactly the units it would judge.
    fn collect(&mut self, unit: &Unit<'_>, depth: usize, commands: &mut Vec<Vec<Vec<u8>>>) {
        if depth > MAX_DEPTH {
            return;
        }
        commands.push(unit.argv.iter().map(|word| word.to_vec()).collect());
        for run in unwrap::inner(unit) {
            match run {
                Inner::Command { start, end, .. } => {
                    let child = unit.child(&unit.argv[start..end], &unit.program);
                    self.collect(&child, depth + 1, commands);
                }
                Inner::Shell(text) => self.collect_shell(&text, depth + 1, commands),
            }
        }
        for item in derived(&mut self.content, self.identity, unit, self.cwd, depth) {
            match item {
                Derived::Command(command) => {
                    let words = content::words(&command.argv);
                    self.collect(&derived_unit(unit, &command, &words), depth + 1, commands);
                }
                Derived::Shell(text) => self.collect_shell(&text, depth + 1, commands),
                Derived::Unreadable(_) => {}
            }
        }
    }

    fn collect_shell(&mut self, text: &[u8], depth: usize, commands: &mut Vec<Vec<Vec<u8>>>) {
        for parsed in shell::parse(text, depth).unwrap_or_default() {
            self.collect(&parsed, depth + 1, commands);
        }
    }
}

/// What `unit` really runs beyond its words (see `content`): for the start itself, the
/// program its file is; for every unit, the scripts it runs and what its code does.
fn derived(
    content: &mut Content<'_>,
    identity: Option<&Identity>,
    unit: &Unit<'_>,
    cwd: &[u8],
    depth: usize,
) -> Vec<Derived> {
    let mut derived = match (depth, identity) {
        (0, Some(identity)) => content::identity(unit, identity),
        _ => Vec::new(),
    };
    derived.extend(content.derive(unit, cwd));
    derived
}

/// The unit that runs a derived command on behalf of `parent`, with what it reads and
/// writes.
fn derived_unit<'u>(
    parent: &'u Unit<'_>,
    command: &'u content::Command,
    words: &'u [Cow<'u, [u8]>],
) -> Unit<'u> {
    let mut child = parent.child(words, &parent.program);
    child
        .inputs
        .extend(command.inputs.iter().map(|p| Cow::Borrowed(&p[..])));
    child
        .redirects
        .extend(command.writes.iter().map(|p| Cow::Borrowed(&p[..])));
    if command.stdin == content::Stdin::Unused {
        child.stdin_text = None;
    }
    child
}

impl<'p> Walk<'p> {
    fn new(policy: &'p Policy, files: &'p dyn FileSource) -> Self {
        Walk {
            policy,
            scratch: Scratch::default(),
            best: None,
            deciding: None,
            unparsable: None,
            identity: None,
            content: Content::new(files),
        }
    }

    /// Keeps `action` when it is stricter than what was found so far; `unit` is the
    /// command it judged (none for a shell string that could not be read).
    fn offer(&mut self, action: Action, decider: Decider<'p>, unit: Option<&Unit<'_>>) {
        if self.best.is_none_or(|(best, _)| action > best) {
            self.best = Some((action, decider));
            self.deciding = unit.map(|u| u.argv.iter().map(|w| w.to_vec()).collect());
        }
    }

    fn denied(&self) -> bool {
        matches!(self.best, Some((Action::Deny, _)))
    }

    /// Judges one unit, then everything it runs. `approved` is the `[[approved]]` entry
    /// that covers an enclosing command: it turns `ask` and `log` into `allow`, never `deny`.
    fn visit(
        &mut self,
        unit: &Unit<'_>,
        ctx: &Context<'_>,
        depth: usize,
        approved: Option<&'p str>,
    ) {
        if self.denied() {
            return;
        }
        if depth > MAX_DEPTH {
            self.fail(ShellError::TooDeep);
            return;
        }
        let policy = self.policy;
        let approved = approved.or_else(|| policy.approval_for(unit, ctx));
        let inner = unwrap::inner(unit);
        let matched = policy
            .rules
            .best(unit, ctx, &policy.aliases, &mut self.scratch)
            .map(|r| (r.action, Decider::Rule(&r.name, r.message.as_deref())));
        // A wrapper that no rule names is judged by what it runs, not by the default.
        let decided = matched.or((inner.is_empty()).then_some((policy.default, Decider::Default)));
        if let Some((action, decider)) = decided {
            match approved {
                Some(name) if matches!(action, Action::Ask | Action::Log) => {
                    self.offer(Action::Allow, Decider::Approved(name), Some(unit))
                }
                _ => self.offer(action, decider, Some(unit)),
            }
        }
        for run in inner {
            match run {
                Inner::Command { start, end, env } => {
                    let mut child = unit.child(&unit.argv[start..end], &unit.program);
                    child.env.extend(env.into_iter().map(Cow::Borrowed));
                    self.visit(&child, ctx, depth + 1, approved);
                }
                Inner::Shell(text) => self.shell(&text, ctx, depth + 1, approved),
            }
        }
        self.what_really_runs(unit, ctx, depth, approved);
    }

    /// Judges what `unit` runs beyond its words: the program its file really is (for the
    /// start itself), the scripts it runs, what its interpreter code does (see `content`).
    fn what_really_runs(
        &mut self,
        unit: &Unit<'_>,
        ctx: &Context<'_>,
        depth: usize,
        approved: Option<&'p str>,
    ) {
        for item in derived(&mut self.content, self.identity, unit, ctx.cwd, depth) {
            if self.denied() {
                return;
            }
            match item {
                Derived::Command(command) => {
                    let words = content::words(&command.argv);
                    self.visit(
                        &derived_unit(unit, &command, &words),
                        ctx,
                        depth + 1,
                        approved,
                    );
                }
                Derived::Shell(text) => self.shell(&text, ctx, depth + 1, approved),
                Derived::Unreadable(reason) => self.fail(reason),
            }
        }
    }

    fn shell(&mut self, text: &[u8], ctx: &Context<'_>, depth: usize, approved: Option<&'p str>) {
        match shell::parse(text, depth) {
            Ok(units) => {
                for unit in &units {
                    self.visit(unit, ctx, depth + 1, approved);
                }
            }
            Err(err) => self.fail(err),
        }
    }

    fn fail(&mut self, reason: impl std::fmt::Display) {
        self.offer(self.policy.unparsable, Decider::Unparsable, None);
        self.unparsable.get_or_insert_with(|| reason.to_string());
    }

    fn verdict(self) -> Verdict {
        let (action, decider) = self.best.unwrap_or((self.policy.default, Decider::Default));
        let (rule, message, decided_by) = match decider {
            Decider::Default => (None, None, DecidedBy::Default),
            Decider::Rule(name, message) => (
                Some(name.to_string()),
                message.map(str::to_string),
                DecidedBy::Rule,
            ),
            Decider::Approved(name) => (
                Some(name.to_string()),
                Some("approved by the operator (warden approve --always)".to_string()),
                DecidedBy::Rule,
            ),
            Decider::Unparsable => (
                None,
                Some(format!(
                    "warden could not read this command ({}); the policy's `unparsable` action applies",
                    self.unparsable.as_deref().unwrap_or("unknown")
                )),
                DecidedBy::Unparsable,
            ),
        };
        Verdict {
            action,
            rule,
            message,
            command: self.deciding,
            decided_by,
        }
    }
}
