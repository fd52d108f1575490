//! Seeing through wrappers (`sudo`, `env`, `nice`, `xargs`, `find -exec`, `busybox`…) and
//! shells (`bash -c STRING`, `eval`), and normalising flag spelling so that `rm -rf`,
//! `rm -fr`, `rm -r -f` and `rm --recursive --force` are one thing.

use std::borrow::Cow;

use super::glob;
use super::paths::{self, Kind};
use super::scope::Inherit;
use super::unit::{basename, owned, Slot, Unit, Word};

/// What a unit runs on its behalf.
#[derive(Debug)]
pub(crate) enum Inner<'u> {
    /// `argv[start..end]` of the unit, with `env` naming the variables the wrapper sets;
    /// `found` is glob text for what `{}` stands for (`find ROOT -exec CMD {} ;`).
    Command {
        start: usize,
        end: usize,
        env: Vec<&'u [u8]>,
        found: Option<Vec<u8>>,
    },
    /// A shell command line to parse and judge, what it inherits from the unit, and its
    /// positional parameters (`sh -c STRING NAME ARGS…`: `$0`, `$1`, …).
    Shell(Cow<'u, [u8]>, Inherit, Vec<Vec<u8>>),
}

/// How a wrapper spells its options, so that the wrapped command can be found.
struct Spec {
    names: &'static [&'static str],
    /// Short options that take a value (`-u root` or `-uroot`).
    short_values: &'static [u8],
    /// Long options that take a value (`--user root` or `--user=root`).
    long_values: &'static [&'static str],
    /// `NAME=value` words before the command set variables (`env`, `sudo`).
    assignments: bool,
    /// Operands between the options and the command (`timeout DURATION`, `chroot DIR`).
    operands: usize,
    /// `env`'s own options: `-u`/`--unset` remove a variable, `-S`/`--split-string` carry
    /// a whole command line.
    env_options: bool,
}

const WRAPPERS: &[Spec] = &[
    Spec {
        names: &["env"],
        short_values: b"uCSP",
        long_values: &["unset", "chdir", "split-string"],
        assignments: true,
        operands: 0,
        env_options: true,
    },
    Spec {
        names: &["sudo"],
        short_values: b"ugpCDrtUTR",
        long_values: &[
            "user",
            "group",
            "prompt",
            "close-from",
            "chdir",
            "role",
            "type",
            "other-user",
            "command-timeout",
            "chroot",
            "host",
        ],
        assignments: true,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["doas"],
        short_values: b"uC",
        long_values: &[],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["nice"],
        short_values: b"n",
        long_values: &["adjustment"],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["nohup", "setsid", "command", "builtin", "unbuffer"],
        short_values: b"",
        long_values: &[],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["exec"],
        short_values: b"a",
        long_values: &[],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["timeout"],
        short_values: b"sk",
        long_values: &["signal", "kill-after"],
        assignments: false,
        operands: 1,
        env_options: false,
    },
    Spec {
        names: &["time"],
        short_values: b"fo",
        long_values: &["format", "output"],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["stdbuf"],
        short_values: b"ioe",
        long_values: &["input", "output", "error"],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["ionice"],
        short_values: b"cnpPu",
        long_values: &["class", "classdata", "pid", "pgid", "uid"],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["chroot"],
        short_values: b"",
        long_values: &["userspec", "groups"],
        assignments: false,
        operands: 1,
        env_options: false,
    },
    Spec {
        names: &["xargs"],
        short_values: b"adEILnPs",
        long_values: &[
            "arg-file",
            "delimiter",
            "eof",
            "replace",
            "max-lines",
            "max-args",
            "max-procs",
            "max-chars",
            "process-slot-var",
        ],
        assignments: false,
        operands: 0,
        env_options: false,
    },
    Spec {
        names: &["busybox", "toybox"],
        short_values: b"",
        long_values: &[],
        assignments: false,
        operands: 0,
        env_options: false,
    },
];

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash"];

/// Everything `unit` runs on its behalf: wrapped commands and shell strings.
pub(crate) fn inner<'u>(unit: &'u Unit<'_>) -> Vec<Inner<'u>> {
    let name = unit.name();
    let argv = &unit.argv;
    if SHELLS.iter().any(|s| s.as_bytes() == name) {
        return shell(unit);
    }
    match name {
        b"eval" => {
            return vec![Inner::Shell(
                join(&argv[1.min(argv.len())..]),
                Inherit::Everything,
                Vec::new(),
            )]
        }
        b"su" => return option_value(argv, b'c', "command").into_iter().collect(),
        b"watch" => return watch(argv),
        b"find" => return find_exec(unit),
        _ => {}
    }
    let Some(spec) = WRAPPERS
        .iter()
        .find(|s| s.names.iter().any(|n| n.as_bytes() == name))
    else {
        return Vec::new();
    };
    wrapped(spec, argv)
}

/// `env`, `sudo`, `nice`…: skip the wrapper's options, find the command.
fn wrapped<'u>(spec: &Spec, argv: &'u [Word<'_>]) -> Vec<Inner<'u>> {
    let mut env: Vec<&'u [u8]> = Vec::new();
    let mut found = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let arg: &'u [u8] = &argv[i];
        if arg == b"--" {
            i += 1;
            break;
        }
        if spec.assignments {
            if let Some(name) = assignment_name(arg) {
                env.push(name);
                i += 1;
                continue;
            }
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let (name, inline) = split_once(long, b'=');
            let takes_value = spec.long_values.iter().any(|v| v.as_bytes() == name);
            let value = match (takes_value, inline) {
                (_, Some(v)) => Some(v),
                (true, None) => {
                    i += 1;
                    argv.get(i).map(|w| &**w)
                }
                (false, None) => None,
            };
            if spec.env_options {
                env_option(name, value, &mut env, &mut found);
            }
            i += 1;
            continue;
        }
        if arg.len() > 1 && arg[0] == b'-' {
            for (at, &flag) in arg.iter().enumerate().skip(1) {
                if spec.short_values.contains(&flag) {
                    let value = if at + 1 < arg.len() {
                        Some(&arg[at + 1..])
                    } else {
                        i += 1;
                        argv.get(i).map(|w| &**w)
                    };
                    if spec.env_options {
                        env_option(&[flag], value, &mut env, &mut found);
                    }
                    break;
                }
            }
            i += 1;
            continue;
        }
        break;
    }
    i += spec.operands;
    if i < argv.len() {
        found.push(Inner::Command {
            start: i,
            end: argv.len(),
            env,
            found: None,
        });
    } else if !env.is_empty() {
        // `env -u LD_PRELOAD` alone still changes the environment of what follows.
        found.push(Inner::Command {
            start: argv.len(),
            end: argv.len(),
            env,
            found: None,
        });
    }
    found
}

/// Options of `env` that remove variables or carry a whole command line.
fn env_option<'u>(
    name: &[u8],
    value: Option<&'u [u8]>,
    env: &mut Vec<&'u [u8]>,
    found: &mut Vec<Inner<'u>>,
) {
    let Some(value) = value else { return };
    match name {
        b"u" | b"unset" => env.push(value),
        b"S" | b"split-string" => found.push(Inner::Shell(
            Cow::Borrowed(value),
            Inherit::Exported,
            Vec::new(),
        )),
        _ => {}
    }
}

/// `sh|bash|zsh … -c STRING`, or a shell reading a here-document as its script.
fn shell<'u>(unit: &'u Unit<'_>) -> Vec<Inner<'u>> {
    let argv = &unit.argv;
    match shell_input(argv) {
        ShellInput::Command(at) => vec![Inner::Shell(
            Cow::Borrowed(&*argv[at]),
            Inherit::Exported,
            owned(&argv[at + 1..]),
        )],
        ShellInput::Stdin => unit
            .stdin_text
            .as_ref()
            .map(|text| Inner::Shell(Cow::Borrowed(&**text), Inherit::Exported, Vec::new()))
            .into_iter()
            .collect(),
        ShellInput::Script(_) => Vec::new(),
    }
}

/// Where a shell takes its commands from.
#[derive(Debug, PartialEq)]
pub(crate) enum ShellInput {
    /// `-c STRING`: the argument at this index.
    Command(usize),
    /// A script file: the argument at this index (judged by `content`).
    Script(usize),
    /// No operand: standard input.
    Stdin,
}

/// Reads a shell's options: `-c` makes the first operand a command string.
pub(crate) fn shell_input(argv: &[Word<'_>]) -> ShellInput {
    let mut has_c = false;
    let mut i = 1;
    while i < argv.len() {
        let arg: &[u8] = &argv[i];
        if arg == b"--" || arg == b"-" {
            i += 1;
            break;
        }
        if matches!(
            arg,
            b"-o" | b"+o" | b"-O" | b"+O" | b"--rcfile" | b"--init-file"
        ) {
            i += 2;
            continue;
        }
        if arg.starts_with(b"--") {
            i += 1;
            continue;
        }
        if arg.len() > 1 && (arg[0] == b'-' || arg[0] == b'+') {
            has_c |= arg[1..].contains(&b'c');
            i += 1;
            continue;
        }
        break;
    }
    match (i < argv.len(), has_c) {
        (true, true) => ShellInput::Command(i),
        (false, _) => ShellInput::Stdin,
        (true, false) => ShellInput::Script(i),
    }
}

/// The value of `-c STRING` / `--command=STRING` (as `su` spells it) as a shell string.
fn option_value<'u>(argv: &'u [Word<'_>], short: u8, long: &str) -> Option<Inner<'u>> {
    for (i, arg) in argv.iter().enumerate().skip(1) {
        if arg.len() == 2 && arg[0] == b'-' && arg[1] == short {
            return argv
                .get(i + 1)
                .map(|v| Inner::Shell(Cow::Borrowed(&**v), Inherit::Exported, Vec::new()));
        }
        if let Some(rest) = arg.strip_prefix(b"--") {
            let (name, inline) = split_once(rest, b'=');
            if name == long.as_bytes() {
                let value = inline.or_else(|| argv.get(i + 1).map(|v| &**v))?;
                return Some(Inner::Shell(
                    Cow::Borrowed(value),
                    Inherit::Exported,
                    Vec::new(),
                ));
            }
        }
    }
    None
}

/// `watch [-n SECS] COMMAND…` runs its arguments through `sh -c`.
fn watch<'u>(argv: &'u [Word<'_>]) -> Vec<Inner<'u>> {
    let mut i = 1;
    while i < argv.len() && argv[i].first() == Some(&b'-') {
        let takes_value = matches!(&*argv[i], b"-n" | b"--interval" | b"-q" | b"--equexit");
        i += if takes_value { 2 } else { 1 };
    }
    if i < argv.len() {
        vec![Inner::Shell(
            join(&argv[i..]),
            Inherit::Exported,
            Vec::new(),
        )]
    } else {
        Vec::new()
    }
}

/// Most starting points of one `find` whose `-exec` commands are judged one by one.
const MAX_FIND_ROOTS: usize = 8;

/// `find ROOT… -exec CMD {} ;` (also `-execdir`, `-ok`, `-okdir`): CMD once per starting
/// point, with `{}` standing for what find yields there: the point itself or any path
/// below it, hidden ones included, whose name matches `-name` when given.
fn find_exec<'u>(unit: &'u Unit<'_>) -> Vec<Inner<'u>> {
    let argv = &unit.argv;
    let expression = argv
        .iter()
        .skip(1)
        .position(|a| a.starts_with(b"-") || matches!(&**a, b"(" | b"!" | b")" | b","))
        .map_or(argv.len(), |p| p + 1);
    let mut roots: Vec<Vec<u8>> = (1..expression)
        .take(MAX_FIND_ROOTS)
        .map(|i| {
            let word = unit.path_word(Slot::Arg(i), &argv[i]);
            match word.kind {
                Kind::Glob => word.text,
                Kind::Plain => {
                    let mut text = Vec::new();
                    paths::escape(&word.text, &mut text);
                    text
                }
            }
        })
        .collect();
    if roots.is_empty() {
        roots.push(b".".to_vec());
    }
    // `-maxdepth 1`: a name matches only the starting points' own entries.
    let direct_children_only = argv
        .windows(2)
        .any(|pair| &*pair[0] == b"-maxdepth" && matches!(&*pair[1], b"0" | b"1"));
    let mut found = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        if matches!(&*argv[i], b"-exec" | b"-execdir" | b"-ok" | b"-okdir") {
            let name = name_for_action(&argv[expression..i]);
            let start = i + 1;
            let mut end = start;
            while end < argv.len() && !matches!(&*argv[end], b";" | b"+") {
                end += 1;
            }
            if start < end {
                for root in &roots {
                    let mut below = root.clone();
                    below.push(b'/');
                    match &name {
                        Some(name) => {
                            if !direct_children_only {
                                below.extend_from_slice(glob::FOUND_DIRS);
                            }
                            below.extend_from_slice(name);
                        }
                        None => below.extend_from_slice(glob::FOUND_ANY),
                    }
                    found.push(Inner::Command {
                        start,
                        end,
                        env: Vec::new(),
                        found: Some(below),
                    });
                }
            }
            i = end;
        }
        i += 1;
    }
    found
}

/// The `-name` pattern that selects what an action of `find` gets: the last one in the
/// action's own branch (after the last `-o`, `-or`, `,` or `(` before it), unless negated.
/// `None` when the branch names nothing (or only `!`/`-not` names): then anything counts.
fn name_for_action(expression: &[Word<'_>]) -> Option<Vec<u8>> {
    let branch = expression
        .iter()
        .rposition(|w| matches!(&**w, b"-o" | b"-or" | b"," | b"("))
        .map_or(0, |at| at + 1);
    let branch = &expression[branch..];
    let at = branch.iter().rposition(|w| &**w == b"-name")?;
    let negated = at > 0 && matches!(&*branch[at - 1], b"!" | b"-not");
    (!negated).then(|| branch.get(at + 1).map(|name| name.to_vec()))?
}

/// The words joined by spaces, as `eval` and `watch` do before parsing.
fn join<'u>(words: &'u [Word<'_>]) -> Cow<'u, [u8]> {
    match words {
        [] => Cow::Borrowed(&[]),
        [only] => Cow::Borrowed(&**only),
        _ => Cow::Owned(words.join(&b' ')),
    }
}

/// `NAME` of a `NAME=value` word, when NAME is a valid variable name.
pub(crate) fn assignment_name(word: &[u8]) -> Option<&[u8]> {
    let eq = word.iter().position(|&b| b == b'=')?;
    let name = &word[..eq];
    let valid = !name.is_empty()
        && !name[0].is_ascii_digit()
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some(name)
}

/// `bytes` before and after the first `sep`, if any.
pub(crate) fn split_once(bytes: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match bytes.iter().position(|&b| b == sep) {
        Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
        None => (bytes, None),
    }
}

/// One flag in canonical form: `-r` is `Short(b'r')`, `--force` is `Long(b"force")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flag<'a> {
    Short(u8),
    Long(Cow<'a, [u8]>),
}

impl Flag<'static> {
    /// Parses a flag as written in a policy (`-r`, `--force`).
    pub fn parse(text: &str) -> Option<Flag<'static>> {
        let bytes = text.as_bytes();
        match bytes {
            [b'-', b'-', rest @ ..] if !rest.is_empty() && !rest.contains(&b'=') => {
                Some(Flag::Long(Cow::Owned(rest.to_vec())))
            }
            [b'-', c] if *c != b'-' => Some(Flag::Short(*c)),
            _ => None,
        }
    }
}

/// Per program: which flag spellings mean the same as a canonical one (`-R` = `-r`).
#[derive(Debug, Default)]
pub(crate) struct FlagAliases {
    by_program: std::collections::HashMap<Vec<u8>, Vec<(Flag<'static>, Flag<'static>)>>,
}

impl FlagAliases {
    pub fn insert(&mut self, program: &str, alias: Flag<'static>, canonical: Flag<'static>) {
        let entries = self
            .by_program
            .entry(program.as_bytes().to_vec())
            .or_default();
        entries.retain(|(a, _)| *a != alias);
        entries.push((alias, canonical));
    }

    /// The flags of a command in canonical form: clusters split (`-rf` is `-r -f`), long
    /// values dropped (`--force=yes` is `--force`), aliases applied; none after `--`.
    pub fn flags_of<'w>(&self, program: &[u8], args: &'w [Word<'_>]) -> Vec<Flag<'w>> {
        let aliases = self.by_program.get(basename(program));
        let canonical = |flag: Flag<'w>| -> Flag<'w> {
            aliases
                .and_then(|list| list.iter().find(|(a, _)| *a == flag))
                .map(|(_, c)| c.clone())
                .unwrap_or(flag)
        };
        let mut flags = Vec::new();
        for arg in args {
            let arg: &'w [u8] = arg;
            if arg == b"--" {
                break;
            }
            if let Some(long) = arg.strip_prefix(b"--") {
                let (name, _) = split_once(long, b'=');
                flags.push(canonical(Flag::Long(Cow::Borrowed(name))));
            } else if arg.len() > 1 && arg[0] == b'-' {
                for &c in &arg[1..] {
                    flags.push(canonical(Flag::Short(c)));
                }
            }
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(words: &[&'static str]) -> Unit<'static> {
        let argv: Vec<Word<'static>> = words.iter().map(|w| Cow::Borrowed(w.as_bytes())).collect();
        Unit {
            program: argv[0].clone(),
            argv,
            ..Unit::default()
        }
    }

    /// What the unit runs: commands as joined argv, shell strings prefixed with `sh:`.
    fn runs(words: &[&'static str]) -> Vec<String> {
        let unit = unit(words);
        inner(&unit)
            .into_iter()
            .map(|i| match i {
                Inner::Command {
                    start, end, env, ..
                } => {
                    let mut shown =
                        String::from_utf8_lossy(&unit.argv[start..end].join(&b' ')).into_owned();
                    for name in env {
                        shown.push_str(&format!(" [env {}]", String::from_utf8_lossy(name)));
                    }
                    shown
                }
                Inner::Shell(text, ..) => format!("sh:{}", String::from_utf8_lossy(&text)),
            })
            .collect()
    }

    #[test]
    fn wrappers_reveal_the_wrapped_command() {
        assert_eq!(
            runs(&["sudo", "-u", "root", "-E", "rm", "-rf", "/"]),
            ["rm -rf /"]
        );
        assert_eq!(runs(&["sudo", "-iu", "root", "id"]), ["id"]);
        assert_eq!(
            runs(&["env", "-i", "A=1", "-u", "LD_PRELOAD", "ls"]),
            ["ls [env A] [env LD_PRELOAD]"]
        );
        assert_eq!(runs(&["env", "-u", "LD_PRELOAD"]), [" [env LD_PRELOAD]"]);
        assert_eq!(runs(&["env", "-S", "rm -rf /"]), ["sh:rm -rf /"]);
        assert_eq!(runs(&["timeout", "--signal=KILL", "5s", "make"]), ["make"]);
        assert_eq!(runs(&["nice", "-n", "5", "nohup", "make"]), ["nohup make"]);
        assert_eq!(runs(&["xargs", "-0", "-n", "1", "rm", "-rf"]), ["rm -rf"]);
        assert_eq!(runs(&["busybox", "rm", "x"]), ["rm x"]);
        assert_eq!(
            runs(&["find", ".", "-exec", "rm", "{}", ";", "-ok", "cat", "{}", "+"]),
            ["rm {}", "cat {}"]
        );
        assert_eq!(runs(&["bash", "-o", "pipefail", "-xec", "ls"]), ["sh:ls"]);
        assert_eq!(
            runs(&["bash", "script.sh", "-c", "x"]),
            Vec::<String>::new()
        );
        assert_eq!(runs(&["eval", "rm", "-rf", "/"]), ["sh:rm -rf /"]);
        assert_eq!(runs(&["su", "-", "root", "-c", "id"]), ["sh:id"]);
        assert_eq!(runs(&["ls", "-la"]), Vec::<String>::new());
    }

    #[test]
    fn flags_are_canonical() {
        let mut aliases = FlagAliases::default();
        aliases.insert(
            "rm",
            Flag::parse("--recursive").unwrap(),
            Flag::parse("-r").unwrap(),
        );
        aliases.insert("rm", Flag::parse("-R").unwrap(), Flag::parse("-r").unwrap());
        let unit = unit(&["/bin/rm", "-Rf", "--recursive=yes", "x", "--", "-v"]);
        let flags = aliases.flags_of(&unit.program, unit.args());
        assert_eq!(
            flags,
            [Flag::Short(b'r'), Flag::Short(b'f'), Flag::Short(b'r')],
        );
        assert_eq!(Flag::parse("-"), None);
        assert_eq!(Flag::parse("--a=b"), None);
        assert_eq!(Flag::parse("x"), None);
    }
}
