//! The vocabulary of the call tables: what a call does with its arguments. Each language
//! module lists its calls in these terms (`python.rs`, `javascript.rs`, …), so that adding a
//! function is one line of data.

/// A function, method or class by dotted name, and what calling it does. `name` is exact
/// (`os.system`, `child_process.exec`: after imports and `require` are followed), or
/// `*.name` for a name distinctive enough to count on any receiver and bare
/// (`*.check_output`, `*.readFileSync`).
#[derive(Clone, Copy)]
pub(crate) struct Call {
    pub name: &'static str,
    pub effect: Effect,
}

/// Shorthand for the tables.
pub(crate) const fn call(name: &'static str, effect: Effect) -> Call {
    Call { name, effect }
}

/// Whether an argv list given to an exec call starts with argv[0].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Argv0 {
    Included,
    Absent,
}

/// Which positional arguments a call applies to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Span {
    One(usize),
    From(usize),
}

/// Whether a delete goes down into directories.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Recursion {
    Recursive,
    Single,
    /// Recursive when this option is true (`{recursive: true}`), or when options are given
    /// that cannot be read.
    Option(&'static str),
}

/// How an open call says whether it reads or writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OpenMode {
    /// A mode argument of letters (`'r'`, `'w'`, `'a+'`): reads unless it writes.
    Letters,
    /// A prefix in the path itself (Perl and Ruby: `<f`, `>f`, `>>f`, `| cmd`, `cmd |`).
    Prefix,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Effect {
    /// Runs argument `i`: a string through the shell, a list as an argv (a list whose
    /// call says `shell=True` runs its first element through the shell).
    Command(usize),
    /// Program at `i`, its argv as a list at `i + 1` (`os.execv`, `pcntl_exec`).
    Vector(usize, Argv0),
    /// Program at `i`, its argv as the following arguments (`os.execl`).
    Spread(usize, Argv0),
    /// Program at `i`, its arguments as a list at `i + 1`, run through the shell when the
    /// options say so (`spawn`, `execFile`).
    ProgramArgs(usize),
    /// One argument runs through the shell, several are an argv (Perl, Ruby `system`).
    System(usize),
    /// A fixed program given the arguments from `i` (shelljs `shell.rm('-rf', p)`).
    Tool(&'static str, usize),
    Read(Span),
    Write(Span),
    /// From `i` to `i + 1`.
    Copy(usize),
    Move(usize),
    Remove(Span, Recursion),
    /// Path at `i`, mode at `i + 1`.
    Open(usize, OpenMode),
    /// Perl's `open(FH, MODE, …)` and `open(FH, EXPR)`.
    PerlOpen,
    /// Lists or walks the directories (`os.walk`, `readdirSync`): with a delete of paths the
    /// code cannot name, a recursive delete of them.
    Walk(Span),
    /// Runs argument `i` as code of the same language (`eval`, `exec`).
    Eval(usize),
    /// Returns a value instead of doing anything.
    Value(Helper),
}

/// An encoding a helper decodes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Encoding {
    Base64,
    Hex,
}

/// The helpers that build strings and names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Helper {
    /// Path parts joined by `/` (`os.path.join`, `path.join`, `File.join`).
    JoinPath,
    /// The argument itself (`expanduser`, `Path(p)`, `realpath`, `str`).
    Same(usize),
    /// The home directory (`Path.home()`, `os.homedir()`, `Dir.home`): `~`.
    Home,
    /// An environment variable by name (`os.getenv('HOME')`): `$HOME`.
    Env(usize),
    /// A module by name (`require('child_process')`, `__import__('os')`).
    Module(usize),
    /// Quoted for the shell (`shlex.quote`, `escapeshellarg`).
    Quote(usize),
    /// A list joined by a separator (`' '.join(list)`, `implode(' ', $a)`).
    JoinWith { separator: usize, list: usize },
    /// A list quoted and joined for the shell (`shlex.join`).
    QuoteJoin(usize),
    /// `str.format`: the receiver's `{}` fields filled from the other arguments.
    Format,
    /// Argument `i` decoded (`base64.b64decode`, `atob`, `bytes.fromhex`).
    Decode(usize, Encoding),
    /// Argument `i` decoded as the encoding named by argument `i + 1`, if any
    /// (`Buffer.from(s, 'base64')`).
    DecodeNamed(usize),
    /// The arguments as a list (`array(…)`).
    List,
}
