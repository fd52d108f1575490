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

use std::borrow::Cow;

use super::interp::{self, Finding, Recursion};
use super::matcher::normalise;
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

/// A file as the engine can name it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Place {
    Absolute(Vec<u8>),
    /// A path that depends on `~` or a variable: only the string itself can write it.
    Symbolic(Vec<u8>),
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
    /// commands after it. `cwd` is the query's working directory.
    pub fn derive(&mut self, unit: &Unit<'_>, cwd: &[u8]) -> Vec<Derived> {
        let mut derived = Vec::new();
        if !self.ledger.is_empty() {
            self.written_program(unit, cwd, &mut derived);
        }
        if let Some(invocation) = invocation::of(unit) {
            self.invocation(unit, cwd, invocation, &mut derived);
        }
        self.ledger.record(unit, cwd);
        derived
    }

    /// A program file this string wrote or copied: judged as what it holds.
    fn written_program(&self, unit: &Unit<'_>, cwd: &[u8], derived: &mut Vec<Derived>) {
        let place = resolve(&unit.program, unit, cwd);
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
        cwd: &[u8],
        invocation: Invocation<'_>,
        derived: &mut Vec<Derived>,
    ) {
        for source in invocation.sources {
            match source {
                Source::Inline(code) => judge(invocation.script, &code, derived),
                Source::Stdin => {
                    if let Some(text) = &unit.stdin_text {
                        judge(invocation.script, text, derived);
                    }
                }
                Source::File(word) => self.file(unit, cwd, word, invocation.script, derived),
            }
        }
    }

    /// A script file: what this string wrote into it, and what it holds on disk.
    fn file(
        &mut self,
        unit: &Unit<'_>,
        cwd: &[u8],
        word: &[u8],
        script: Script,
        derived: &mut Vec<Derived>,
    ) {
        if matches!(word, b"/dev/stdin" | b"/dev/fd/0" | b"/proc/self/fd/0") {
            if let Some(text) = &unit.stdin_text {
                judge(script, text, derived);
            }
            return;
        }
        let mut place = resolve(word, unit, cwd);
        if self.judged.contains(&place) {
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
            Some(Entry::Text(text)) => judge(script, text, derived),
            Some(Entry::CopyOf(source)) => place = resolve(source, unit, cwd),
            None => {}
        }
        let Place::Absolute(path) = place else { return };
        if self.bytes >= MAX_BYTES {
            derived.push(Derived::Unreadable(format!(
                "a command runs more than {} KiB of scripts",
                MAX_BYTES / 1024
            )));
            return;
        }
        match self.files.read(&path) {
            FileRead::Content(text) => {
                self.bytes += text.len();
                judge(script, &text, derived);
            }
            FileRead::Truncated(prefix) => {
                self.bytes += prefix.len();
                match script {
                    // A shell runs it line by line: what is past the bound would run unseen.
                    Script::Shell => derived.push(Derived::Unreadable(format!(
                        "script {} is larger than the {} KiB warden reads",
                        String::from_utf8_lossy(&path),
                        MAX_SCRIPT_BYTES / 1024
                    ))),
                    // Code past the bound is code not understood: judged as before.
                    Script::Code(_) => judge(script, &prefix, derived),
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

/// A script's text judged: a shell's as a string, other code through its scanner.
fn judge(script: Script, text: &[u8], derived: &mut Vec<Derived>) {
    match script {
        Script::Shell => derived.push(Derived::Shell(text.to_vec())),
        Script::Code(language) => derived.extend(
            interp::scan(language, text)
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

/// Where `word` points for `unit`: against the directory an earlier `cd` moved to, else
/// the query's `cwd`; folded lexically (`.`, `..`, `//`).
pub(crate) fn resolve(word: &[u8], unit: &Unit<'_>, cwd: &[u8]) -> Place {
    let base = match unit.cwd.as_deref() {
        None => anchor(cwd),
        Some(dir) => join(anchor(cwd), dir),
    };
    join(base, word)
}

fn anchor(path: &[u8]) -> Place {
    if path.starts_with(b"/") {
        Place::Absolute(normalise(b"/", path))
    } else {
        Place::Symbolic(normalise(b"/", path))
    }
}

fn join(base: Place, word: &[u8]) -> Place {
    if word.starts_with(b"/") {
        return Place::Absolute(normalise(b"/", word));
    }
    if matches!(word.first(), Some(b'~' | b'$' | b'`')) {
        return Place::Symbolic(normalise(b"/", word));
    }
    match base {
        Place::Absolute(dir) => Place::Absolute(normalise(&dir, word)),
        Place::Symbolic(dir) => Place::Symbolic(normalise(&dir, word)),
    }
}

/// The words of a derived command, as the walk's units hold them.
pub(crate) fn words(argv: &[Vec<u8>]) -> Vec<Cow<'_, [u8]>> {
    argv.iter().map(|w| Cow::Borrowed(&w[..])).collect()
}

#[cfg(test)]
mod tests;
