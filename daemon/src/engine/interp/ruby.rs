//! Ruby's literals: `'…'`, interpolating `"…"` (its `#{…}` as code), `%q %Q %w %W %i %x
//! %r %s` with any delimiter, backticks and `%x` commands, here-documents (`<<~ID`, `<<-ID`,
//! quoted), `=begin`/`=end` and `#` comments, `__END__`, and regular expression literals,
//! told apart from division by what comes before them. Newlines end statements outside
//! brackets. Also the calls that run commands, read, copy or delete files.

use super::eval::{ArgumentList, Dialect, Dot, Parens};
use super::table::{call, Call, Effect::*, Encoding, Helper::*, OpenMode, Recursion, Span};
use super::token::{
    closing, delimited, escaped, find, heredoc_bodies, is_word_byte, is_word_start, unescape,
    Cursor, Heredoc, Part, Pieces, Quote, Token,
};
use super::Language;

pub(crate) static DIALECT: Dialect = Dialect {
    language: Language::Ruby,
    tokenize,
    dot: Dot::Member,
    parens: Parens::Optional,
    calls: CALLS,
    methods: METHODS,
    prefixes: &[
        "not", "return", "defined?", "puts", "print", "p", "pp", "warn",
    ],
    environment: &["ENV"],
    arguments: ArgumentList {
        names: &["ARGV", "$*"],
        before_inline: 0,
        before_file: 0,
    },
    stops: &[
        "or", "and", "if", "unless", "while", "until", "do", "then", "rescue",
    ],
    truth: &["true"],
};

const RECURSIVE: Recursion = Recursion::Recursive;
const SINGLE: Recursion = Recursion::Single;

const CALLS: &[Call] = &[
    call("system", System(0)),
    call("exec", System(0)),
    call("spawn", System(0)),
    call("Kernel.system", System(0)),
    call("Kernel.exec", System(0)),
    call("Kernel.spawn", System(0)),
    call("Process.spawn", System(0)),
    call("Process.exec", System(0)),
    call("IO.popen", Command(0)),
    call("Open3.popen3", System(0)),
    call("Open3.popen2", System(0)),
    call("Open3.popen2e", System(0)),
    call("Open3.capture2", System(0)),
    call("Open3.capture2e", System(0)),
    call("Open3.capture3", System(0)),
    call("Open3.pipeline", System(0)),
    call("PTY.spawn", System(0)),
    call("open", Open(0, OpenMode::Prefix)),
    call("Kernel.open", Open(0, OpenMode::Prefix)),
    call("File.read", Read(Span::One(0))),
    call("IO.read", Read(Span::One(0))),
    call("File.readlines", Read(Span::One(0))),
    call("IO.readlines", Read(Span::One(0))),
    call("File.binread", Read(Span::One(0))),
    call("IO.binread", Read(Span::One(0))),
    call("File.foreach", Read(Span::One(0))),
    call("IO.foreach", Read(Span::One(0))),
    call("File.open", Open(0, OpenMode::Letters)),
    call("File.new", Open(0, OpenMode::Letters)),
    call("IO.sysopen", Open(0, OpenMode::Letters)),
    call("File.write", Write(Span::One(0))),
    call("File.binwrite", Write(Span::One(0))),
    call("IO.write", Write(Span::One(0))),
    call("FileUtils.rm_rf", Remove(Span::From(0), RECURSIVE)),
    call("FileUtils.rm_r", Remove(Span::From(0), RECURSIVE)),
    call("FileUtils.rmtree", Remove(Span::From(0), RECURSIVE)),
    call("FileUtils.remove_dir", Remove(Span::From(0), RECURSIVE)),
    call("FileUtils.remove_entry", Remove(Span::From(0), RECURSIVE)),
    call(
        "FileUtils.remove_entry_secure",
        Remove(Span::From(0), RECURSIVE),
    ),
    call("FileUtils.rm", Remove(Span::From(0), SINGLE)),
    call("FileUtils.rm_f", Remove(Span::From(0), SINGLE)),
    call("FileUtils.remove", Remove(Span::From(0), SINGLE)),
    call("FileUtils.remove_file", Remove(Span::From(0), SINGLE)),
    call("FileUtils.safe_unlink", Remove(Span::From(0), SINGLE)),
    call("File.delete", Remove(Span::From(0), SINGLE)),
    call("File.unlink", Remove(Span::From(0), SINGLE)),
    call("Dir.delete", Remove(Span::From(0), SINGLE)),
    call("Dir.rmdir", Remove(Span::From(0), SINGLE)),
    call("Dir.unlink", Remove(Span::From(0), SINGLE)),
    call("FileUtils.cp", Copy(0)),
    call("FileUtils.copy", Copy(0)),
    call("FileUtils.cp_r", Copy(0)),
    call("FileUtils.copy_file", Copy(0)),
    call("FileUtils.copy_entry", Copy(0)),
    call("FileUtils.install", Copy(0)),
    call("FileUtils.mv", Move(0)),
    call("FileUtils.move", Move(0)),
    call("File.rename", Move(0)),
    call("Find.find", Walk(Span::From(0))),
    call("Dir.glob", Walk(Span::One(0))),
    call("Dir.entries", Walk(Span::One(0))),
    call("Dir.children", Walk(Span::One(0))),
    call("Dir.each_child", Walk(Span::One(0))),
    call("Dir.foreach", Walk(Span::One(0))),
    call("Dir.home", Value(Home)),
    call("File.expand_path", Value(Same(0))),
    call("File.absolute_path", Value(Same(0))),
    call("File.realpath", Value(Same(0))),
    call("File.join", Value(JoinPath)),
    call("Pathname.new", Value(Same(0))),
    call("Pathname", Value(Same(0))),
    call("ENV.fetch", Value(Env(0))),
    call("Shellwords.escape", Value(Quote(0))),
    call("Shellwords.join", Value(QuoteJoin(0))),
    call("Base64.decode64", Value(Decode(0, Encoding::Base64))),
    call("Base64.strict_decode64", Value(Decode(0, Encoding::Base64))),
    call(
        "Base64.urlsafe_decode64",
        Value(Decode(0, Encoding::Base64)),
    ),
    call("eval", Eval(0)),
    call("*.instance_eval", Eval(0)),
    call("*.class_eval", Eval(0)),
    call("Kernel.eval", Eval(0)),
    call("load", Tool("ruby", 0)),
];

/// Methods of strings, paths and lists; the receiver is argument 0.
const METHODS: &[Call] = &[
    call("*.read", Read(Span::One(0))),
    call("*.readlines", Read(Span::One(0))),
    call("*.binread", Read(Span::One(0))),
    call("*.each_line", Read(Span::One(0))),
    call("*.write", Write(Span::One(0))),
    call("*.rmtree", Remove(Span::One(0), RECURSIVE)),
    call("*.delete", Remove(Span::One(0), SINGLE)),
    call("*.unlink", Remove(Span::One(0), SINGLE)),
    call("*.children", Walk(Span::One(0))),
    call("*.to_s", Value(Same(0))),
    call("*.to_path", Value(Same(0))),
    call("*.expand_path", Value(Same(0))),
    call("*.shellescape", Value(Quote(0))),
    call("*.shelljoin", Value(QuoteJoin(0))),
    call(
        "*.join",
        Value(JoinWith {
            separator: 1,
            list: 0,
        }),
    ),
];

const MAX_NESTING: usize = 16;

pub(crate) fn tokenize(code: &[u8]) -> Vec<Token> {
    tokenize_nested(code, 0)
}

fn tokenize_nested(code: &[u8], nesting: usize) -> Vec<Token> {
    let mut lexer = Lexer {
        tokens: Vec::new(),
        heredocs: Vec::new(),
        nesting,
        depth: 0,
    };
    if nesting <= MAX_NESTING {
        lexer.run(&mut Cursor::new(code));
    }
    lexer.tokens
}

struct Lexer {
    tokens: Vec<Token>,
    heredocs: Vec<Heredoc>,
    nesting: usize,
    /// Open brackets: newlines inside them do not end statements.
    depth: usize,
}

impl Lexer {
    fn run(&mut self, cursor: &mut Cursor<'_>) {
        let mut line_start = true;
        while let Some(b) = cursor.peek() {
            if line_start && cursor.starts_with(b"=begin") {
                match find(cursor.rest(), b"\n=end") {
                    Some(at) => {
                        cursor.at += at + 5;
                        cursor.skip_line();
                    }
                    None => cursor.at = cursor.code.len(),
                }
                continue;
            }
            if line_start && cursor.starts_with(b"__END__") {
                return;
            }
            line_start = false;
            let spaced_before = cursor.at > 0 && matches!(cursor.code[cursor.at - 1], b' ' | b'\t');
            match b {
                b'\n' => {
                    cursor.at += 1;
                    line_start = true;
                    if self.depth == 0 && !matches!(self.tokens.last(), None | Some(Token::Newline))
                    {
                        self.tokens.push(Token::Newline);
                    }
                    self.heredoc_bodies(cursor);
                }
                b'\\' if cursor.peek_at(1) == Some(b'\n') => cursor.at += 2,
                b' ' | b'\t' | b'\r' | b'\x0c' => cursor.at += 1,
                b'#' => cursor.skip_line(),
                b'\'' => {
                    cursor.at += 1;
                    let body = delimited(cursor, b'\'');
                    self.tokens.push(Token::Str(vec![Part::Lit(body)]));
                }
                b'"' => {
                    cursor.at += 1;
                    let parts = interpolated(cursor, b'"', self.nesting);
                    self.tokens.push(Token::Str(parts));
                }
                b'`' => {
                    cursor.at += 1;
                    let parts = interpolated(cursor, b'`', self.nesting);
                    self.tokens.push(Token::Command(parts));
                }
                b'%' if self.percent_literal(cursor) => {}
                b'/' if self.regex_here(cursor, spaced_before) => {
                    cursor.at += 1;
                    interpolated(cursor, b'/', self.nesting);
                    flags(cursor);
                    self.tokens.push(Token::Opaque);
                }
                b'<' if cursor.starts_with(b"<<") && self.heredoc(cursor, spaced_before) => {}
                b':' if cursor.peek_at(1).is_some_and(is_word_start) && !self.after_operand() => {
                    // A symbol: its name as a string.
                    cursor.at += 1;
                    let name = cursor.word();
                    self.tokens.push(Token::Str(vec![Part::Lit(name)]));
                }
                b'0'..=b'9' => {
                    let number = cursor.number();
                    self.tokens.push(number);
                }
                b'$' | b'@' => {
                    let start = cursor.at;
                    cursor.at += 1;
                    if cursor.peek() == Some(b'@') {
                        cursor.at += 1;
                    }
                    if cursor.peek().is_some_and(is_word_byte) {
                        cursor.word();
                    } else {
                        cursor.bump();
                    }
                    self.tokens
                        .push(Token::Word(cursor.code[start..cursor.at].to_vec()));
                }
                _ if is_word_start(b) => {
                    let mut word = cursor.word();
                    if matches!(cursor.peek(), Some(b'?' | b'!')) && cursor.peek_at(1) != Some(b'=')
                    {
                        word.push(cursor.bump().unwrap_or(b'?'));
                    }
                    self.tokens.push(Token::Word(word));
                }
                _ => {
                    let token = cursor.operator();
                    match token {
                        Token::Punct(b'(' | b'[' | b'{') => self.depth += 1,
                        Token::Punct(b')' | b']' | b'}') => {
                            self.depth = self.depth.saturating_sub(1)
                        }
                        _ => {}
                    }
                    self.tokens.push(token);
                }
            }
        }
    }

    fn after_operand(&self) -> bool {
        matches!(
            self.tokens.last(),
            Some(
                Token::Word(_)
                    | Token::Str(_)
                    | Token::Opaque
                    | Token::Command(_)
                    | Token::Words(_)
            ) | Some(Token::Punct(b')' | b']' | b'}'))
        )
    }

    /// Whether a `/` starts a regular expression: where no operand precedes it, or after a
    /// name followed by a space and then not a space (`puts /x/`, as Ruby reads it).
    fn regex_here(&self, cursor: &Cursor<'_>, spaced_before: bool) -> bool {
        match self.tokens.last() {
            Some(Token::Word(w)) if !matches!(w.first(), Some(b'$' | b'@')) => {
                spaced_before && !matches!(cursor.peek_at(1), Some(b' ' | b'=')) || is_keyword(w)
            }
            _ => !self.after_operand(),
        }
    }

    /// `%q(…)`, `%Q[…]`, `%(…)`, `%w[…]`, `%i[…]`, `%x{…}`, `%r{…}`, `%s(…)`.
    fn percent_literal(&mut self, cursor: &mut Cursor<'_>) -> bool {
        let (kind, open) = match (cursor.peek_at(1), cursor.peek_at(2)) {
            (Some(k @ (b'q' | b'Q' | b'w' | b'W' | b'i' | b'I' | b'x' | b'r' | b's')), Some(d))
                if !d.is_ascii_alphanumeric() && !d.is_ascii_whitespace() =>
            {
                (k, d)
            }
            (Some(d @ (b'(' | b'[' | b'{' | b'<' | b'|' | b'!')), _) if !self.after_operand() => {
                (b'Q', d)
            }
            _ => return false,
        };
        if self.after_operand() && kind == b'Q' {
            return false;
        }
        cursor.at += if open == cursor.peek_at(1).unwrap_or(0) {
            2
        } else {
            3
        };
        let token = match kind {
            b'q' | b's' => Token::Str(vec![Part::Lit(delimited(cursor, open))]),
            b'w' | b'i' => Token::Words(words(&delimited(cursor, open))),
            b'W' | b'I' => {
                let body = delimited(cursor, open);
                Token::Words(words(&unescape(&body, false)))
            }
            b'x' => Token::Command(interpolated(cursor, open, self.nesting)),
            b'r' => {
                interpolated(cursor, open, self.nesting);
                flags(cursor);
                Token::Opaque
            }
            _ => Token::Str(interpolated(cursor, open, self.nesting)),
        };
        self.tokens.push(token);
        true
    }

    /// `<<~ID`, `<<-ID`, `<<ID` (a capitalised name), quoted forms; not `a << b`.
    fn heredoc(&mut self, cursor: &mut Cursor<'_>, spaced_before: bool) -> bool {
        let rest = &cursor.rest()[2..];
        let (indented, rest) = match rest.first() {
            Some(b'~' | b'-') => (true, &rest[1..]),
            _ => (false, rest),
        };
        let quoted = matches!(rest.first(), Some(b'"' | b'\'' | b'`'));
        let named = rest
            .first()
            .is_some_and(|c| c.is_ascii_uppercase() || *c == b'_');
        let plausible = (quoted || named) && (indented || !self.after_operand() || spaced_before);
        if !plausible || (self.after_operand() && !spaced_before && !indented) {
            return false;
        }
        cursor.at += 2 + usize::from(indented);
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
            _ => (cursor.word(), Quote::Interpolating),
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
            // No closing delimiter: the body runs to its end.
            interpolated(&mut Cursor::new(body), 0, nesting)
        });
    }
}

/// An interpolating literal after its opening delimiter: up to the closing one, with the
/// code of its `#{…}` fields.
fn interpolated(cursor: &mut Cursor<'_>, open: u8, nesting: usize) -> Vec<Part> {
    let close = closing(open);
    let mut pieces = Pieces::new(escaped);
    let mut depth = 0usize;
    while let Some(b) = cursor.bump() {
        match b {
            b'\\' => {
                if let Some(next) = cursor.bump() {
                    if next != open && next != close {
                        pieces.push(b'\\');
                    }
                    pieces.push(next);
                }
            }
            b'#' if cursor.peek() == Some(b'{') => {
                cursor.at += 1;
                let code = delimited(cursor, b'{');
                pieces.code(tokenize_nested(&code, nesting + 1));
            }
            _ if b == close && depth == 0 => break,
            _ => {
                if open != close && b == open {
                    depth += 1;
                } else if open != close && b == close {
                    depth -= 1;
                }
                pieces.push(b);
            }
        }
    }
    pieces.finish()
}

fn is_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"if"
            | b"elsif"
            | b"unless"
            | b"while"
            | b"until"
            | b"when"
            | b"and"
            | b"or"
            | b"not"
            | b"return"
            | b"puts"
            | b"p"
    )
}

fn words(body: &[u8]) -> Vec<Vec<u8>> {
    body.split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn flags(cursor: &mut Cursor<'_>) {
    while cursor.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        cursor.at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_of_every_kind() {
        let tokens =
            tokenize(b"system %w[rm -rf /]; x = %q(it's); `id`; y = a / 2; puts /'/; z = 'k'");
        assert!(tokens.contains(&Token::Words(vec![
            b"rm".to_vec(),
            b"-rf".to_vec(),
            b"/".to_vec()
        ])));
        assert!(tokens.contains(&Token::Str(vec![Part::Lit(b"it's".to_vec())])));
        assert!(tokens.contains(&Token::Command(vec![Part::Lit(b"id".to_vec())])));
        assert!(tokens.contains(&Token::Str(vec![Part::Lit(b"k".to_vec())])));
    }

    #[test]
    fn interpolation_and_heredocs() {
        let tokens = tokenize(b"system <<~EOS\n  rm -rf #{Dir.home}\n  EOS\nexit");
        let Token::Str(parts) = &tokens[1] else {
            panic!("{tokens:?}")
        };
        assert_eq!(parts[0], Part::Lit(b"rm -rf ".to_vec()));
        assert!(
            matches!(&parts[1], Part::Code(code) if code.contains(&Token::Word(b"home".to_vec())))
        );
        let shifted = tokenize(b"a << B\nsystem('x')");
        assert!(shifted.contains(&Token::Word(b"system".to_vec())));
    }
}
