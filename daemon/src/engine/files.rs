//! The files a command touches through its arguments, for well-known programs: what it
//! writes (`tee F`, `cp X F`, `install X F`, `mv X F`, `dd of=F`, `curl -o F`, `sed -i F`),
//! what it reads (`source F`, `. F`, `dd if=F`), which file it runs as code (`sh F`,
//! `python3 F`, `./F`) and in which directory it works (`git -C DIR`, `make -C DIR`,
//! `env -C DIR`). Rules see written files like redirection targets and read files like
//! redirected input, so `tee -a ~/.ssh/authorized_keys` meets the rule about
//! `>> ~/.ssh/authorized_keys`.
//!
//! Each program's options are described by a [`Spec`] (which options take a value), so
//! operands are found the way the program itself finds them. The words are [`PathWord`]s
//! and keep their kind: a glob operand writes a glob of files.

use super::paths::{Kind, PathWord};
use super::unit::basename;

/// How a program spells its options.
struct Spec {
    /// Short options that take a value (`-o F` or `-oF`).
    short_values: &'static [u8],
    /// Long options that take a value (`--output F` or `--output=F`).
    long_values: &'static [&'static str],
}

impl Spec {
    const NONE: Spec = Spec {
        short_values: b"",
        long_values: &[],
    };
}

/// An argument as the program reads it.
enum Arg<'w> {
    /// An operand (not an option), with its index among the arguments.
    Operand(usize),
    /// An option and its value, if it takes one: `-o F` is `("o", Some(F))`.
    Option(&'w [u8], Option<PathWord>),
}

/// Walks `args` as a program with `spec` reads them: clusters split, values taken from
/// the rest of the word or the next one, nothing is an option after `--`.
fn parse<'w>(args: &'w [PathWord], spec: &Spec) -> Vec<Arg<'w>> {
    let mut found = Vec::new();
    let mut i = 0;
    let mut options_end = false;
    while i < args.len() {
        let text = &args[i].text[..];
        if options_end || text.len() < 2 || text[0] != b'-' {
            found.push(Arg::Operand(i));
            i += 1;
            continue;
        }
        if text == b"--" {
            options_end = true;
            i += 1;
            continue;
        }
        if let Some(long) = text.strip_prefix(b"--") {
            let eq = long.iter().position(|&b| b == b'=');
            let name = &long[..eq.unwrap_or(long.len())];
            let takes = spec.long_values.iter().any(|v| v.as_bytes() == name);
            let value = match eq {
                Some(eq) => Some(args[i].part_of(&long[eq + 1..])),
                None if takes => {
                    i += 1;
                    args.get(i).cloned()
                }
                None => None,
            };
            found.push(Arg::Option(name, value));
            i += 1;
            continue;
        }
        for (at, flag) in text.iter().enumerate().skip(1) {
            if spec.short_values.contains(flag) {
                let value = if at + 1 < text.len() {
                    Some(args[i].part_of(&text[at + 1..]))
                } else {
                    i += 1;
                    args.get(i).cloned()
                };
                found.push(Arg::Option(&text[at..=at], value));
                break;
            }
            found.push(Arg::Option(&text[at..=at], None));
        }
        i += 1;
    }
    found
}

impl PathWord {
    fn part_of(&self, bytes: &[u8]) -> PathWord {
        PathWord::new(bytes.to_vec(), self.kind)
    }
}

fn operands<'w>(args: &'w [PathWord], parsed: &[Arg<'_>]) -> Vec<&'w PathWord> {
    parsed
        .iter()
        .filter_map(|a| match a {
            Arg::Operand(i) => Some(&args[*i]),
            Arg::Option(..) => None,
        })
        .collect()
}

/// The values of the options named `names` (short letters as one-byte names).
fn values(parsed: &[Arg<'_>], names: &[&str]) -> Vec<PathWord> {
    parsed
        .iter()
        .filter_map(|a| match a {
            Arg::Option(name, Some(value)) if names.iter().any(|n| n.as_bytes() == *name) => {
                Some(value.clone())
            }
            _ => None,
        })
        .collect()
}

fn has(parsed: &[Arg<'_>], names: &[&str]) -> bool {
    parsed
        .iter()
        .any(|a| matches!(a, Arg::Option(name, _) if names.iter().any(|n| n.as_bytes() == *name)))
}

/// `dir/name`, as glob text when either is a glob.
fn inside(dir: &PathWord, name: &PathWord) -> PathWord {
    let kind = if dir.kind == Kind::Glob || name.kind == Kind::Glob {
        Kind::Glob
    } else {
        Kind::Plain
    };
    let mut text = Vec::with_capacity(dir.text.len() + name.text.len() + 1);
    for (at, word) in [dir, name].into_iter().enumerate() {
        if at == 1 {
            text.push(b'/');
        }
        match (kind, word.kind) {
            (Kind::Glob, Kind::Plain) => super::paths::escape(&word.text, &mut text),
            _ => text.extend_from_slice(&word.text),
        }
    }
    PathWord::new(text, kind)
}

fn base_name(word: &PathWord) -> PathWord {
    let trimmed = word.text.strip_suffix(b"/").unwrap_or(&word.text);
    word.part_of(basename(trimmed))
}

/// The file name a download of `url` gets by default: the last segment of its path.
fn remote_name(url: &PathWord) -> Option<PathWord> {
    let text = &url.text[..];
    let after_scheme = text
        .windows(3)
        .position(|w| w == b"://")
        .map_or(text, |at| &text[at + 3..]);
    let path_start = after_scheme.iter().position(|&b| b == b'/')?;
    let path = &after_scheme[path_start..];
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let name = basename(&path[..end]);
    (!name.is_empty()).then(|| PathWord::plain(name))
}

const CP: Spec = Spec {
    short_values: b"St",
    long_values: &["suffix", "target-directory", "backup", "sparse", "reflink"],
};
const INSTALL: Spec = Spec {
    short_values: b"mogSt",
    long_values: &[
        "mode",
        "owner",
        "group",
        "suffix",
        "target-directory",
        "strip-program",
    ],
};
const CURL: Spec = Spec {
    short_values: b"AbcCdDeEFHKmoPQrtTuUwxXyYz",
    long_values: &[
        "output",
        "output-dir",
        "data",
        "data-binary",
        "data-raw",
        "data-urlencode",
        "form",
        "header",
        "user",
        "user-agent",
        "request",
        "referer",
        "cookie",
        "cookie-jar",
        "config",
        "upload-file",
        "proxy",
        "max-time",
        "connect-timeout",
        "retry",
        "cert",
        "key",
        "cacert",
        "write-out",
        "range",
        "continue-at",
        "dump-header",
        "url",
    ],
};
const WGET: Spec = Spec {
    short_values: b"aABDeiIlOoPQRtTUwX",
    long_values: &[
        "output-document",
        "directory-prefix",
        "output-file",
        "append-output",
        "input-file",
        "tries",
        "timeout",
        "wait",
        "user-agent",
        "header",
        "post-data",
        "post-file",
        "user",
        "password",
        "execute",
        "level",
        "accept",
        "reject",
        "domains",
    ],
};
const SED: Spec = Spec {
    short_values: b"efl",
    long_values: &["expression", "file", "line-length"],
};

/// Files `program` (a base name) writes through its arguments (argv[1..], asked for only
/// when the program is one of those described here).
pub(crate) fn writes<'a>(program: &[u8], args: impl FnOnce() -> &'a [PathWord]) -> Vec<PathWord> {
    if !matches!(
        program,
        b"tee"
            | b"cp"
            | b"mv"
            | b"ln"
            | b"install"
            | b"rsync"
            | b"scp"
            | b"dd"
            | b"curl"
            | b"wget"
            | b"sed"
            | b"truncate"
            | b"sort"
    ) {
        return Vec::new();
    }
    let args = args();
    match program {
        b"tee" => operands(args, &parse(args, &Spec::NONE))
            .into_iter()
            .cloned()
            .collect(),
        b"cp" | b"mv" | b"ln" => copy_targets(args, &CP),
        b"install" => {
            let parsed = parse(args, &INSTALL);
            if has(&parsed, &["d", "directory"]) {
                operands(args, &parsed).into_iter().cloned().collect()
            } else {
                copy_targets(args, &INSTALL)
            }
        }
        b"rsync" | b"scp" => {
            let parsed = parse(args, &Spec::NONE);
            let last = operands(args, &parsed).into_iter().skip(1).last();
            last.filter(|t| !is_remote(&t.text))
                .cloned()
                .into_iter()
                .collect()
        }
        b"dd" => prefixed(args, b"of="),
        b"curl" => downloads(
            args,
            &CURL,
            &["o", "output"],
            &["O", "remote-name", "remote-name-all"],
            &["output-dir"],
            false,
        ),
        b"wget" => downloads(
            args,
            &WGET,
            &["O", "output-document"],
            &[],
            &["P", "directory-prefix"],
            true,
        ),
        b"sed" => {
            let parsed = parse(args, &SED);
            if !has(&parsed, &["i", "in-place"]) && !args.iter().any(|a| a.text.starts_with(b"-i"))
            {
                return Vec::new();
            }
            let script_given = has(&parsed, &["e", "f", "expression", "file"]);
            operands(args, &parsed)
                .into_iter()
                .skip(usize::from(!script_given))
                .cloned()
                .collect()
        }
        b"truncate" => operands(
            args,
            &parse(
                args,
                &Spec {
                    short_values: b"sr",
                    long_values: &["size", "reference"],
                },
            ),
        )
        .into_iter()
        .cloned()
        .collect(),
        b"sort" => values(
            &parse(
                args,
                &Spec {
                    short_values: b"okStT",
                    long_values: &[
                        "output",
                        "key",
                        "buffer-size",
                        "field-separator",
                        "temporary-directory",
                    ],
                },
            ),
            &["o", "output"],
        ),
        _ => Vec::new(),
    }
}

/// `host:path` (but not `./a:b` or `/a:b`).
fn is_remote(text: &[u8]) -> bool {
    let colon = text.iter().position(|&b| b == b':');
    let slash = text.iter().position(|&b| b == b'/');
    match (colon, slash) {
        (Some(c), Some(s)) => c < s,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `cp SRC… DEST`, `cp -t DIR SRC…`: the destination, and each source's name inside it
/// (the destination may be a directory; the engine cannot know).
fn copy_targets(args: &[PathWord], spec: &Spec) -> Vec<PathWord> {
    let parsed = parse(args, spec);
    let operands = operands(args, &parsed);
    let directories = values(&parsed, &["t", "target-directory"]);
    let (targets, sources): (Vec<PathWord>, &[&PathWord]) = if directories.is_empty() {
        match operands.split_last() {
            Some((last, sources)) if !sources.is_empty() => (vec![(*last).clone()], sources),
            _ => return Vec::new(),
        }
    } else {
        (directories, &operands[..])
    };
    let mut written = targets.clone();
    for target in targets.iter().filter(|t| may_be_directory(t)) {
        for source in sources {
            written.push(inside(target, &base_name(source)));
        }
    }
    written
}

/// Whether a copy's last operand may name a directory the sources land in (`cp k ~/.ssh`
/// writes `~/.ssh/k`). A name with an extension is taken for a file (`cp ~/.bashrc
/// ~/.bashrc.bak` writes no `.bashrc` inside it), except the `.d` of configuration
/// directories (`/etc/sudoers.d`, `/etc/cron.d`). An explicit directory (`-t DIR`, a
/// trailing `/`) always is one.
fn may_be_directory(target: &PathWord) -> bool {
    if target.text.ends_with(b"/") || target.kind == Kind::Glob {
        return true;
    }
    let name = basename(&target.text);
    match name.iter().rposition(|&b| b == b'.') {
        None | Some(0) => true,
        Some(dot) => &name[dot..] == b".d",
    }
}

/// `curl -o F`, `-O` (the URL's name), `wget -O F`, `wget URL` (the URL's name), in the
/// directory an option names.
fn downloads(
    args: &[PathWord],
    spec: &Spec,
    output: &[&str],
    remote_name_flags: &[&str],
    directory: &[&str],
    remote_name_by_default: bool,
) -> Vec<PathWord> {
    let parsed = parse(args, spec);
    let named = values(&parsed, output);
    let by_url = named.is_empty() && (remote_name_by_default || has(&parsed, remote_name_flags));
    let mut files: Vec<PathWord> = named.into_iter().filter(|f| f.text != b"-").collect();
    if by_url {
        files.extend(operands(args, &parsed).into_iter().filter_map(remote_name));
    }
    match values(&parsed, directory).last() {
        Some(dir) => files.iter().map(|f| inside(dir, f)).collect(),
        None => files,
    }
}

/// The values of `key=value` operands with the given `key=` prefix (`dd of=F`).
fn prefixed(args: &[PathWord], prefix: &[u8]) -> Vec<PathWord> {
    args.iter()
        .filter_map(|a| a.text.strip_prefix(prefix).map(|v| a.part_of(v)))
        .collect()
}

/// Files `program` reads through its arguments (beyond reading its operands, which the
/// rules about arguments already see): a sourced script, `dd`'s input.
pub(crate) fn reads<'a>(program: &[u8], args: impl FnOnce() -> &'a [PathWord]) -> Vec<PathWord> {
    match program {
        b"source" | b"." => sourced(args()),
        b"dd" => prefixed(args(), b"if="),
        _ => Vec::new(),
    }
}

fn sourced(args: &[PathWord]) -> Vec<PathWord> {
    operands(args, &parse(args, &Spec::NONE))
        .into_iter()
        .take(1)
        .cloned()
        .collect()
}

/// Shells, and the options after which their operand is not a script file.
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash", "fish",
];

/// An interpreter family: its names, the options that take the code inline (no script
/// file follows), and the options that take a value.
struct Interpreter {
    names: &'static [&'static str],
    inline: &'static [&'static str],
    spec: Spec,
}

const INTERPRETERS: &[Interpreter] = &[
    Interpreter {
        names: &["python", "python2", "python3", "pypy", "pypy3"],
        inline: &["c", "m"],
        spec: Spec {
            short_values: b"cmWXQ",
            long_values: &["check-hash-based-pycs"],
        },
    },
    Interpreter {
        names: &["node", "nodejs"],
        inline: &["e", "p", "eval", "print"],
        spec: Spec {
            short_values: b"eprC",
            long_values: &["eval", "print", "require", "import", "loader", "conditions"],
        },
    },
    Interpreter {
        names: &["perl"],
        inline: &["e", "E"],
        spec: Spec {
            short_values: b"eEIMmx",
            long_values: &[],
        },
    },
    Interpreter {
        names: &["ruby"],
        inline: &["e"],
        spec: Spec {
            short_values: b"eIrCE",
            long_values: &[],
        },
    },
    Interpreter {
        names: &["php"],
        inline: &["r"],
        spec: Spec {
            short_values: b"rcdfz",
            long_values: &[],
        },
    },
    Interpreter {
        names: &["lua", "luajit"],
        inline: &["e"],
        spec: Spec {
            short_values: b"el",
            long_values: &[],
        },
    },
];

fn is_python_like(name: &[u8]) -> bool {
    // `python3.12`, `python3-dbg`: the family is the prefix.
    name.starts_with(b"python") || name.starts_with(b"pypy")
}

/// Files a command runs as code: the program file itself when named by a path (`./x`,
/// `/tmp/x`), the script a shell or an interpreter is given (`bash F`, `python3 F`,
/// `php -f F`), a shell's start-up file option, a sourced file, `awk -f F`.
pub(crate) fn code<'a>(program: &[u8], args: impl FnOnce() -> &'a [PathWord]) -> Vec<PathWord> {
    let mut files = Vec::new();
    if program.contains(&b'/') {
        files.push(PathWord::plain(program));
    }
    let name = basename(program);
    let interpreter = INTERPRETERS.iter().find(|i| {
        i.names.iter().any(|n| n.as_bytes() == name)
            || (i.names[0] == "python" && is_python_like(name))
    });
    let shell = SHELLS.iter().any(|s| s.as_bytes() == name);
    let awk = matches!(name, b"awk" | b"gawk" | b"mawk" | b"nawk");
    let sourced_script = matches!(name, b"source" | b".");
    if interpreter.is_none() && !shell && !awk && !sourced_script {
        return files;
    }
    let args = args();
    let first_operand = |spec: &Spec, inline: &[&str]| -> Vec<PathWord> {
        let parsed = parse(args, spec);
        if has(&parsed, inline) {
            return Vec::new();
        }
        operands(args, &parsed)
            .into_iter()
            .take(1)
            .cloned()
            .collect()
    };
    if shell {
        let spec = Spec {
            short_values: b"oO",
            long_values: &["rcfile", "init-file"],
        };
        let parsed = parse(args, &spec);
        files.extend(values(&parsed, &["rcfile", "init-file"]));
        // `-c STRING` and `-s` (script on standard input): the operand is no script file.
        if !has(&parsed, &["c", "s"]) {
            files.extend(operands(args, &parsed).into_iter().take(1).cloned());
        }
    } else if sourced_script {
        files.extend(sourced(args));
    } else if awk {
        files.extend(values(
            &parse(
                args,
                &Spec {
                    short_values: b"fvF",
                    long_values: &["file"],
                },
            ),
            &["f", "file"],
        ));
    } else if let Some(interpreter) = INTERPRETERS.iter().find(|i| {
        i.names.iter().any(|n| n.as_bytes() == name)
            || (i.names[0] == "python" && is_python_like(name))
    }) {
        if name == b"php" {
            files.extend(values(&parse(args, &interpreter.spec), &["f"]));
        }
        files.extend(first_operand(&interpreter.spec, interpreter.inline));
    }
    files
}

/// How a program names the directory it works in.
struct Chdir {
    names: &'static [&'static str],
    /// The options that move it (short letters as one-byte names).
    options: &'static [&'static str],
    spec: Spec,
    /// Only options before the first operand count (`git -C DIR commit`, not
    /// `git commit -C COMMIT`).
    global_only: bool,
}

const CHDIRS: &[Chdir] = &[
    Chdir {
        names: &["git"],
        options: &["C", "work-tree"],
        spec: Spec {
            short_values: b"Cc",
            long_values: &[
                "work-tree",
                "git-dir",
                "namespace",
                "exec-path",
                "config-env",
            ],
        },
        global_only: true,
    },
    Chdir {
        names: &["make", "gmake", "tar", "gtar", "bsdtar"],
        options: &["C", "directory"],
        spec: Spec {
            short_values: b"CfIjloOW",
            long_values: &["directory", "file", "makefile", "include-dir", "jobs"],
        },
        global_only: false,
    },
    Chdir {
        names: &["ninja", "go", "cargo", "meson"],
        options: &["C"],
        spec: Spec {
            short_values: b"Cfjlkt",
            long_values: &[],
        },
        global_only: true,
    },
    Chdir {
        names: &["npm", "pnpm"],
        options: &["C", "prefix", "dir"],
        spec: Spec {
            short_values: b"C",
            long_values: &["prefix", "dir"],
        },
        global_only: false,
    },
    Chdir {
        names: &["yarn", "bun"],
        options: &["cwd"],
        spec: Spec {
            short_values: b"",
            long_values: &["cwd"],
        },
        global_only: false,
    },
    Chdir {
        names: &["uv", "just"],
        options: &["directory", "working-directory", "d"],
        spec: Spec {
            short_values: b"d",
            long_values: &["directory", "working-directory"],
        },
        global_only: true,
    },
    Chdir {
        names: &["env"],
        options: &["C", "chdir"],
        spec: Spec {
            short_values: b"CuS",
            long_values: &["chdir", "unset", "split-string"],
        },
        global_only: true,
    },
    Chdir {
        names: &["sudo"],
        options: &["D", "chdir"],
        spec: Spec {
            short_values: b"DugpCrtUTRh",
            long_values: &[
                "chdir",
                "user",
                "group",
                "prompt",
                "close-from",
                "role",
                "type",
                "other-user",
                "host",
            ],
        },
        global_only: true,
    },
];

/// The directories `program` moves to before it touches its files, in order (each
/// relative one against the one before).
pub(crate) fn chdir<'a>(program: &[u8], args: impl FnOnce() -> &'a [PathWord]) -> Vec<PathWord> {
    let Some(table) = CHDIRS
        .iter()
        .find(|c| c.names.iter().any(|n| n.as_bytes() == program))
    else {
        return Vec::new();
    };
    let args = args();
    let parsed = parse(args, &table.spec);
    let considered = match table.global_only {
        true => parsed
            .iter()
            .position(|a| matches!(a, Arg::Operand(_)))
            .unwrap_or(parsed.len()),
        false => parsed.len(),
    };
    values(&parsed[..considered], table.options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<PathWord> {
        args.iter().map(|a| PathWord::plain(a.as_bytes())).collect()
    }

    fn texts(found: Vec<PathWord>) -> Vec<String> {
        found
            .into_iter()
            .map(|w| String::from_utf8(w.text).unwrap())
            .collect()
    }

    fn written(program: &str, args: &[&str]) -> Vec<String> {
        {
            let words = words(args);
            texts(writes(program.as_bytes(), || &words))
        }
    }

    #[test]
    fn write_targets_are_found() {
        assert_eq!(
            written("tee", &["-a", "~/.ssh/authorized_keys"]),
            ["~/.ssh/authorized_keys"]
        );
        assert_eq!(
            written("cp", &["k.pub", "~/.ssh/authorized_keys"]),
            ["~/.ssh/authorized_keys", "~/.ssh/authorized_keys/k.pub"]
        );
        assert_eq!(
            written("cp", &["-t", "~/.ssh", "authorized_keys"]),
            ["~/.ssh", "~/.ssh/authorized_keys"]
        );
        assert_eq!(
            written("install", &["-m", "600", "x", "~/.bashrc"]),
            ["~/.bashrc", "~/.bashrc/x"]
        );
        assert_eq!(
            written("mv", &["/tmp/x", "~/.profile"]),
            ["~/.profile", "~/.profile/x"]
        );
        assert_eq!(
            written("dd", &["if=/tmp/k", "of=~/.ssh/authorized_keys"]),
            ["~/.ssh/authorized_keys"]
        );
        assert_eq!(
            written("curl", &["-fsSLo", "/tmp/i.sh", "https://x/i.sh"]),
            ["/tmp/i.sh"]
        );
        assert_eq!(
            written("curl", &["-O", "https://x.example/a/i.sh?v=1"]),
            ["i.sh"]
        );
        assert_eq!(
            written("wget", &["-q", "https://x.example/i.sh", "-P", "/tmp"]),
            ["/tmp/i.sh"]
        );
        assert_eq!(
            written("wget", &["-O", "-", "https://x.example/i.sh"]),
            Vec::<String>::new()
        );
        assert_eq!(written("sed", &["-i", "1i x", "~/.bashrc"]), ["~/.bashrc"]);
        assert_eq!(written("sed", &["-n", "p", "f"]), Vec::<String>::new());
        assert_eq!(
            written("rsync", &["-a", "x", "host:~/.ssh/"]),
            Vec::<String>::new()
        );
        assert_eq!(written("cp", &["only-one"]), Vec::<String>::new());
    }

    #[test]
    fn code_files_are_found() {
        let code_of = |program: &str, args: &[&str]| {
            let words = words(args);
            texts(code(program.as_bytes(), || &words))
        };
        assert_eq!(
            code_of("/usr/bin/bash", &["-x", "i.sh", "arg"]),
            ["/usr/bin/bash", "i.sh"]
        );
        assert_eq!(code_of("sh", &["-c", "ls"]), Vec::<String>::new());
        assert_eq!(code_of("sh", &["-s", "x"]), Vec::<String>::new());
        assert_eq!(code_of("python3.12", &["-u", "p.py"]), ["p.py"]);
        assert_eq!(
            code_of("python3", &["-m", "http.server"]),
            Vec::<String>::new()
        );
        assert_eq!(code_of("node", &["-r", "./hook.js", "app.js"]), ["app.js"]);
        assert_eq!(code_of("./x", &[]), ["./x"]);
        assert_eq!(code_of(".", &["./env.sh"]), ["./env.sh"]);
        assert_eq!(code_of("awk", &["-f", "prog.awk", "data"]), ["prog.awk"]);
    }

    #[test]
    fn working_directory_options_are_found() {
        let dirs = |program: &str, args: &[&str]| {
            let words = words(args);
            texts(chdir(program.as_bytes(), || &words))
        };
        assert_eq!(dirs("git", &["-C", "~/.ssh/.", "diff"]), ["~/.ssh/."]);
        assert_eq!(
            dirs("git", &["-c", "a=b", "-C", "x", "-C", "y", "log"]),
            ["x", "y"]
        );
        assert_eq!(dirs("git", &["commit", "-C", "HEAD"]), Vec::<String>::new());
        assert_eq!(dirs("make", &["all", "--directory=sub"]), ["sub"]);
        assert_eq!(dirs("env", &["-C", "/tmp", "ls"]), ["/tmp"]);
        assert_eq!(dirs("ls", &["-C"]), Vec::<String>::new());
    }
}
