//! A unit is one command the engine judges: the exec itself, a command a wrapper runs, or a
//! simple command inside a shell string. Words are already unquoted (`'r'm` is `rm`) and
//! shell variables with known values substituted; other expansions stay as written
//! (`$HOME`, `~`), and the path rules place them (see `paths`).

use std::borrow::Cow;
use std::rc::Rc;

use super::files;
use super::paths::{self, Kind, PathRef, PathWord};
use super::scope::Scope;

pub(crate) type Word<'a> = Cow<'a, [u8]>;

/// Where a word of a unit sits, for [`Unit::globs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// `argv[i]`.
    Arg(usize),
    Redirect(usize),
    Input(usize),
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Unit<'a> {
    /// The program as named: a resolved path for the exec itself, else argv[0] as written.
    pub program: Word<'a>,
    /// The full argv, argv[0] included.
    pub argv: Vec<Word<'a>>,
    /// Names of environment variables this command sets or removes (`VAR=x cmd`,
    /// `env -u VAR`, `unset VAR`, `export VAR=…`).
    pub env: Vec<Word<'a>>,
    /// Files written by redirections (`> /dev/sda`, `>& /dev/tcp/…`).
    pub redirects: Vec<Word<'a>>,
    /// Files read by redirections (`< ~/.ssh/id_rsa`).
    pub inputs: Vec<Word<'a>>,
    /// Programs whose output this command reads or runs: earlier pipeline stages,
    /// `<(…)` and `$(…)` in its words.
    pub fed_by: Vec<Word<'a>>,
    /// Programs that read this command's output: later pipeline stages, and the command in
    /// whose words this one runs as `$(…)`, backticks or `<(…)`.
    pub feeds: Vec<Word<'a>>,
    /// The wrappers this command was reached through (`sudo`, `xargs`, `find`…).
    pub via: Vec<Word<'a>>,
    /// Text given on standard input by a here-document or here-string.
    pub stdin_text: Option<Word<'a>>,
    /// The words of `argv`, `redirects` and `inputs` that are globs (an unquoted `*`, `?`,
    /// `[…]`), as glob text; those fields hold their plain text.
    pub globs: Vec<(Slot, Vec<u8>)>,
    /// The shell state the command runs in; `None` for the program start itself, which
    /// runs in the query's working directory.
    pub scope: Option<Rc<Scope>>,
    /// Directories its wrappers moved to before starting it (`env -C DIR cmd`), in order.
    pub chdir: Vec<PathWord>,
    /// Programs that wrote a file this command runs as code (`curl -o x …; sh x`).
    pub code_from: Vec<Word<'a>>,
    /// In a shell string: the index (among the string's units) of the command whose words
    /// or redirections ran this one (`$(…)`, backticks, `<(…)`). Its text shows up in that
    /// command's words too, so a rule there must not hide this, the command that runs it.
    pub host: Option<usize>,
}

impl Unit<'_> {
    /// The program's base name, what most rules match on.
    pub fn name(&self) -> &[u8] {
        basename(&self.program)
    }

    /// The arguments after argv[0].
    pub fn args(&self) -> &[Word<'_>] {
        self.argv.get(1..).unwrap_or(&[])
    }

    /// The glob text of the word in `slot`, if it is a glob.
    pub fn glob(&self, slot: Slot) -> Option<&[u8]> {
        self.globs
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, text)| &text[..])
    }

    /// A word as a path word: its glob text when it is a glob.
    pub fn path_word(&self, slot: Slot, text: &[u8]) -> PathWord {
        self.path_ref(slot, text).to_owned()
    }

    /// A word as a borrowed path word.
    pub fn path_ref<'s>(&'s self, slot: Slot, text: &'s [u8]) -> PathRef<'s> {
        match self.glob(slot) {
            Some(glob) => PathRef {
                text: glob,
                kind: Kind::Glob,
            },
            None => PathRef {
                text,
                kind: Kind::Plain,
            },
        }
    }

    /// The arguments after argv[0] as path words.
    pub fn path_args(&self) -> Vec<PathWord> {
        self.args()
            .iter()
            .enumerate()
            .map(|(i, arg)| self.path_word(Slot::Arg(i + 1), arg))
            .collect()
    }

    /// The directories the command works in: its shell's (else `query_cwds`), moved by
    /// its wrappers' and its own options (`env -C`, `git -C`). `args` are its path
    /// arguments, computed only when an option needs them.
    pub fn working_dirs<'s, 'a>(
        &'s self,
        query_cwds: &'s [PathWord],
        home: &[u8],
        args: impl FnOnce() -> &'a [PathWord],
    ) -> Cow<'s, [PathWord]> {
        let start: &'s [PathWord] = match &self.scope {
            Some(scope) => &scope.cwds,
            None => query_cwds,
        };
        let own = files::chdir(self.name(), args);
        if self.chdir.is_empty() && own.is_empty() {
            return Cow::Borrowed(start);
        }
        let mut cwds = start.to_vec();
        for dir in self.chdir.iter().chain(&own) {
            cwds = paths::directory(dir, &cwds, home);
        }
        Cow::Owned(cwds)
    }

    /// A child unit that runs `argv[start..end]` on behalf of this one (a wrapper): it
    /// shares this unit's redirections, feeders, scope and directory, and is reached
    /// `via` this program. `found` is glob text for what `{}` stands for (`find -exec`).
    pub fn child(&self, start: usize, end: usize, found: Option<&[u8]>) -> Unit<'_> {
        let argv = &self.argv[start..end];
        let mut globs: Vec<(Slot, Vec<u8>)> = self
            .globs
            .iter()
            .filter_map(|(slot, text)| match *slot {
                Slot::Arg(i) if (start..end).contains(&i) => {
                    Some((Slot::Arg(i - start), text.clone()))
                }
                Slot::Arg(_) => None,
                other => Some((other, text.clone())),
            })
            .collect();
        if let Some(found) = found {
            for (i, arg) in argv.iter().enumerate() {
                if let Some(text) = placeholder(arg, found) {
                    globs.retain(|(slot, _)| *slot != Slot::Arg(i));
                    globs.push((Slot::Arg(i), text));
                }
            }
        }
        self.running(argv.iter().map(borrow).collect(), globs)
    }

    /// A unit that runs `argv` (whose glob words are `globs`) on behalf of this one: it
    /// shares this unit's redirections, feeders, scope and directory, and is reached `via`
    /// this program.
    pub fn running<'s>(&'s self, argv: Vec<Word<'s>>, globs: Vec<(Slot, Vec<u8>)>) -> Unit<'s> {
        let mut via: Vec<Word<'_>> = self.via.iter().map(borrow).collect();
        via.push(Cow::Borrowed(basename(&self.program)));
        let mut chdir = self.chdir.clone();
        let args = std::cell::OnceCell::new();
        chdir.extend(files::chdir(self.name(), || {
            args.get_or_init(|| self.path_args())
        }));
        Unit {
            program: argv.first().cloned().unwrap_or_default(),
            argv,
            env: self.env.iter().map(borrow).collect(),
            redirects: self.redirects.iter().map(borrow).collect(),
            inputs: self.inputs.iter().map(borrow).collect(),
            fed_by: self.fed_by.iter().map(borrow).collect(),
            feeds: self.feeds.iter().map(borrow).collect(),
            via,
            stdin_text: self.stdin_text.as_ref().map(borrow),
            globs,
            scope: self.scope.clone(),
            chdir,
            code_from: self.code_from.iter().map(borrow).collect(),
            host: None,
        }
    }
}

fn borrow<'b>(w: &'b Word<'_>) -> Word<'b> {
    Cow::Borrowed(&**w)
}

/// Glob text for a word with `{}` in it: `{}` as `found`, the rest literal.
fn placeholder(word: &[u8], found: &[u8]) -> Option<Vec<u8>> {
    let at = word.windows(2).position(|w| w == b"{}")?;
    let mut text = Vec::with_capacity(word.len() + found.len());
    paths::escape(&word[..at], &mut text);
    text.extend_from_slice(found);
    match placeholder(&word[at + 2..], found) {
        Some(rest) => text.extend(rest),
        None => paths::escape(&word[at + 2..], &mut text),
    }
    Some(text)
}

/// The words' bytes, owned (an argv to keep, or to hand on).
pub(crate) fn owned(words: &[Word<'_>]) -> Vec<Vec<u8>> {
    words.iter().map(|word| word.to_vec()).collect()
}

/// The part after the last `/`.
pub(crate) fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}
