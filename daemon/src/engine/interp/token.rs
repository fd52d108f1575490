//! The tokens every language's literal scanner produces, and the cursor they share.
//!
//! A scanner only has to get three things right: where string literals begin and end (and
//! what bytes they stand for), where comments and regular expressions are (so that their
//! text is never read as code), and the names and brackets between them. Everything else
//! is punctuation.

/// One piece of a string literal: text, or an interpolated expression (`f"{home}"`,
/// `` `${dir}` ``, `"#{x}"`, `"$x"`), already tokenized.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Part {
    Lit(Vec<u8>),
    Code(Vec<Token>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token {
    /// A name or keyword; Perl and PHP variables keep their sigil (`$x`, `@a`).
    Word(Vec<u8>),
    /// A string literal.
    Str(Vec<Part>),
    /// A command literal run through the shell: backticks, Perl `qx`, Ruby `%x`.
    Command(Vec<Part>),
    /// A list of words: Perl `qw(…)`, Ruby `%w[…]`.
    Words(Vec<Vec<u8>>),
    /// An operator of more than one character that the evaluator tells apart.
    Op(&'static str),
    Punct(u8),
    /// An operand whose value never matters: a regular expression, a number other than a
    /// decimal integer.
    Opaque,
    /// The end of a line where a language ends statements with it (Python, Ruby).
    Newline,
}

/// Operators of two or three characters, longest first.
const OPERATORS: &[&str] = &[
    "**=", "===", "!==", "<=>", "...", "=>", "->", "::", "==", "!=", "<=", ">=", "+=", "-=", ".=",
    "=~", "!~", "&&", "||", "**", "//", "<<", ">>", "?.", "..",
];

/// A byte cursor over code with the helpers every scanner needs.
pub(crate) struct Cursor<'c> {
    pub code: &'c [u8],
    pub at: usize,
}

impl<'c> Cursor<'c> {
    pub fn new(code: &'c [u8]) -> Self {
        Cursor { code, at: 0 }
    }

    pub fn peek(&self) -> Option<u8> {
        self.code.get(self.at).copied()
    }

    pub fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.code.get(self.at + ahead).copied()
    }

    pub fn rest(&self) -> &'c [u8] {
        &self.code[self.at.min(self.code.len())..]
    }

    pub fn done(&self) -> bool {
        self.at >= self.code.len()
    }

    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.rest().starts_with(prefix)
    }

    pub fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    /// Skips to the end of the line (not past the newline).
    pub fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                break;
            }
            self.at += 1;
        }
    }

    /// Skips past `end` (or to the end of the code).
    pub fn skip_past(&mut self, end: &[u8]) {
        match find(self.rest(), end) {
            Some(at) => self.at += at + end.len(),
            None => self.at = self.code.len(),
        }
    }

    /// An identifier: ASCII letters, digits and `_`, and any byte above 0x7f (non-ASCII
    /// names are rare but legal in every one of these languages).
    pub fn word(&mut self) -> Vec<u8> {
        let start = self.at;
        while self.peek().is_some_and(is_word_byte) {
            self.at += 1;
        }
        self.code[start..self.at].to_vec()
    }

    /// A number literal: a decimal integer is a string of its digits (the evaluator's values
    /// are text, and an index such as `sys.argv[1]` needs its value); any other number is
    /// [`Token::Opaque`].
    pub fn number(&mut self) -> Token {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            // `1..2` is a range, not a number.
            if self.peek() == Some(b'.') && self.peek_at(1) == Some(b'.') {
                break;
            }
            self.at += 1;
        }
        let text = &self.code[start..self.at];
        match text.iter().all(u8::is_ascii_digit) {
            true => Token::Str(vec![Part::Lit(text.to_vec())]),
            false => Token::Opaque,
        }
    }

    /// An operator or a single punctuation byte.
    pub fn operator(&mut self) -> Token {
        for op in OPERATORS {
            if self.starts_with(op.as_bytes()) {
                self.at += op.len();
                return Token::Op(op);
            }
        }
        let b = self.bump().unwrap_or(b' ');
        Token::Punct(b)
    }
}

pub(crate) fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

pub(crate) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The closing bracket of an opening one, for the languages whose quote operators take
/// any delimiter (`q{…}`, `%w[…]`): brackets pair, anything else closes itself.
pub(crate) fn closing(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        b'{' => b'}',
        b'<' => b'>',
        other => other,
    }
}

/// Reads a delimited body after its opening delimiter, with nested brackets when the
/// delimiter is a bracket and `\` escaping the delimiters. Returns the raw body.
pub(crate) fn delimited(cursor: &mut Cursor<'_>, open: u8) -> Vec<u8> {
    let close = closing(open);
    let mut depth = 0usize;
    let mut body = Vec::new();
    while let Some(b) = cursor.bump() {
        if b == b'\\' {
            if let Some(next) = cursor.bump() {
                if next != open && next != close {
                    body.push(b'\\');
                }
                body.push(next);
            }
            continue;
        }
        if b == close && depth == 0 {
            return body;
        }
        if open != close {
            if b == open {
                depth += 1;
            } else if b == close {
                depth -= 1;
            }
        }
        body.push(b);
    }
    body
}

/// A string literal's parts as a scanner reads them: text (decoded by `decode` when code or
/// the end of the literal closes it) and the code of interpolations.
pub(crate) struct Pieces {
    parts: Vec<Part>,
    text: Vec<u8>,
    decode: fn(&[u8]) -> Vec<u8>,
}

impl Pieces {
    pub fn new(decode: fn(&[u8]) -> Vec<u8>) -> Self {
        Pieces {
            parts: Vec::new(),
            text: Vec::new(),
            decode,
        }
    }

    pub fn push(&mut self, b: u8) {
        self.text.push(b);
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        self.text.extend_from_slice(bytes);
    }

    pub fn code(&mut self, tokens: Vec<Token>) {
        self.flush();
        self.parts.push(Part::Code(tokens));
    }

    /// The parts; a literal with nothing in it is one empty piece of text.
    pub fn finish(mut self) -> Vec<Part> {
        self.flush();
        if self.parts.is_empty() {
            self.parts.push(Part::Lit(Vec::new()));
        }
        self.parts
    }

    fn flush(&mut self) {
        if !self.text.is_empty() {
            self.parts.push(Part::Lit((self.decode)(&self.text)));
            self.text.clear();
        }
    }
}

/// [`unescape`] with unknown escapes standing for their character, for [`Pieces`].
pub(crate) fn escaped(raw: &[u8]) -> Vec<u8> {
    unescape(raw, false)
}

/// How a here-document's text is read.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Quote {
    Literal,
    Interpolating,
    Command,
}

/// A here-document whose marker was read: its body starts on the next line, where
/// [`heredoc_bodies`] fills in the placeholder token at `token`.
pub(crate) struct Heredoc {
    pub token: usize,
    pub terminator: Vec<u8>,
    pub quote: Quote,
    /// `<<~` (and `<<-`): the terminator may be indented, and so are the lines.
    pub indented: bool,
}

/// Reads the bodies of the here-documents whose markers were on the line just ended, in
/// order, and puts them in their placeholders; `interpolate` reads an interpolating one.
pub(crate) fn heredoc_bodies(
    cursor: &mut Cursor<'_>,
    heredocs: Vec<Heredoc>,
    tokens: &mut [Token],
    interpolate: impl Fn(&[u8]) -> Vec<Part>,
) {
    for doc in heredocs {
        let mut body = Vec::new();
        while !cursor.done() {
            let start = cursor.at;
            cursor.skip_line();
            let line = &cursor.code[start..cursor.at];
            if cursor.peek() == Some(b'\n') {
                cursor.at += 1;
            }
            let line = if doc.indented {
                let blanks = line
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
                &line[blanks..]
            } else {
                line
            };
            if line == &doc.terminator[..] {
                break;
            }
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        let token = match doc.quote {
            Quote::Literal => Token::Str(vec![Part::Lit(body)]),
            Quote::Interpolating => Token::Str(interpolate(&body)),
            Quote::Command => Token::Command(interpolate(&body)),
        };
        if let Some(slot) = tokens.get_mut(doc.token) {
            *slot = token;
        }
    }
}

/// Decodes the common backslash escapes of double-quoted strings (`\n`, `\t`, `\xHH`,
/// `\u{…}`/`\uHHHH`, octal, `\\`, `\"`); an unknown escape stands for the character after
/// the backslash, as in most of these languages. `keep_unknown` keeps the backslash
/// instead (Python).
pub(crate) fn unescape(raw: &[u8], keep_unknown: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' || i + 1 >= raw.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        i += 2;
        let simple = match c {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'0' if !raw.get(i).is_some_and(u8::is_ascii_digit) => Some(0),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'v' => Some(11),
            b'e' => Some(27),
            b'\\' | b'\'' | b'"' | b'`' | b'$' | b'/' | b'\n' => Some(c),
            _ => None,
        };
        if let Some(byte) = simple {
            if c != b'\n' {
                out.push(byte);
            }
            continue;
        }
        match c {
            b'x' => {
                let (value, used) = hex(&raw[i..], 2);
                match value {
                    Some(v) => {
                        out.push(v as u8);
                        i += used;
                    }
                    None => out.extend([b'\\', b'x']),
                }
            }
            b'u' | b'U' => {
                let (value, used) = if raw.get(i) == Some(&b'{') {
                    let end = raw[i..].iter().position(|&b| b == b'}');
                    match end {
                        Some(end) => (hex(&raw[i + 1..i + end], 8).0, end + 1),
                        None => (None, 0),
                    }
                } else {
                    hex(&raw[i..], if c == b'u' { 4 } else { 8 })
                };
                match value.and_then(char::from_u32) {
                    Some(ch) => {
                        out.extend(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        i += used;
                    }
                    None => out.extend([b'\\', c]),
                }
            }
            b'0'..=b'7' => {
                let digits = raw[i - 1..]
                    .iter()
                    .take(3)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count();
                let value = raw[i - 1..i - 1 + digits]
                    .iter()
                    .fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                out.push(value as u8);
                i += digits - 1;
            }
            _ if keep_unknown => out.extend([b'\\', c]),
            _ => out.push(c),
        }
    }
    out
}

/// Up to `max` hex digits at the start of `text`: their value and how many were used.
fn hex(text: &[u8], max: usize) -> (Option<u32>, usize) {
    let used = text
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let value = std::str::from_utf8(&text[..used])
        .ok()
        .and_then(|d| u32::from_str_radix(d, 16).ok());
    (value.filter(|_| used > 0), used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            unescape(br"a\nb\x41\u0042\u{43}\101\\\q", false),
            b"a\nbABCA\\q"
        );
        assert_eq!(unescape(br"\q\x", true), br"\q\x");
        assert_eq!(unescape(b"\\", false), b"\\");
    }

    #[test]
    fn delimited_bodies_nest_brackets() {
        let mut cursor = Cursor::new(b"a (b) \\) c) rest");
        assert_eq!(delimited(&mut cursor, b'('), b"a (b) ) c");
        assert_eq!(cursor.rest(), b" rest");
        let mut cursor = Cursor::new(b"x\\/y/z");
        assert_eq!(delimited(&mut cursor, b'/'), b"x/y");
    }
}
