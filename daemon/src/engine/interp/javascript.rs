//! JavaScript's literals: single and double quotes, template literals (their `${…}`
//! fields as code), `//` and `/* */` comments, a `#!` first line, and regular expression
//! literals, told apart from division the way JavaScript does: by what comes before the
//! `/` (an operand means division; a `)` closing `if (…)`, `while (…)`, `for (…)` or a `}`
//! closing a block mean a regular expression). Also the calls of `child_process`, `fs`
//! and the common shell libraries (shelljs, zx, fs-extra, rimraf).

use super::eval::{ArgumentList, Dialect, Dot, Parens};
use super::table::{call, Call, Effect::*, Encoding, Helper::*, OpenMode, Recursion, Span};
use super::token::{delimited, escaped, is_word_start, unescape, Cursor, Part, Pieces, Token};
use super::Language;

pub(crate) static DIALECT: Dialect = Dialect {
    language: Language::JavaScript,
    tokenize,
    dot: Dot::Member,
    parens: Parens::Required,
    calls: CALLS,
    methods: METHODS,
    prefixes: &[
        "new", "await", "typeof", "void", "return", "yield", "delete", "throw",
    ],
    environment: &["process.env", "Deno.env", "Bun.env"],
    arguments: ArgumentList {
        names: &["process.argv"],
        before_inline: 1,
        before_file: 2,
    },
    stops: &[],
    truth: &["true"],
};

const RECURSIVE_OPTION: Recursion = Recursion::Option("recursive");

const CALLS: &[Call] = &[
    call("child_process.exec", Command(0)),
    call("*.execSync", Command(0)),
    call("child_process.execFile", ProgramArgs(0)),
    call("*.execFileSync", ProgramArgs(0)),
    call("child_process.spawn", ProgramArgs(0)),
    call("*.spawn", ProgramArgs(0)),
    call("*.spawnSync", ProgramArgs(0)),
    call("child_process.fork", Tool("node", 0)),
    call("shell.exec", Command(0)),
    call("shelljs.exec", Command(0)),
    call("$", Command(0)),
    call("*.$", Command(0)),
    call("zx.$", Command(0)),
    call("execa", ProgramArgs(0)),
    call("*.execaSync", ProgramArgs(0)),
    call("*.execaCommand", Command(0)),
    call("*.execaCommandSync", Command(0)),
    call("shell.rm", Tool("rm", 0)),
    call("shell.cat", Tool("cat", 0)),
    call("shell.cp", Tool("cp", 0)),
    call("shell.mv", Tool("mv", 0)),
    call("*.readFileSync", Read(Span::One(0))),
    call("*.readFile", Read(Span::One(0))),
    call("*.createReadStream", Read(Span::One(0))),
    call("*.readJsonSync", Read(Span::One(0))),
    call("*.readJson", Read(Span::One(0))),
    call("*.openSync", Open(0, OpenMode::Letters)),
    call("fs.open", Open(0, OpenMode::Letters)),
    call("fs.promises.open", Open(0, OpenMode::Letters)),
    call("*.writeFileSync", Write(Span::One(0))),
    call("*.writeFile", Write(Span::One(0))),
    call("*.appendFileSync", Write(Span::One(0))),
    call("*.appendFile", Write(Span::One(0))),
    call("*.createWriteStream", Write(Span::One(0))),
    call("*.copyFileSync", Copy(0)),
    call("*.copyFile", Copy(0)),
    call("*.cpSync", Copy(0)),
    call("fs.cp", Copy(0)),
    call("fs.promises.cp", Copy(0)),
    call("*.copySync", Copy(0)),
    call("*.renameSync", Move(0)),
    call("fs.rename", Move(0)),
    call("fs.promises.rename", Move(0)),
    call("*.moveSync", Move(0)),
    call("*.rmSync", Remove(Span::One(0), RECURSIVE_OPTION)),
    call("fs.rm", Remove(Span::One(0), RECURSIVE_OPTION)),
    call("fs.promises.rm", Remove(Span::One(0), RECURSIVE_OPTION)),
    call("*.rmdirSync", Remove(Span::One(0), RECURSIVE_OPTION)),
    call("fs.rmdir", Remove(Span::One(0), RECURSIVE_OPTION)),
    call("fs.promises.rmdir", Remove(Span::One(0), RECURSIVE_OPTION)),
    call("*.unlinkSync", Remove(Span::One(0), Recursion::Single)),
    call("fs.unlink", Remove(Span::One(0), Recursion::Single)),
    call(
        "fs.promises.unlink",
        Remove(Span::One(0), Recursion::Single),
    ),
    call("*.removeSync", Remove(Span::One(0), Recursion::Recursive)),
    call(
        "fs-extra.remove",
        Remove(Span::One(0), Recursion::Recursive),
    ),
    call("*.emptyDirSync", Remove(Span::One(0), Recursion::Recursive)),
    call("rimraf", Remove(Span::From(0), Recursion::Recursive)),
    call("*.rimraf", Remove(Span::From(0), Recursion::Recursive)),
    call("*.rimrafSync", Remove(Span::From(0), Recursion::Recursive)),
    call("rimraf.sync", Remove(Span::From(0), Recursion::Recursive)),
    call("*.readdirSync", Walk(Span::One(0))),
    call("fs.readdir", Walk(Span::One(0))),
    call("fs.promises.readdir", Walk(Span::One(0))),
    call("*.opendirSync", Walk(Span::One(0))),
    call("path.join", Value(JoinPath)),
    call("path.resolve", Value(JoinPath)),
    call("path.normalize", Value(Same(0))),
    call("path.posix.join", Value(JoinPath)),
    call("*.homedir", Value(Home)),
    call("String", Value(Same(0))),
    call("require", Value(Module(0))),
    call("*.require", Value(Module(0))),
    call("eval", Eval(0)),
    call("Function", Eval(0)),
    call("vm.runInNewContext", Eval(0)),
    call("vm.runInThisContext", Eval(0)),
    call("atob", Value(Decode(0, Encoding::Base64))),
    call("Buffer.from", Value(DecodeNamed(0))),
];

/// Methods of strings and lists; the receiver is argument 0.
const METHODS: &[Call] = &[
    call("*.toString", Value(Same(0))),
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
    let mut cursor = Cursor::new(code);
    if cursor.starts_with(b"#!") {
        cursor.skip_line();
    }
    let mut lexer = Lexer::default();
    lexer.run(&mut cursor, 0, false);
    lexer.tokens
}

#[derive(Default)]
struct Lexer {
    tokens: Vec<Token>,
    /// For each open bracket: whether it opened a control head (`if (`) or a block (`{`).
    brackets: Vec<(u8, bool)>,
    /// Whether the last closed `)` or `}` ended a control head or a block, after which a
    /// `/` starts a regular expression.
    closed_control: bool,
}

const REGEX_KEYWORDS: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"of",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"yield",
    b"await",
];

impl Lexer {
    /// Tokens up to the end, or (in a template field) up to the `}` that closes it.
    fn run(&mut self, cursor: &mut Cursor<'_>, nesting: usize, field: bool) {
        let floor = self.brackets.len();
        while let Some(b) = cursor.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => cursor.at += 1,
                b'/' if cursor.peek_at(1) == Some(b'/') => cursor.skip_line(),
                b'/' if cursor.peek_at(1) == Some(b'*') => {
                    cursor.at += 2;
                    cursor.skip_past(b"*/");
                }
                b'/' if self.regex_allowed() => {
                    cursor.at += 1;
                    regex(cursor);
                    self.tokens.push(Token::Opaque);
                }
                b'\'' | b'"' => {
                    cursor.at += 1;
                    let raw = delimited_line(cursor, b);
                    self.tokens
                        .push(Token::Str(vec![Part::Lit(unescape(&raw, false))]));
                }
                b'`' => {
                    cursor.at += 1;
                    let token = self.template(cursor, nesting);
                    self.tokens.push(token);
                }
                b'0'..=b'9' => {
                    let number = cursor.number();
                    self.tokens.push(number);
                }
                _ if is_word_start(b) || b == b'$' => {
                    let start = cursor.at;
                    cursor.at += 1;
                    while cursor
                        .peek()
                        .is_some_and(|c| super::token::is_word_byte(c) || c == b'$')
                    {
                        cursor.at += 1;
                    }
                    self.tokens
                        .push(Token::Word(cursor.code[start..cursor.at].to_vec()));
                }
                b'}' if field && self.brackets.len() == floor => {
                    cursor.at += 1;
                    return;
                }
                _ => {
                    let token = cursor.operator();
                    self.bracket(&token);
                    self.tokens.push(token);
                }
            }
        }
    }

    fn bracket(&mut self, token: &Token) {
        match token {
            Token::Punct(b'(') => {
                let control = matches!(
                    self.tokens.last(),
                    Some(Token::Word(w)) if matches!(&w[..], b"if" | b"while" | b"for" | b"with")
                );
                self.brackets.push((b'(', control));
            }
            Token::Punct(b'{') => {
                let block = match self.tokens.last() {
                    None
                    | Some(Token::Punct(b')' | b';' | b'{' | b'}'))
                    | Some(Token::Op("=>")) => true,
                    Some(Token::Word(w)) => {
                        !REGEX_KEYWORDS.contains(&&w[..]) || w == b"else" || w == b"do"
                    }
                    _ => false,
                };
                self.brackets.push((b'{', block));
            }
            Token::Punct(b'[') => self.brackets.push((b'[', false)),
            Token::Punct(b')' | b']' | b'}') => {
                self.closed_control = self.brackets.pop().is_some_and(|(_, c)| c);
            }
            _ => {}
        }
    }

    fn regex_allowed(&self) -> bool {
        match self.tokens.last() {
            None => true,
            Some(Token::Word(w)) => REGEX_KEYWORDS.contains(&&w[..]),
            Some(Token::Punct(b')' | b'}')) => self.closed_control,
            Some(Token::Punct(b']')) | Some(Token::Str(_)) | Some(Token::Opaque) => false,
            Some(Token::Command(_)) | Some(Token::Words(_)) => false,
            Some(Token::Op(_)) | Some(Token::Punct(_)) | Some(Token::Newline) => true,
        }
    }

    /// A template literal after its opening backquote.
    fn template(&mut self, cursor: &mut Cursor<'_>, nesting: usize) -> Token {
        let mut pieces = Pieces::new(escaped);
        while let Some(b) = cursor.bump() {
            match b {
                b'`' => break,
                b'\\' => {
                    if let Some(next) = cursor.bump() {
                        pieces.extend(&[b'\\', next]);
                    }
                }
                b'$' if cursor.peek() == Some(b'{') => {
                    cursor.at += 1;
                    let mut inner = Lexer::default();
                    if nesting < MAX_NESTING {
                        inner.run(cursor, nesting + 1, true);
                    } else {
                        delimited(cursor, b'{');
                    }
                    pieces.code(inner.tokens);
                }
                _ => pieces.push(b),
            }
        }
        Token::Str(pieces.finish())
    }
}

/// A quoted string's raw body: up to the unescaped closing quote or the end of the line.
fn delimited_line(cursor: &mut Cursor<'_>, quote: u8) -> Vec<u8> {
    let mut raw = Vec::new();
    while let Some(b) = cursor.bump() {
        match b {
            b'\\' => {
                if let Some(next) = cursor.bump() {
                    raw.extend([b'\\', next]);
                }
            }
            b'\n' => break,
            _ if b == quote => break,
            _ => raw.push(b),
        }
    }
    raw
}

/// A regular expression literal after its opening `/`: up to the `/` that ends it outside
/// a character class, then its flags.
fn regex(cursor: &mut Cursor<'_>) {
    let mut class = false;
    while let Some(b) = cursor.bump() {
        match b {
            b'\\' => {
                cursor.bump();
            }
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => break,
            b'\n' => break,
            _ => {}
        }
    }
    while cursor.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        cursor.at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(code: &str) -> Vec<String> {
        fn render(parts: &[Part]) -> String {
            parts
                .iter()
                .map(|p| match p {
                    Part::Lit(l) => String::from_utf8_lossy(l).into_owned(),
                    Part::Code(_) => "{}".to_string(),
                })
                .collect()
        }
        tokenize(code.as_bytes())
            .iter()
            .filter_map(|t| match t {
                Token::Str(parts) if !parts.is_empty() => Some(render(parts)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn quotes_templates_and_comments() {
        assert_eq!(strings(r#"a('x\'y', "z") // 'no' "#), ["x'y", "z"]);
        assert_eq!(strings("/* 'no' */ `a${b + `c`}d`"), ["a{}d"]);
    }

    #[test]
    fn regular_expressions_are_not_code_and_division_is() {
        // A regex holding a quote must not start a string.
        assert_eq!(strings(r#"if (x) /'/.test(s); f('y') //'"#), ["y"]);
        // (A decimal integer is a string of its digits.)
        assert_eq!(strings(r#"x = a / 2; f('y') / 3"#), ["2", "y", "3"]);
        assert_eq!(strings(r#"return /"/; g('z')"#), ["z"]);
        assert_eq!(
            strings(r#"x = {a: 1} / 2; f('w') /1"#),
            ["1", "2", "w", "1"]
        );
    }
}
