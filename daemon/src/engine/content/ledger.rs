//! What a shell string writes into files before it runs them: `echo 'rm -rf ~' > s.sh &&
//! bash s.sh` and `cp /bin/rm x && ./x -rf ~` run files that do not exist when the string is
//! judged. The ledger follows, in the order the commands appear, what is written into each
//! file (echo, printf, here-documents, `tee`) and which files are copies or links of others
//! (`cp`, `ln`, `install`, `mv`, `cat A > B`, `dd`), so that a later command running the file
//! is judged by what it will hold.
//!
//! Every write counts as an append: the ledger may hold more than the file will (`>` after
//! `>`), never less.

use super::super::paths::Base;
use super::super::shell::decode_escapes;
use super::super::unit::{basename, Unit};
use super::Place;

/// What the string is known to put into a file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Entry {
    Text(Vec<u8>),
    /// A copy of, or a link to, this file (as the string names it).
    CopyOf(Vec<u8>),
}

/// Most files followed, and most bytes of text kept for each.
const MAX_FILES: usize = 64;
const MAX_TEXT: usize = 256 * 1024;

#[derive(Default)]
pub(crate) struct Ledger {
    files: Vec<(Place, Entry)>,
}

impl Ledger {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn get(&self, place: &Place) -> Option<&Entry> {
        self.files
            .iter()
            .rev()
            .find(|(p, _)| p.meets(place))
            .map(|(_, e)| e)
    }

    /// Notes what `unit` writes; `base` places its relative paths.
    pub fn record(&mut self, unit: &Unit<'_>, base: &Base<'_>) {
        let copies = matches!(
            unit.name(),
            b"cp" | b"install" | b"ln" | b"mv" | b"dd" | b"tee"
        );
        if !copies && unit.redirects.is_empty() {
            return;
        }
        let operands: Vec<&[u8]> = unit
            .args()
            .iter()
            .map(|a| &**a)
            .filter(|a| !a.starts_with(b"-"))
            .collect();
        match unit.name() {
            b"cp" | b"install" | b"ln" | b"mv" => {
                if let [source, .., target] = &operands[..] {
                    let target = into_directory(source, target);
                    self.copy(base, source, &target);
                }
                return;
            }
            b"dd" => {
                let value = |key: &[u8]| operands.iter().find_map(|a| a.strip_prefix(key));
                if let (Some(source), Some(target)) = (value(b"if="), value(b"of=")) {
                    self.copy(base, source, target);
                }
                return;
            }
            b"tee" => {
                if let Some(text) = &unit.stdin_text {
                    for target in &operands {
                        self.append(Place::of(target, base), text);
                    }
                }
            }
            _ => {}
        }
        if unit.redirects.is_empty() {
            return;
        }
        if let (b"cat", [source]) = (unit.name(), &operands[..]) {
            for target in &unit.redirects {
                self.copy(base, source, target);
            }
            return;
        }
        let Some(text) = output(unit) else { return };
        for target in &unit.redirects {
            self.append(Place::of(target, base), &text);
        }
    }

    fn copy(&mut self, base: &Base<'_>, source: &[u8], target: &[u8]) {
        let from = Place::of(source, base);
        let entry = match self.get(&from) {
            Some(known) => known.clone(),
            None => Entry::CopyOf(program_of(source).to_vec()),
        };
        self.insert(Place::of(target, base), entry);
    }

    fn append(&mut self, place: Place, text: &[u8]) {
        let mut content = match self.get(&place) {
            Some(Entry::Text(old)) => old.clone(),
            _ => Vec::new(),
        };
        if content.len() + text.len() <= MAX_TEXT {
            content.extend_from_slice(text);
        }
        self.insert(place, Entry::Text(content));
    }

    fn insert(&mut self, place: Place, entry: Entry) {
        self.files.retain(|(p, _)| !p.meets(&place));
        if self.files.len() < MAX_FILES {
            self.files.push((place, entry));
        }
    }
}

/// `cp F dir/`: the copy is `dir/F`.
fn into_directory(source: &[u8], target: &[u8]) -> Vec<u8> {
    if target.ends_with(b"/") {
        [target, basename(source)].concat()
    } else {
        target.to_vec()
    }
}

/// What a source word names: `$(which rm)`, `$(command -v rm)` and `` `which rm` `` name
/// the program `rm`.
pub(crate) fn program_of(word: &[u8]) -> &[u8] {
    let inner = word
        .strip_prefix(b"$(")
        .and_then(|w| w.strip_suffix(b")"))
        .or_else(|| word.strip_prefix(b"`").and_then(|w| w.strip_suffix(b"`")));
    let Some(inner) = inner else { return word };
    let words: Vec<&[u8]> = inner
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .collect();
    match &words[..] {
        [b"which", name]
        | [b"command", b"-v", name]
        | [b"type", b"-P", name]
        | [b"type", b"-p", name] => name,
        _ => word,
    }
}

/// The text a command prints, when the string says it: `echo`'s and `printf`'s
/// arguments, or the here-document `cat` copies.
fn output(unit: &Unit<'_>) -> Option<Vec<u8>> {
    let args = unit.args();
    match unit.name() {
        b"echo" => {
            let words: Vec<&[u8]> = args
                .iter()
                .map(|a| &**a)
                .skip_while(|a| {
                    a.len() > 1 && a.starts_with(b"-") && a[1..].iter().all(|c| b"neE".contains(c))
                })
                .collect();
            let mut text = words.join(&b' ');
            text.push(b'\n');
            Some(with_escapes(text))
        }
        b"printf" => {
            let format = args.iter().position(|a| !a.starts_with(b"-"))?;
            Some(printf(&args[format], &args[format + 1..]))
        }
        b"cat" if args.is_empty() => unit.stdin_text.as_ref().map(|t| t.to_vec()),
        _ => None,
    }
}

/// The text as printed and, when it has backslash escapes, also as `echo -e` and dash's
/// `echo` print it: the ledger may hold more than the file, never less.
fn with_escapes(text: Vec<u8>) -> Vec<u8> {
    if !text.contains(&b'\\') {
        return text;
    }
    let escaped = unescape(&text);
    [text, escaped].concat()
}

/// `printf FORMAT ARGS…`: `%s`-like conversions take the arguments, and the format is
/// reused while arguments remain, as printf does.
fn printf(format: &[u8], args: &[std::borrow::Cow<'_, [u8]>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next = 0;
    loop {
        let mut i = 0;
        while i < format.len() {
            if format[i] == b'%' && i + 1 < format.len() {
                if format[i + 1] == b'%' {
                    out.push(b'%');
                    i += 2;
                    continue;
                }
                let end = format[i + 1..]
                    .iter()
                    .position(u8::is_ascii_alphabetic)
                    .map_or(format.len(), |p| i + 1 + p + 1);
                if let Some(arg) = args.get(next) {
                    out.extend_from_slice(arg);
                }
                next += 1;
                i = end;
                continue;
            }
            out.push(format[i]);
            i += 1;
        }
        if next == 0 || next >= args.len() || out.len() > MAX_TEXT {
            break;
        }
    }
    unescape(&out)
}

/// The text with its backslash escapes decoded (see [`decode_escapes`]).
fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    decode_escapes(text, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_name_programs_through_which() {
        assert_eq!(program_of(b"$(which rm)"), b"rm");
        assert_eq!(program_of(b"`command -v rm`"), b"rm");
        assert_eq!(program_of(b"/bin/rm"), b"/bin/rm");
        assert_eq!(program_of(b"$(ls)"), b"$(ls)");
    }

    #[test]
    fn printf_fills_and_repeats_its_format() {
        let args: Vec<std::borrow::Cow<[u8]>> =
            vec![b"a".as_slice().into(), b"b".as_slice().into()];
        assert_eq!(printf(b"%s\\n", &args), b"a\nb\n");
        assert_eq!(printf(b"rm -rf ~\\n", &[]), b"rm -rf ~\n");
        assert_eq!(printf(b"\\x72m \\055rf", &[]), b"rm -rf");
    }
}
