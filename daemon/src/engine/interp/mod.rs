//! Interpreter code scanned for what it does outside itself: the commands it runs, the files
//! it reads, writes, copies and deletes, as [`Finding`]s the walk judges like the equivalent
//! commands (see `content`).
//!
//! Each language has a small hand-written scanner of its literals (`python`, `javascript`,
//! `perl`, `ruby`, `php`, `sql`): where strings start and end and what bytes they stand
//! for, what is a comment or a regular expression, and the names and brackets between. A
//! shared evaluator (`eval`) then follows calls, concatenation, imports and simple
//! assignments over those tokens, using each language's table of calls (`table`). Nothing
//! here runs code, fails, or allocates without bound; code it does not understand yields
//! fewer findings, never an error.

mod eval;
mod javascript;
mod perl;
mod php;
mod python;
mod ruby;
mod sql;
mod table;
mod token;

pub(crate) use php::Start as PhpStart;
pub(crate) use table::Recursion;

/// The languages whose code is scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Language {
    Python,
    JavaScript,
    Perl,
    Ruby,
    /// PHP code (`php -r`), or a PHP file that starts in inline HTML.
    Php(PhpStart),
    Sql,
}

/// What a piece of code does, in terms the policy's rules already know.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Finding {
    /// A command line run through a shell (`os.system(S)`, backticks, `COPY … PROGRAM S`).
    Shell(Vec<u8>),
    /// A program started with this argv (`subprocess.run([...])`, `spawn('rm', [...])`).
    Exec(Vec<Vec<u8>>),
    /// A file read (`open(P)`, `readFileSync(P)`, `readfile('P')`).
    Read(Vec<u8>),
    /// A file written (`open(P, 'w')`, `writeFileSync(P)`, `INTO OUTFILE 'P'`).
    Write(Vec<u8>),
    /// A file copied (`shutil.copy(A, B)`); the target when known.
    Copy {
        from: Vec<u8>,
        to: Option<Vec<u8>>,
    },
    Move {
        from: Vec<u8>,
        to: Option<Vec<u8>>,
    },
    /// A file or tree deleted; `recursion` is `Recursive` or `Single`.
    Remove {
        path: Vec<u8>,
        recursion: Recursion,
    },
}

/// Longest code scanned; beyond it, code is not read (as if not understood).
pub(crate) const MAX_CODE: usize = 256 * 1024;
/// Most findings kept from one piece of code.
pub(crate) const MAX_FINDINGS: usize = 256;

/// The arguments code was started with (`python -c CODE ARGS…`, `node F ARGS…`), which it
/// reads through `sys.argv`, `process.argv` and the like.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arguments<'a> {
    pub given: &'a [Vec<u8>],
    pub origin: Origin,
}

/// Whether the code was given inline or as a script file (the languages list their
/// arguments after different entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Inline,
    File,
}

#[cfg(test)]
impl Arguments<'_> {
    /// Code whose arguments are not known.
    pub const NONE: Arguments<'static> = Arguments {
        given: &[],
        origin: Origin::Inline,
    };
}

/// What `code` in `language` does. Only its first [`MAX_CODE`] bytes are read.
pub(crate) fn scan(language: Language, code: &[u8], arguments: &Arguments<'_>) -> Vec<Finding> {
    let code = &code[..code.len().min(MAX_CODE)];
    let findings = match language {
        Language::Python => eval::scan(&python::DIALECT, &python::tokenize(code), arguments),
        Language::JavaScript => {
            eval::scan(&javascript::DIALECT, &javascript::tokenize(code), arguments)
        }
        Language::Perl => eval::scan(&perl::DIALECT, &perl::tokenize(code), arguments),
        Language::Ruby => eval::scan(&ruby::DIALECT, &ruby::tokenize(code), arguments),
        Language::Php(start) => eval::scan(&php::DIALECT, &php::tokenize(code, start), arguments),
        Language::Sql => sql::scan(code),
    };
    let mut unique: Vec<Finding> = Vec::new();
    for finding in findings {
        if unique.len() >= MAX_FINDINGS {
            break;
        }
        if !unique.contains(&finding) {
            unique.push(finding);
        }
    }
    unique
}

#[cfg(test)]
mod tests;
