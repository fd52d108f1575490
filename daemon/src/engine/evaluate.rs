//! The walk over everything a program start runs: the exec itself, what its wrappers run,
//! and every simple command of the shell strings it carries. Each command gets the action
//! of its strictest matching rule (or the policy default); the strictest of all wins.

use std::borrow::Cow;

use super::content::{self, Content, Derived, FileSource, Identity};
use super::glob::Dots;
use super::matcher::{Context, Scratch};
use super::paths::{Base, PathWord};
use super::scope::{Inherit, Scope};
use super::shell::{self, ShellError, Start, MAX_DEPTH};
use super::unit::{owned, Unit};
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
    /// Counts changes of `best`, so a command knows whether its ancestor still decides.
    generation: u64,
    /// Why a command could not be read, when one could not.
    unparsable: Option<String>,
    /// What the program file of the start really is, from the caller.
    identity: Option<&'p Identity>,
    /// Scripts and files the walk has seen (see `content`).
    content: Content<'p>,
}

/// Whether an ancestor of the command being visited decided, as of which change of the
/// walk's best. A command that a deciding one runs, matched by a rule with the same
/// action, decides instead: it is what really matched (the `cat ~/.ssh/id_rsa` inside
/// `bash -c '…; cat ~/.ssh/id_rsa'`, whose whole string also matches).
type Lineage = Option<u64>;

pub(crate) fn evaluate(policy: &Policy, query: &Query, files: &dyn FileSource) -> Verdict {
    let ctx = Context::new(query);
    let mut walk = Walk::new(policy, files);
    walk.identity = query.identity;
    walk.visit(&root_unit(query), &ctx, 0, None, None);
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
    walk.shell(command, top_level(&ctx), &ctx, 0, None, None);
    walk.verdict()
}

/// How a shell string given to the engine itself starts: in the query's directory.
fn top_level(ctx: &Context<'_>) -> Scope {
    Scope::at(ctx.cwds.first().cloned())
}

/// How a shell string that `unit` runs starts: in the unit's directories, with the
/// variables it passes on.
fn started_by(unit: &Unit<'_>, inherit: Inherit, ctx: &Context<'_>) -> Scope {
    let cwds = working_dirs(unit, ctx).into_owned();
    match &unit.scope {
        Some(scope) => scope.inherited(cwds, inherit),
        None => Scope {
            cwds,
            ..Scope::default()
        },
    }
}

/// The directories `unit` works in (see [`Unit::working_dirs`]).
fn working_dirs<'u>(unit: &'u Unit<'_>, ctx: &'u Context<'_>) -> Cow<'u, [PathWord]> {
    let args: std::cell::OnceCell<Vec<PathWord>> = std::cell::OnceCell::new();
    unit.working_dirs(&ctx.cwds, &ctx.home, || {
        args.get_or_init(|| unit.path_args())
    })
}

/// What `unit` really runs beyond its words (see `content`): for the start itself, the
/// program its file is; for every unit, the scripts it runs and what its code does.
fn derived(
    content: &mut Content<'_>,
    identity: Option<&Identity>,
    unit: &Unit<'_>,
    ctx: &Context<'_>,
    depth: usize,
) -> Vec<Derived> {
    let mut derived = match (depth, identity) {
        (0, Some(identity)) => content::identity(unit, identity),
        _ => Vec::new(),
    };
    let cwds = working_dirs(unit, ctx);
    let base = Base {
        home: &ctx.home,
        cwds: &cwds,
        dots: unit.scope.as_ref().map_or(Dots::Hidden, |s| s.dots),
    };
    derived.extend(content.derive(unit, &base));
    derived
}

/// The unit that runs a derived command on behalf of `parent`, with what it reads and
/// writes.
fn derived_unit<'u>(parent: &'u Unit<'_>, command: &'u content::Command) -> Unit<'u> {
    let argv = command.argv.iter().map(|w| Cow::Borrowed(&w[..])).collect();
    let mut child = parent.running(argv, Vec::new());
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

/// The argv of every command the program start runs on its behalf, as [`evaluate`] judges
/// them (the exec itself excluded): what wrappers run and each simple command of its shell
/// strings, outermost first. A shell string that cannot be parsed contributes nothing.
pub fn unwrapped_commands(query: &Query) -> Vec<Vec<Vec<u8>>> {
    let ctx = Context::new(query);
    let mut commands = Vec::new();
    let mut collector = Collector {
        content: Content::new(&content::NoFiles),
        identity: query.identity,
        ctx: &ctx,
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
    ctx: &'q Context<'q>,
}

impl Collector<'_> {
    /// Appends `unit`'s argv and those of everything it runs, with the depths
    /// [`Walk::visit`] uses, so exactly the units it would judge.
    fn collect(&mut self, unit: &Unit<'_>, depth: usize, commands: &mut Vec<Vec<Vec<u8>>>) {
        if depth > MAX_DEPTH {
            return;
        }
        commands.push(owned(&unit.argv));
        for run in unwrap::inner(unit) {
            match run {
                Inner::Command {
                    start, end, found, ..
                } => {
                    let child = unit.child(start, end, found.as_deref());
                    self.collect(&child, depth + 1, commands);
                }
                Inner::Shell(text, inherit, positional) => {
                    let mut scope = started_by(unit, inherit, self.ctx);
                    scope.set_positional(positional);
                    self.collect_shell(&text, scope, depth + 1, commands);
                }
            }
        }
        for item in derived(&mut self.content, self.identity, unit, self.ctx, depth) {
            match item {
                Derived::Command(command) => {
                    self.collect(&derived_unit(unit, &command), depth + 1, commands);
                }
                Derived::Shell(text) => {
                    let scope = started_by(unit, Inherit::Exported, self.ctx);
                    self.collect_shell(&text, scope, depth + 1, commands);
                }
                Derived::Unreadable(_) => {}
            }
        }
    }

    fn collect_shell(
        &mut self,
        text: &[u8],
        scope: Scope,
        depth: usize,
        commands: &mut Vec<Vec<Vec<u8>>>,
    ) {
        let start = Start {
            home: &self.ctx.home,
            scope,
        };
        for parsed in shell::parse(text, depth, start).unwrap_or_default() {
            self.collect(&parsed, depth + 1, commands);
        }
    }
}

impl<'p> Walk<'p> {
    fn new(policy: &'p Policy, files: &'p dyn FileSource) -> Self {
        Walk {
            policy,
            scratch: Scratch::default(),
            best: None,
            deciding: None,
            generation: 0,
            unparsable: None,
            identity: None,
            content: Content::new(files),
        }
    }

    /// Keeps `action` when it is stricter than what was found so far, or as strict and
    /// from a rule on a command that the deciding one runs (`lineage`); `unit` is the
    /// command it judged (none for a shell string that could not be read). Whether it
    /// now decides.
    fn offer(
        &mut self,
        action: Action,
        decider: Decider<'p>,
        unit: Option<&Unit<'_>>,
        lineage: Lineage,
    ) -> bool {
        let refines = lineage == Some(self.generation) && matches!(decider, Decider::Rule(..));
        let decides = match self.best {
            None => true,
            Some((best, _)) => action > best || (action == best && refines),
        };
        if decides {
            self.best = Some((action, decider));
            self.deciding = unit.map(|u| owned(&u.argv));
            self.generation += 1;
        }
        decides
    }

    fn denied(&self) -> bool {
        matches!(self.best, Some((Action::Deny, _)))
    }

    /// Judges one unit, then everything it runs. `approved` is the `[[approved]]` entry
    /// that covers an enclosing command: it turns `ask` and `log` into `allow`, never `deny`.
    /// Returns the lineage of the unit itself when it decided (what it runs may refine it).
    fn visit(
        &mut self,
        unit: &Unit<'_>,
        ctx: &Context<'_>,
        depth: usize,
        approved: Option<&'p str>,
        lineage: Lineage,
    ) -> Lineage {
        let under_decider = lineage == Some(self.generation);
        if self.denied() && !under_decider {
            return None;
        }
        if depth > MAX_DEPTH {
            self.fail(ShellError::TooDeep);
            return None;
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
        let decides = match (decided, approved) {
            (Some((Action::Ask | Action::Log, _)), Some(name)) => {
                self.offer(Action::Allow, Decider::Approved(name), Some(unit), lineage)
            }
            (Some((action, decider)), _) => self.offer(action, decider, Some(unit), lineage),
            (None, _) => false,
        };
        let own = decides.then_some(self.generation);
        let lineage = own.or(lineage);
        for run in inner {
            match run {
                Inner::Command {
                    start,
                    end,
                    env,
                    found,
                } => {
                    let mut child = unit.child(start, end, found.as_deref());
                    child.env.extend(env.into_iter().map(Cow::Borrowed));
                    self.visit(&child, ctx, depth + 1, approved, lineage);
                }
                Inner::Shell(text, inherit, positional) => {
                    let mut scope = started_by(unit, inherit, ctx);
                    scope.set_positional(positional);
                    self.shell(&text, scope, ctx, depth + 1, approved, lineage)
                }
            }
        }
        self.what_really_runs(unit, ctx, depth, approved);
        own
    }

    /// Judges what `unit` runs beyond its words: the program its file really is (for the
    /// start itself), the scripts it runs, what its interpreter code does (see `content`).
    /// These stand for `unit` rather than run inside it, so they never refine its decision:
    /// a rule about the code as written names it better than the command it was read as.
    fn what_really_runs(
        &mut self,
        unit: &Unit<'_>,
        ctx: &Context<'_>,
        depth: usize,
        approved: Option<&'p str>,
    ) {
        for item in derived(&mut self.content, self.identity, unit, ctx, depth) {
            match item {
                Derived::Command(command) => {
                    let child = derived_unit(unit, &command);
                    self.visit(&child, ctx, depth + 1, approved, None);
                }
                Derived::Shell(text) => {
                    let scope = started_by(unit, Inherit::Exported, ctx);
                    self.shell(&text, scope, ctx, depth + 1, approved, None);
                }
                Derived::Unreadable(reason) => self.fail(reason),
            }
        }
    }

    fn shell(
        &mut self,
        text: &[u8],
        scope: Scope,
        ctx: &Context<'_>,
        depth: usize,
        approved: Option<&'p str>,
        lineage: Lineage,
    ) {
        let start = Start {
            home: &ctx.home,
            scope,
        };
        match shell::parse(text, depth, start) {
            Ok(units) => {
                // A command run by a substitution in a host's words refines the host's
                // decision, as a wrapped command refines its wrapper's.
                let mut decided: Vec<Lineage> = Vec::with_capacity(units.len());
                for unit in &units {
                    let lineage = unit
                        .host
                        .and_then(|host| decided.get(host).copied().flatten())
                        .or(lineage);
                    decided.push(self.visit(unit, ctx, depth + 1, approved, lineage));
                }
            }
            Err(err) => self.fail(err),
        }
    }

    fn fail(&mut self, reason: impl std::fmt::Display) {
        self.offer(self.policy.unparsable, Decider::Unparsable, None, None);
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
