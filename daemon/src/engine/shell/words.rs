//! Words as the shell makes them: brace expansion, quote removal, `$'…'` escapes (a NUL
//! ends the string, as in bash), tilde prefixes, the scope's known variables substituted
//! (also `${v:-x}`, `${v:1:2}`, `${v#x}`, `${v/a/b}`, `${#v}`, `${v^^}`), and unquoted
//! expansions split into fields on `$IFS` as the shell splits them. What the engine cannot
//! know (`$(…)`, `$1`, a variable from the environment) stays as written.
//!
//! Each field also keeps its glob text when it has a live wildcard: one that no quote
//! protects, or that comes from an unquoted expansion (see `glob`).

use std::borrow::Cow;

use brush_parser::word::{
    self, Parameter, ParameterExpr, ParameterTestType, SpecialParameter, SubstringMatchKind,
    TildeExpr, WordPiece, WordPieceWithSource,
};
use brush_parser::ParserOptions;

use super::super::glob;
use super::super::paths::escape;
use super::super::scope::{Scope, Value};
use super::ShellError;

/// Most bytes variable substitution may add to one shell string (`v="a a a"; $v $v $v …`
/// would otherwise multiply the input).
pub(super) const MAX_EXPANSION: usize = 1024 * 1024;
/// Longest value a variable is remembered with.
pub(super) const MAX_VALUE: usize = 64 * 1024;
/// Most words one brace expansion makes.
const MAX_BRACE_WORDS: usize = 256;

/// One word after expansion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Field {
    pub text: Vec<u8>,
    /// The glob text, when the word has a live wildcard.
    pub glob: Option<Vec<u8>>,
}

impl Field {
    pub fn value(self) -> Value {
        Value {
            text: self.text,
            glob: self.glob,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Quoting {
    Unquoted,
    Quoted,
}

/// Builds the fields of one word.
pub(super) struct Fields<'b> {
    done: Vec<Field>,
    text: Vec<u8>,
    /// The current field's glob text, kept from its first live wildcard on (before it,
    /// the glob text is the escaped text).
    glob: Option<Vec<u8>>,
    /// The current field exists even when empty (it has a quoted part).
    started: bool,
    /// Something whose value the engine does not know was kept as written.
    pub inexact: bool,
    /// What substitution may still add (shared by the whole string).
    budget: &'b mut usize,
}

/// Whether unquoted text holds a wildcard (or the `(` of an extglob group).
fn may_be_live(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| matches!(b, b'*' | b'?' | b'[' | b'('))
}

impl<'b> Fields<'b> {
    pub fn new(budget: &'b mut usize) -> Self {
        Fields {
            done: Vec::new(),
            text: Vec::new(),
            glob: None,
            started: false,
            inexact: false,
            budget,
        }
    }

    /// The glob text, started from the text before the last `before` bytes.
    fn glob_text(&mut self, pending: usize) -> &mut Vec<u8> {
        let text = &self.text[..self.text.len() - pending];
        self.glob.get_or_insert_with(|| {
            let mut glob = Vec::with_capacity(text.len() + 8);
            escape(text, &mut glob);
            glob
        })
    }

    fn literal(&mut self, bytes: &[u8], quoting: Quoting) {
        self.text.extend_from_slice(bytes);
        match quoting {
            Quoting::Quoted => {
                self.started = true;
                if let Some(glob) = &mut self.glob {
                    escape(bytes, glob);
                }
            }
            Quoting::Unquoted => {
                if self.glob.is_none() && !may_be_live(bytes) {
                    return;
                }
                let glob = self.glob_text(bytes.len());
                for &b in bytes {
                    if b == b'\\' {
                        glob.push(b'\\');
                    }
                    glob.push(b);
                }
            }
        }
    }

    /// Text kept as written (an unknown expansion): never a glob.
    fn as_written(&mut self, raw: &[u8]) {
        self.inexact = true;
        self.text.extend_from_slice(raw);
        if let Some(glob) = &mut self.glob {
            escape(raw, glob);
        }
    }

    fn spend(&mut self, bytes: usize) -> Result<(), ShellError> {
        *self.budget = self.budget.checked_sub(bytes).ok_or(ShellError::TooMany)?;
        Ok(())
    }

    /// A known value: split on `ifs` unless quoted; its wildcards are live unless quoted
    /// (or when it stands for glob matches).
    fn expansion(&mut self, value: &Value, quoting: Quoting, ifs: &[u8]) -> Result<(), ShellError> {
        self.spend(value.text.len())?;
        if quoting == Quoting::Quoted {
            self.started = true;
            self.text.extend_from_slice(&value.text);
            match &value.glob {
                Some(glob) => self.glob_text(value.text.len()).extend_from_slice(glob),
                None => {
                    if let Some(glob) = &mut self.glob {
                        escape(&value.text, glob);
                    }
                }
            }
            return Ok(());
        }
        let glob_source = value.glob.as_deref().filter(|_| {
            !ifs.iter()
                .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\' | b'('))
        });
        let source = glob_source.unwrap_or(&value.text);
        let is_ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n') && ifs.contains(&b);
        let mut piece_start = 0;
        let mut i = 0;
        while i < source.len() {
            if !ifs.contains(&source[i]) {
                i += 1;
                continue;
            }
            self.piece(&source[piece_start..i], glob_source.is_some());
            let mut j = i;
            while j < source.len() && is_ws(source[j]) {
                j += 1;
            }
            let hard = j < source.len() && ifs.contains(&source[j]) && !is_ws(source[j]);
            if hard {
                j += 1;
                while j < source.len() && is_ws(source[j]) {
                    j += 1;
                }
            }
            if hard || !self.text.is_empty() || self.started {
                self.end_field();
            }
            piece_start = j;
            i = j;
        }
        self.piece(&source[piece_start..], glob_source.is_some());
        Ok(())
    }

    /// Part of an unquoted expansion: wildcards live.
    fn piece(&mut self, bytes: &[u8], is_glob_text: bool) {
        if bytes.is_empty() {
            return;
        }
        if is_glob_text {
            self.glob_text(0).extend_from_slice(bytes);
            self.text.extend(super::super::paths::unescape(bytes));
        } else {
            self.literal(bytes, Quoting::Unquoted);
        }
    }

    fn end_field(&mut self) {
        let text = std::mem::take(&mut self.text);
        let glob = self.glob.take().filter(|glob| glob::has_wildcard(glob));
        self.started = false;
        self.done.push(Field { text, glob });
    }

    pub fn finish(mut self) -> (Vec<Field>, bool) {
        if !self.text.is_empty() || self.started {
            self.end_field();
        }
        (self.done, self.inexact)
    }
}

/// The value of `$IFS`: the scope's, else bash's default (bash never imports IFS).
pub(super) fn ifs(scope: &Scope) -> Vec<u8> {
    scope
        .vars
        .get(&b"IFS"[..])
        .map_or_else(|| b" \t\n".to_vec(), |v| v.value.text.clone())
}

/// Appends the expansion of `pieces` (parsed from `source`) to `out`; the text of command
/// substitutions goes to `subs`, to be parsed as commands of their own.
pub(super) fn render(
    source: &str,
    pieces: &[WordPieceWithSource],
    quoting: Quoting,
    scope: &Scope,
    out: &mut Fields<'_>,
    subs: &mut Vec<String>,
) -> Result<(), ShellError> {
    for piece in pieces {
        let raw = source.get(piece.start_index..piece.end_index).unwrap_or("");
        match &piece.piece {
            WordPiece::Text(s) => out.literal(s.as_bytes(), quoting),
            WordPiece::SingleQuotedText(s) => out.literal(s.as_bytes(), Quoting::Quoted),
            WordPiece::AnsiCQuotedText(s) => {
                let mut decoded = Vec::with_capacity(s.len());
                ansi_c_unescape(s.as_bytes(), &mut decoded);
                out.literal(&decoded, Quoting::Quoted);
            }
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => {
                out.literal(b"", Quoting::Quoted);
                render(source, inner, Quoting::Quoted, scope, out, subs)?;
            }
            WordPiece::TildeExpansion(tilde) => match tilde {
                TildeExpr::Home => out.literal(b"~", Quoting::Quoted),
                TildeExpr::UserHome(user) => {
                    out.literal(b"~", Quoting::Quoted);
                    out.literal(user.as_bytes(), Quoting::Quoted);
                }
                TildeExpr::WorkingDir => out.literal(b"$PWD", Quoting::Quoted),
                _ => out.as_written(raw.as_bytes()),
            },
            WordPiece::ParameterExpansion(expr) => match known(expr, scope, out)? {
                Some(value) => out.expansion(&value, quoting, &ifs(scope))?,
                None if symbolic(expr) => {
                    out.literal(b"$", Quoting::Quoted);
                    out.literal(parameter_name(expr).as_bytes(), Quoting::Quoted);
                }
                None => match expr {
                    // An unknown `$NAME` stays `$NAME` (also when written `${NAME}`).
                    ParameterExpr::Parameter {
                        parameter: Parameter::Named(name),
                        indirect: false,
                    } => {
                        out.as_written(b"$");
                        out.as_written(name.as_bytes());
                    }
                    _ => out.as_written(raw.as_bytes()),
                },
            },
            WordPiece::CommandSubstitution(inner) => {
                out.as_written(raw.as_bytes());
                subs.push(inner.clone());
            }
            WordPiece::BackquotedCommandSubstitution(inner) => {
                out.as_written(raw.as_bytes());
                subs.push(backquote_unescape(inner));
            }
            WordPiece::ArithmeticExpression(_) => out.as_written(raw.as_bytes()),
            WordPiece::EscapeSequence(s) => {
                let escaped = s.strip_prefix('\\').unwrap_or(s);
                if escaped != "\n" {
                    out.literal(escaped.as_bytes(), Quoting::Quoted);
                }
            }
        }
    }
    Ok(())
}

/// `$HOME` and `$PWD` unknown to the scope still name places the path rules know; so do
/// the forms whose value is theirs whenever they are set (`${HOME:?}`, `${HOME:-/x}`).
fn symbolic(expr: &ParameterExpr) -> bool {
    matches!(parameter_name(expr), "HOME" | "PWD")
}

/// The variable of a parameter expression whose value is the variable's own when it is set.
fn parameter_name(expr: &ParameterExpr) -> &str {
    match expr {
        ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: false,
        }
        | ParameterExpr::UseDefaultValues {
            parameter: Parameter::Named(name),
            indirect: false,
            ..
        }
        | ParameterExpr::AssignDefaultValues {
            parameter: Parameter::Named(name),
            indirect: false,
            ..
        }
        | ParameterExpr::IndicateErrorIfNullOrUnset {
            parameter: Parameter::Named(name),
            indirect: false,
            ..
        } => name,
        _ => "",
    }
}

/// A positional parameter, when the shell was given it as a word.
fn positional(scope: &Scope, n: usize) -> Option<Value> {
    scope.positional.get(n).map(|text| Value {
        text: text.clone(),
        glob: None,
    })
}

/// The value of a parameter expression when the scope makes it known.
fn known(
    expr: &ParameterExpr,
    scope: &Scope,
    out: &mut Fields<'_>,
) -> Result<Option<Value>, ShellError> {
    let value_of = |parameter: &Parameter, indirect: bool| -> Option<Value> {
        match (parameter, indirect) {
            (Parameter::Named(name), false) => match scope.vars.get(name.as_bytes()) {
                Some(var) => Some(var.value.clone()),
                None if name == "IFS" => Some(Value {
                    text: ifs(scope),
                    glob: None,
                }),
                None => None,
            },
            (Parameter::Positional(n), false) => positional(scope, *n as usize),
            (Parameter::Special(SpecialParameter::ShellName), false) => positional(scope, 0),
            // `"$@"` and `$*` are one word when there is one parameter.
            (Parameter::Special(SpecialParameter::AllPositionalParameters { .. }), false)
                if scope.positional.len() == 2 =>
            {
                positional(scope, 1)
            }
            _ => None,
        }
    };
    let text = |bytes: Vec<u8>| Value {
        text: bytes,
        glob: None,
    };
    Ok(match expr {
        ParameterExpr::Parameter {
            parameter,
            indirect,
        } => value_of(parameter, *indirect),
        ParameterExpr::IndicateErrorIfNullOrUnset {
            parameter,
            indirect,
            ..
        } => value_of(parameter, *indirect),
        // Known when set: its value; set but null (`:-`, `:=`): the default.
        ParameterExpr::UseDefaultValues {
            parameter,
            indirect,
            test_type,
            default_value,
        }
        | ParameterExpr::AssignDefaultValues {
            parameter,
            indirect,
            test_type,
            default_value,
        } => match value_of(parameter, *indirect) {
            Some(value)
                if !(value.text.is_empty()
                    && matches!(test_type, ParameterTestType::UnsetOrNull)) =>
            {
                Some(value)
            }
            Some(_) => literal_word(default_value.as_deref().unwrap_or(""), scope, out)?,
            None => None,
        },
        ParameterExpr::UseAlternativeValue {
            parameter,
            indirect,
            test_type,
            alternative_value,
        } => match value_of(parameter, *indirect) {
            Some(value)
                if value.text.is_empty() && matches!(test_type, ParameterTestType::UnsetOrNull) =>
            {
                Some(Value::default())
            }
            Some(_) => literal_word(alternative_value.as_deref().unwrap_or(""), scope, out)?,
            None => None,
        },
        ParameterExpr::ParameterLength {
            parameter,
            indirect,
        } => value_of(parameter, *indirect).map(|v| text(v.text.len().to_string().into_bytes())),
        ParameterExpr::Substring {
            parameter,
            indirect,
            offset,
            length,
        } => {
            let (Some(value), Some(offset)) =
                (value_of(parameter, *indirect), number(&offset.value))
            else {
                return Ok(None);
            };
            let length = match length {
                Some(length) => match number(&length.value) {
                    Some(n) => Some(n),
                    None => return Ok(None),
                },
                None => None,
            };
            Some(text(substring(&value.text, offset, length)))
        }
        ParameterExpr::RemoveSmallestSuffixPattern {
            parameter,
            indirect,
            pattern,
        }
        | ParameterExpr::RemoveLargestSuffixPattern {
            parameter,
            indirect,
            pattern,
        }
        | ParameterExpr::RemoveSmallestPrefixPattern {
            parameter,
            indirect,
            pattern,
        }
        | ParameterExpr::RemoveLargestPrefixPattern {
            parameter,
            indirect,
            pattern,
        } => {
            let (Some(value), Some(pattern)) = (
                value_of(parameter, *indirect),
                plain_pattern(pattern.as_deref().unwrap_or("")),
            ) else {
                return Ok(None);
            };
            let longest = matches!(
                expr,
                ParameterExpr::RemoveLargestSuffixPattern { .. }
                    | ParameterExpr::RemoveLargestPrefixPattern { .. }
            );
            let suffix = matches!(
                expr,
                ParameterExpr::RemoveSmallestSuffixPattern { .. }
                    | ParameterExpr::RemoveLargestSuffixPattern { .. }
            );
            remove_pattern(&value.text, &pattern, suffix, longest).map(text)
        }
        ParameterExpr::ReplaceSubstring {
            parameter,
            indirect,
            pattern,
            replacement,
            match_kind,
        } => {
            let (Some(value), Some(pattern)) =
                (value_of(parameter, *indirect), plain_pattern(pattern))
            else {
                return Ok(None);
            };
            if pattern.is_empty() {
                return Ok(Some(value));
            }
            let Some(replacement) = literal_word(replacement.as_deref().unwrap_or(""), scope, out)?
            else {
                return Ok(None);
            };
            Some(text(replace(
                &value.text,
                &pattern,
                &replacement.text,
                match_kind,
            )))
        }
        ParameterExpr::UppercasePattern {
            parameter,
            indirect,
            pattern,
        } if pattern.as_deref().unwrap_or("").is_empty() => {
            value_of(parameter, *indirect).map(|v| text(v.text.to_ascii_uppercase()))
        }
        ParameterExpr::LowercasePattern {
            parameter,
            indirect,
            pattern,
        } if pattern.as_deref().unwrap_or("").is_empty() => {
            value_of(parameter, *indirect).map(|v| text(v.text.to_ascii_lowercase()))
        }
        _ => None,
    })
}

/// A word inside a parameter expression (`${v:-WORD}`) when it renders to a known value.
fn literal_word(
    source: &str,
    scope: &Scope,
    out: &mut Fields<'_>,
) -> Result<Option<Value>, ShellError> {
    let Ok(pieces) = word::parse(source, &ParserOptions::default()) else {
        return Ok(None);
    };
    let mut fields = Fields::new(out.budget);
    let mut subs = Vec::new();
    render(
        source,
        &pieces,
        Quoting::Quoted,
        scope,
        &mut fields,
        &mut subs,
    )?;
    let (done, inexact) = fields.finish();
    if inexact || !subs.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        done.into_iter()
            .next()
            .map(Field::value)
            .unwrap_or_default(),
    ))
}

/// A literal decimal number of an arithmetic expression (`1`, ` -2`).
fn number(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// `${v:offset:length}` as bash computes it (negative offsets count from the end,
/// a negative length is an end counted from the end).
fn substring(text: &[u8], offset: i64, length: Option<i64>) -> Vec<u8> {
    let len = text.len() as i64;
    let start = if offset < 0 { len + offset } else { offset };
    if start < 0 || start > len {
        return Vec::new();
    }
    let end = match length {
        None => len,
        Some(n) if n < 0 => len + n,
        Some(n) => start.saturating_add(n).min(len),
    };
    if end < start {
        return Vec::new();
    }
    text[start as usize..end as usize].to_vec()
}

/// A pattern without wildcards, as bytes (its quotes removed).
fn plain_pattern(pattern: &str) -> Option<Vec<u8>> {
    let pieces = word::parse(pattern, &ParserOptions::default()).ok()?;
    let mut text = Vec::new();
    for piece in &pieces {
        match &piece.piece {
            WordPiece::Text(s) if !glob::has_wildcard(s.as_bytes()) => text.extend(s.as_bytes()),
            WordPiece::SingleQuotedText(s) => text.extend(s.as_bytes()),
            WordPiece::EscapeSequence(s) => {
                text.extend(s.strip_prefix('\\').unwrap_or(s).as_bytes())
            }
            _ => return None,
        }
    }
    Some(text)
}

fn remove_pattern(text: &[u8], pattern: &[u8], suffix: bool, _longest: bool) -> Option<Vec<u8>> {
    // A literal pattern matches one way only: longest and shortest are the same.
    let stripped = if suffix {
        text.strip_suffix(pattern)
    } else {
        text.strip_prefix(pattern)
    };
    Some(stripped.unwrap_or(text).to_vec())
}

fn replace(text: &[u8], pattern: &[u8], with: &[u8], kind: &SubstringMatchKind) -> Vec<u8> {
    match kind {
        SubstringMatchKind::Prefix => match text.strip_prefix(pattern) {
            Some(rest) => [with, rest].concat(),
            None => text.to_vec(),
        },
        SubstringMatchKind::Suffix => match text.strip_suffix(pattern) {
            Some(rest) => [rest, with].concat(),
            None => text.to_vec(),
        },
        SubstringMatchKind::FirstOccurrence | SubstringMatchKind::Anywhere => {
            let all = matches!(kind, SubstringMatchKind::Anywhere);
            let mut out = Vec::with_capacity(text.len());
            let mut i = 0;
            let mut replaced = false;
            while i < text.len() {
                if (all || !replaced) && text[i..].starts_with(pattern) {
                    out.extend_from_slice(with);
                    i += pattern.len();
                    replaced = true;
                } else {
                    out.push(text[i]);
                    i += 1;
                }
            }
            out
        }
    }
}

/// Inside backquotes, `\$`, `` \` `` and `\\` stand for the character itself.
pub(super) fn backquote_unescape(text: &str) -> String {
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

/// Decodes the escapes of `$'…'` (`$'\x72m'` is `rm`). A NUL ends the string, as in bash:
/// `id_rsa$'\0.pub'` is `id_rsa`.
pub(super) fn ansi_c_unescape(text: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    decode_escapes(text, out);
    if let Some(nul) = out[start..].iter().position(|&b| b == 0) {
        out.truncate(start + nul);
    }
}

/// Decodes C-style backslash escapes (`\n`, `\x72`, `\101`, `\u…`, `\cX`) as `$'…'`,
/// `printf` and `echo -e` do; an unknown escape stays as written.
pub(crate) fn decode_escapes(text: &[u8], out: &mut Vec<u8>) {
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

/// Brace expansion of a raw word, as bash does it before anything else: `a{b,c}d` is
/// `abd acd`, `{1..3}` is `1 2 3`; quoted braces and `${…}` are left alone. More than
/// [`MAX_BRACE_WORDS`] words is an error (the string is refused, not judged in part).
pub(super) fn braces(raw: &str) -> Result<Vec<Cow<'_, str>>, ShellError> {
    if first_brace(raw.as_bytes()).is_none() {
        return Ok(vec![Cow::Borrowed(raw)]);
    }
    let mut done = Vec::new();
    let mut pending = vec![raw.to_string()];
    while let Some(word) = pending.pop() {
        match first_brace(word.as_bytes()) {
            None => done.push(Cow::Owned(word)),
            Some((open, close, items)) => {
                if done.len() + pending.len() + items.len() > MAX_BRACE_WORDS {
                    return Err(ShellError::TooMany);
                }
                for item in items.into_iter().rev() {
                    pending.push(format!("{}{}{}", &word[..open], item, &word[close + 1..]));
                }
            }
        }
    }
    Ok(done)
}

/// The first expandable `{…}` of a word: its bounds and its items.
fn first_brace(word: &[u8]) -> Option<(usize, usize, Vec<String>)> {
    let mut i = 0;
    while i < word.len() {
        match word[i] {
            b'\\' => i += 2,
            b'\'' => i = skip_until(word, i + 1, b'\'') + 1,
            b'"' => i = skip_double(word, i + 1) + 1,
            b'$' if matches!(word.get(i + 1), Some(b'{' | b'(')) => {
                i = matching(word, i + 1)? + 1;
            }
            b'{' => {
                let close = matching(word, i)?;
                if let Some(items) = brace_items(&word[i + 1..close]) {
                    return Some((i, close, items));
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn skip_until(word: &[u8], from: usize, end: u8) -> usize {
    word[from.min(word.len())..]
        .iter()
        .position(|&b| b == end)
        .map_or(word.len(), |p| from + p)
}

fn skip_double(word: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < word.len() {
        match word[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    word.len()
}

/// The index of the bracket closing the one at `open` (`{`/`}` or `(`/`)`), quotes and
/// escapes skipped.
fn matching(word: &[u8], open: usize) -> Option<usize> {
    let (opener, closer) = match word[open] {
        b'{' => (b'{', b'}'),
        _ => (b'(', b')'),
    };
    let mut depth = 0usize;
    let mut i = open;
    while i < word.len() {
        match word[i] {
            b'\\' => i += 1,
            b'\'' => i = skip_until(word, i + 1, b'\''),
            b'"' => i = skip_double(word, i + 1),
            b if b == opener => depth += 1,
            b if b == closer => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The items of a brace body: its top-level comma-separated parts, or a sequence
/// (`1..5`, `a..e`, `1..10..2`). `None` when it is neither (`{x}` stays `{x}`).
fn brace_items(body: &[u8]) -> Option<Vec<String>> {
    let text = std::str::from_utf8(body).ok()?;
    if let Some(items) = sequence(text) {
        return Some(items);
    }
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\\' => i += 1,
            b'\'' => i = skip_until(body, i + 1, b'\''),
            b'"' => i = skip_double(body, i + 1),
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                items.push(text.get(start..i)?.to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if items.is_empty() {
        return None;
    }
    items.push(text.get(start..)?.to_string());
    Some(items)
}

fn sequence(text: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = text.split("..").collect();
    let (from, to, step) = match parts[..] {
        [from, to] => (from, to, 1u64),
        [from, to, step] => (from, to, step.parse::<i64>().ok()?.unsigned_abs().max(1)),
        _ => return None,
    };
    // Integers, or single letters; the items are counted first, so nothing overflows.
    let (a, b, letters) = match (from.parse::<i64>(), to.parse::<i64>()) {
        (Ok(a), Ok(b)) => (a, b, false),
        _ => match (from.as_bytes(), to.as_bytes()) {
            (&[a], &[b]) if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                (i64::from(a), i64::from(b), true)
            }
            _ => return None,
        },
    };
    let count = (a.abs_diff(b) / step).saturating_add(1);
    if count > MAX_BRACE_WORDS as u64 {
        return None;
    }
    let width = if !letters && (from.starts_with('0') || to.starts_with('0')) {
        from.len().max(to.len())
    } else {
        0
    };
    let items = (0..count)
        .map(|i| {
            let offset = i128::from(i) * i128::from(step);
            let n = if a <= b {
                i128::from(a) + offset
            } else {
                i128::from(a) - offset
            };
            if letters {
                char::from(n as u8).to_string()
            } else {
                format!("{n:0width$}")
            }
        })
        .collect();
    Some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_ends_an_ansi_c_string() {
        let decode = |s: &str| {
            let mut out = Vec::new();
            ansi_c_unescape(s.as_bytes(), &mut out);
            out
        };
        assert_eq!(decode(r"\x72m"), b"rm");
        assert_eq!(decode(r"\0.pub"), b"");
        assert_eq!(decode(r"a\x00b"), b"a");
        assert_eq!(decode(r"a\u0000b"), b"a");
        assert_eq!(decode(r"a\c@b"), b"a");
        assert_eq!(decode(r"\101"), b"A");
    }

    #[test]
    fn braces_expand_like_bash() {
        fn expand(s: &str) -> Vec<String> {
            braces(s)
                .unwrap()
                .into_iter()
                .map(|w| w.into_owned())
                .collect()
        }
        assert_eq!(expand("{rm,-rf,/}"), ["rm", "-rf", "/"]);
        assert_eq!(
            expand("~/.ssh/id_{rsa,ed25519}"),
            ["~/.ssh/id_rsa", "~/.ssh/id_ed25519"]
        );
        assert_eq!(expand("a{b,c{d,e}}f"), ["abf", "acdf", "acef"]);
        assert_eq!(expand("{1..3}"), ["1", "2", "3"]);
        assert_eq!(expand("x{a..c..2}"), ["xa", "xc"]);
        assert_eq!(expand("{08..10}"), ["08", "09", "10"]);
        assert_eq!(expand("{x}"), ["{x}"]);
        assert_eq!(expand("'{a,b}'"), ["'{a,b}'"]);
        assert_eq!(expand("${a:-{b,c}}"), ["${a:-{b,c}}"]);
        assert_eq!(expand("{a,b}{c,d}"), ["ac", "ad", "bc", "bd"]);
        assert!(braces(&"{a,b}".repeat(9)).is_err());
        assert_eq!(
            expand("{9223372036854775806..9223372036854775807}").len(),
            2
        );
        assert_eq!(
            expand("{-9223372036854775808..9223372036854775807}").len(),
            1
        );
        assert_eq!(expand("{c..a}"), ["c", "b", "a"]);
    }

    #[test]
    fn substrings_and_patterns_follow_bash() {
        assert_eq!(substring(b"abcdef", 1, Some(2)), b"bc");
        assert_eq!(substring(b"abcdef", -2, None), b"ef");
        assert_eq!(substring(b"abcdef", 1, Some(-1)), b"bcde");
        assert_eq!(substring(b"abc", 5, None), b"");
        assert_eq!(
            replace(b"a-b-c", b"-", b"/", &SubstringMatchKind::Anywhere),
            b"a/b/c"
        );
        assert_eq!(
            replace(b"a-b-c", b"-", b"/", &SubstringMatchKind::FirstOccurrence),
            b"a/b-c"
        );
        assert_eq!(
            remove_pattern(b"x.tar", b".tar", true, false),
            Some(b"x".to_vec())
        );
    }
}
