//! How shells, interpreters and database clients are given code to run: inline (`python -c
//! CODE`, `perl -e CODE`, `psql -c SQL`), on standard input (`python3 <<EOF`, `bash <
//! script.sh`), or in a file (`bash F`, `source F`, `node F`, `psql -f F`).
//!
//! `sh -c STRING` and a shell reading a here-document are unwrapped by `unwrap`; what is
//! found here is what that leaves: script files, and the code of every other language.

use std::borrow::Cow;

use super::super::interp::{Language, PhpStart};
use super::super::unit::{self, Unit, Word};
use super::super::unwrap::{self, ShellInput};

/// How a script's text is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Script {
    /// Like a `bash -c` string.
    Shell,
    /// By the scanner of a language.
    Code(Language),
}

/// Where the code comes from.
#[derive(Debug, PartialEq)]
pub(crate) enum Source<'u> {
    Inline(Cow<'u, [u8]>),
    Stdin,
    File(&'u [u8]),
}

#[derive(Debug)]
pub(crate) struct Invocation<'u> {
    pub script: Script,
    pub sources: Vec<Source<'u>>,
    /// The arguments the code is given (`python -c CODE ARGS…`, `node F ARGS…`).
    pub arguments: Vec<Vec<u8>>,
}

/// The programs that take code, by base name without a version (`python3.11` is `python`).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Shell,
    Source,
    Python,
    Node,
    Bun,
    Deno,
    Perl,
    Ruby,
    Php,
    Sqlite,
    Psql,
    Mysql,
    Duckdb,
}

fn kind(name: &[u8]) -> Option<Kind> {
    let base = match name {
        b"." | b"source" => return Some(Kind::Source),
        _ => {
            let end = name
                .iter()
                .rposition(|b| !b.is_ascii_digit() && *b != b'.')
                .map_or(0, |p| p + 1);
            &name[..end]
        }
    };
    Some(match base {
        b"sh" | b"bash" | b"dash" | b"zsh" | b"ksh" | b"ash" | b"mksh" | b"yash" => Kind::Shell,
        b"python" | b"pypy" => Kind::Python,
        b"node" | b"nodejs" => Kind::Node,
        b"bun" => Kind::Bun,
        b"deno" => Kind::Deno,
        b"perl" => Kind::Perl,
        b"ruby" => Kind::Ruby,
        b"php" | b"php-cli" => Kind::Php,
        b"sqlite" | b"sqlcipher" => Kind::Sqlite,
        b"psql" => Kind::Psql,
        b"mysql" | b"mariadb" => Kind::Mysql,
        b"duckdb" => Kind::Duckdb,
        _ => return None,
    })
}

/// How one program spells its options (see [`parse`]).
struct Spec {
    /// Short options whose value is code (`-c`, `-e`), attached or the next argument.
    code: &'static [u8],
    code_long: &'static [&'static str],
    /// Short options whose value names a script file (`php -f`, `psql -f`).
    files: &'static [u8],
    files_long: &'static [&'static str],
    /// Short options that take a value, attached or the next argument.
    values: &'static [u8],
    values_long: &'static [&'static str],
    /// Short options whose value can only be attached (`perl -i.bak`, `-MModule`).
    attached: &'static [u8],
    /// Short options followed by optional digits, then more options (`perl -l0ne`).
    digits: &'static [u8],
    /// Short options after which nothing is code (`python -m MODULE`).
    stop: &'static [u8],
    /// Whether the first piece of code ends the options (`python -c CODE ARGS…`).
    code_ends_options: Ending,
    /// Whether a code option's value may be attached (`perl -e'…'`) or is always the next
    /// argument (`node -pe CODE` is `-p -e CODE`).
    attach: Attached,
}

#[derive(Clone, Copy, PartialEq)]
enum Attached {
    Allowed,
    Never,
}

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    CodeEndsOptions,
    OptionsContinue,
}

const PYTHON: Spec = Spec {
    digits: b"",
    attach: Attached::Allowed,
    code: b"c",
    code_long: &[],
    files: b"",
    files_long: &[],
    values: b"WX",
    values_long: &["check-hash-based-pycs"],
    attached: b"",
    stop: b"m",
    code_ends_options: Ending::CodeEndsOptions,
};

const NODE: Spec = Spec {
    digits: b"",
    attach: Attached::Never,
    code: b"ep",
    code_long: &["eval", "print"],
    files: b"",
    files_long: &[],
    values: b"rC",
    values_long: &[
        "require",
        "import",
        "loader",
        "experimental-loader",
        "conditions",
        "input-type",
        "title",
        "env-file",
        "max-old-space-size",
        "stack-size",
        "inspect-port",
        "redirect-warnings",
        "openssl-config",
        "icu-data-dir",
    ],
    attached: b"",
    stop: b"",
    code_ends_options: Ending::CodeEndsOptions,
};

const PERL: Spec = Spec {
    digits: b"l0",
    attach: Attached::Allowed,
    code: b"eE",
    code_long: &[],
    files: b"",
    files_long: &[],
    values: b"I",
    values_long: &[],
    attached: b"iMmxFCdD",
    stop: b"",
    code_ends_options: Ending::OptionsContinue,
};

const RUBY: Spec = Spec {
    digits: b"0",
    attach: Attached::Allowed,
    code: b"e",
    code_long: &[],
    files: b"",
    files_long: &[],
    values: b"rICEF",
    values_long: &[
        "encoding",
        "external-encoding",
        "internal-encoding",
        "enable",
        "disable",
    ],
    attached: b"ixW",
    stop: b"",
    code_ends_options: Ending::OptionsContinue,
};

const PHP: Spec = Spec {
    digits: b"",
    attach: Attached::Allowed,
    code: b"rBRE",
    code_long: &["run", "process-begin", "process-code", "process-end"],
    files: b"fF",
    files_long: &["file", "process-file"],
    values: b"dcz",
    values_long: &[
        "define",
        "php-ini",
        "zend-extension",
        "rf",
        "rc",
        "re",
        "rz",
        "ri",
    ],
    attached: b"",
    stop: b"",
    code_ends_options: Ending::OptionsContinue,
};

const PSQL: Spec = Spec {
    digits: b"",
    attach: Attached::Allowed,
    code: b"c",
    code_long: &["command"],
    files: b"f",
    files_long: &["file"],
    values: b"dhpUvPoLTFR",
    values_long: &[
        "dbname",
        "host",
        "port",
        "username",
        "set",
        "variable",
        "pset",
        "output",
        "log-file",
        "table-attr",
        "field-separator",
        "record-separator",
    ],
    attached: b"",
    stop: b"",
    code_ends_options: Ending::OptionsContinue,
};

const MYSQL: Spec = Spec {
    digits: b"",
    attach: Attached::Allowed,
    code: b"e",
    code_long: &["execute"],
    files: b"",
    files_long: &[],
    values: b"uhPDSOo",
    values_long: &[
        "user",
        "host",
        "port",
        "database",
        "socket",
        "defaults-file",
        "defaults-extra-file",
        "init-command",
        "default-character-set",
        "protocol",
    ],
    attached: b"p",
    stop: b"",
    code_ends_options: Ending::OptionsContinue,
};

/// What the options of a command line say.
#[derive(Default)]
struct Parsed<'u> {
    code: Vec<Cow<'u, [u8]>>,
    files: Vec<&'u [u8]>,
    /// Index of the first operand.
    operands: usize,
    stopped: bool,
}

/// Reads `argv`'s options the getopt way: clusters (`-ne`), values attached or separate,
/// `--long=value`, `--` and `-` end them.
fn parse<'u>(argv: &'u [Word<'_>], spec: &Spec) -> Parsed<'u> {
    let mut parsed = Parsed::default();
    let mut i = 1;
    while i < argv.len() {
        let arg: &'u [u8] = &argv[i];
        if arg == b"--" {
            i += 1;
            break;
        }
        if arg == b"-" || !arg.starts_with(b"-") {
            break;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let (name, inline) = unwrap::split_once(long, b'=');
            let named = |list: &[&str]| list.iter().any(|n| n.as_bytes() == name);
            let mut value = || match inline {
                Some(v) => Some(v),
                None => {
                    i += 1;
                    argv.get(i).map(|w| &**w)
                }
            };
            if named(spec.code_long) {
                parsed.code.extend(value().map(Cow::Borrowed));
                if spec.code_ends_options == Ending::CodeEndsOptions {
                    i += 1;
                    break;
                }
            } else if named(spec.files_long) {
                parsed.files.extend(value());
            } else if named(spec.values_long) {
                value();
            }
            i += 1;
            continue;
        }
        let mut ended = false;
        let mut at = 0;
        while at + 1 < arg.len() {
            at += 1;
            let flag = arg[at];
            if spec.digits.contains(&flag) {
                // Octal digits, or `x` and hex digits (`-0x1FF`); `-le` is `-l -e`.
                let hex = arg.get(at + 1) == Some(&b'x');
                at += usize::from(hex);
                while arg.get(at + 1).is_some_and(|d| {
                    if hex {
                        d.is_ascii_hexdigit()
                    } else {
                        (b'0'..=b'7').contains(d)
                    }
                }) {
                    at += 1;
                }
                continue;
            }
            let rest = &arg[at + 1..];
            let mut value = || {
                if rest.is_empty() {
                    i += 1;
                    argv.get(i).map(|w| &**w)
                } else {
                    Some(rest)
                }
            };
            if spec.code.contains(&flag) {
                if spec.attach == Attached::Never && !rest.is_empty() {
                    continue;
                }
                parsed.code.extend(value().map(Cow::Borrowed));
                ended = spec.code_ends_options == Ending::CodeEndsOptions;
                break;
            }
            if spec.files.contains(&flag) {
                parsed.files.extend(value());
                break;
            }
            if spec.values.contains(&flag) {
                value();
                break;
            }
            if spec.attached.contains(&flag) {
                break;
            }
            if spec.stop.contains(&flag) {
                parsed.stopped = true;
                break;
            }
        }
        i += 1;
        if ended || parsed.stopped {
            break;
        }
    }
    parsed.operands = i;
    parsed
}

/// The code `unit` runs as a script or program text, if it is a shell running a file or
/// an interpreter or database client.
pub(crate) fn of<'u>(unit: &'u Unit<'_>) -> Option<Invocation<'u>> {
    let kind = kind(unit.name())?;
    let argv = &unit.argv;
    let language = |language| Script::Code(language);
    let code = |language, (sources, arguments)| (Script::Code(language), sources, arguments);
    let (script, sources, arguments) = match kind {
        Kind::Shell => match unwrap::shell_input(argv) {
            ShellInput::Script(at) => (Script::Shell, vec![Source::File(&argv[at])], Vec::new()),
            // `bash < script.sh`: the shell reads its commands from the redirected file.
            ShellInput::Stdin if unit.stdin_text.is_none() => {
                let input = unit.inputs.last()?;
                (Script::Shell, vec![Source::File(input)], Vec::new())
            }
            _ => return None,
        },
        Kind::Source => (Script::Shell, vec![Source::File(argv.get(1)?)], Vec::new()),
        Kind::Python => code(Language::Python, interpreter(argv, &PYTHON)?),
        Kind::Node => code(Language::JavaScript, interpreter(argv, &NODE)?),
        Kind::Perl => code(Language::Perl, interpreter(argv, &PERL)?),
        Kind::Ruby => code(Language::Ruby, interpreter(argv, &RUBY)?),
        Kind::Php => {
            let parsed = parse(argv, &PHP);
            if !parsed.code.is_empty() {
                return Some(Invocation {
                    script: language(Language::Php(PhpStart::Code)),
                    arguments: words_from(argv, parsed.operands),
                    sources: parsed.code.into_iter().map(Source::Inline).collect(),
                });
            }
            code(Language::Php(PhpStart::Html), operands(argv, parsed))
        }
        Kind::Bun => (language(Language::JavaScript), bun(argv)?, Vec::new()),
        Kind::Deno => (language(Language::JavaScript), deno(argv)?, Vec::new()),
        Kind::Psql => (language(Language::Sql), client(argv, &PSQL), Vec::new()),
        Kind::Mysql => (language(Language::Sql), client(argv, &MYSQL), Vec::new()),
        Kind::Sqlite | Kind::Duckdb => (language(Language::Sql), sqlite(argv), Vec::new()),
    };
    Some(Invocation {
        script,
        sources,
        arguments,
    })
}

/// Code's sources and the arguments it is given.
type Code<'u> = (Vec<Source<'u>>, Vec<Vec<u8>>);

/// An interpreter's code: inline, else its script operand, else standard input; and the
/// arguments after it.
fn interpreter<'u>(argv: &'u [Word<'_>], spec: &Spec) -> Option<Code<'u>> {
    let parsed = parse(argv, spec);
    if parsed.stopped {
        return None;
    }
    if !parsed.code.is_empty() {
        let arguments = words_from(argv, parsed.operands);
        // Several `-e` are lines of one program.
        let code = match parsed.code.len() {
            1 => parsed.code.into_iter().next()?,
            _ => Cow::Owned(parsed.code.join(&b'\n')),
        };
        return Some((vec![Source::Inline(code)], arguments));
    }
    Some(operands(argv, parsed))
}

/// The code named by operands (a script file, `-` for standard input) and the arguments
/// after it; a file given by an option (`php -f F`) leaves every operand an argument.
fn operands<'u>(argv: &'u [Word<'_>], parsed: Parsed<'u>) -> Code<'u> {
    let first = match parsed.files.is_empty() {
        true => parsed.operands + 1,
        false => parsed.operands,
    };
    let arguments = words_from(argv, first);
    (operand_sources(argv, parsed), arguments)
}

/// The words from `at` on (none when `at` is past the end).
fn words_from(argv: &[Word<'_>], at: usize) -> Vec<Vec<u8>> {
    unit::owned(argv.get(at..).unwrap_or_default())
}

fn operand_sources<'u>(argv: &'u [Word<'_>], parsed: Parsed<'u>) -> Vec<Source<'u>> {
    let mut sources: Vec<Source<'u>> = parsed.files.into_iter().map(Source::File).collect();
    if sources.is_empty() {
        sources.push(match argv.get(parsed.operands).map(|w| &**w) {
            None | Some(b"-") => Source::Stdin,
            Some(file) => Source::File(file),
        });
    }
    sources
}

/// `bun -e CODE`, `bun run F`, `bun F.js`; its other subcommands run no script of ours.
fn bun<'u>(argv: &'u [Word<'_>]) -> Option<Vec<Source<'u>>> {
    let parsed = parse(argv, &NODE);
    if !parsed.code.is_empty() {
        return Some(parsed.code.into_iter().map(Source::Inline).collect());
    }
    let operand: &[u8] = argv.get(parsed.operands)?;
    let file = if operand == b"run" {
        argv.get(parsed.operands + 1)?
    } else {
        operand
    };
    let script = [&b".js"[..], b".mjs", b".cjs", b".ts", b".tsx", b".jsx"]
        .iter()
        .any(|ext| file.ends_with(ext));
    script.then(|| vec![Source::File(file)])
}

/// `deno eval CODE`, `deno run [options] F`.
fn deno<'u>(argv: &'u [Word<'_>]) -> Option<Vec<Source<'u>>> {
    let command: &[u8] = argv.get(1)?;
    let rest = argv.get(2..)?;
    let first_operand = rest.iter().find(|a| !a.starts_with(b"-"))?;
    match command {
        b"eval" => Some(vec![Source::Inline(Cow::Borrowed(first_operand))]),
        b"run" => Some(vec![Source::File(first_operand)]),
        _ => None,
    }
}

/// `psql`, `mysql`: SQL from `-c`/`-e`, files from `-f`, else standard input.
fn client<'u>(argv: &'u [Word<'_>], spec: &Spec) -> Vec<Source<'u>> {
    let parsed = parse(argv, spec);
    let mut sources: Vec<Source<'u>> = parsed.code.into_iter().map(Source::Inline).collect();
    sources.extend(parsed.files.into_iter().map(Source::File));
    if sources.is_empty() {
        sources.push(Source::Stdin);
    }
    sources
}

/// `sqlite3 [options] DB [SQL…]` (and `duckdb`): single-dash long options, SQL as the
/// operands after the database, `-cmd SQL`, `-c SQL`, `-init FILE`.
fn sqlite<'u>(argv: &'u [Word<'_>]) -> Vec<Source<'u>> {
    const VALUES: &[&[u8]] = &[
        b"separator",
        b"newline",
        b"nullvalue",
        b"vfs",
        b"maxsize",
        b"mmap",
        b"pagecache",
        b"lookaside",
        b"heap",
        b"A",
    ];
    let mut sources = Vec::new();
    let mut i = 1;
    while i < argv.len() && argv[i].starts_with(b"-") {
        let arg: &[u8] = &argv[i];
        let name = arg
            .strip_prefix(b"--")
            .or_else(|| arg.strip_prefix(b"-"))
            .unwrap_or(arg);
        let value = argv.get(i + 1).map(|w| &**w);
        match name {
            b"cmd" | b"c" | b"s" => sources.extend(value.map(|v| Source::Inline(Cow::Borrowed(v)))),
            b"init" => sources.extend(value.map(Source::File)),
            name if VALUES.contains(&name) => {}
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    // The first operand is the database; the rest is SQL.
    sources.extend(
        argv.iter()
            .skip(i + 1)
            .map(|sql| Source::Inline(Cow::Borrowed(&**sql))),
    );
    if sources.is_empty() {
        sources.push(Source::Stdin);
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(words: &[&'static str]) -> Option<(Script, Vec<String>)> {
        let argv: Vec<Word<'static>> = words.iter().map(|w| Cow::Borrowed(w.as_bytes())).collect();
        let unit = Unit {
            program: argv[0].clone(),
            argv,
            ..Unit::default()
        };
        let invocation = of(&unit)?;
        let shown = invocation
            .sources
            .iter()
            .map(|s| match s {
                Source::Inline(code) => format!("code:{}", String::from_utf8_lossy(code)),
                Source::Stdin => "stdin".to_string(),
                Source::File(f) => format!("file:{}", String::from_utf8_lossy(f)),
            })
            .collect();
        Some((invocation.script, shown))
    }

    fn shown(words: &[&'static str]) -> Vec<String> {
        sources(words).map(|(_, s)| s).unwrap_or_default()
    }

    #[test]
    fn interpreters_give_code_inline_in_files_or_on_stdin() {
        assert_eq!(
            shown(&["python3", "-c", "print(1)", "x"]),
            ["code:print(1)"]
        );
        assert_eq!(shown(&["python3.11", "-Bc", "print(2)"]), ["code:print(2)"]);
        assert_eq!(
            shown(&["python", "-W", "ignore", "s.py", "-c"]),
            ["file:s.py"]
        );
        assert_eq!(shown(&["python3", "-"]), ["stdin"]);
        assert_eq!(shown(&["python3"]), ["stdin"]);
        assert!(sources(&["python3", "-m", "pytest"]).is_none());
        assert_eq!(
            shown(&["node", "-r", "ts-node/register", "app.ts"]),
            ["file:app.ts"]
        );
        assert_eq!(shown(&["node", "--eval=1+1"]), ["code:1+1"]);
        assert_eq!(
            shown(&["node", "-pe", "process.version"]),
            ["code:process.version"]
        );
        assert_eq!(
            shown(&["perl", "-pi", "-e", "s/a/b/", "file.txt"]),
            ["code:s/a/b/"]
        );
        assert_eq!(
            shown(&["perl", "-MFile::Path", "-e", "a", "-e", "b"]),
            ["code:a\nb"]
        );
        assert_eq!(shown(&["perl", "-lne", "print"]), ["code:print"]);
        assert_eq!(shown(&["perl", "-le", "print 1"]), ["code:print 1"]);
        assert_eq!(shown(&["perl", "-0777", "-ne", "x"]), ["code:x"]);
        assert_eq!(shown(&["ruby", "-rjson", "-e", "p 1"]), ["code:p 1"]);
        assert_eq!(shown(&["php", "-r", "echo 1;"]), ["code:echo 1;"]);
        assert_eq!(shown(&["php", "index.php"]), ["file:index.php"]);
        assert_eq!(shown(&["bun", "-e", "1"]), ["code:1"]);
        assert_eq!(shown(&["bun", "install"]), Vec::<String>::new());
        assert_eq!(
            shown(&["deno", "eval", "Deno.exit(0)"]),
            ["code:Deno.exit(0)"]
        );
    }

    #[test]
    fn shells_run_files_and_database_clients_take_sql() {
        assert_eq!(
            sources(&["bash", "-x", "s.sh", "a"]),
            Some((Script::Shell, vec!["file:s.sh".to_string()]))
        );
        assert_eq!(shown(&["source", "env.sh"]), ["file:env.sh"]);
        assert_eq!(shown(&[".", "./env.sh"]), ["file:./env.sh"]);
        assert!(sources(&["bash", "-c", "ls"]).is_none());
        assert_eq!(
            shown(&["sqlite3", "-cmd", ".mode csv", "db", "select 1"]),
            ["code:.mode csv", "code:select 1"]
        );
        assert_eq!(shown(&["sqlite3", "db"]), ["stdin"]);
        assert_eq!(
            shown(&["psql", "-U", "me", "-c", "select 2", "-f", "x.sql"]),
            ["code:select 2", "file:x.sql"]
        );
        assert_eq!(
            shown(&["mysql", "-pxyz", "--execute=select 3"]),
            ["code:select 3"]
        );
    }
}
