//! What really runs, beyond the words of a command: the program a file really is, the
//! scripts a shell or interpreter runs, and what interpreter code does. The walk asks
//! [`Content::derive`] about every command it judges and judges what comes back like the
//! commands it stands for:
//!
//! - a program file that is a system program under another name (a symlink, a hard link, a
//!   copy) is judged as that program too ([`Identity::known_as`], found by the server);
//! - a script run directly is judged as its `#!` interpreter running it ([`Launch`]);
//! - a script file given to a shell (`bash F`, `. F`, `./F`) is judged like a `bash -c`
//!   string; code given to an interpreter or database client (`python -c`, `node F`,
//!   `psql -c`) is scanned (`interp`) and its findings judged as `sh -c CMD`, an argv, `cat
//!   P` (a read), `tee P` (a write), `cp A B`, `mv A B`, `rm [-r] -f P`;
//! - a file the same shell string wrote or copied before running it is judged by what the
//!   string put into it ([`ledger`]).
//!
//! The engine stays pure: files are read through a [`FileSource`] the caller provides (the
//! server's bounded reader, an in-memory map in tests, nothing for `warden test`). Nothing
//! is read unless a command runs a script, so other commands cost nothing more.

mod invocation;
mod ledger;

use super::interp::{self, Arguments, Finding, Origin, Recursion};
use super::paths::{self, Base, Kind, PathRef};
use super::unit::Unit;
use invocation::{Invocation, Script, Source};
use ledger::{Entry, Ledger};

/// Most bytes of a script file the engine asks for; a longer one is read up to this.
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;
/// Most script files read for one program start, and most bytes in all.
const MAX_FILES: usize = 16;
const MAX_BYTES: usize = 1024 * 1024;

/// A script file as the caller could read it.
#[derive(Clone, Debug, PartialEq)]
pub enum FileRead {
    /// The whole file.
    Content(Vec<u8>),
    /// The first [`MAX_SCRIPT_BYTES`] of a longer file.
    Truncated(Vec<u8>),
    /// One of the system's own files (root's, in a system directory): judged by name only,
    /// like the system program it is.
    System,
    /// Missing, unreadable, or not a regular file (a FIFO or device is never waited on).
    Unavailable,
}

/// Where the engine reads the script files that commands run. `path` is absolute.
pub trait FileSource {
    fn read(&self, path: &[u8]) -> FileRead;
}

/// No files at all: `warden test` and policy tests judge the words alone.
pub struct NoFiles;

impl FileSource for NoFiles {
    fn read(&self, _path: &[u8]) -> FileRead {
        FileRead::Unavailable
    }
}

/// What the server found out about the file a program start runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    /// The system programs this file is (their paths): the same file under another name, or
    /// a copy with the same content. Empty when it is none, or is named as one of them.
    pub known_as: Vec<Vec<u8>>,
    pub launch: Launch,
}

/// How the kernel (or the shell that tries it) starts a file that is not a binary.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Launch {
    /// A binary, or a system script judged by its name: nothing more to judge.
    #[default]
    Direct,
    /// A script with this `#!` line (the bytes after `#!`).
    Interpreter(Vec<u8>),
    /// Text without `#!`: the shell that runs it gets `ENOEXEC` and runs it itself.
    ShellText,
}

/// A file as the engine can name it: the normal forms of a word (see `paths`), absolute
/// or `~…`, one for each directory the command may run in; the word as written when the
/// engine cannot place it (`$DIR/x`), which only the string itself can write.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Place(Vec<Vec<u8>>);

impl Place {
    /// Where `word` points for a command working from `base`.
    pub fn of(word: &[u8], base: &Base<'_>) -> Place {
        let word = PathRef {
            text: word,
            kind: Kind::Plain,
        };
        let mut forms = Vec::new();
        paths::forms(word, base, &mut forms);
        let mut names: Vec<Vec<u8>> = forms
            .into_iter()
            .filter(|form| form.is_rooted())
            .map(|form| form.text)
            .collect();
        if names.is_empty() || word.is_rooted() {
            names.insert(0, word.text.to_vec());
        }
        Place(names)
    }

    /// Whether both may name the same file.
    pub fn meets(&self, other: &Place) -> bool {
        self.0.iter().any(|name| other.0.contains(name))
    }

    /// The absolute paths it may be, which the caller can read.
    fn absolute(&self) -> impl Iterator<Item = &[u8]> {
        self.0
            .iter()
            .filter(|name| name.first() == Some(&b'/'))
            .map(|name| &name[..])
    }
}

/// Something a command really does, to be judged like the command it stands for.
#[derive(Debug, PartialEq)]
pub(crate) enum Derived {
    /// A command with this argv, which reads `inputs` and writes `writes`.
    Command(Command),
    /// A shell script's text, judged like a `bash -c` string.
    Shell(Vec<u8>),
    /// A script that cannot be judged: the policy's `unparsable` action applies.
    Unreadable(String),
}

#[derive(Debug, PartialEq)]
pub(crate) struct Command {
    pub argv: Vec<Vec<u8>>,
    pub inputs: Vec<Vec<u8>>,
    pub writes: Vec<Vec<u8>>,
    pub stdin: Stdin,
}

/// Whether a derived command reads the standard input of the command it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stdin {
    /// A program the command starts (`os.system`), which shares its standard input.
    Shared,
    /// A file operation the code does itself (`open(P)`): it reads no here-document.
    Unused,
}

impl Command {
    /// A program started on the command's behalf.
    fn argv(words: impl IntoIterator<Item = impl Into<Vec<u8>>>) -> Command {
        Command {
            argv: words.into_iter().map(Into::into).collect(),
            inputs: Vec::new(),
            writes: Vec::new(),
            stdin: Stdin::Shared,
        }
    }

    /// A file operation, judged as the command that does the same.
    fn file_operation(argv: Vec<Vec<u8>>, inputs: Vec<Vec<u8>>, writes: Vec<Vec<u8>>) -> Command {
        Command {
            argv,
            inputs,
            writes,
            stdin: Stdin::Unused,
        }
    }
}

/// What one evaluation has learnt about files: what the string wrote, which files were read.
pub(crate) struct Content<'f> {
    files: &'f dyn FileSource,
    ledger: Ledger,
    judged: Vec<Place>,
    bytes: usize,
}

impl<'f> Content<'f> {
    pub fn new(files: &'f dyn FileSource) -> Self {
        Content {
            files,
            ledger: Ledger::default(),
            judged: Vec::new(),
            bytes: 0,
        }
    }

    /// What `unit` really runs beyond its own argv; then notes what it writes, for the
    /// commands after it. `base` places its relative paths.
    pub fn derive(&mut self, unit: &Unit<'_>, base: &Base<'_>) -> Vec<Derived> {
        let mut derived = Vec::new();
        if !self.ledger.is_empty() {
            self.written_program(unit, base, &mut derived);
        }
        if let Some(invocation) = invocation::of(unit) {
            self.invocation(unit, base, invocation, &mut derived);
        }
        self.ledger.record(unit, base);
        derived
    }

    /// A program file this string wrote or copied: judged as what it holds.
    fn written_program(&self, unit: &Unit<'_>, base: &Base<'_>, derived: &mut Vec<Derived>) {
        let place = Place::of(&unit.program, base);
        let args = unit.args().iter().map(|a| a.to_vec());
        match self.ledger.get(&place) {
            Some(Entry::CopyOf(source)) => {
                derived.push(Derived::Command(Command::argv(
                    std::iter::once(source.clone()).chain(args),
                )));
            }
            Some(Entry::Text(text)) => {
                let launcher = match text.strip_prefix(b"#!") {
                    Some(line) => shebang(line),
                    None => vec![b"/bin/sh".to_vec()],
                };
                let argv = launcher
                    .into_iter()
                    .chain([unit.program.to_vec()])
                    .chain(args);
                derived.push(Derived::Command(Command::argv(argv)));
            }
            None => {}
        }
    }

    fn invocation(
        &mut self,
        unit: &Unit<'_>,
        base: &Base<'_>,
        invocation: Invocation<'_>,
        derived: &mut Vec<Derived>,
    ) {
        let arguments = |origin| Arguments {
            given: &invocation.arguments,
            origin,
        };
        for source in &invocation.sources {
            match source {
                Source::Inline(code) => {
                    judge(invocation.script, code, &arguments(Origin::Inline), derived)
                }
                Source::Stdin => {
                    if let Some(text) = &unit.stdin_text {
                        judge(invocation.script, text, &arguments(Origin::Inline), derived);
                    }
                }
                Source::File(word) => self.file(
                    unit,
                    base,
                    word,
                    invocation.script,
                    &arguments(Origin::File),
                    derived,
                ),
            }
        }
    }

    /// A script file: what this string wrote into it, and what it holds on disk.
    fn file(
        &mut self,
        unit: &Unit<'_>,
        base: &Base<'_>,
        word: &[u8],
        script: Script,
        arguments: &Arguments<'_>,
        derived: &mut Vec<Derived>,
    ) {
        if matches!(word, b"/dev/stdin" | b"/dev/fd/0" | b"/proc/self/fd/0") {
            if let Some(text) = &unit.stdin_text {
                judge(script, text, arguments, derived);
            }
            return;
        }
        let mut place = Place::of(word, base);
        if self.judged.iter().any(|judged| judged.meets(&place)) {
            return;
        }
        if self.judged.len() >= MAX_FILES {
            derived.push(Derived::Unreadable(format!(
                "a command runs more than {MAX_FILES} scripts"
            )));
            return;
        }
        self.judged.push(place.clone());
        match self.ledger.get(&place) {
            Some(Entry::Text(text)) => judge(script, text, arguments, derived),
            Some(Entry::CopyOf(source)) => place = Place::of(source, base),
            None => {}
        }
        for path in place.absolute() {
            self.read(path, script, arguments, derived);
        }
    }

    /// A script file on disk, within the bounds of one evaluation.
    fn read(
        &mut self,
        path: &[u8],
        script: Script,
        arguments: &Arguments<'_>,
        derived: &mut Vec<Derived>,
    ) {
        if self.bytes >= MAX_BYTES {
            derived.push(Derived::Unreadable(format!(
                "a command runs more than {} KiB of scripts",
                MAX_BYTES / 1024
            )));
            return;
        }
        match self.files.read(path) {
            FileRead::Content(text) => {
                self.bytes += text.len();
                judge(script, &text, arguments, derived);
            }
            FileRead::Truncated(prefix) => {
                self.bytes += prefix.len();
                match script {
                    // A shell runs it line by line: what is past the bound would run unseen.
                    Script::Shell => derived.push(Derived::Unreadable(format!(
                        "script {} is larger than the {} KiB warden reads",
                        String::from_utf8_lossy(path),
                        MAX_SCRIPT_BYTES / 1024
                    ))),
                    // Code past the bound is code not understood: judged as before.
                    Script::Code(_) => judge(script, &prefix, arguments, derived),
                }
            }
            FileRead::System | FileRead::Unavailable => {}
        }
    }
}

/// What the root program start really is: the system programs its file is, and the
/// interpreter of a script.
pub(crate) fn identity(root: &Unit<'_>, identity: &Identity) -> Vec<Derived> {
    let args = || root.args().iter().map(|a| a.to_vec());
    let mut derived: Vec<Derived> = identity
        .known_as
        .iter()
        .map(|name| Derived::Command(Command::argv(std::iter::once(name.clone()).chain(args()))))
        .collect();
    let launcher = match &identity.launch {
        Launch::Direct => None,
        Launch::Interpreter(line) => Some(shebang(line)),
        Launch::ShellText => Some(vec![b"/bin/sh".to_vec()]),
    };
    if let Some(launcher) = launcher.filter(|l| !l.is_empty()) {
        let argv = launcher
            .into_iter()
            .chain([root.program.to_vec()])
            .chain(args());
        derived.push(Derived::Command(Command::argv(argv)));
    }
    derived
}

/// A `#!` line as the kernel splits it: the interpreter, then the rest as one argument.
fn shebang(line: &[u8]) -> Vec<Vec<u8>> {
    let line = line.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.trim_ascii();
    match line.iter().position(|b| matches!(b, b' ' | b'\t')) {
        Some(at) => {
            let argument = line[at..].trim_ascii();
            let mut words = vec![line[..at].to_vec()];
            if !argument.is_empty() {
                words.push(argument.to_vec());
            }
            words
        }
        None if line.is_empty() => Vec::new(),
        None => vec![line.to_vec()],
    }
}

/// A script's text judged: a shell's as a string, other code through its scanner, which
/// knows the `arguments` the code reads.
fn judge(script: Script, text: &[u8], arguments: &Arguments<'_>, derived: &mut Vec<Derived>) {
    match script {
        Script::Shell => derived.push(Derived::Shell(text.to_vec())),
        Script::Code(language) => derived.extend(
            interp::scan(language, text, arguments)
                .into_iter()
                .map(|finding| Derived::Command(equivalent(finding))),
        ),
    }
}

/// The command a finding stands for, so that the policy's rules about commands apply.
fn equivalent(finding: Finding) -> Command {
    match finding {
        Finding::Shell(line) => Command::argv([b"sh".to_vec(), b"-c".to_vec(), line]),
        Finding::Exec(argv) => Command::argv(argv),
        Finding::Read(path) => {
            Command::file_operation(vec![b"cat".to_vec(), path.clone()], vec![path], Vec::new())
        }
        Finding::Write(path) => {
            Command::file_operation(vec![b"tee".to_vec(), path.clone()], Vec::new(), vec![path])
        }
        Finding::Copy { from, to } => Command::file_operation(
            [b"cp".to_vec(), from.clone()]
                .into_iter()
                .chain(to.clone())
                .collect(),
            vec![from],
            to.into_iter().collect(),
        ),
        Finding::Move { from, to } => Command::file_operation(
            [b"mv".to_vec(), from.clone()]
                .into_iter()
                .chain(to.clone())
                .collect(),
            vec![from],
            to.into_iter().collect(),
        ),
        Finding::Remove { path, recursion } => {
            let argv = match recursion {
                Recursion::Single => vec![b"rm".to_vec(), b"-f".to_vec(), path],
                _ => vec![b"rm".to_vec(), b"-r".to_vec(), b"-f".to_vec(), path],
            };
            Command::file_operation(argv, Vec::new(), Vec::new())
        }
    }
}

#[cfg(test)]
mod tests;
