//! A unit is one command the engine judges: the exec itself, a command a wrapper runs, or a
//! simple command inside a shell string. Words are already unquoted (`'r'm` is `rm`);
//! expansions stay unexpanded (`$HOME`, `~`), since the engine cannot know their values.

use std::borrow::Cow;

pub(crate) type Word<'a> = Cow<'a, [u8]>;

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
    /// The directory an earlier `cd DIR` in the same shell string moved to, as written.
    pub cwd: Option<Word<'a>>,
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

    /// A child unit that runs `argv` on behalf of this one, reached through `wrapper`.
    pub fn child<'b>(&'b self, argv: &'b [Word<'_>], wrapper: &'b [u8]) -> Unit<'b> {
        let borrow = |w: &'b Word<'_>| Cow::Borrowed(&**w);
        let mut via: Vec<Word<'b>> = self.via.iter().map(borrow).collect();
        via.push(Cow::Borrowed(basename(wrapper)));
        Unit {
            program: argv.first().map(borrow).unwrap_or_default(),
            argv: argv.iter().map(borrow).collect(),
            env: self.env.iter().map(borrow).collect(),
            redirects: self.redirects.iter().map(borrow).collect(),
            inputs: self.inputs.iter().map(borrow).collect(),
            fed_by: self.fed_by.iter().map(borrow).collect(),
            feeds: self.feeds.iter().map(borrow).collect(),
            via,
            stdin_text: self.stdin_text.as_ref().map(borrow),
            cwd: self.cwd.as_ref().map(borrow),
        }
    }
}

/// The part after the last `/`.
pub(crate) fn basename(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}
