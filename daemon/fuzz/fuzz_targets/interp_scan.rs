//! Any bytes as interpreter code, SQL, or a script file, judged through the engine's public
//! surface, with arguments after it: the literal scanners, the evaluator and the script
//! reading must return a verdict without panicking, hanging or growing without bound. The
//! first byte picks the form.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden::engine::{FileRead, FileSource, Launch, Identity, Policy, Query};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::builtin)
}

/// Every script file holds the input.
struct Everywhere<'a>(&'a [u8]);

impl FileSource for Everywhere<'_> {
    fn read(&self, _path: &[u8]) -> FileRead {
        FileRead::Content(self.0.to_vec())
    }
}

const FORMS: &[&[&[u8]]] = &[
    &[b"python3", b"-c"],
    &[b"node", b"-e"],
    &[b"perl", b"-e"],
    &[b"ruby", b"-e"],
    &[b"php", b"-r"],
    &[b"sqlite3", b"db"],
    &[b"psql", b"-c"],
    &[b"bash", b"script.sh"],
    &[b"python3", b"script.py"],
    &[b"node", b"app.js"],
    &[b"perl", b"script.pl"],
    &[b"ruby", b"script.rb"],
    &[b"php", b"index.php"],
    &[b"./run"],
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, code)) = data.split_first() else {
        return;
    };
    let form = FORMS[usize::from(selector) % FORMS.len()];
    let mut argv: Vec<&[u8]> = form.to_vec();
    let inline = form.len() == 2 && form[1].starts_with(b"-") || form[0] == b"sqlite3";
    if inline {
        argv.push(code);
    }
    // Arguments the code can read (`sys.argv[1]`, `process.argv[2]`, `$1`).
    argv.extend([&b"/home/dev"[..], b"-rf"]);
    let identity = Identity {
        known_as: Vec::new(),
        launch: Launch::Interpreter(code.split(|&b| b == b'\n').next().unwrap_or_default().to_vec()),
    };
    let query = Query {
        program: argv[0],
        argv,
        cwd: b"/home/dev/project",
        identity: (form[0] == b"./run").then_some(&identity),
        ..Query::default()
    };
    let _ = policy().evaluate_with_files(&query, &Everywhere(code));
});
