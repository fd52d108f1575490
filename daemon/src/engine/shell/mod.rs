//! Shell strings (`bash -c STRING`, `eval`, here-documents fed to a shell, `warden test`)
//! parsed with `brush-parser` into every simple command they run: across pipelines, `&&`,
//! `||`, `;`, subshells, groups, loops, functions, `$(…)`, backticks and `<(…)`.
//!
//! The walk follows the shell's state as the string changes it (see `scope`): `cd` moves
//! the commands after it, literal variables are substituted where they are used, files that
//! a command writes are remembered with who wrote them. It follows bash's rules of where
//! state flows: after `&&` only success, after `||` only failure, after `;` either; nothing
//! flows out of a subshell, `$(…)`, a pipeline stage or a background command; a function's
//! body runs where it is called.
//!
//! Input that is not UTF-8 is parsed lossily (each invalid byte becomes U+FFFD), so such a
//! byte can never turn into a different, innocent-looking command name. Input that is too
//! large, nested too deeply or not valid shell syntax is reported as [`ShellError`]; the
//! policy's `unparsable` action then decides.

mod builtins;
mod guard;
mod words;

use std::borrow::Cow;
use std::collections::HashMap;
use std::rc::Rc;

use brush_parser::ast::{self, CommandPrefixOrSuffixItem as Item};
use brush_parser::word;
use brush_parser::ParserOptions;

use super::files;
use super::paths::{self, Base, PathWord};
use super::scope::{Scope, Value, Written};
use super::unit::{basename, Slot, Unit};
use super::unwrap::{self, Inner};
pub(crate) use words::decode_escapes;
use words::{Field, Fields, Quoting};

/// Longest shell string the engine parses.
pub(crate) const MAX_LEN: usize = 256 * 1024;
/// Deepest nesting of shells, substitutions and wrappers the engine follows.
pub(crate) const MAX_DEPTH: usize = 32;
/// Most simple commands one evaluation looks at.
const MAX_UNITS: usize = 4096;
/// Most distinct programs feeding one pipeline stage.
const MAX_FEEDERS: usize = 256;
/// Most values of a `for` loop whose body is walked once per value; beyond it the loop
/// variable counts as unknown.
const MAX_LOOP_VALUES: usize = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ShellError {
    #[error("shell string of {0} bytes is longer than the {MAX_LEN}-byte limit")]
    TooLong(usize),
    #[error("shell string is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error(
        "shell string has more than {MAX_UNITS} commands or {MAX_FEEDERS} programs in a pipeline, \
         or expands to too many words"
    )]
    TooMany,
    #[error("shell syntax error: {0}")]
    Syntax(String),
}

/// Where a shell string starts: the user's home directory (normal form, empty when
/// unknown) and the state it inherits from the command that runs it.
pub(crate) struct Start<'h> {
    pub home: &'h [u8],
    pub scope: Scope,
}

/// Parses `text` into the simple commands it runs. `depth` counts the enclosing levels.
pub(crate) fn parse(
    text: &[u8],
    depth: usize,
    start: Start<'_>,
) -> Result<Vec<Unit<'static>>, ShellError> {
    let mut walker = Walker {
        options: ParserOptions::default(),
        units: Vec::new(),
        home: start.home,
        scope: Rc::new(start.scope),
        functions: HashMap::new(),
        calling: Vec::new(),
        budget: words::MAX_EXPANSION,
        upstream: Vec::new(),
    };
    walker.parse(text, depth)?;
    Ok(walker.units)
}

struct Walker<'h> {
    options: ParserOptions,
    units: Vec<Unit<'static>>,
    home: &'h [u8],
    /// The state at the current point of the string.
    scope: Rc<Scope>,
    /// Shell functions defined so far; each call walks the body again, where it is called.
    functions: HashMap<String, Rc<ast::FunctionBody>>,
    /// Functions whose bodies are being walked: a call to one of them is not walked again
    /// (and is marked, see the fork bomb rule).
    calling: Vec<String>,
    /// What variable substitution may still add to the string.
    budget: usize,
    /// Programs of the earlier stages of the pipelines being walked: they feed every
    /// command of the current stage.
    upstream: Vec<Vec<u8>>,
}

/// What redirections contribute to the commands they apply to.
#[derive(Default)]
struct Redirections {
    /// Files written (`>`, `>>`, `>&`, `&>`).
    targets: Vec<Field>,
    /// Files read (`<`).
    inputs: Vec<Field>,
    stdin_text: Option<Vec<u8>>,
    feeders: Vec<Vec<u8>>,
}

impl Walker<'_> {
    fn parse(&mut self, text: &[u8], depth: usize) -> Result<(), ShellError> {
        if text.len() > MAX_LEN {
            return Err(ShellError::TooLong(text.len()));
        }
        if depth > MAX_DEPTH {
            return Err(ShellError::TooDeep);
        }
        guard::check_text(text)?;
        let text = String::from_utf8_lossy(text);
        let tokens = brush_parser::uncached_tokenize_str(&text, &self.options.tokenizer_options())
            .map_err(|e| ShellError::Syntax(e.to_string()))?;
        guard::check_tokens(&tokens)?;
        let program = brush_parser::parse_tokens(&tokens, &self.options)
            .map_err(|e| ShellError::Syntax(e.to_string()))?;
        for list in &program.complete_commands {
            self.run_list(list, depth)?;
        }
        Ok(())
    }

    /// Leaves a subshell that started in `entry`: nothing flows out but written files.
    fn leave_subshell(&mut self, entry: Rc<Scope>) {
        let written = std::mem::replace(&mut self.scope, entry);
        if written.written != self.scope.written {
            Rc::make_mut(&mut self.scope).written = written.written.clone();
        }
    }

    /// The current scope joined with another way of getting here.
    fn settle(&mut self, other: &Rc<Scope>) {
        if !Rc::ptr_eq(&self.scope, other) && *self.scope != **other {
            self.scope = Rc::new(self.scope.join(other));
        }
    }

    /// Walks a list and lets what follows run after its success or its failure.
    fn run_list(&mut self, list: &ast::CompoundList, depth: usize) -> Result<(), ShellError> {
        let failed = self.list(list, depth)?;
        self.settle(&failed);
        Ok(())
    }

    /// Walks a list. Afterwards `self.scope` is where its last command succeeded; the
    /// returned scope is where it failed.
    fn list(&mut self, list: &ast::CompoundList, depth: usize) -> Result<Rc<Scope>, ShellError> {
        let mut failed = self.scope.clone();
        for (at, ast::CompoundListItem(and_or, separator)) in list.0.iter().enumerate() {
            if at > 0 {
                self.settle(&failed);
            }
            failed = match separator {
                ast::SeparatorOperator::Async => {
                    let entry = self.scope.clone();
                    self.and_or(and_or, depth)?;
                    self.leave_subshell(entry);
                    self.scope.clone()
                }
                ast::SeparatorOperator::Sequence => self.and_or(and_or, depth)?,
            };
        }
        Ok(failed)
    }

    /// `a && b || c`: `b` runs where `a` succeeded, `c` where `a && b` failed.
    fn and_or(&mut self, and_or: &ast::AndOrList, depth: usize) -> Result<Rc<Scope>, ShellError> {
        let mut failed = self.pipeline(&and_or.first, depth)?;
        for next in &and_or.additional {
            match next {
                ast::AndOr::And(pipeline) => {
                    let also_failed = self.pipeline(pipeline, depth)?;
                    if !Rc::ptr_eq(&failed, &also_failed) {
                        failed = Rc::new(failed.join(&also_failed));
                    }
                }
                ast::AndOr::Or(pipeline) => {
                    let succeeded = std::mem::replace(&mut self.scope, failed);
                    failed = self.pipeline(pipeline, depth)?;
                    self.settle(&succeeded);
                }
            }
        }
        Ok(failed)
    }

    /// Each stage is fed by the programs of all earlier stages (`curl … | tee | sh`); text
    /// that `echo`, `printf` or `cat <<EOF` pipe on becomes the next stage's standard input.
    /// Stages of a real pipeline run in subshells.
    fn pipeline(
        &mut self,
        pipeline: &ast::Pipeline,
        depth: usize,
    ) -> Result<Rc<Scope>, ShellError> {
        let entry = self.scope.clone();
        let in_subshells = pipeline.seq.len() > 1;
        let outer = self.upstream.clone();
        let mut upstream: Vec<Vec<u8>> = Vec::new();
        let mut carried: Option<Vec<u8>> = None;
        let mut failed = entry.clone();
        let mut stages = Vec::with_capacity(pipeline.seq.len());
        for command in &pipeline.seq {
            if in_subshells {
                self.leave_subshell(entry.clone());
            }
            let start = self.units.len();
            self.upstream = outer.iter().chain(&upstream).cloned().collect();
            let walked = self.command(command, depth);
            self.upstream.clone_from(&outer);
            failed = walked?;
            if let (Some(text), Some(first)) = (carried.take(), self.units.get_mut(start)) {
                first.stdin_text.get_or_insert(Cow::Owned(text));
            }
            for unit in &self.units[start..] {
                program_names(unit, 0, &mut upstream);
            }
            upstream.sort_unstable();
            upstream.dedup();
            if upstream.len() > MAX_FEEDERS {
                return Err(ShellError::TooMany);
            }
            carried = self.units.get(start).and_then(piped_text);
            stages.push(start..self.units.len());
        }
        // Each stage feeds the programs of all later ones (`cat key | gzip | nc`).
        let mut downstream: Vec<Vec<u8>> = Vec::new();
        for pair in stages.windows(2).rev() {
            for unit in &self.units[pair[1].clone()] {
                program_names(unit, 0, &mut downstream);
            }
            downstream.sort_unstable();
            downstream.dedup();
            for unit in &mut self.units[pair[0].clone()] {
                unit.feeds
                    .extend(downstream.iter().cloned().map(Cow::Owned));
            }
        }
        if in_subshells {
            self.leave_subshell(entry);
            failed = self.scope.clone();
        }
        if pipeline.bang {
            failed = std::mem::replace(&mut self.scope, failed);
        }
        Ok(failed)
    }

    fn command(&mut self, command: &ast::Command, depth: usize) -> Result<Rc<Scope>, ShellError> {
        match command {
            ast::Command::Simple(simple) => self.simple(simple, depth),
            ast::Command::Compound(compound, redirects) => {
                let start = self.units.len();
                let failed = self.compound(compound, depth)?;
                self.apply_redirects(start, redirects.as_ref(), depth)?;
                Ok(failed)
            }
            ast::Command::Function(function) => {
                self.define(function, depth)?;
                Ok(self.scope.clone())
            }
            ast::Command::ExtendedTest(test, _) => {
                let mut found = Vec::new();
                extended_test_words(&test.expr, &mut found);
                let mut feeders = Vec::new();
                for w in found {
                    self.word(w, depth, &mut feeders)?;
                }
                Ok(self.scope.clone())
            }
        }
    }

    /// Records a function and judges its body once where it is defined (it may never be
    /// called); the definition itself changes no state.
    fn define(
        &mut self,
        function: &ast::FunctionDefinition,
        depth: usize,
    ) -> Result<(), ShellError> {
        let name = function.fname.value.clone();
        self.functions
            .insert(name.clone(), Rc::new(function.body.clone()));
        let entry = self.scope.clone();
        let walked = self.function_body(&name, &function.body, depth);
        self.leave_subshell(entry);
        walked
    }

    fn function_body(
        &mut self,
        name: &str,
        body: &ast::FunctionBody,
        depth: usize,
    ) -> Result<(), ShellError> {
        let start = self.units.len();
        self.calling.push(name.to_string());
        let walked = self.compound(&body.0, depth + 1);
        self.calling.pop();
        walked?;
        self.apply_redirects(start, body.1.as_ref(), depth)
    }

    fn compound(
        &mut self,
        compound: &ast::CompoundCommand,
        depth: usize,
    ) -> Result<Rc<Scope>, ShellError> {
        use ast::CompoundCommand as C;
        let mut feeders = Vec::new();
        match compound {
            C::Arithmetic(_) => {}
            C::ArithmeticForClause(clause) => {
                self.repeat(|walker| walker.run_list(&clause.body.list, depth))?;
            }
            C::BraceGroup(group) => return self.list(&group.list, depth),
            C::Subshell(sub) => {
                let entry = self.scope.clone();
                self.run_list(&sub.list, depth)?;
                self.leave_subshell(entry);
            }
            C::ForClause(clause) => self.for_loop(clause, depth)?,
            C::CaseClause(clause) => {
                self.word(&clause.value, depth, &mut feeders)?;
                let entry = self.scope.clone();
                let mut ends = entry.clone();
                for case in &clause.cases {
                    if let Some(cmd) = &case.cmd {
                        self.scope = entry.clone();
                        self.run_list(cmd, depth)?;
                        ends = Rc::new(ends.join(&self.scope));
                    }
                }
                self.scope = ends;
            }
            C::IfClause(clause) => {
                let mut failed = self.list(&clause.condition, depth)?;
                self.run_list(&clause.then, depth)?;
                let mut ends = self.scope.clone();
                let mut otherwise = false;
                for other in clause.elses.iter().flatten() {
                    self.scope = failed.clone();
                    if let Some(condition) = &other.condition {
                        failed = self.list(condition, depth)?;
                    } else {
                        otherwise = true;
                    }
                    self.run_list(&other.body, depth)?;
                    ends = Rc::new(ends.join(&self.scope));
                }
                if !otherwise {
                    ends = Rc::new(ends.join(&failed));
                }
                self.scope = ends;
            }
            C::WhileClause(clause) | C::UntilClause(clause) => {
                self.repeat(|walker| {
                    walker.run_list(&clause.0, depth)?;
                    walker.run_list(&clause.1.list, depth)
                })?;
            }
            C::Coprocess(coprocess) => {
                let entry = self.scope.clone();
                self.command(&coprocess.body, depth)?;
                self.leave_subshell(entry);
            }
        }
        Ok(self.scope.clone())
    }

    /// A loop body that runs any number of times: walked once, and once more from where
    /// both zero and one round could leave the state, so a `cd ..` in it counts twice.
    fn repeat(
        &mut self,
        mut round: impl FnMut(&mut Self) -> Result<(), ShellError>,
    ) -> Result<(), ShellError> {
        let entry = self.scope.clone();
        round(self)?;
        if *self.scope != *entry {
            self.settle(&entry);
            round(self)?;
        }
        self.settle(&entry);
        Ok(())
    }

    /// `for v in WORDS`: with a few known values, the body is walked once per value, in
    /// order; otherwise `v` is unknown and the body is a loop of its own.
    fn for_loop(&mut self, clause: &ast::ForClauseCommand, depth: usize) -> Result<(), ShellError> {
        let mut feeders = Vec::new();
        let mut values: Option<Vec<Value>> = clause.values.as_ref().map(|_| Vec::new());
        for word in clause.values.iter().flatten() {
            let (fields, inexact) = self.word(word, depth, &mut feeders)?;
            match (&mut values, inexact) {
                (Some(known), false) => known.extend(fields.into_iter().map(Field::value)),
                _ => values = None,
            }
        }
        let name = clause.variable_name.as_bytes();
        match values {
            Some(values) if !values.is_empty() && values.len() <= MAX_LOOP_VALUES => {
                for value in values {
                    builtins::assign(Rc::make_mut(&mut self.scope), name, Some(value), None);
                    self.run_list(&clause.body.list, depth)?;
                }
                Ok(())
            }
            _ => {
                builtins::assign(Rc::make_mut(&mut self.scope), name, None, None);
                self.repeat(|walker| walker.run_list(&clause.body.list, depth))
            }
        }
    }

    fn simple(
        &mut self,
        command: &ast::SimpleCommand,
        depth: usize,
    ) -> Result<Rc<Scope>, ShellError> {
        let slot = self.units.len();
        self.push(Unit::default())?;
        let mut unit = Unit::default();
        let mut feeders: Vec<Vec<u8>> = Vec::new();
        let mut redirections = Redirections::default();
        let mut assignments = Vec::new();
        let mut declared = Vec::new();
        let prefix = command.prefix.iter().flat_map(|p| p.0.iter());
        let suffix = command.suffix.iter().flat_map(|s| s.0.iter());
        for item in prefix {
            match item {
                Item::AssignmentWord(assignment, _) => {
                    let name = assignment_name(assignment);
                    unit.env.push(Cow::Owned(name.clone()));
                    let value = self.assigned(assignment, depth, &mut feeders)?;
                    assignments.push((name, value));
                }
                other => self.item(other, depth, &mut unit, &mut feeders, &mut redirections)?,
            }
        }
        if let Some(name) = &command.word_or_name {
            let (fields, _) = self.word(name, depth, &mut feeders)?;
            add_fields(&mut unit, fields);
        }
        for item in suffix {
            if let Item::AssignmentWord(assignment, _) = item {
                let value = self.assigned(assignment, depth, &mut feeders)?;
                declared.push((assignment_name(assignment), value));
            }
            self.item(item, depth, &mut unit, &mut feeders, &mut redirections)?;
        }
        declared_variables(&mut unit);
        unit.program = unit.argv.first().cloned().unwrap_or_default();
        if self.calling.iter().any(|f| f.as_bytes() == &*unit.program) {
            // A function that calls itself: reached `via` "NAME()" (see the fork bomb rule).
            let mut marker = unit.program.to_vec();
            marker.extend(b"()");
            unit.via.push(Cow::Owned(marker));
        }
        unit.fed_by.extend(
            self.upstream
                .iter()
                .cloned()
                .chain(feeders)
                .chain(redirections.feeders)
                .map(Cow::Owned),
        );
        // What ran inside this command's words and redirections (`$(…)`, `<(…)`) feeds it,
        // and has it as its host (the innermost one: deeper units already have theirs).
        if self.units.len() > slot + 1 {
            let mut readers = Vec::new();
            program_names(&unit, 0, &mut readers);
            for nested in &mut self.units[slot + 1..] {
                nested.feeds.extend(readers.iter().cloned().map(Cow::Owned));
                nested.host.get_or_insert(slot);
            }
        }
        for target in redirections.targets {
            add_field(&mut unit, Slot::Redirect, target);
        }
        for input in redirections.inputs {
            add_field(&mut unit, Slot::Input, input);
        }
        unit.stdin_text = redirections.stdin_text.map(Cow::Owned);
        unit.scope = Some(if unit.argv.is_empty() || assignments.is_empty() {
            self.scope.clone()
        } else {
            // `v=x cmd`: the variables are in cmd's environment, for a shell it starts.
            let mut own = (*self.scope).clone();
            builtins::environment(&mut own, &assignments);
            Rc::new(own)
        });
        self.track_files(&mut unit);
        let failed = builtins::apply(self, &unit, assignments, declared);
        let called = match self.functions.get(&*String::from_utf8_lossy(&unit.program)) {
            Some(body) if !self.calling.iter().any(|f| f.as_bytes() == &*unit.program) => {
                Some(body.clone())
            }
            _ => None,
        };
        self.units[slot] = unit;
        if let Some(body) = called {
            let name = String::from_utf8_lossy(&self.units[slot].program).into_owned();
            self.function_body(&name, &body, depth)?;
            return Ok(self.scope.clone());
        }
        Ok(failed)
    }

    /// The value an assignment gives, when it is a literal (no `$(…)`, no unknown
    /// variable); `None` otherwise. Its command substitutions are walked.
    fn assigned(
        &mut self,
        assignment: &ast::Assignment,
        depth: usize,
        feeders: &mut Vec<Vec<u8>>,
    ) -> Result<Option<Value>, ShellError> {
        let ast::AssignmentValue::Scalar(word) = &assignment.value else {
            if let ast::AssignmentValue::Array(elements) = &assignment.value {
                for (_, element) in elements {
                    self.word(element, depth, feeders)?;
                }
            }
            return Ok(None);
        };
        let pieces = word::parse(&word.value, &self.options)
            .map_err(|e| ShellError::Syntax(e.to_string()))?;
        let mut fields = Fields::new(&mut self.budget);
        let mut subs = Vec::new();
        words::render(
            &word.value,
            &pieces,
            Quoting::Quoted,
            &self.scope,
            &mut fields,
            &mut subs,
        )?;
        let (done, inexact) = fields.finish();
        self.substitutions(subs, depth, feeders)?;
        let mut text = done.into_iter().next().map(|f| f.text).unwrap_or_default();
        if assignment.append {
            let name = assignment_name(assignment);
            match self.scope.vars.get(&name) {
                Some(known) => text
                    .splice(0..0, known.value.text.iter().copied())
                    .for_each(drop),
                None => return Ok(None),
            }
        }
        Ok((!inexact && text.len() <= words::MAX_VALUE).then_some(Value { text, glob: None }))
    }

    /// Remembers the files `unit` writes (with the programs that wrote them) and finds
    /// which programs wrote the files it runs as code.
    fn track_files(&mut self, unit: &mut Unit<'static>) {
        let mut writes: Vec<PathWord> = unit
            .redirects
            .iter()
            .enumerate()
            .map(|(i, r)| unit.path_word(Slot::Redirect(i), r))
            .collect();
        let mut code = Vec::new();
        let mut copied_from = Vec::new();
        each_command(unit, 0, &mut |command| {
            let args = std::cell::OnceCell::new();
            let path_args = || &args.get_or_init(|| command.path_args())[..];
            writes.extend(files::writes(command.name(), path_args));
            code.extend(files::code(&command.program, path_args));
            if matches!(
                command.name(),
                b"cp" | b"mv" | b"install" | b"ln" | b"rsync"
            ) {
                copied_from.extend(path_args().iter().cloned());
            }
        });
        if writes.is_empty() && code.is_empty() {
            return;
        }
        let args = unit.path_args();
        let cwds = unit.working_dirs(&[], self.home, || &args).into_owned();
        let base = Base {
            home: self.home,
            cwds: &cwds,
            dots: self.scope.dots,
        };
        let normal = |word: &PathWord| {
            let mut forms = Vec::new();
            paths::forms(word.as_ref(), &base, &mut forms);
            let mut texts: Vec<Vec<u8>> = forms.into_iter().map(|f| f.text).collect();
            if word.is_rooted() {
                texts.push(word.text.clone());
            }
            texts
        };
        if !code.is_empty() {
            for file in &code {
                for writer in self.scope.writers(&normal(file)) {
                    if !unit.code_from.iter().any(|w| **w == writer[..]) {
                        unit.code_from.push(Cow::Owned(writer));
                    }
                }
            }
        }
        if writes.is_empty() {
            return;
        }
        let mut by = Vec::new();
        program_names(unit, 0, &mut by);
        by.extend(unit.fed_by.iter().map(|f| f.to_vec()));
        for source in &copied_from {
            by.extend(self.scope.writers(&normal(source)));
        }
        by.sort_unstable();
        by.dedup();
        let scope = Rc::make_mut(&mut self.scope);
        for file in &writes {
            let forms = normal(file);
            if !forms.is_empty() {
                scope.wrote(Written {
                    forms,
                    by: by.clone(),
                });
            }
        }
    }

    /// A word, redirection or process substitution after the command name.
    fn item(
        &mut self,
        item: &Item,
        depth: usize,
        unit: &mut Unit<'static>,
        feeders: &mut Vec<Vec<u8>>,
        redirections: &mut Redirections,
    ) -> Result<(), ShellError> {
        match item {
            Item::Word(word) | Item::AssignmentWord(_, word) => {
                let (fields, _) = self.word(word, depth, feeders)?;
                add_fields(unit, fields);
            }
            Item::IoRedirect(redirect) => self.redirect(redirect, depth, redirections)?,
            Item::ProcessSubstitution(_, subshell) => {
                let start = self.units.len();
                self.subshell(&subshell.list, depth + 1)?;
                for nested in &self.units[start..] {
                    program_names(nested, 0, feeders);
                }
                unit.argv.push(Cow::Borrowed(b"<(...)"));
            }
        }
        Ok(())
    }

    /// Walks `list` in a subshell of its own (`$(…)`, `<(…)`).
    fn subshell(&mut self, list: &ast::CompoundList, depth: usize) -> Result<(), ShellError> {
        let entry = self.scope.clone();
        let walked = self.run_list(list, depth);
        self.leave_subshell(entry);
        walked
    }

    fn redirect(
        &mut self,
        redirect: &ast::IoRedirect,
        depth: usize,
        into: &mut Redirections,
    ) -> Result<(), ShellError> {
        use ast::IoFileRedirectTarget as T;
        match redirect {
            ast::IoRedirect::File(_, kind, target) => match target {
                T::Filename(w) | T::Duplicate(w) => {
                    use ast::IoFileRedirectKind as K;
                    let (found, _) = self.word(w, depth, &mut into.feeders)?;
                    let found = found.into_iter().filter(|f| !is_fd(&f.text));
                    match kind {
                        K::Read | K::DuplicateInput => into.inputs.extend(found),
                        K::ReadAndWrite => {
                            let found: Vec<_> = found.collect();
                            into.inputs.extend(found.iter().cloned());
                            into.targets.extend(found);
                        }
                        K::Write | K::Append | K::Clobber | K::DuplicateOutput => {
                            into.targets.extend(found)
                        }
                    }
                }
                T::Fd(_) => {}
                T::ProcessSubstitution(_, subshell) => {
                    let start = self.units.len();
                    self.subshell(&subshell.list, depth + 1)?;
                    for nested in &self.units[start..] {
                        program_names(nested, 0, &mut into.feeders);
                    }
                }
            },
            ast::IoRedirect::OutputAndError(w, _) => {
                let (found, _) = self.word(w, depth, &mut into.feeders)?;
                into.targets.extend(found);
            }
            ast::IoRedirect::HereString(_, w) => {
                let (found, _) = self.word(w, depth, &mut into.feeders)?;
                let texts: Vec<Vec<u8>> = found.into_iter().map(|f| f.text).collect();
                into.stdin_text = Some(texts.join(&b' '));
            }
            ast::IoRedirect::HereDocument(_, doc) => {
                into.stdin_text = Some(doc.doc.value.as_bytes().to_vec());
            }
        }
        Ok(())
    }

    /// Redirections of a compound command apply to every command inside it.
    fn apply_redirects(
        &mut self,
        start: usize,
        redirects: Option<&ast::RedirectList>,
        depth: usize,
    ) -> Result<(), ShellError> {
        let Some(list) = redirects else { return Ok(()) };
        let mut found = Redirections::default();
        for redirect in &list.0 {
            self.redirect(redirect, depth, &mut found)?;
        }
        for unit in &mut self.units[start..] {
            for target in &found.targets {
                add_field(unit, Slot::Redirect, target.clone());
            }
            for input in &found.inputs {
                add_field(unit, Slot::Input, input.clone());
            }
            unit.fed_by
                .extend(found.feeders.iter().cloned().map(Cow::Owned));
            if unit.stdin_text.is_none() {
                unit.stdin_text = found.stdin_text.clone().map(Cow::Owned);
            }
        }
        Ok(())
    }

    /// Expands a word into fields (see `words`); its command substitutions are parsed as
    /// commands of their own and their programs recorded in `feeders`. The flag says
    /// whether something was kept as written because its value is unknown.
    fn word(
        &mut self,
        word: &ast::Word,
        depth: usize,
        feeders: &mut Vec<Vec<u8>>,
    ) -> Result<(Vec<Field>, bool), ShellError> {
        let mut fields = Vec::new();
        let mut inexact = false;
        for raw in words::braces(&word.value)? {
            let pieces =
                word::parse(&raw, &self.options).map_err(|e| ShellError::Syntax(e.to_string()))?;
            let mut built = Fields::new(&mut self.budget);
            let mut subs = Vec::new();
            words::render(
                &raw,
                &pieces,
                Quoting::Unquoted,
                &self.scope,
                &mut built,
                &mut subs,
            )?;
            let (done, unknown) = built.finish();
            fields.extend(done);
            inexact |= unknown;
            self.substitutions(subs, depth, feeders)?;
        }
        Ok((fields, inexact))
    }

    /// Parses the text of command substitutions, each in a subshell.
    fn substitutions(
        &mut self,
        subs: Vec<String>,
        depth: usize,
        feeders: &mut Vec<Vec<u8>>,
    ) -> Result<(), ShellError> {
        for inner in subs {
            let start = self.units.len();
            let entry = self.scope.clone();
            let parsed = self.parse(inner.as_bytes(), depth + 1);
            self.leave_subshell(entry);
            parsed?;
            for nested in &self.units[start..] {
                program_names(nested, 0, feeders);
            }
        }
        Ok(())
    }

    fn push(&mut self, unit: Unit<'static>) -> Result<(), ShellError> {
        if self.units.len() >= MAX_UNITS {
            return Err(ShellError::TooMany);
        }
        self.units.push(unit);
        Ok(())
    }
}

/// Appends words to a unit's argv, keeping their glob texts.
fn add_fields(unit: &mut Unit<'static>, fields: Vec<Field>) {
    for field in fields {
        if let Some(glob) = field.glob {
            unit.globs.push((Slot::Arg(unit.argv.len()), glob));
        }
        unit.argv.push(Cow::Owned(field.text));
    }
}

/// Appends a redirection target or input to a unit, keeping its glob text.
fn add_field(unit: &mut Unit<'static>, slot: fn(usize) -> Slot, field: Field) {
    let list = match slot(0) {
        Slot::Input(_) => &mut unit.inputs,
        _ => &mut unit.redirects,
    };
    if let Some(glob) = field.glob {
        unit.globs.push((slot(list.len()), glob));
    }
    list.push(Cow::Owned(field.text));
}

/// What a pipeline stage writes, when the engine can know it: `echo`/`printf` arguments,
/// or the here-document `cat` copies.
fn piped_text(unit: &Unit<'_>) -> Option<Vec<u8>> {
    let args = unit.args();
    match unit.name() {
        b"echo" | b"printf" => {
            let words: Vec<&[u8]> = args
                .iter()
                .map(|a| &**a)
                .skip_while(|a| a.starts_with(b"-"))
                .collect();
            Some(words.join(&b' '))
        }
        b"cat" if args.is_empty() => unit.stdin_text.as_ref().map(|t| t.to_vec()),
        _ => None,
    }
}

fn is_fd(word: &[u8]) -> bool {
    !word.is_empty() && word.iter().all(|b| b.is_ascii_digit() || *b == b'-')
}

fn assignment_name(assignment: &ast::Assignment) -> Vec<u8> {
    match &assignment.name {
        ast::AssignmentName::VariableName(name)
        | ast::AssignmentName::ArrayElementName(name, _) => name.as_bytes().to_vec(),
    }
}

/// `unset VAR`, `export VAR=…`, `declare -x VAR=…` change the environment of what follows.
fn declared_variables(unit: &mut Unit<'static>) {
    let Some(program) = unit.argv.first() else {
        return;
    };
    if !matches!(
        &**program,
        b"unset" | b"export" | b"declare" | b"typeset" | b"local" | b"readonly"
    ) {
        return;
    }
    for arg in unit.argv[1..].iter().filter(|a| !a.starts_with(b"-")) {
        let name = unwrap::assignment_name(arg).unwrap_or(arg);
        unit.env.push(Cow::Owned(name.to_vec()));
    }
}

/// Calls `visit` on `unit` and every command its wrappers run (`sudo tee F`).
fn each_command(unit: &Unit<'_>, depth: usize, visit: &mut dyn FnMut(&Unit<'_>)) {
    visit(unit);
    if depth >= MAX_DEPTH {
        return;
    }
    for inner in unwrap::inner(unit) {
        if let Inner::Command {
            start, end, found, ..
        } = inner
        {
            each_command(&unit.child(start, end, found.as_deref()), depth + 1, visit);
        }
    }
}

/// The names of the programs a unit runs, wrappers seen through (`sudo curl` gives both).
fn program_names(unit: &Unit<'_>, depth: usize, into: &mut Vec<Vec<u8>>) {
    each_command(unit, depth, &mut |command| {
        if !command.program.is_empty() {
            into.push(basename(&command.program).to_vec());
        }
    });
}

fn extended_test_words<'a>(expr: &'a ast::ExtendedTestExpr, into: &mut Vec<&'a ast::Word>) {
    use ast::ExtendedTestExpr as E;
    match expr {
        E::And(a, b) | E::Or(a, b) => {
            extended_test_words(a, into);
            extended_test_words(b, into);
        }
        E::Not(a) | E::Parenthesized(a) => extended_test_words(a, into),
        E::UnaryTest(_, w) => into.push(w),
        E::BinaryTest(_, a, b) => {
            into.push(a);
            into.push(b);
        }
    }
}

#[cfg(test)]
mod tests;
