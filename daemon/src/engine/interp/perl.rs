//! Perl's literals: `'…'` and `q()`, interpolating `"…"` and `qq{}` (their `$x`,
//! `$h{k}`, `@a`, `${…}` as code), `qw()` word lists, backticks and `qx{}` commands,
//! here-documents, and the quote-like operators whose text is never code (`m//`, `qr//`,
//! `tr///`, `y///`, `s///` unless it has the `e` flag, whose replacement is code; a `/`
//! where an operator cannot stand). Comments, POD and `__END__` are skipped. Also the calls
//! that run commands, read, copy or delete files.

use super::eval::{ArgumentList, Dialect, Dot, Parens};
use super::table::{call, Call, Effect::*, Helper::*, Recursion, Span};
use super::token::{
    closing, delimited, escaped, find, heredoc_bodies, is_word_byte, is_word_start, Cursor,
    Heredoc, Part, Pieces, Quote, Token,
};
use super::Language;

pub(crate) static DIALECT: Dialect = Dialect {
    language: Language::Perl,
    dot: Dot::Concat,
    parens: Parens::Optional,
    tokenize,
    calls: CALLS,
    methods: METHODS,
    prefixes: &[
        "my", "our", "local", "return", "not", "defined", "scalar", "lc", "uc",
    ],
    environment: &["$ENV", "%ENV", "ENV"],
    arguments: ArgumentList {
        names: &["@ARGV", "$ARGV"],
        before_inline: 0,
        before_file: 0,
    },
    stops: &[
        "or", "and", "if", "unless", "while", "until", "for", "foreach", "xor",
    ],
    truth: &[],
};

const RECURSIVE: Recursion = Recursion::Recursive;
const SINGLE: Recursion = Recursion::Single;

const CALLS: &[Call] = &[
    call("system", System(0)),
    call("exec", System(0)),
    call("CORE.system", System(0)),
    call("readpipe", Command(0)),
    call("open", PerlOpen),
    call("CORE.open", PerlOpen),
    call("sysopen", Read(Span::One(1))),
    call("rmtree", Remove(Span::From(0), RECURSIVE)),
    call("remove_tree", Remove(Span::From(0), RECURSIVE)),
    call("File.Path.rmtree", Remove(Span::From(0), RECURSIVE)),
    call("File.Path.remove_tree", Remove(Span::From(0), RECURSIVE)),
    call("unlink", Remove(Span::From(0), SINGLE)),
    call("rmdir", Remove(Span::From(0), SINGLE)),
    call("copy", Copy(0)),
    call("cp", Copy(0)),
    call("File.Copy.copy", Copy(0)),
    call("File.Copy.cp", Copy(0)),
    call("move", Move(0)),
    call("mv", Move(0)),
    call("rename", Move(0)),
    call("File.Copy.move", Move(0)),
    call("read_file", Read(Span::One(0))),
    call("File.Slurp.read_file", Read(Span::One(0))),
    call("read_text", Read(Span::One(0))),
    call("find", Walk(Span::From(1))),
    call("finddepth", Walk(Span::From(1))),
    call("File.Find.find", Walk(Span::From(1))),
    call("File.Find.finddepth", Walk(Span::From(1))),
    call("opendir", Walk(Span::One(1))),
    call("glob", Value(Same(0))),
    call("path", Value(Same(0))),
    call("catfile", Value(JoinPath)),
    call("catdir", Value(JoinPath)),
    call("File.Spec.catfile", Value(JoinPath)),
    call("File.Spec.catdir", Value(JoinPath)),
    call(
        "join",
        Value(JoinWith {
            separator: 0,
            list: 1,
        }),
    ),
    call(
        "decode_base64",
        Value(Decode(0, super::table::Encoding::Base64)),
    ),
    call(
        "MIME.Base64.decode_base64",
        Value(Decode(0, super::table::Encoding::Base64)),
    ),
    call("eval", Eval(0)),
    call("do", Tool("perl", 0)),
];

/// Methods (Path::Tiny and friends); the receiver is argument 0.
const METHODS: &[Call] = &[
    call("*.slurp", Read(Span::One(0))),
    call("*.slurp_utf8", Read(Span::One(0))),
    call("*.slurp_raw", Read(Span::One(0))),
    call("*.lines", Read(Span::One(0))),
    call("*.spew", Write(Span::One(0))),
    call("*.remove_tree", Remove(Span::One(0), RECURSIVE)),
    call("*.remove", Remove(Span::One(0), SINGLE)),
];

const MAX_NESTING: usize = 16;

pub(crate) fn tokenize(code: &[u8]) -> Vec<Token> {
    let mut lexer = Lexer {
        tokens: Vec::new(),
        heredocs: Vec::new(),
        nesting: 0,
    };
    let mut cursor = Cursor::new(code);
    lexer.run(&mut cursor);
    lexer.tokens
}

fn tokenize_nested(code: &[u8], nesting: usize) -> Vec<Token> {
    if nesting >= MAX_NESTING {
        return Vec::new();
    }
    let mut lexer = Lexer {
        tokens: Vec::new(),
        heredocs: Vec::new(),
        nesting: nesting + 1,
    };
    let mut cursor = Cursor::new(code);
    lexer.run(&mut cursor);
    lexer.tokens
}

struct Lexer {
    tokens: Vec<Token>,
    heredocs: Vec<Heredoc>,
    nesting: usize,
}

impl Lexer {
    fn run(&mut self, cursor: &mut Cursor<'_>) {
        let mut line_start = true;
        while let Some(b) = cursor.peek() {
            if line_start && b == b'=' && cursor.peek_at(1).is_some_and(|c| c.is_ascii_alphabetic())
            {
                // POD, up to a `=cut` line.
                match find(cursor.rest(), b"\n=cut") {
                    Some(at) => {
                        cursor.at += at + 5;
                        cursor.skip_line();
                    }
                    None => cursor.at = cursor.code.len(),
                }
                continue;
            }
            line_start = false;
            match b {
                b'\n' => {
                    cursor.at += 1;
                    line_start = true;
                    self.heredoc_bodies(cursor);
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => cursor.at += 1,
                b'#' => cursor.skip_line(),
                b'\'' => {
                    cursor.at += 1;
                    let body = delimited(cursor, b'\'');
                    self.tokens.push(literal(&body));
                }
                b'"' => {
                    cursor.at += 1;
                    let body = delimited(cursor, b'"');
                    let parts = interpolate(&body, self.nesting);
                    self.tokens.push(Token::Str(parts));
                }
                b'`' => {
                    cursor.at += 1;
                    let body = delimited(cursor, b'`');
                    let parts = interpolate(&body, self.nesting);
                    self.tokens.push(Token::Command(parts));
                }
                b'$' | b'@' => self.variable(cursor),
                b'%' if !self.after_operand()
                    && cursor
                        .peek_at(1)
                        .is_some_and(|c| is_word_start(c) || c == b'{' || c == b'$') =>
                {
                    self.variable(cursor)
                }
                b'/' if !self.after_operand() => {
                    cursor.at += 1;
                    delimited(cursor, b'/');
                    flags(cursor);
                    self.tokens.push(Token::Opaque);
                }
                b'<' if cursor.starts_with(b"<<") && self.heredoc(cursor) => {}
                b'0'..=b'9' => {
                    let number = cursor.number();
                    self.tokens.push(number);
                }
                _ if is_word_start(b) => {
                    let word = cursor.word();
                    if matches!(&word[..], b"__END__" | b"__DATA__") {
                        return;
                    }
                    if !self.quote_like(&word, cursor) {
                        self.tokens.push(Token::Word(word));
                    }
                }
                _ => {
                    let token = cursor.operator();
                    self.tokens.push(token);
                }
            }
        }
    }

    /// Whether the last token was an operand, after which `/` divides and `%` is modulo.
    fn after_operand(&self) -> bool {
        match self.tokens.last() {
            Some(Token::Word(w)) => matches!(w.first(), Some(b'$' | b'@' | b'%')),
            Some(Token::Str(_) | Token::Opaque | Token::Command(_) | Token::Words(_)) => true,
            Some(Token::Punct(b')' | b']' | b'}')) => true,
            _ => false,
        }
    }

    /// `$name`, `$pkg::name`, `${name}`, `@name`, `%name`, `$#name`, `$$`, `$_`, `$0`.
    fn variable(&mut self, cursor: &mut Cursor<'_>) {
        let sigil = cursor.bump().unwrap_or(b'$');
        let mut name = vec![sigil];
        if sigil == b'$' && cursor.peek() == Some(b'#') {
            cursor.at += 1;
            name.push(b'#');
        }
        if cursor.peek() == Some(b'{') && cursor.peek_at(1).is_some_and(is_word_start) {
            // `${name}`
            let save = cursor.at;
            cursor.at += 1;
            let word = cursor.word();
            if cursor.peek() == Some(b'}') {
                cursor.at += 1;
                name.extend(word);
                self.tokens.push(Token::Word(name));
                return;
            }
            cursor.at = save;
        }
        loop {
            if cursor.starts_with(b"::") {
                cursor.at += 2;
                name.extend_from_slice(b"::");
            } else if cursor.peek().is_some_and(is_word_byte) {
                name.extend(cursor.word());
            } else {
                break;
            }
        }
        if name.len() == 1 {
            // A punctuation variable (`$$`, `$_`, `$!`, `$0`) or a bare sigil (`@{…}`).
            if let Some(c) = cursor
                .peek()
                .filter(|c| !matches!(c, b'{' | b'[' | b' ' | b'\n'))
            {
                cursor.at += 1;
                name.push(c);
            }
        }
        self.tokens.push(Token::Word(name));
    }

    /// `q qq qw qx m qr s tr y` followed by a delimiter.
    fn quote_like(&mut self, word: &[u8], cursor: &mut Cursor<'_>) -> bool {
        if !matches!(
            word,
            b"q" | b"qq" | b"qw" | b"qx" | b"m" | b"qr" | b"s" | b"tr" | b"y"
        ) {
            return false;
        }
        if matches!(
            self.tokens.last(),
            Some(Token::Op("->")) | Some(Token::Punct(b'{'))
        ) {
            return false;
        }
        let save = cursor.at;
        let mut spaced = false;
        while matches!(cursor.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            cursor.at += 1;
            spaced = true;
        }
        let Some(open) = cursor.peek() else {
            cursor.at = save;
            return false;
        };
        let invalid = is_word_byte(open)
            || matches!(open, b'=' | b',' | b';' | b')' | b'}' | b' ')
            || (open == b'#' && spaced);
        if invalid {
            cursor.at = save;
            return false;
        }
        cursor.at += 1;
        let body = delimited(cursor, open);
        let token = match word {
            b"q" => literal(&body),
            b"qq" => Token::Str(interpolate(&body, self.nesting)),
            b"qw" => Token::Words(
                body.split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect(),
            ),
            b"qx" if open == b'\'' => Token::Command(vec![Part::Lit(body)]),
            b"qx" => Token::Command(interpolate(&body, self.nesting)),
            b"m" | b"qr" => {
                flags(cursor);
                Token::Opaque
            }
            _ => {
                // s, tr, y: a second body, after whitespace when the first was bracketed.
                let second_open = if closing(open) != open {
                    while matches!(cursor.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                        cursor.at += 1;
                    }
                    cursor.bump().unwrap_or(open)
                } else {
                    open
                };
                let replacement = delimited(cursor, second_open);
                let modifiers = flags(cursor);
                if word == b"s" && modifiers.contains(&b'e') {
                    // The replacement is code, run for each match.
                    let code = tokenize_nested(&replacement, self.nesting);
                    self.tokens.push(Token::Punct(b'('));
                    self.tokens.extend(code);
                    self.tokens.push(Token::Punct(b')'));
                    return true;
                }
                Token::Opaque
            }
        };
        self.tokens.push(token);
        true
    }

    /// `<<"END"`, `<<'END'`, `<<END`, `<<~END`, `` <<`END` ``: a placeholder now, the body
    /// after the end of the line.
    fn heredoc(&mut self, cursor: &mut Cursor<'_>) -> bool {
        let save = cursor.at;
        cursor.at += 2;
        let indented = cursor.peek() == Some(b'~');
        if indented {
            cursor.at += 1;
        }
        while cursor.peek() == Some(b' ') {
            cursor.at += 1;
        }
        let (terminator, kind) = match cursor.peek() {
            Some(q @ (b'"' | b'\'' | b'`')) => {
                cursor.at += 1;
                let name = delimited(cursor, q);
                let kind = match q {
                    b'\'' => Quote::Literal,
                    b'`' => Quote::Command,
                    _ => Quote::Interpolating,
                };
                (name, kind)
            }
            Some(c) if is_word_start(c) && cursor.at == save + 2 + usize::from(indented) => {
                (cursor.word(), Quote::Interpolating)
            }
            _ => {
                cursor.at = save;
                return false;
            }
        };
        self.heredocs.push(Heredoc {
            token: self.tokens.len(),
            terminator,
            quote: kind,
            indented,
        });
        self.tokens.push(Token::Str(Vec::new()));
        true
    }

    fn heredoc_bodies(&mut self, cursor: &mut Cursor<'_>) {
        let heredocs = std::mem::take(&mut self.heredocs);
        let nesting = self.nesting;
        heredoc_bodies(cursor, heredocs, &mut self.tokens, |body| {
            interpolate(body, nesting)
        });
    }
}

/// A double-quoted body: text, with `$x`, `${x}`, `$x{k}`, `$x[1]`, `$x->{k}`, `@x` as code.
fn interpolate(body: &[u8], nesting: usize) -> Vec<Part> {
    let mut pieces = Pieces::new(escaped);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'\\' && i + 1 < body.len() {
            pieces.extend(&body[i..i + 2]);
            i += 2;
            continue;
        }
        let starts_variable = matches!(b, b'$' | b'@')
            && body
                .get(i + 1)
                .is_some_and(|&c| is_word_start(c) || c == b'{' || c == b':');
        if !starts_variable {
            pieces.push(b);
            i += 1;
            continue;
        }
        let end = variable_end(body, i);
        pieces.code(tokenize_nested(&body[i..end], nesting));
        i = end;
    }
    pieces.finish()
}

/// The end of an interpolated variable and its subscripts in a string body.
fn variable_end(body: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    if body.get(i) == Some(&b'{') {
        return body[i..]
            .iter()
            .position(|&b| b == b'}')
            .map_or(body.len(), |p| i + p + 1);
    }
    while i < body.len() && (is_word_byte(body[i]) || body[i..].starts_with(b"::")) {
        i += if body[i] == b':' { 2 } else { 1 };
    }
    loop {
        let rest = &body[i..];
        let skip = if rest.starts_with(b"->{") || rest.starts_with(b"->[") {
            2
        } else if rest.starts_with(b"{") || rest.starts_with(b"[") {
            0
        } else {
            break;
        };
        let open = body[i + skip];
        match body[i + skip..].iter().position(|&b| b == closing(open)) {
            Some(p) => i += skip + p + 1,
            None => break,
        }
    }
    i
}

fn literal(body: &[u8]) -> Token {
    Token::Str(vec![Part::Lit(body.to_vec())])
}

/// Regular expression flags after a quote-like operator.
fn flags(cursor: &mut Cursor<'_>) -> Vec<u8> {
    let start = cursor.at;
    while cursor.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        cursor.at += 1;
    }
    cursor.code[start..cursor.at].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_keeps_variables_as_code() {
        let tokens = tokenize(br#"print "key: $ENV{HOME}/.ssh/id_rsa\n";"#);
        let Token::Str(parts) = &tokens[1] else {
            panic!("{tokens:?}")
        };
        assert_eq!(parts[0], Part::Lit(b"key: ".to_vec()));
        assert!(matches!(&parts[1], Part::Code(code) if code[0] == Token::Word(b"$ENV".to_vec())));
        assert_eq!(parts[2], Part::Lit(b"/.ssh/id_rsa\n".to_vec()));
    }

    #[test]
    fn quote_like_operators_and_regexes() {
        let tokens =
            tokenize(b"s/a'b/c/g; qw(rm -rf /); q{it's} =~ m{x}; $x / 2; s/x/system('id')/e");
        assert!(tokens.contains(&Token::Words(vec![
            b"rm".to_vec(),
            b"-rf".to_vec(),
            b"/".to_vec()
        ])));
        assert!(tokens.contains(&Token::Str(vec![Part::Lit(b"it's".to_vec())])));
        assert!(tokens.contains(&Token::Word(b"system".to_vec())));
        assert!(tokens.contains(&Token::Str(vec![Part::Lit(b"id".to_vec())])));
    }

    #[test]
    fn heredocs_and_pod() {
        let tokens = tokenize(b"system(<<~EOT);\n  rm -rf ~\n  EOT\n=pod\n`no`\n=cut\nexit;");
        assert_eq!(
            tokens[2],
            Token::Str(vec![Part::Lit(b"rm -rf ~\n".to_vec())])
        );
        assert!(!tokens.iter().any(|t| matches!(t, Token::Command(_))));
    }
}
