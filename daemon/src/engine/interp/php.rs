//! PHP's literals: `'…'`, interpolating `"…"` (its `$x`, `$x[…]`, `$x->y`, `{$…}`,
//! `${x}` as code), here- and nowdocs, backtick commands, `#`, `//` and `/* */` comments,
//! and inline HTML outside `<?php … ?>` in files. PHP names are case-insensitive, so they
//! are lowercased (variables excepted). Also the calls that run commands, read, copy or
//! delete files.

use super::eval::{ArgumentList, Dialect, Dot, Parens};
use super::table::{call, Argv0, Call, Effect::*, Encoding, Helper::*, OpenMode, Recursion, Span};
use super::token::{
    closing, delimited, escaped, find, is_word_byte, is_word_start, Cursor, Part, Pieces, Token,
};
use super::Language;

pub(crate) static DIALECT: Dialect = Dialect {
    language: Language::Php(Start::Code),
    tokenize: tokenize_code,
    dot: Dot::Concat,
    parens: Parens::Required,
    calls: CALLS,
    methods: &[],
    prefixes: &["new", "return", "echo", "print", "clone", "yield"],
    environment: &["$_SERVER", "$_ENV"],
    arguments: ArgumentList {
        names: &["$argv"],
        before_inline: 1,
        before_file: 1,
    },
    stops: &[],
    truth: &["true"],
};

const SINGLE: Recursion = Recursion::Single;

const CALLS: &[Call] = &[
    call("system", Command(0)),
    call("exec", Command(0)),
    call("shell_exec", Command(0)),
    call("passthru", Command(0)),
    call("popen", Command(0)),
    call("proc_open", Command(0)),
    call("pcntl_exec", Vector(0, Argv0::Absent)),
    call("file_get_contents", Read(Span::One(0))),
    call("readfile", Read(Span::One(0))),
    call("file", Read(Span::One(0))),
    call("parse_ini_file", Read(Span::One(0))),
    call("highlight_file", Read(Span::One(0))),
    call("show_source", Read(Span::One(0))),
    call("php_strip_whitespace", Read(Span::One(0))),
    call("simplexml_load_file", Read(Span::One(0))),
    call("md5_file", Read(Span::One(0))),
    call("sha1_file", Read(Span::One(0))),
    call("hash_file", Read(Span::One(1))),
    call("splfileobject", Read(Span::One(0))),
    call("fopen", Open(0, OpenMode::Letters)),
    call("gzopen", Open(0, OpenMode::Letters)),
    call("file_put_contents", Write(Span::One(0))),
    call("copy", Copy(0)),
    call("rename", Move(0)),
    call("unlink", Remove(Span::One(0), SINGLE)),
    call("rmdir", Remove(Span::One(0), SINGLE)),
    call("recursivedirectoryiterator", Walk(Span::One(0))),
    call("directoryiterator", Walk(Span::One(0))),
    call("filesystemiterator", Walk(Span::One(0))),
    call("scandir", Walk(Span::One(0))),
    call("opendir", Walk(Span::One(0))),
    call("glob", Walk(Span::One(0))),
    call("getenv", Value(Env(0))),
    call("escapeshellarg", Value(Quote(0))),
    call("escapeshellcmd", Value(Same(0))),
    call("realpath", Value(Same(0))),
    call(
        "implode",
        Value(JoinWith {
            separator: 0,
            list: 1,
        }),
    ),
    call(
        "join",
        Value(JoinWith {
            separator: 0,
            list: 1,
        }),
    ),
    call("array", Value(List)),
    call("base64_decode", Value(Decode(0, Encoding::Base64))),
    call("hex2bin", Value(Decode(0, Encoding::Hex))),
    call("eval", Eval(0)),
];

const MAX_NESTING: usize = 16;

/// Where a PHP text starts: in code (`php -r`, `eval`) or in inline HTML (a file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    Code,
    Html,
}

/// Code as `php -r` and `eval` take it.
pub(crate) fn tokenize_code(code: &[u8]) -> Vec<Token> {
    tokenize(code, Start::Code)
}

pub(crate) fn tokenize(code: &[u8], start: Start) -> Vec<Token> {
    let mut lexer = Lexer {
        tokens: Vec::new(),
        nesting: 0,
    };
    lexer.run(&mut Cursor::new(code), start);
    lexer.tokens
}

fn tokenize_nested(code: &[u8], nesting: usize) -> Vec<Token> {
    let mut lexer = Lexer {
        tokens: Vec::new(),
        nesting,
    };
    if nesting <= MAX_NESTING {
        lexer.run(&mut Cursor::new(code), Start::Code);
    }
    lexer.tokens
}

struct Lexer {
    tokens: Vec<Token>,
    nesting: usize,
}

impl Lexer {
    fn run(&mut self, cursor: &mut Cursor<'_>, start: Start) {
        if start == Start::Html {
            if cursor.starts_with(b"#!") {
                cursor.skip_line();
            }
            self.html(cursor);
        }
        while let Some(b) = cursor.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => cursor.at += 1,
                b'?' if cursor.peek_at(1) == Some(b'>') => {
                    cursor.at += 2;
                    self.tokens.push(Token::Punct(b';'));
                    self.html(cursor);
                }
                b'#' if cursor.peek_at(1) != Some(b'[') => self.line_comment(cursor),
                b'/' if cursor.peek_at(1) == Some(b'/') => self.line_comment(cursor),
                b'/' if cursor.peek_at(1) == Some(b'*') => {
                    cursor.at += 2;
                    cursor.skip_past(b"*/");
                }
                b'\'' => {
                    cursor.at += 1;
                    let body = delimited(cursor, b'\'');
                    self.tokens.push(Token::Str(vec![Part::Lit(body)]));
                }
                b'"' => {
                    cursor.at += 1;
                    let body = raw_until(cursor, b'"');
                    self.tokens.push(Token::Str(self.interpolate(&body)));
                }
                b'`' => {
                    cursor.at += 1;
                    let body = raw_until(cursor, b'`');
                    self.tokens.push(Token::Command(self.interpolate(&body)));
                }
                b'<' if cursor.starts_with(b"<<<") => self.heredoc(cursor),
                b'$' if cursor
                    .peek_at(1)
                    .is_some_and(|c| is_word_start(c) || c == b'$') =>
                {
                    let start = cursor.at;
                    cursor.at += 1;
                    while cursor.peek() == Some(b'$') {
                        cursor.at += 1;
                    }
                    cursor.word();
                    self.tokens
                        .push(Token::Word(cursor.code[start..cursor.at].to_vec()));
                }
                b'0'..=b'9' => {
                    let number = cursor.number();
                    self.tokens.push(number);
                }
                b'\\' if cursor.peek_at(1).is_some_and(is_word_start) => cursor.at += 1,
                _ if is_word_start(b) => {
                    let word = cursor.word();
                    self.tokens.push(Token::Word(word.to_ascii_lowercase()));
                }
                _ => {
                    let token = cursor.operator();
                    self.tokens.push(token);
                }
            }
        }
    }

    /// Inline HTML up to `<?php`, `<?=` or `<?`.
    fn html(&self, cursor: &mut Cursor<'_>) {
        match find(cursor.rest(), b"<?") {
            Some(at) => {
                cursor.at += at + 2;
                if cursor.rest().len() >= 3 && cursor.rest()[..3].eq_ignore_ascii_case(b"php") {
                    cursor.at += 3;
                } else if cursor.peek() == Some(b'=') {
                    cursor.at += 1;
                }
            }
            None => cursor.at = cursor.code.len(),
        }
    }

    /// A `#` or `//` comment: to the end of the line or a `?>`.
    fn line_comment(&self, cursor: &mut Cursor<'_>) {
        while let Some(b) = cursor.peek() {
            if b == b'\n' || cursor.starts_with(b"?>") {
                return;
            }
            cursor.at += 1;
        }
    }

    /// `<<<ID`, `<<<"ID"` (interpolating) and `<<<'ID'` (nowdoc); the closing identifier may
    /// be indented.
    fn heredoc(&mut self, cursor: &mut Cursor<'_>) {
        cursor.at += 3;
        while cursor.peek() == Some(b' ') {
            cursor.at += 1;
        }
        let literal = cursor.peek() == Some(b'\'');
        if matches!(cursor.peek(), Some(b'\'' | b'"')) {
            cursor.at += 1;
        }
        let terminator = cursor.word();
        cursor.skip_line();
        cursor.bump();
        let mut body = Vec::new();
        while !cursor.done() {
            let start = cursor.at;
            cursor.skip_line();
            let line = &cursor.code[start..cursor.at];
            let indent = line
                .iter()
                .take_while(|b| matches!(b, b' ' | b'\t'))
                .count();
            let content = &line[indent..];
            if !terminator.is_empty()
                && content.starts_with(&terminator)
                && !content
                    .get(terminator.len())
                    .is_some_and(|&c| is_word_byte(c))
            {
                cursor.at = start + indent + terminator.len();
                break;
            }
            cursor.bump();
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        body.pop();
        let parts = if literal {
            vec![Part::Lit(body)]
        } else {
            self.interpolate(&body)
        };
        self.tokens.push(Token::Str(parts));
    }

    /// A double-quoted body: `$x`, `$x[k]`, `$x->y`, `{$…}` and `${x}` become code.
    fn interpolate(&self, body: &[u8]) -> Vec<Part> {
        let mut pieces = Pieces::new(escaped);
        let mut i = 0;
        while i < body.len() {
            let b = body[i];
            if b == b'\\' && i + 1 < body.len() {
                pieces.extend(&body[i..i + 2]);
                i += 2;
                continue;
            }
            let end = match b {
                b'$' if body.get(i + 1).is_some_and(|&c| is_word_start(c)) => {
                    Some(simple_variable_end(body, i))
                }
                b'{' if body.get(i + 1) == Some(&b'$') => {
                    let close = body[i..]
                        .iter()
                        .position(|&c| c == b'}')
                        .map_or(body.len(), |p| i + p + 1);
                    Some(close)
                }
                b'$' if body.get(i + 1) == Some(&b'{') => {
                    let close = body[i..]
                        .iter()
                        .position(|&c| c == b'}')
                        .map_or(body.len(), |p| i + p + 1);
                    Some(close)
                }
                _ => None,
            };
            let Some(end) = end else {
                pieces.push(b);
                i += 1;
                continue;
            };
            let code = match &body[i..end] {
                [b'{', inner @ .., b'}'] => inner.to_vec(),
                [b'$', b'{', inner @ .., b'}'] => [b"$", inner].concat(),
                other => other.to_vec(),
            };
            pieces.code(tokenize_nested(&code, self.nesting + 1));
            i = end;
        }
        pieces.finish()
    }
}

/// `$name`, `$name[…]`, `$name->prop` as PHP interpolates them in a string.
fn simple_variable_end(body: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < body.len() && is_word_byte(body[i]) {
        i += 1;
    }
    if body.get(i) == Some(&b'[') {
        if let Some(p) = body[i..].iter().position(|&c| c == closing(b'[')) {
            i += p + 1;
        }
    } else if body[i..].starts_with(b"->") && body.get(i + 2).is_some_and(|&c| is_word_start(c)) {
        i += 2;
        while i < body.len() && is_word_byte(body[i]) {
            i += 1;
        }
    }
    i
}

/// A double-quoted or backtick body, raw (escapes kept for [`unescape`]).
fn raw_until(cursor: &mut Cursor<'_>, quote: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    while let Some(b) = cursor.bump() {
        match b {
            b'\\' => {
                if let Some(next) = cursor.bump() {
                    raw.extend([b'\\', next]);
                }
            }
            _ if b == quote => break,
            _ => raw.push(b),
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_heredocs_and_html() {
        let tokens = tokenize(
            b"<html><?php echo \"k: {$_SERVER['HOME']}/x\"; ?>text 'no'",
            Start::Html,
        );
        let Token::Str(parts) = &tokens[1] else {
            panic!("{tokens:?}")
        };
        assert_eq!(parts[0], Part::Lit(b"k: ".to_vec()));
        assert!(
            matches!(&parts[1], Part::Code(code) if code[0] == Token::Word(b"$_SERVER".to_vec()))
        );
        assert!(!tokens
            .iter()
            .any(|t| *t == Token::Str(vec![Part::Lit(b"no".to_vec())])));
        let tokens = tokenize_code(b"SYSTEM(<<<'EOT'\n  rm -rf ~\n  EOT);");
        assert_eq!(tokens[0], Token::Word(b"system".to_vec()));
        assert_eq!(
            tokens[2],
            Token::Str(vec![Part::Lit(b"  rm -rf ~".to_vec())])
        );
    }
}
