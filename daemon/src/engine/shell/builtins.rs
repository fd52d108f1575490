//! What a simple command does to the shell's state: `cd`, `pushd` and `popd` move it;
//! assignments, `export`, `local`, `declare`, `readonly` and `unset` set variables;
//! `read`, `mapfile`, `printf -v`, `getopts`, `let`, `eval` and `source` make them unknown;
//! `shopt -s dotglob` and `GLOBIGNORE` make globs match hidden files.

use std::rc::Rc;

use super::super::glob::Dots;
use super::super::paths::{self, PathWord};
use super::super::scope::{Export, Scope, Value, Var};
use super::super::unit::{self, Unit, Word};
use super::Walker;

/// A variable set (`Some`) or made unknown (`None`). `export` keeps the variable's earlier
/// export when `None`.
pub(super) fn assign(scope: &mut Scope, name: &[u8], value: Option<Value>, export: Option<Export>) {
    match value {
        Some(value) => {
            let export = export
                .or_else(|| scope.vars.get(name).map(|v| v.export))
                .unwrap_or(Export::Shell);
            scope.vars.insert(name.to_vec(), Var { value, export });
        }
        None => {
            scope.vars.remove(name);
        }
    }
    if name == b"GLOBIGNORE" {
        // bash turns on dotglob when GLOBIGNORE is set.
        scope.dots = Dots::Matched;
    }
}

/// `v=x cmd`: the variables cmd gets in its environment.
pub(super) fn environment(scope: &mut Scope, assignments: &[(Vec<u8>, Option<Value>)]) {
    for (name, value) in assignments {
        assign(scope, name, value.clone(), Some(Export::Environment));
    }
}

/// Applies what `unit` does to the walker's scope; returns the scope in which it failed
/// (different only for `cd` and friends, which do not move when they fail).
pub(super) fn apply(
    walker: &mut Walker<'_>,
    unit: &Unit<'_>,
    assignments: Vec<(Vec<u8>, Option<Value>)>,
    declared: Vec<(Vec<u8>, Option<Value>)>,
) -> Rc<Scope> {
    let before = walker.scope.clone();
    if unit.argv.is_empty() {
        if !assignments.is_empty() {
            let scope = Rc::make_mut(&mut walker.scope);
            for (name, value) in assignments {
                assign(scope, &name, value, None);
            }
        }
        return walker.scope.clone();
    }
    let name = unit.name();
    let changes_state = matches!(
        name,
        b"cd"
            | b"pushd"
            | b"popd"
            | b"export"
            | b"declare"
            | b"typeset"
            | b"local"
            | b"readonly"
            | b"unset"
            | b"read"
            | b"mapfile"
            | b"readarray"
            | b"printf"
            | b"getopts"
            | b"let"
            | b"eval"
            | b"source"
            | b"."
            | b"shopt"
            | b"shift"
            | b"set"
    );
    if !changes_state {
        return before;
    }
    let args = unit.path_args();
    let operands: Vec<&PathWord> = operands(&args);
    // `cd -` names the previous directory: an operand, not an option.
    let operands = match (name, args.first()) {
        (b"cd", Some(dash)) if dash.text == b"-" => vec![dash],
        _ => operands,
    };
    match name {
        b"cd" => {
            let target = operands
                .first()
                .copied()
                .cloned()
                .unwrap_or(PathWord::plain(b"~"));
            let scope = Rc::make_mut(&mut walker.scope);
            let cwds = match &target.text[..] {
                b"-" if !scope.previous.is_empty() => scope.previous.clone(),
                _ => paths::directory(&target, &scope.cwds, walker.home),
            };
            scope.previous = std::mem::replace(&mut scope.cwds, cwds);
            return before;
        }
        b"pushd" => {
            let scope = Rc::make_mut(&mut walker.scope);
            match operands.first() {
                Some(dir) if !dir.text.starts_with(b"+") && !dir.text.starts_with(b"-") => {
                    let cwds = paths::directory(dir, &scope.cwds, walker.home);
                    scope.pushed.push(std::mem::replace(&mut scope.cwds, cwds));
                }
                _ => {
                    if let Some(top) = scope.pushed.last_mut() {
                        std::mem::swap(top, &mut scope.cwds);
                    }
                }
            }
            return before;
        }
        b"popd" => {
            let scope = Rc::make_mut(&mut walker.scope);
            if let Some(top) = scope.pushed.pop() {
                scope.cwds = top;
            }
            return before;
        }
        b"export" | b"declare" | b"typeset" | b"local" | b"readonly" => {
            declare(walker, unit, &args, &operands, declared);
        }
        b"unset" => {
            let functions = args.iter().any(|a| a.text == b"-f");
            for name in &operands {
                if functions {
                    walker
                        .functions
                        .remove(&*String::from_utf8_lossy(&name.text));
                } else {
                    assign(
                        Rc::make_mut(&mut walker.scope),
                        &name.text,
                        Some(Value::default()),
                        None,
                    );
                }
            }
        }
        b"read" => forget(
            walker,
            &read_names(&args, b"adinNptu", b"REPLY", ReadNames::All),
        ),
        b"mapfile" | b"readarray" => forget(
            walker,
            &read_names(&args, b"dnOsuCc", b"MAPFILE", ReadNames::Last),
        ),
        b"printf" => {
            let named: Vec<Vec<u8>> = args
                .windows(2)
                .filter(|pair| pair[0].text == b"-v")
                .map(|pair| pair[1].text.clone())
                .collect();
            forget(walker, &named);
        }
        b"getopts" => {
            let mut named: Vec<Vec<u8>> = operands
                .get(1)
                .map(|n| n.text.clone())
                .into_iter()
                .collect();
            named.extend([b"OPTARG".to_vec(), b"OPTIND".to_vec()]);
            forget(walker, &named);
        }
        b"let" => {
            let named: Vec<Vec<u8>> = operands
                .iter()
                .map(|a| {
                    a.text
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                        .copied()
                        .collect()
                })
                .collect();
            forget(walker, &named);
        }
        // They may set anything.
        b"eval" | b"source" | b"."
            if !walker.scope.vars.is_empty() || !walker.scope.positional.is_empty() =>
        {
            let scope = Rc::make_mut(&mut walker.scope);
            scope.vars.clear();
            scope.positional.clear();
        }
        b"shift" if !walker.scope.positional.is_empty() => {
            let scope = Rc::make_mut(&mut walker.scope);
            let count = match unit.argv.get(1) {
                None => Some(1),
                Some(n) => std::str::from_utf8(n).ok().and_then(|n| n.parse().ok()),
            };
            match count {
                Some(count) if count < scope.positional.len() => {
                    scope.positional.drain(1..=count);
                }
                _ => scope.positional.clear(),
            }
        }
        b"set" => {
            if let Some(given) = new_positional(&unit.argv) {
                let scope = Rc::make_mut(&mut walker.scope);
                let zero = match scope.positional.first() {
                    Some(zero) => zero.clone(),
                    None => b"$0".to_vec(),
                };
                scope.positional = std::iter::once(zero).chain(given).collect();
            }
        }
        b"shopt" => {
            let set = args.iter().any(|a| a.text == b"-s");
            let unset = args.iter().any(|a| a.text == b"-u");
            if operands.iter().any(|o| o.text == b"dotglob") && (set || unset) {
                Rc::make_mut(&mut walker.scope).dots =
                    if set { Dots::Matched } else { Dots::Hidden };
            }
        }
        _ => {}
    }
    walker.scope.clone()
}

/// The positional parameters `set …` gives: the words after `--`, or from its first operand
/// that is not an option (`set -e`, `set -o pipefail` give none).
fn new_positional(argv: &[Word<'_>]) -> Option<Vec<Vec<u8>>> {
    let mut at = 1;
    let mut ended = false;
    while let Some(word) = argv.get(at) {
        match &word[..] {
            b"--" | b"-" => {
                at += 1;
                ended = true;
                break;
            }
            b"-o" | b"+o" => at += 2,
            option if option.starts_with(b"-") || option.starts_with(b"+") => at += 1,
            _ => break,
        }
    }
    let given = argv.get(at..).unwrap_or_default();
    (ended || !given.is_empty()).then(|| unit::owned(given))
}

/// Arguments that are not options (a `--` ends the options).
fn operands(args: &[PathWord]) -> Vec<&PathWord> {
    let mut found = Vec::new();
    let mut options = true;
    for arg in args {
        if options && arg.text == b"--" {
            options = false;
        } else if !options
            || !(arg.text.starts_with(b"-") || arg.text.starts_with(b"+"))
            || arg.text.len() < 2
        {
            found.push(arg);
        }
    }
    found
}

/// `export v=x`, `local v`, `declare -x v`, `readonly v=x`, `export -n v`, `declare -a v=…`.
fn declare(
    walker: &mut Walker<'_>,
    unit: &Unit<'_>,
    args: &[PathWord],
    operands: &[&PathWord],
    declared: Vec<(Vec<u8>, Option<Value>)>,
) {
    let flags: Vec<&[u8]> = args
        .iter()
        .map(|a| &a.text[..])
        .filter(|a| a.len() > 1 && (a.starts_with(b"-") || a.starts_with(b"+")))
        .collect();
    let has = |sign: u8, flag: u8| flags.iter().any(|f| f[0] == sign && f[1..].contains(&flag));
    let export = if has(b'-', b'n') && unit.name() == b"export" || has(b'+', b'x') {
        Some(Export::Shell)
    } else if unit.name() == b"export" || has(b'-', b'x') {
        Some(Export::Environment)
    } else {
        None
    };
    // Arrays, integers and references are not literal strings.
    let opaque = flags.iter().any(|f| {
        f[0] == b'-'
            && f[1..]
                .iter()
                .any(|c| matches!(c, b'a' | b'A' | b'i' | b'n'))
    }) && unit.name() != b"export";
    let scope = Rc::make_mut(&mut walker.scope);
    for (name, value) in &declared {
        assign(
            scope,
            name,
            if opaque { None } else { value.clone() },
            export,
        );
    }
    for operand in operands {
        let name = &operand.text;
        if name.contains(&b'=') || declared.iter().any(|(n, _)| n == name) {
            continue;
        }
        if opaque {
            assign(scope, name, None, None);
        } else if unit.name() == b"local" {
            assign(scope, name, Some(Value::default()), None);
        } else if let (Some(export), Some(var)) = (export, scope.vars.get_mut(&name[..])) {
            var.export = export;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReadNames {
    /// `read a b c`: every operand is a variable.
    All,
    /// `mapfile ARRAY`: the last operand.
    Last,
}

/// The variables `read`/`mapfile` set: their operands (options with a value skipped), the
/// value of `-a`, or the default name.
fn read_names(args: &[PathWord], valued: &[u8], default: &[u8], which: ReadNames) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let text = &args[i].text;
        if text.len() > 1 && text[0] == b'-' {
            if let Some(at) = text[1..].iter().position(|c| valued.contains(c)) {
                let attached = &text[at + 2..];
                let value = if attached.is_empty() {
                    i += 1;
                    args.get(i).map(|a| a.text.clone()).unwrap_or_default()
                } else {
                    attached.to_vec()
                };
                if text[at + 1] == b'a' && which == ReadNames::All {
                    names.push(value);
                }
            }
        } else {
            names.push(text.clone());
        }
        i += 1;
    }
    if which == ReadNames::Last && names.len() > 1 {
        names.drain(..names.len() - 1);
    }
    if names.is_empty() {
        names.push(default.to_vec());
    }
    names
}

fn forget(walker: &mut Walker<'_>, names: &[Vec<u8>]) {
    if names.iter().any(|n| walker.scope.vars.contains_key(n)) {
        let scope = Rc::make_mut(&mut walker.scope);
        for name in names {
            scope.vars.remove(name);
        }
    }
}
