//! Python's literals: prefixes `r`, `b`, `u`, `f` (and their pairs, any case), single,
//! double and triple quotes, f-string fields as code, `#` comments, and newlines that end
//! statements (not inside brackets, not after a backslash); and the calls that run
//! commands, read, copy or delete files.

use super::eval::{ArgumentList, Dialect, Dot, Parens};
use super::table::{call, Argv0, Call, Effect::*, Encoding, Helper::*, OpenMode, Recursion, Span};
use super::token::{is_word_start, unescape, Cursor, Part, Pieces, Token};
use super::Language;

pub(crate) static DIALECT: Dialect = Dialect {
    language: Language::Python,
    tokenize,
    dot: Dot::Member,
    parens: Parens::Required,
    calls: CALLS,
    methods: METHODS,
    prefixes: &["not", "await", "return", "yield", "print", "lambda"],
    environment: &["os.environ", "environ", "os.environb"],
    arguments: ArgumentList {
        names: &["sys.argv", "argv"],
        before_inline: 1,
        before_file: 1,
    },
    stops: &[],
    truth: &["True"],
};

const CALLS: &[Call] = &[
    call("os.system", Command(0)),
    call("os.popen", Command(0)),
    call("*.popen2", Command(0)),
    call("*.popen3", Command(0)),
    call("subprocess.run", Command(0)),
    call("subprocess.call", Command(0)),
    call("subprocess.Popen", Command(0)),
    call("*.check_call", Command(0)),
    call("*.check_output", Command(0)),
    call("*.getoutput", Command(0)),
    call("*.getstatusoutput", Command(0)),
    call("*.create_subprocess_shell", Command(0)),
    call("*.create_subprocess_exec", Spread(0, Argv0::Absent)),
    call("pty.spawn", Command(0)),
    call("*.execv", Vector(0, Argv0::Included)),
    call("*.execve", Vector(0, Argv0::Included)),
    call("*.execvp", Vector(0, Argv0::Included)),
    call("*.execvpe", Vector(0, Argv0::Included)),
    call("*.execl", Spread(0, Argv0::Included)),
    call("*.execle", Spread(0, Argv0::Included)),
    call("*.execlp", Spread(0, Argv0::Included)),
    call("*.execlpe", Spread(0, Argv0::Included)),
    call("*.spawnv", Vector(1, Argv0::Included)),
    call("*.spawnve", Vector(1, Argv0::Included)),
    call("*.spawnvp", Vector(1, Argv0::Included)),
    call("*.spawnvpe", Vector(1, Argv0::Included)),
    call("*.spawnl", Spread(1, Argv0::Included)),
    call("*.spawnle", Spread(1, Argv0::Included)),
    call("*.spawnlp", Spread(1, Argv0::Included)),
    call("*.spawnlpe", Spread(1, Argv0::Included)),
    call("*.posix_spawn", Vector(0, Argv0::Included)),
    call("*.posix_spawnp", Vector(0, Argv0::Included)),
    call("open", Open(0, OpenMode::Letters)),
    call("io.open", Open(0, OpenMode::Letters)),
    call("codecs.open", Open(0, OpenMode::Letters)),
    call("os.open", Read(Span::One(0))),
    call("gzip.open", Open(0, OpenMode::Letters)),
    call("bz2.open", Open(0, OpenMode::Letters)),
    call("lzma.open", Open(0, OpenMode::Letters)),
    call("tarfile.open", Read(Span::One(0))),
    call("zipfile.ZipFile", Read(Span::One(0))),
    call("linecache.getline", Read(Span::One(0))),
    call("linecache.getlines", Read(Span::One(0))),
    call("fileinput.input", Read(Span::One(0))),
    call("*.copyfile", Copy(0)),
    call("shutil.copy", Copy(0)),
    call("shutil.copy2", Copy(0)),
    call("shutil.copytree", Copy(0)),
    call("shutil.move", Move(0)),
    call("os.rename", Move(0)),
    call("os.replace", Move(0)),
    call("os.renames", Move(0)),
    call("*.rmtree", Remove(Span::One(0), Recursion::Recursive)),
    call("os.remove", Remove(Span::One(0), Recursion::Single)),
    call("os.unlink", Remove(Span::One(0), Recursion::Single)),
    call("os.rmdir", Remove(Span::One(0), Recursion::Single)),
    call("os.removedirs", Remove(Span::One(0), Recursion::Single)),
    call("os.walk", Walk(Span::One(0))),
    call("os.fwalk", Walk(Span::One(0))),
    call("os.listdir", Walk(Span::One(0))),
    call("os.scandir", Walk(Span::One(0))),
    call("glob.glob", Walk(Span::One(0))),
    call("glob.iglob", Walk(Span::One(0))),
    call("os.path.join", Value(JoinPath)),
    call("posixpath.join", Value(JoinPath)),
    call("*.expanduser", Value(Same(0))),
    call("*.expandvars", Value(Same(0))),
    call("*.abspath", Value(Same(0))),
    call("*.realpath", Value(Same(0))),
    call("*.normpath", Value(Same(0))),
    call("*.fsencode", Value(Same(0))),
    call("*.fsdecode", Value(Same(0))),
    call("str", Value(Same(0))),
    call("pathlib.Path", Value(Same(0))),
    call("Path", Value(Same(0))),
    call("pathlib.PosixPath", Value(Same(0))),
    call("PosixPath", Value(Same(0))),
    call("pathlib.Path.home", Value(Home)),
    call("Path.home", Value(Home)),
    call("os.getenv", Value(Env(0))),
    call("os.environ.get", Value(Env(0))),
    call("environ.get", Value(Env(0))),
    call("__import__", Value(Module(0))),
    call("importlib.import_module", Value(Module(0))),
    call("shlex.quote", Value(Quote(0))),
    call("pipes.quote", Value(Quote(0))),
    call("shlex.join", Value(QuoteJoin(0))),
    call("exec", Eval(0)),
    call("eval", Eval(0)),
    call("compile", Value(Same(0))),
    call("runpy.run_path", Tool("python3", 0)),
    call("*.b64decode", Value(Decode(0, Encoding::Base64))),
    call("*.standard_b64decode", Value(Decode(0, Encoding::Base64))),
    call("*.urlsafe_b64decode", Value(Decode(0, Encoding::Base64))),
    call("*.decodebytes", Value(Decode(0, Encoding::Base64))),
    call("*.a2b_base64", Value(Decode(0, Encoding::Base64))),
    call("bytes.fromhex", Value(Decode(0, Encoding::Hex))),
    call("*.unhexlify", Value(Decode(0, Encoding::Hex))),
    call("*.a2b_hex", Value(Decode(0, Encoding::Hex))),
];

/// Methods of strings and paths; the receiver is argument 0.
const METHODS: &[Call] = &[
    call("*.read_text", Read(Span::One(0))),
    call("*.read_bytes", Read(Span::One(0))),
    call("*.open", Open(0, OpenMode::Letters)),
    call("*.write_text", Write(Span::One(0))),
    call("*.write_bytes", Write(Span::One(0))),
    call("*.unlink", Remove(Span::One(0), Recursion::Single)),
    call("*.rmdir", Remove(Span::One(0), Recursion::Single)),
    call("*.iterdir", Walk(Span::One(0))),
    call("*.rglob", Walk(Span::One(0))),
    call("*.glob", Walk(Span::One(0))),
    call("*.expanduser", Value(Same(0))),
    call("*.resolve", Value(Same(0))),
    call("*.absolute", Value(Same(0))),
    call("*.as_posix", Value(Same(0))),
    call("*.encode", Value(Same(0))),
    call("*.decode", Value(Same(0))),
    call("*.joinpath", Value(JoinPath)),
    call("*.format", Value(Format)),
    call(
        "*.join",
        Value(JoinWith {
            separator: 0,
            list: 1,
        }),
    ),
];

pub(crate) fn tokenize(code: &[u8]) -> Vec<Token> {
    let mut cursor = Cursor::new(code);
    let mut tokens = Vec::new();
    tokens_until(&mut cursor, &mut tokens, Stop::End, 0);
    tokens
}

#[derive(Clone, Copy, PartialEq)]
enum Stop {
    End,
    /// The `}` (or `!`, `:` at depth 0) that ends an f-string field.
    Field,
}

const MAX_NESTING: usize = 16;

fn tokens_until(cursor: &mut Cursor<'_>, tokens: &mut Vec<Token>, stop: Stop, nesting: usize) {
    let mut depth = 0usize;
    while let Some(b) = cursor.peek() {
        match b {
            b'#' => cursor.skip_line(),
            b'\\' if cursor.peek_at(1) == Some(b'\n') => cursor.at += 2,
            b'\n' => {
                cursor.at += 1;
                if depth == 0 && stop == Stop::End && tokens.last() != Some(&Token::Newline) {
                    tokens.push(Token::Newline);
                }
            }
            b' ' | b'\t' | b'\r' | b'\x0c' => cursor.at += 1,
            b'\'' | b'"' => tokens.push(string(cursor, b"", nesting)),
            b'0'..=b'9' => {
                let number = cursor.number();
                tokens.push(number);
            }
            _ if is_word_start(b) => {
                let word = cursor.word();
                if is_prefix(&word) && matches!(cursor.peek(), Some(b'\'' | b'"')) {
                    tokens.push(string(cursor, &word, nesting));
                } else {
                    tokens.push(Token::Word(word));
                }
            }
            _ => {
                if stop == Stop::Field && depth == 0 && matches!(b, b'}' | b'!' | b':') {
                    // `!=` inside a field is an operator, not a conversion.
                    if !(b == b'!' && cursor.peek_at(1) == Some(b'=')) {
                        return;
                    }
                }
                let token = cursor.operator();
                match token {
                    Token::Punct(b'(' | b'[' | b'{') => depth += 1,
                    Token::Punct(b')' | b']' | b'}') => depth = depth.saturating_sub(1),
                    _ => {}
                }
                tokens.push(token);
            }
        }
    }
}

fn is_prefix(word: &[u8]) -> bool {
    let lower: Vec<u8> = word.iter().map(u8::to_ascii_lowercase).collect();
    matches!(
        &lower[..],
        b"r" | b"u" | b"b" | b"f" | b"br" | b"rb" | b"fr" | b"rf"
    )
}

/// A string literal starting at its opening quote; `prefix` as written before it.
fn string(cursor: &mut Cursor<'_>, prefix: &[u8], nesting: usize) -> Token {
    let raw = prefix.iter().any(|b| b.eq_ignore_ascii_case(&b'r'));
    let formatted = prefix.iter().any(|b| b.eq_ignore_ascii_case(&b'f'));
    let quote = cursor.bump().unwrap_or(b'"');
    let triple = cursor.peek() == Some(quote) && cursor.peek_at(1) == Some(quote);
    if triple {
        cursor.at += 2;
    } else if cursor.peek() == Some(quote) {
        cursor.at += 1;
        return Token::Str(vec![Part::Lit(Vec::new())]);
    }
    let ends = |c: &Cursor<'_>| {
        if triple {
            c.starts_with(&[quote, quote, quote])
        } else {
            c.peek() == Some(quote) || c.peek() == Some(b'\n')
        }
    };
    // A raw string keeps its backslashes (`\'` was read as two bytes and did not end it).
    let mut pieces = Pieces::new(if raw { <[u8]>::to_vec } else { decoded });
    while !cursor.done() && !ends(cursor) {
        let b = cursor.bump().unwrap_or(0);
        match b {
            b'\\' => {
                if let Some(next) = cursor.bump() {
                    pieces.extend(&[b'\\', next]);
                }
            }
            b'{' if formatted => {
                if cursor.peek() == Some(b'{') {
                    cursor.at += 1;
                    pieces.push(b'{');
                    continue;
                }
                let mut field = Vec::new();
                if nesting < MAX_NESTING {
                    tokens_until(cursor, &mut field, Stop::Field, nesting + 1);
                }
                // Conversion and format spec up to the field's `}`.
                skip_field_rest(cursor);
                pieces.code(field);
            }
            b'}' if formatted && cursor.peek() == Some(b'}') => {
                cursor.at += 1;
                pieces.push(b'}');
            }
            _ => pieces.push(b),
        }
    }
    if triple {
        cursor.at = (cursor.at + 3).min(cursor.code.len());
    } else if cursor.peek() == Some(quote) {
        cursor.at += 1;
    }
    Token::Str(pieces.finish())
}

/// Python's escapes; an unknown one keeps its backslash (`"\d"` is two characters).
fn decoded(raw: &[u8]) -> Vec<u8> {
    unescape(raw, true)
}

fn skip_field_rest(cursor: &mut Cursor<'_>) {
    let mut depth = 0usize;
    while let Some(b) = cursor.bump() {
        match b {
            b'{' => depth += 1,
            b'}' if depth == 0 => return,
            b'}' => depth -= 1,
            b'\n' => return,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Token {
        Token::Str(vec![Part::Lit(s.as_bytes().to_vec())])
    }

    #[test]
    fn strings_of_every_kind_are_read() {
        let tokens = tokenize(br#"a = r'\d' + b"x\n" + '''tri'ple''' + "esc\"q" # 'no'"#);
        let strings: Vec<&Token> = tokens
            .iter()
            .filter(|t| matches!(t, Token::Str(_)))
            .collect();
        assert_eq!(
            strings,
            [&lit(r"\d"), &lit("x\n"), &lit("tri'ple"), &lit("esc\"q")]
        );
    }

    #[test]
    fn f_string_fields_are_code() {
        let tokens = tokenize(br#"f"rm -rf {home!r:>10} {{x}} {d['k']}""#);
        let Token::Str(parts) = &tokens[0] else {
            panic!("{tokens:?}")
        };
        assert_eq!(parts[0], Part::Lit(b"rm -rf ".to_vec()));
        assert_eq!(parts[1], Part::Code(vec![Token::Word(b"home".to_vec())]));
        assert_eq!(parts[2], Part::Lit(b" {x} ".to_vec()));
        assert!(matches!(&parts[3], Part::Code(code) if code.contains(&lit("k"))));
    }

    #[test]
    fn newlines_end_statements_outside_brackets_only() {
        let tokens = tokenize(b"f(a,\n b)\nx");
        assert_eq!(
            tokens.iter().filter(|t| **t == Token::Newline).count(),
            1,
            "{tokens:?}"
        );
    }
}
