//! Any byte string, judged as a shell command line and as `bash -c STRING`: the engine must
//! return a verdict without panicking, hanging or recursing without bound. The first byte
//! picks where the command runs (home and working directory of several shapes), so the
//! path, glob, variable and `cd` handling meet every kind of start.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden::engine::{unwrapped_commands, Policy, Query};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::builtin)
}

/// (cwd, home) pairs: a project in a home, the root as home, a home that is unknown, a
/// relative cwd with a home spelled with a trailing slash.
const PLACES: &[(&[u8], &[u8])] = &[
    (b"/home/dev/project", b"/home/dev"),
    (b"/", b"/"),
    (b"/home/dev/.ssh", b""),
    (b"relative/dir", b"/srv/dev/"),
];

fuzz_target!(|data: &[u8]| {
    let (pick, text) = data.split_first().map_or((0, data), |(p, t)| (*p, t));
    let (cwd, home) = PLACES[usize::from(pick) % PLACES.len()];
    let context = Query {
        cwd,
        home,
        ..Query::default()
    };
    let _ = policy().evaluate_shell(text, &context);
    let exec = Query {
        program: b"/bin/bash",
        argv: vec![b"bash", b"-c", text],
        cwd,
        home,
        ..Query::default()
    };
    let _ = policy().evaluate(&exec);
    let _ = unwrapped_commands(&exec);
    // The same bytes as the arguments of a program start, where paths, globs and
    // paths inside arguments are found without a shell.
    let words: Vec<&[u8]> = text.split(|&b| b == b' ').take(64).collect();
    let mut argv = vec![&b"cat"[..]];
    argv.extend(words);
    let plain = Query {
        program: b"/usr/bin/cat",
        argv,
        cwd,
        home,
        ..Query::default()
    };
    let _ = policy().evaluate(&plain);
});
