//! A small evaluator over the tokens of one language: it follows names, calls, string
//! concatenation and simple assignments far enough to know the literal arguments of the
//! calls in the language's table, and records what those calls do as [`Finding`]s.
//!
//! It never runs anything and never fails: what it does not understand becomes
//! [`Value::Unknown`], and the scan goes on after it, so a call nested in code it cannot read
//! is still found. Work is bounded by [`FUEL_PER_TOKEN`] and nesting by [`MAX_DEPTH`].

use std::collections::HashMap;

use base64::Engine as _;

use super::table::{Argv0, Call, Effect, Encoding, Helper, OpenMode, Recursion, Span};
use super::token::{Part, Token};
use super::{Arguments, Finding, Language, Origin};

/// What stands for a value the evaluator cannot know inside a string it otherwise knows
/// (`f"rm -rf {path}"` is `rm -rf $unknown`): to the rules, an unexpanded variable.
pub(crate) const UNKNOWN: &[u8] = b"$unknown";

/// Nesting of brackets, calls and interpolations followed.
const MAX_DEPTH: usize = 48;
/// Steps allowed per token, so that no input makes the scan slow.
const FUEL_PER_TOKEN: usize = 8;
/// Most variables remembered.
const MAX_BINDINGS: usize = 256;
/// Longest string value built (longer ones stop growing).
const MAX_TEXT: usize = 64 * 1024;
/// Most elements of a list or object value.
const MAX_ITEMS: usize = 256;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Unknown,
    /// A string; unknown pieces are [`UNKNOWN`].
    Text(Vec<u8>),
    List(Vec<Value>),
    Object(Vec<(Vec<u8>, Value)>),
    Bool(bool),
    /// A module, class or function by its dotted name (`os.path.join`, `child_process`).
    Name(Vec<u8>),
    /// The process environment (`os.environ`, `process.env`, `ENV`, `%ENV`, `$_SERVER`).
    Env,
    /// A method of a value, not yet called (`Path(p).read_text`).
    Method(Box<Value>, Vec<u8>),
}

impl Value {
    /// The text of a string value, with unknown pieces marked; `None` for anything else.
    fn text(&self) -> Option<&[u8]> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// A string made of known and unknown pieces; wholly unknown is [`Value::Unknown`].
    fn from_pieces(pieces: Vec<Option<Vec<u8>>>) -> Value {
        if pieces.iter().all(Option::is_none) && !pieces.is_empty() {
            return Value::Unknown;
        }
        let mut text = Vec::new();
        for piece in pieces {
            let piece = piece.as_deref().unwrap_or(UNKNOWN);
            if text.len() + piece.len() <= MAX_TEXT {
                text.extend_from_slice(piece);
            }
        }
        Value::Text(text)
    }

    /// The value as a piece of a larger string.
    fn piece(&self) -> Option<Vec<u8>> {
        match self {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        matches!(self, Value::Bool(true))
    }
}

/// A call's argument, named (`shell=True`, `recursive: true`) or not.
#[derive(Clone, Debug)]
pub(crate) struct Arg {
    pub name: Option<Vec<u8>>,
    pub value: Value,
}

/// How `.` reads in a language.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Dot {
    Member,
    Concat,
}

/// Whether a language calls functions without parentheses (`system "ls"`).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Parens {
    Required,
    Optional,
}

/// What the evaluator needs to know about a language.
pub(crate) struct Dialect {
    pub language: Language,
    /// The language's literal scanner, for code built from strings (`eval`).
    pub tokenize: fn(&[u8]) -> Vec<Token>,
    pub dot: Dot,
    pub parens: Parens,
    /// Functions and methods by dotted name (see [`Call`]).
    pub calls: &'static [Call],
    /// Methods of string values (`Path(p).read_text()`): the receiver is argument 0.
    pub methods: &'static [Call],
    /// Words that only prefix an expression (`new`, `await`, `my`, `return`).
    pub prefixes: &'static [&'static str],
    /// Names of the environment (`os.environ`, `process.env`, `ENV`).
    pub environment: &'static [&'static str],
    /// Where the code finds the arguments it was started with.
    pub arguments: ArgumentList,
    /// Words that end an argument list without parentheses (`or`, `if`, `unless`).
    pub stops: &'static [&'static str],
    /// The keywords for true.
    pub truth: &'static [&'static str],
}

/// The list a language gives code of the arguments it was started with (`sys.argv`,
/// `process.argv`, `@ARGV`): its names, and how many entries come before the arguments, as
/// inline code (`python -c CODE ARGS…`: `['-c', ARGS…]`) and as a script file (`node F
/// ARGS…`: `[node, F, ARGS…]`).
pub(crate) struct ArgumentList {
    pub names: &'static [&'static str],
    pub before_inline: usize,
    pub before_file: usize,
}

/// Scans `tokens` and returns what the calls they make do; `arguments` are the code's own.
pub(crate) fn scan(
    dialect: &'static Dialect,
    tokens: &[Token],
    arguments: &Arguments<'_>,
) -> Vec<Finding> {
    let arguments = argument_list(&dialect.arguments, arguments);
    let mut evaluator = Evaluator::new(dialect, tokens, arguments);
    evaluator.region(0, tokens.len());
    evaluator.finish()
}

struct Evaluator<'t> {
    dialect: &'static Dialect,
    tokens: &'t [Token],
    /// For each opening bracket, the index of its closing one (or the end).
    closer: Vec<usize>,
    bindings: HashMap<Vec<u8>, Value>,
    /// The code's arguments as the language lists them ([`ArgumentList`]).
    arguments: Value,
    findings: Vec<Finding>,
    /// Directories the code walks (`os.walk(d)`), and whether it deletes paths it cannot
    /// name: together, a recursive delete of the walked directory.
    walked: Vec<Vec<u8>>,
    deletes_unnamed: bool,
    fuel: usize,
    depth: usize,
}

impl<'t> Evaluator<'t> {
    fn new(dialect: &'static Dialect, tokens: &'t [Token], arguments: Value) -> Self {
        Evaluator {
            dialect,
            tokens,
            closer: closers(tokens),
            bindings: HashMap::new(),
            arguments,
            findings: Vec::new(),
            walked: Vec::new(),
            deletes_unnamed: false,
            fuel: tokens.len().saturating_mul(FUEL_PER_TOKEN) + 1024,
            depth: 0,
        }
    }

    /// Runs `work` on an evaluator over other tokens (an interpolation's code, a string
    /// given to `eval`) that shares what is known, what was found and the fuel.
    fn with_tokens<R>(
        &mut self,
        tokens: &[Token],
        work: impl FnOnce(&mut Evaluator<'_>) -> R,
    ) -> Option<R> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        let mut inner = Evaluator {
            dialect: self.dialect,
            tokens,
            closer: closers(tokens),
            bindings: std::mem::take(&mut self.bindings),
            arguments: std::mem::replace(&mut self.arguments, Value::Unknown),
            findings: std::mem::take(&mut self.findings),
            walked: std::mem::take(&mut self.walked),
            deletes_unnamed: self.deletes_unnamed,
            fuel: self.fuel,
            depth: self.depth + 1,
        };
        let result = work(&mut inner);
        self.bindings = inner.bindings;
        self.arguments = inner.arguments;
        self.findings = inner.findings;
        self.walked = inner.walked;
        self.deletes_unnamed = inner.deletes_unnamed;
        self.fuel = inner.fuel;
        Some(result)
    }

    /// The value of an interpolation's code; its calls are evaluated too.
    fn nested(&mut self, tokens: &[Token]) -> Value {
        self.with_tokens(tokens, |inner| {
            let (value, next) = inner.expr(0, tokens.len());
            if next < tokens.len() {
                inner.region(next, tokens.len());
                return Value::Unknown;
            }
            value
        })
        .unwrap_or(Value::Unknown)
    }

    /// Code built from strings (`eval("…")`), scanned like the code around it.
    fn eval_code(&mut self, code: &[u8]) {
        let tokens = (self.dialect.tokenize)(code);
        self.with_tokens(&tokens, |inner| inner.region(0, tokens.len()));
    }

    fn finish(mut self) -> Vec<Finding> {
        if self.deletes_unnamed {
            for dir in std::mem::take(&mut self.walked) {
                self.findings.push(Finding::Remove {
                    path: dir,
                    recursion: Recursion::Recursive,
                });
            }
        }
        self.findings
    }

    fn spend(&mut self) -> bool {
        if self.fuel == 0 {
            return false;
        }
        self.fuel -= 1;
        true
    }

    fn token(&self, at: usize) -> Option<&'t Token> {
        self.tokens.get(at)
    }

    fn is_punct(&self, at: usize, p: u8) -> bool {
        self.token(at) == Some(&Token::Punct(p))
    }

    fn is_word(&self, at: usize, word: &str) -> bool {
        matches!(self.token(at), Some(Token::Word(w)) if w == word.as_bytes())
    }

    /// The index after the bracket opened at `at`.
    fn after_bracket(&self, at: usize) -> usize {
        self.closer.get(at).copied().unwrap_or(at) + 1
    }

    /// Statements and expressions from `start` to `end`: every call in them is evaluated.
    fn region(&mut self, start: usize, end: usize) {
        let mut at = start;
        while at < end && self.spend() {
            let next = self.statement(at, end);
            at = next.max(at + 1);
        }
    }

    /// One step of [`region`](Self::region): an import, an assignment or an expression.
    fn statement(&mut self, at: usize, end: usize) -> usize {
        match self.token(at) {
            Some(Token::Word(w)) => {
                let word: &[u8] = w;
                if let Some(next) = self.import(word, at, end) {
                    return next;
                }
                if matches!(word, b"const" | b"let" | b"var" | b"my" | b"our" | b"local") {
                    return at + 1;
                }
                if let Some(next) = self.assignment(at, end) {
                    return next;
                }
                self.expr(at, end).1
            }
            Some(Token::Punct(b'{')) if self.dialect.language == Language::JavaScript => {
                let close = self.after_bracket(at);
                if self.is_punct(close, b'=') {
                    return self.destructure(at, close, end);
                }
                // A block: its statements follow.
                at + 1
            }
            Some(Token::Str(_) | Token::Command(_) | Token::Words(_))
            | Some(Token::Punct(b'(' | b'[')) => self.expr(at, end).1,
            _ => at + 1,
        }
    }

    /// `NAME = value` (also `NAME += value`, `.=`): remembers the value.
    fn assignment(&mut self, at: usize, end: usize) -> Option<usize> {
        let Some(Token::Word(name)) = self.token(at) else {
            return None;
        };
        let (append, value_at) = match self.token(at + 1) {
            Some(Token::Punct(b'=')) => (false, at + 2),
            Some(Token::Op("+=" | ".=")) => (true, at + 2),
            _ => return None,
        };
        let (value, next) = self.expr(value_at, end);
        let value = if append {
            let old = self.bindings.get(name).cloned().unwrap_or(Value::Unknown);
            concat(&old, &value)
        } else {
            value
        };
        self.bind(name.clone(), value);
        Some(next)
    }

    /// Remembers `name`'s value; an unknown value forgets it (the name then stands for
    /// itself, so `const require = createRequire(…)` keeps `require` a name to call).
    fn bind(&mut self, name: Vec<u8>, value: Value) {
        if value == Value::Unknown {
            self.bindings.remove(&name);
        } else if self.bindings.len() < MAX_BINDINGS || self.bindings.contains_key(&name) {
            self.bindings.insert(name, value);
        }
    }

    /// `import …` / `from … import …` (Python) and `import … from '…'` (JavaScript): the
    /// names bound to modules and functions.
    fn import(&mut self, word: &[u8], at: usize, end: usize) -> Option<usize> {
        match (self.dialect.language, word) {
            (Language::Python, b"import") => {
                let stop = self.line_end(at, end);
                for clause in self.split(at + 1, stop, b',') {
                    // `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`.
                    let (name, alias) = self.dotted_as(clause.0, clause.1);
                    let (bound, module) = match alias {
                        Some(alias) => (alias, name),
                        None => {
                            let top = name.split(|&b| b == b'.').next().unwrap_or(&[]).to_vec();
                            (top.clone(), top)
                        }
                    };
                    self.bind(bound, Value::Name(module));
                }
                Some(stop)
            }
            (Language::Python, b"from") => {
                let stop = self.line_end(at, end);
                let Some(import_at) = (at..stop).find(|&i| self.is_word(i, "import")) else {
                    return Some(stop);
                };
                let (module, _) = self.dotted_as(at + 1, import_at);
                for clause in self.split(import_at + 1, stop, b',') {
                    let (name, alias) = self.dotted_as(clause.0, clause.1);
                    if name.is_empty() {
                        continue;
                    }
                    let full = [&module[..], b".", &name].concat();
                    self.bind(alias.unwrap_or(name), Value::Name(full));
                }
                Some(stop)
            }
            (Language::JavaScript, b"import") => {
                // The module names the statement's end: look no further than a statement.
                let window = end.min(at + MAX_ITEMS);
                let Some(from) =
                    (at + 1..window).find(|&i| matches!(self.token(i), Some(Token::Str(_))))
                else {
                    return Some(at + 1);
                };
                let module = match self.expr(from, from + 1).0 {
                    Value::Text(t) => module_name(&t),
                    _ => return Some(from + 1),
                };
                let mut i = at + 1;
                while i < from {
                    match self.token(i) {
                        Some(Token::Punct(b'*')) if self.is_word(i + 1, "as") => {
                            if let Some(Token::Word(alias)) = self.token(i + 2) {
                                self.bind(alias.clone(), Value::Name(module.clone()));
                            }
                            i += 3;
                        }
                        Some(Token::Punct(b'{')) => {
                            let close = self.after_bracket(i) - 1;
                            for (s, e) in self.split(i + 1, close, b',') {
                                let (name, alias) = self.dotted_as(s, e);
                                let full = [&module[..], b".", &name].concat();
                                self.bind(alias.unwrap_or(name), Value::Name(full));
                            }
                            i = close + 1;
                        }
                        Some(Token::Word(w)) if w != b"from" && w != b"type" => {
                            self.bind(w.clone(), Value::Name(module.clone()));
                            i += 1;
                        }
                        _ => i += 1,
                    }
                }
                Some(from + 1)
            }
            _ => None,
        }
    }

    /// `const { a, b: c } = value`: each name bound to the member of the value.
    fn destructure(&mut self, open: usize, eq: usize, end: usize) -> usize {
        let (value, next) = self.expr(eq + 1, end);
        for (s, e) in self.split(open + 1, eq - 1, b',') {
            let Some(Token::Word(member)) = self.token(s) else {
                continue;
            };
            let local = if self.is_punct(s + 1, b':') {
                match self.token(s + 2) {
                    Some(Token::Word(w)) if s + 2 < e => w.clone(),
                    _ => continue,
                }
            } else {
                member.clone()
            };
            let bound = self.member(value.clone(), member);
            self.bind(local, bound);
        }
        next
    }

    /// `a.b.c as d` from `start` to `end`: the dotted name and the alias.
    fn dotted_as(&self, start: usize, end: usize) -> (Vec<u8>, Option<Vec<u8>>) {
        let mut name = Vec::new();
        let mut alias = None;
        let mut i = start;
        while i < end {
            match self.token(i) {
                Some(Token::Word(w)) if w == b"as" => {
                    if let Some(Token::Word(a)) = self.token(i + 1) {
                        alias = Some(a.clone());
                    }
                    break;
                }
                Some(Token::Word(w)) => name.extend_from_slice(w),
                Some(Token::Punct(b'.')) => name.push(b'.'),
                _ => {}
            }
            i += 1;
        }
        (name, alias)
    }

    /// The end of the logical line at `at` (a newline or `;` outside brackets).
    fn line_end(&self, at: usize, end: usize) -> usize {
        let mut i = at;
        while i < end {
            match self.token(i) {
                Some(Token::Newline | Token::Punct(b';')) => return i,
                Some(Token::Punct(b'(' | b'[' | b'{')) => i = self.after_bracket(i),
                _ => i += 1,
            }
        }
        end
    }

    /// The ranges between top-level `sep`s (and `=>` when `sep` is a comma) in `start..end`.
    fn split(&self, start: usize, end: usize, sep: u8) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        let mut from = start;
        let mut i = start;
        while i < end {
            match self.token(i) {
                Some(Token::Punct(b'(' | b'[' | b'{')) => i = self.after_bracket(i),
                Some(Token::Punct(p)) if *p == sep => {
                    ranges.push((from, i));
                    i += 1;
                    from = i;
                }
                Some(Token::Op("=>")) if sep == b',' && self.dialect.language == Language::Perl => {
                    ranges.push((from, i));
                    i += 1;
                    from = i;
                }
                _ => i += 1,
            }
        }
        if from < end {
            ranges.push((from, end.min(self.tokens.len())));
        }
        ranges
    }

    /// An expression starting at `at`: its value and the index after it.
    fn expr(&mut self, at: usize, end: usize) -> (Value, usize) {
        if self.depth >= MAX_DEPTH || !self.spend() {
            return (Value::Unknown, self.skip_operand(at, end));
        }
        self.depth += 1;
        let (mut value, mut i) = self.unary(at, end);
        while i < end && self.spend() {
            let Some(token) = self.token(i) else { break };
            let concatenates = match token {
                Token::Punct(b'+') => self.dialect.language != Language::Perl,
                Token::Punct(b'.') => self.dialect.dot == Dot::Concat,
                Token::Op("<<") => self.dialect.language == Language::Ruby,
                _ => false,
            };
            if concatenates {
                let (right, next) = self.unary(i + 1, end);
                value = concat(&value, &right);
                i = next;
                continue;
            }
            if self.dialect.language == Language::Python {
                if let Token::Str(_) = token {
                    // Adjacent literals are one string.
                    let (right, next) = self.unary(i, end);
                    value = concat(&value, &right);
                    i = next;
                    continue;
                }
                if token == &Token::Punct(b'/') && value.text().is_some() {
                    let (right, next) = self.unary(i + 1, end);
                    value = join_paths(&[value, right]);
                    i = next;
                    continue;
                }
                if token == &Token::Punct(b'%') && value.text().is_some() {
                    let (right, next) = self.unary(i + 1, end);
                    value = percent_format(&value, &right);
                    i = next;
                    continue;
                }
            }
            if binary_operator(token) {
                // Evaluated for what it calls; the result is not a string we know.
                let (_, next) = self.unary(i + 1, end);
                value = Value::Unknown;
                i = next;
                continue;
            }
            break;
        }
        self.depth -= 1;
        (value, i)
    }

    /// Skips one operand without evaluating it (when out of fuel or too deep).
    fn skip_operand(&self, at: usize, end: usize) -> usize {
        match self.token(at) {
            Some(Token::Punct(b'(' | b'[' | b'{')) => self.after_bracket(at).min(end.max(at + 1)),
            _ => at + 1,
        }
    }

    fn unary(&mut self, at: usize, end: usize) -> (Value, usize) {
        let mut i = at;
        while i < end {
            match self.token(i) {
                Some(Token::Punct(b'!' | b'-' | b'~' | b'*' | b'\\' | b'&' | b'@'))
                | Some(Token::Op("**" | "...")) => i += 1,
                Some(Token::Word(w)) if listed(self.dialect.prefixes, w) => i += 1,
                _ => break,
            }
        }
        self.postfix(i, end)
    }

    /// A primary and what follows it: members, calls, subscripts.
    fn postfix(&mut self, at: usize, end: usize) -> (Value, usize) {
        let (mut value, mut i) = self.primary(at, end);
        let from_variable =
            matches!(self.token(at), Some(Token::Word(w)) if w.first() == Some(&b'$'));
        let mut subscriptable = from_variable;
        while i < end && self.spend() {
            match self.token(i) {
                Some(Token::Punct(b'.')) if self.dialect.dot == Dot::Member => {
                    let Some(Token::Word(name)) = self.token(i + 1) else {
                        break;
                    };
                    value = self.member(value, name);
                    i += 2;
                }
                Some(Token::Op("->" | "::" | "?.")) => match self.token(i + 1) {
                    Some(Token::Word(name)) => {
                        value = self.member(value, name);
                        i += 2;
                    }
                    Some(Token::Punct(b'[' | b'{')) => {
                        subscriptable = true;
                        i += 1;
                    }
                    _ => break,
                },
                Some(Token::Punct(b'(')) => {
                    let close = self.after_bracket(i) - 1;
                    let args = self.args(i + 1, close.min(end));
                    value = self.call(value, args);
                    i = close + 1;
                }
                Some(Token::Punct(b'[')) => {
                    let close = self.after_bracket(i) - 1;
                    let (key, _) = self.expr(i + 1, close.min(end));
                    value = subscript(value, &key);
                    i = close + 1;
                }
                Some(Token::Punct(b'{'))
                    if subscriptable && self.dialect.language == Language::Perl =>
                {
                    let close = self.after_bracket(i) - 1;
                    let key = match self.token(i + 1) {
                        Some(Token::Word(w)) if close == i + 2 => Value::Text(w.clone()),
                        _ => self.expr(i + 1, close.min(end)).0,
                    };
                    value = subscript(value, &key);
                    i = close + 1;
                }
                Some(Token::Punct(b'{')) if self.dialect.language == Language::Ruby => {
                    // A block given to the call: its statements run.
                    let close = self.after_bracket(i) - 1;
                    self.region(i + 1, close.min(end));
                    i = close + 1;
                }
                Some(Token::Str(_))
                    if self.dialect.language == Language::JavaScript
                        && matches!(value, Value::Name(_)) =>
                {
                    // A tagged template: a call with the template as its argument.
                    let (text, next) = self.primary(i, end);
                    value = self.call(
                        value,
                        vec![Arg {
                            name: None,
                            value: text,
                        }],
                    );
                    i = next;
                }
                _ if self.dialect.parens == Parens::Optional && self.parenless(&value, i) => {
                    let stop = self.statement_end(i, end);
                    let args = self.args(i, stop);
                    value = self.call(value, args);
                    i = stop;
                }
                _ => break,
            }
            subscriptable = subscriptable || matches!(value, Value::Env);
        }
        if self.dialect.parens == Parens::Optional {
            // `Dir.home`: a helper named without parentheses or arguments is called.
            if let Value::Name(name) = &value {
                if let Some(Effect::Value(helper)) = lookup(self.dialect.calls, name) {
                    value = self.helper(helper, &[]);
                }
            }
        }
        (value, i)
    }

    /// Whether a name followed by the token at `at` is a call without parentheses
    /// (`system "ls"`, `FileUtils.rm_rf dir`): only for names the table knows, and only
    /// when an argument follows.
    fn parenless(&self, value: &Value, at: usize) -> bool {
        let Value::Name(name) = value else {
            return false;
        };
        if lookup(self.dialect.calls, name).is_none() {
            return false;
        }
        match self.token(at) {
            Some(Token::Str(_) | Token::Command(_) | Token::Words(_) | Token::Opaque) => true,
            Some(Token::Word(w)) => !listed(self.dialect.stops, w),
            Some(Token::Punct(b'[')) => true,
            _ => false,
        }
    }

    /// Where the arguments of a call without parentheses end.
    fn statement_end(&self, at: usize, end: usize) -> usize {
        let mut i = at;
        while i < end {
            match self.token(i) {
                Some(Token::Newline | Token::Punct(b';' | b')' | b']' | b'}')) => return i,
                Some(Token::Punct(b'(' | b'[' | b'{')) => i = self.after_bracket(i),
                Some(Token::Word(w)) if listed(self.dialect.stops, w) => return i,
                _ => i += 1,
            }
        }
        end
    }

    /// The arguments between `start` and `end` (exclusive), split at top-level commas.
    fn args(&mut self, start: usize, end: usize) -> Vec<Arg> {
        let mut args = Vec::new();
        for (s, e) in self.split(start, end, b',') {
            if args.len() >= MAX_ITEMS {
                self.region(s, end);
                break;
            }
            let named = match (self.token(s), self.token(s + 1)) {
                (Some(Token::Word(name)), Some(Token::Punct(b'=' | b':'))) if s + 2 < e => {
                    Some(name.clone())
                }
                _ => None,
            };
            let value_at = if named.is_some() { s + 2 } else { s };
            let (value, next) = self.expr(value_at, e);
            let value = if next < e {
                // More than one expression (or one not understood): evaluate the rest for
                // what it calls, and do not trust the value.
                self.region(next, e);
                Value::Unknown
            } else {
                value
            };
            // Perl flattens lists into the argument list.
            match value {
                Value::List(items)
                    if self.dialect.language == Language::Perl && named.is_none() =>
                {
                    args.extend(items.into_iter().map(|value| Arg { name: None, value }))
                }
                value => args.push(Arg { name: named, value }),
            }
        }
        args
    }

    fn primary(&mut self, at: usize, end: usize) -> (Value, usize) {
        let Some(token) = self.token(at) else {
            return (Value::Unknown, at + 1);
        };
        match token {
            Token::Str(parts) => (self.string(parts), at + 1),
            Token::Command(parts) => {
                let command = self.string(parts);
                self.command(&command);
                (Value::Unknown, at + 1)
            }
            Token::Words(words) => (
                Value::List(words.iter().map(|w| Value::Text(w.clone())).collect()),
                at + 1,
            ),
            Token::Word(word) => (self.name(word), at + 1),
            Token::Punct(b'(') | Token::Punct(b'[') => {
                let close = self.after_bracket(at) - 1;
                let items = self.args(at + 1, close.min(end));
                let value = match (token, &items[..]) {
                    (Token::Punct(b'('), [single]) if single.name.is_none() => single.value.clone(),
                    _ => Value::List(items.into_iter().map(|a| a.value).collect()),
                };
                (value, close + 1)
            }
            Token::Punct(b'{') => {
                let close = self.after_bracket(at) - 1;
                (self.object(at + 1, close.min(end)), close + 1)
            }
            _ => (Value::Unknown, at + 1),
        }
    }

    /// An object or dictionary literal's entries (`{recursive: true}`, `{'a': 1}`); other
    /// braces are evaluated for their calls.
    fn object(&mut self, start: usize, end: usize) -> Value {
        let mut entries = Vec::new();
        for (s, e) in self.split(start, end, b',') {
            let key = match self.token(s) {
                Some(Token::Word(w)) => Some(w.clone()),
                Some(Token::Str(parts)) => match &parts[..] {
                    [Part::Lit(l)] => Some(l.clone()),
                    _ => None,
                },
                _ => None,
            };
            let separated = matches!(
                self.token(s + 1),
                Some(Token::Punct(b':')) | Some(Token::Op("=>"))
            );
            match key {
                Some(key) if separated && entries.len() < MAX_ITEMS => {
                    let (value, next) = self.expr(s + 2, e);
                    if next < e {
                        self.region(next, e);
                    }
                    entries.push((key, value));
                }
                _ => self.region(s, e),
            }
        }
        Value::Object(entries)
    }

    /// The value of a string literal: its text with interpolated values, unknown where they
    /// cannot be known.
    fn string(&mut self, parts: &[Part]) -> Value {
        let pieces = parts
            .iter()
            .map(|part| match part {
                Part::Lit(text) => Some(text.clone()),
                Part::Code(code) => self.nested(code).piece(),
            })
            .collect();
        match Value::from_pieces(pieces) {
            Value::Unknown if parts.is_empty() => Value::Text(Vec::new()),
            value => value,
        }
    }

    /// A name: a remembered value, the environment, the arguments, truth, or a name to call.
    fn name(&self, word: &[u8]) -> Value {
        if let Some(value) = self.bindings.get(word) {
            // `from sys import argv` remembered `argv` as `sys.argv`.
            return match value {
                Value::Name(name) if self.names_arguments(name) => self.arguments.clone(),
                value => value.clone(),
            };
        }
        if listed(self.dialect.truth, word) {
            return Value::Bool(true);
        }
        self.named(canonical(word))
    }

    /// What a dotted name stands for: the environment, the arguments, or itself.
    fn named(&self, name: Vec<u8>) -> Value {
        if listed(self.dialect.environment, &name) {
            Value::Env
        } else if self.names_arguments(&name) {
            self.arguments.clone()
        } else {
            Value::Name(name)
        }
    }

    fn names_arguments(&self, name: &[u8]) -> bool {
        listed(self.dialect.arguments.names, name)
    }

    /// `value.name` (also `->name`, `::name`).
    fn member(&self, value: Value, name: &[u8]) -> Value {
        match value {
            Value::Name(mut dotted) => {
                dotted.push(b'.');
                dotted.extend_from_slice(name);
                self.named(dotted)
            }
            Value::Env => env_var(name),
            Value::Object(entries) => entries
                .into_iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
                .unwrap_or(Value::Unknown),
            Value::Text(_) | Value::List(_) => Value::Method(Box::new(value), name.to_vec()),
            _ => Value::Unknown,
        }
    }

    /// A call: the table decides what it does and what it returns.
    fn call(&mut self, callee: Value, mut args: Vec<Arg>) -> Value {
        let effect = match &callee {
            Value::Name(name) => lookup(self.dialect.calls, name),
            Value::Method(receiver, name) => {
                let effect = lookup(self.dialect.methods, name);
                if effect.is_some() {
                    args.insert(
                        0,
                        Arg {
                            name: None,
                            value: (**receiver).clone(),
                        },
                    );
                }
                effect
            }
            _ => None,
        };
        match effect {
            Some(effect) => self.apply(effect, &args),
            None => Value::Unknown,
        }
    }

    fn apply(&mut self, effect: Effect, args: &[Arg]) -> Value {
        let positional: Vec<&Value> = args
            .iter()
            .filter(|a| a.name.is_none())
            .map(|a| &a.value)
            .collect();
        let at = |i: usize| positional.get(i).copied().unwrap_or(&Value::Unknown);
        let named = |name: &str| {
            args.iter()
                .find(|a| a.name.as_deref() == Some(name.as_bytes()))
                .map(|a| &a.value)
        };
        let shell_option = named("shell").is_some_and(Value::truthy)
            || positional
                .iter()
                .any(|v| option(v, b"shell").is_some_and(Value::truthy));
        match effect {
            Effect::Command(i) => {
                let value = match at(i) {
                    Value::Unknown => named("args").unwrap_or(&Value::Unknown),
                    value => value,
                };
                match value {
                    Value::List(items) if shell_option => {
                        if let Some(first) = items.first() {
                            self.command(first);
                        }
                    }
                    value => self.command(value),
                }
            }
            Effect::Vector(i, argv0) => {
                let mut argv = vec![at(i).clone()];
                if let Value::List(items) = at(i + 1) {
                    let skip = usize::from(argv0 == Argv0::Included);
                    argv.extend(items.iter().skip(skip).cloned());
                }
                self.exec(&argv);
            }
            Effect::Spread(i, argv0) => {
                let skip = usize::from(argv0 == Argv0::Included);
                let mut argv = vec![at(i).clone()];
                argv.extend(positional.iter().skip(i + 1 + skip).map(|v| (*v).clone()));
                self.exec(&argv);
            }
            Effect::ProgramArgs(i) => {
                let program = at(i).clone();
                let list = match at(i + 1) {
                    Value::List(items) => items.clone(),
                    _ => Vec::new(),
                };
                match program {
                    Value::List(argv) => self.exec(&argv),
                    program if shell_option => {
                        let line = join_words(std::iter::once(&program).chain(list.iter()));
                        self.command(&line);
                    }
                    program => {
                        let mut argv = vec![program];
                        argv.extend(list);
                        self.exec(&argv);
                    }
                }
            }
            Effect::System(i) => {
                let rest: Vec<Value> = positional
                    .iter()
                    .skip(i)
                    .filter(|v| !matches!(v, Value::Object(_)))
                    .map(|v| (*v).clone())
                    .collect();
                match &rest[..] {
                    [single] => self.command(single),
                    [] => {}
                    several => self.exec(several),
                }
            }
            Effect::Tool(program, i) => {
                let mut argv = vec![Value::Text(program.as_bytes().to_vec())];
                argv.extend(positional.iter().skip(i).map(|v| (*v).clone()));
                self.exec(&argv);
            }
            Effect::Read(span) => self.paths(span, &positional, Finding::Read),
            Effect::Write(span) => self.paths(span, &positional, Finding::Write),
            Effect::Copy(i) | Effect::Move(i) => {
                let (Some(from), to) = (path_of(at(i)), path_of(at(i + 1))) else {
                    return Value::Unknown;
                };
                self.findings.push(match effect {
                    Effect::Copy(_) => Finding::Copy { from, to },
                    _ => Finding::Move { from, to },
                });
            }
            Effect::Remove(span, recursion) => {
                let recursion = match recursion {
                    Recursion::Option(name) => {
                        let explicit = named(name)
                            .or_else(|| positional.iter().find_map(|v| option(v, name.as_bytes())));
                        let options_known = positional
                            .iter()
                            .skip(1)
                            .all(|v| matches!(v, Value::Object(_)))
                            || named(name).is_some();
                        match explicit {
                            Some(v) if v.truthy() => Recursion::Recursive,
                            Some(Value::Bool(false)) => Recursion::Single,
                            _ if options_known => Recursion::Single,
                            _ => Recursion::Recursive,
                        }
                    }
                    other => other,
                };
                for value in span_values(span, &positional) {
                    match path_of(&value) {
                        Some(path) => {
                            self.deletes_unnamed |= contains(&path, UNKNOWN);
                            self.findings.push(Finding::Remove { path, recursion });
                        }
                        None => self.deletes_unnamed = true,
                    }
                }
            }
            Effect::Open(i, mode) => self.open(at(i), at(i + 1), mode),
            Effect::PerlOpen => {
                if positional.len() >= 3 {
                    let mode = at(1).text().unwrap_or(b"<").to_vec();
                    if mode.contains(&b'|') {
                        let command: Vec<Value> =
                            positional[2..].iter().map(|v| (*v).clone()).collect();
                        match &command[..] {
                            [single] => self.command(single),
                            several => self.exec(several),
                        }
                    } else {
                        self.open(at(2), &Value::Text(mode), OpenMode::Letters);
                    }
                } else {
                    self.open(at(1), &Value::Unknown, OpenMode::Prefix);
                }
            }
            Effect::Walk(span) => {
                for value in span_values(span, &positional) {
                    if let Some(path) = path_of(&value) {
                        if self.walked.len() < MAX_ITEMS {
                            self.walked.push(path);
                        }
                    }
                }
            }
            Effect::Eval(i) => {
                if let Value::Text(code) = at(i) {
                    let code = code.clone();
                    self.eval_code(&code);
                }
            }
            Effect::Value(helper) => return self.helper(helper, &positional),
        }
        Value::Unknown
    }

    fn helper(&mut self, helper: Helper, positional: &[&Value]) -> Value {
        let at = |i: usize| {
            positional
                .get(i)
                .copied()
                .cloned()
                .unwrap_or(Value::Unknown)
        };
        match helper {
            Helper::JoinPath => {
                join_paths(&positional.iter().map(|v| (*v).clone()).collect::<Vec<_>>())
            }
            Helper::Same(i) => match at(i) {
                Value::Text(t) => Value::Text(t),
                _ => Value::Unknown,
            },
            Helper::Home => Value::Text(b"~".to_vec()),
            Helper::Env(i) => match at(i) {
                Value::Text(name) => env_var(&name),
                _ => Value::Unknown,
            },
            Helper::Module(i) => match at(i) {
                Value::Text(name) => Value::Name(module_name(&name)),
                _ => Value::Unknown,
            },
            Helper::Quote(i) => match at(i) {
                Value::Text(t) => Value::Text(shell_quote(&t)),
                _ => Value::Unknown,
            },
            Helper::JoinWith { separator, list } => {
                let sep = at(separator).text().map(<[u8]>::to_vec);
                match (sep, at(list)) {
                    (Some(sep), Value::List(items)) => {
                        let pieces: Vec<Option<Vec<u8>>> = items.iter().map(Value::piece).collect();
                        let mut joined = Vec::new();
                        for (n, piece) in pieces.into_iter().enumerate() {
                            if n > 0 {
                                joined.push(Some(sep.clone()));
                            }
                            joined.push(piece);
                        }
                        Value::from_pieces(joined)
                    }
                    _ => Value::Unknown,
                }
            }
            Helper::QuoteJoin(i) => match at(i) {
                Value::List(items) => {
                    let quoted: Vec<Value> = items
                        .iter()
                        .map(|v| match v {
                            Value::Text(t) => Value::Text(shell_quote(t)),
                            _ => Value::Unknown,
                        })
                        .collect();
                    join_words(quoted.iter())
                }
                _ => Value::Unknown,
            },
            Helper::Format => match at(0) {
                Value::Text(template) => brace_format(&template, &positional[1..]),
                _ => Value::Unknown,
            },
            Helper::Decode(i, encoding) => decode(&at(i), encoding),
            Helper::DecodeNamed(i) => match at(i + 1).text() {
                Some(b"base64") => decode(&at(i), Encoding::Base64),
                Some(b"hex") => decode(&at(i), Encoding::Hex),
                _ => at(i),
            },
            Helper::List => Value::List(positional.iter().map(|v| (*v).clone()).collect()),
        }
    }

    /// A file opened with a mode: read, written, or (Perl/Ruby `open("| cmd")`) a command.
    fn open(&mut self, path: &Value, mode: &Value, how: OpenMode) {
        let Some(path) = path_of(path) else { return };
        if how == OpenMode::Prefix {
            let trimmed = path.trim_ascii();
            let piped = trimmed
                .strip_prefix(b"|")
                .or_else(|| trimmed.strip_suffix(b"|"));
            if let Some(command) = piped {
                self.command(&Value::Text(command.trim_ascii().to_vec()));
                return;
            }
            if mode.text().is_none() {
                let written = [&b"+<"[..], b"+>", b">>", b">"]
                    .iter()
                    .find_map(|prefix| trimmed.strip_prefix(*prefix));
                self.findings.push(match written {
                    Some(target) => Finding::Write(target.trim_ascii().to_vec()),
                    None => Finding::Read(
                        trimmed
                            .strip_prefix(b"<")
                            .unwrap_or(trimmed)
                            .trim_ascii()
                            .to_vec(),
                    ),
                });
                return;
            }
        }
        let mode = mode.text().unwrap_or(b"r");
        if mode
            .iter()
            .any(|b| matches!(b, b'w' | b'a' | b'x' | b'+' | b'>'))
        {
            self.findings.push(Finding::Write(path.clone()));
        }
        if mode.is_empty() || mode.iter().any(|b| matches!(b, b'r' | b'+' | b'<')) {
            self.findings.push(Finding::Read(path));
        }
    }

    fn paths(&mut self, span: Span, positional: &[&Value], finding: fn(Vec<u8>) -> Finding) {
        for value in span_values(span, positional) {
            if let Some(path) = path_of(&value) {
                self.findings.push(finding(path));
            }
        }
    }

    /// A command line given to a shell.
    fn command(&mut self, value: &Value) {
        match value {
            Value::Text(text) => self.findings.push(Finding::Shell(text.clone())),
            Value::List(argv) => self.exec(argv),
            _ => {}
        }
    }

    /// A program started with `argv` (its first element names the program).
    fn exec(&mut self, argv: &[Value]) {
        if argv.first().and_then(Value::text).is_none() {
            return;
        }
        let words = argv
            .iter()
            .flat_map(|v| match v {
                Value::List(items) => items.clone(),
                other => vec![other.clone()],
            })
            .map(|v| v.piece().unwrap_or_else(|| UNKNOWN.to_vec()))
            .take(MAX_ITEMS)
            .collect();
        self.findings.push(Finding::Exec(words));
    }
}

/// The index of each opening bracket's closing one; unclosed ones close at the end, and a
/// closer that matches an outer opener closes the unclosed ones inside it too.
fn closers(tokens: &[Token]) -> Vec<usize> {
    let mut closer = vec![tokens.len(); tokens.len()];
    let mut open: Vec<(usize, u8)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Punct(b @ (b'(' | b'[' | b'{')) => open.push((i, *b)),
            Token::Punct(b')') | Token::Punct(b']') | Token::Punct(b'}') => {
                let wanted = match token {
                    Token::Punct(b')') => b'(',
                    Token::Punct(b']') => b'[',
                    _ => b'{',
                };
                if let Some(pos) = open.iter().rposition(|&(_, o)| o == wanted) {
                    for (opener, _) in open.drain(pos..) {
                        closer[opener] = i;
                    }
                }
            }
            _ => {}
        }
    }
    closer
}

fn binary_operator(token: &Token) -> bool {
    match token {
        Token::Punct(p) => b"+-*/%<>&|^?:=".contains(p),
        Token::Op(op) => !matches!(*op, "->" | "::" | "?." | "=>" | "..." | ".."),
        Token::Word(w) => matches!(
            &w[..],
            b"and" | b"or" | b"if" | b"else" | b"in" | b"not" | b"is" | b"x" | b"eq" | b"ne"
        ),
        _ => false,
    }
}

fn concat(left: &Value, right: &Value) -> Value {
    Value::from_pieces(vec![left.piece(), right.piece()])
}

/// `os.path.join` / `path.join` / `File.join`: parts joined by `/`; an absolute part
/// starts over, as in Python.
fn join_paths(parts: &[Value]) -> Value {
    let mut pieces: Vec<Option<Vec<u8>>> = Vec::new();
    for part in parts {
        match part {
            Value::Text(t) if t.starts_with(b"/") => {
                pieces.clear();
                pieces.push(Some(t.clone()));
            }
            Value::List(items) => return join_paths(items),
            part => {
                let ends_with_slash = pieces
                    .last()
                    .is_some_and(|p| p.as_deref().is_some_and(|p| p.ends_with(b"/")));
                if !pieces.is_empty() && !ends_with_slash {
                    pieces.push(Some(b"/".to_vec()));
                }
                pieces.push(part.piece());
            }
        }
    }
    Value::from_pieces(pieces)
}

/// Words joined by spaces, as a command line.
fn join_words<'v>(words: impl Iterator<Item = &'v Value>) -> Value {
    let mut pieces = Vec::new();
    for (n, word) in words.enumerate() {
        if n > 0 {
            pieces.push(Some(b" ".to_vec()));
        }
        pieces.push(word.piece());
    }
    Value::from_pieces(pieces)
}

/// `'%s/.ssh' % home`: each `%…` conversion replaced by the next value.
fn percent_format(template: &Value, values: &Value) -> Value {
    let Some(template) = template.text() else {
        return Value::Unknown;
    };
    let values: Vec<Value> = match values {
        Value::List(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut values = values.into_iter();
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < template.len() {
        if template[i] == b'%' && i + 1 < template.len() {
            if template[i + 1] == b'%' {
                literal.push(b'%');
                i += 2;
                continue;
            }
            let spec_end = template[i + 1..]
                .iter()
                .position(u8::is_ascii_alphabetic)
                .map_or(template.len(), |p| i + 1 + p + 1);
            pieces.push(Some(std::mem::take(&mut literal)));
            pieces.push(values.next().and_then(|v| v.piece()));
            i = spec_end;
            continue;
        }
        literal.push(template[i]);
        i += 1;
    }
    pieces.push(Some(literal));
    Value::from_pieces(pieces)
}

/// A literal decoded; anything that does not decode (or is not wholly known) is unknown.
fn decode(value: &Value, encoding: Encoding) -> Value {
    let Some(text) = value.text().filter(|t| !contains(t, UNKNOWN)) else {
        return Value::Unknown;
    };
    let clean: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let decoded = match encoding {
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(&clean)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&clean))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&clean))
            .ok(),
        Encoding::Hex => hex_decode(&clean),
    };
    decoded.map_or(Value::Unknown, Value::Text)
}

fn hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}

/// `'{}/.ssh'.format(home)`: each `{…}` field replaced by the next value.
fn brace_format(template: &[u8], values: &[&Value]) -> Value {
    let mut values = values.iter();
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut i = 0;
    while i < template.len() {
        match template[i] {
            b'{' if template.get(i + 1) == Some(&b'{') => {
                literal.push(b'{');
                i += 2;
            }
            b'}' if template.get(i + 1) == Some(&b'}') => {
                literal.push(b'}');
                i += 2;
            }
            b'{' => {
                let close = template[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .map_or(template.len(), |p| i + p + 1);
                pieces.push(Some(std::mem::take(&mut literal)));
                pieces.push(values.next().and_then(|v| v.piece()));
                i = close;
            }
            b => {
                literal.push(b);
                i += 1;
            }
        }
    }
    pieces.push(Some(literal));
    Value::from_pieces(pieces)
}

fn subscript(value: Value, key: &Value) -> Value {
    match (value, key) {
        (Value::Env, Value::Text(name)) => env_var(name),
        (Value::List(items), Value::Text(index)) => std::str::from_utf8(index)
            .ok()
            .and_then(|index| index.parse::<usize>().ok())
            .and_then(|index| items.into_iter().nth(index))
            .unwrap_or(Value::Unknown),
        (Value::Object(entries), Value::Text(name)) => entries
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .unwrap_or(Value::Unknown),
        _ => Value::Unknown,
    }
}

/// Whether `name` is one of `names`.
fn listed(names: &[&str], name: &[u8]) -> bool {
    names.iter().any(|n| n.as_bytes() == name)
}

/// The code's arguments as `spec` lists them: unknown entries first, then the arguments.
fn argument_list(spec: &ArgumentList, arguments: &Arguments<'_>) -> Value {
    let before = match arguments.origin {
        Origin::Inline => spec.before_inline,
        Origin::File => spec.before_file,
    };
    let given = arguments
        .given
        .iter()
        .take(MAX_ITEMS)
        .map(|argument| Value::Text(argument.to_vec()));
    Value::List(
        std::iter::repeat_n(Value::Unknown, before)
            .chain(given)
            .collect(),
    )
}

/// An environment variable's value, as the rules see one: `$NAME`.
fn env_var(name: &[u8]) -> Value {
    let mut text = b"$".to_vec();
    text.extend_from_slice(name);
    Value::Text(text)
}

/// A named option inside an options object (`{recursive: true}`).
fn option<'v>(value: &'v Value, name: &[u8]) -> Option<&'v Value> {
    match value {
        Value::Object(entries) => entries.iter().find(|(k, _)| k == name).map(|(_, v)| v),
        _ => None,
    }
}

/// The path a value names, when at least part of it is known.
fn path_of(value: &Value) -> Option<Vec<u8>> {
    value.text().map(<[u8]>::to_vec)
}

fn span_values(span: Span, positional: &[&Value]) -> Vec<Value> {
    let values: Vec<Value> = match span {
        Span::One(i) => positional
            .get(i)
            .map(|v| (*v).clone())
            .into_iter()
            .collect(),
        Span::From(i) => positional.iter().skip(i).map(|v| (*v).clone()).collect(),
    };
    values
        .into_iter()
        .flat_map(|v| match v {
            Value::List(items) => items,
            other => vec![other],
        })
        .take(MAX_ITEMS)
        .collect()
}

/// A dotted name in one spelling: `File::Path::rmtree`, `$obj->m` and `a.b` all use `.`.
fn canonical(word: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if word[i..].starts_with(b"::") {
            out.push(b'.');
            i += 2;
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
    out
}

/// A module name as required: `node:fs/promises` is `fs.promises`.
fn module_name(name: &[u8]) -> Vec<u8> {
    let name = name.strip_prefix(b"node:").unwrap_or(name);
    name.iter()
        .map(|&b| if b == b'/' { b'.' } else { b })
        .collect()
}

/// Single-quoted for a POSIX shell (`shlex.quote`, `escapeshellarg`).
fn shell_quote(text: &[u8]) -> Vec<u8> {
    let mut out = vec![b'\''];
    for &b in text {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    super::token::find(haystack, needle).is_some()
}

/// The table entry for a dotted name: an exact name, or `*.name` for a method of that
/// name on any receiver (also called bare).
pub(crate) fn lookup(calls: &[Call], name: &[u8]) -> Option<Effect> {
    let last = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    calls.iter().find_map(|call| {
        let pattern = call.name.as_bytes();
        let hit = match pattern.strip_prefix(b"*.") {
            Some(method) => method == last,
            None => pattern == name,
        };
        hit.then_some(call.effect)
    })
}
