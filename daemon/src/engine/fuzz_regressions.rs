//! Every input a fuzz target once found crashing or hanging the engine
//! (`daemon/fuzz/regressions/`), replayed in every form the engine reads text in: a shell
//! string, `bash -c`, interpreter and SQL one-liners, and script files. Each must be judged
//! without a panic and quickly.

use std::path::Path;
use std::time::{Duration, Instant};

use super::content::{FileRead, FileSource};
use super::{Policy, Query};

/// Every script file holds the input.
struct Everywhere<'a>(&'a [u8]);

impl FileSource for Everywhere<'_> {
    fn read(&self, _path: &[u8]) -> FileRead {
        FileRead::Content(self.0.to_vec())
    }
}

/// How long one input may take in all its forms (a debug build on a busy machine).
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn fuzz_regressions_are_judged_quickly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let inputs: Vec<_> = std::fs::read_dir(&dir)
        .expect("the regressions directory")
        .map(|entry| entry.expect("a regression").path())
        .collect();
    assert!(!inputs.is_empty());
    for path in inputs {
        let data = std::fs::read(&path).expect("a regression input");
        // On a thread of its own, so that an input that hangs fails the test instead of
        // hanging it.
        let (done, finished) = std::sync::mpsc::channel();
        let started = Instant::now();
        std::thread::spawn(move || {
            judge_in_every_form(&data);
            let _ = done.send(());
        });
        let outcome = finished.recv_timeout(LIMIT);
        assert!(
            outcome.is_ok(),
            "{} was not judged within {LIMIT:?} (or panicked)",
            path.display()
        );
        assert!(started.elapsed() < LIMIT, "{}", path.display());
    }
}

fn judge_in_every_form(data: &[u8]) {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    let policy = POLICY.get_or_init(Policy::builtin);
    let context = Query {
        cwd: b"/home/dev",
        ..Query::default()
    };
    let _ = policy.evaluate_shell(data, &context);
    let forms: [&[&[u8]]; 12] = [
        &[b"bash", b"-c", data],
        &[b"python3", b"-c", data],
        &[b"node", b"-e", data],
        &[b"perl", b"-e", data],
        &[b"ruby", b"-e", data],
        &[b"php", b"-r", data],
        &[b"sqlite3", b"db", data],
        &[b"bash", b"script.sh"],
        &[b"python3", b"script.py"],
        &[b"node", b"script.js"],
        &[b"perl", b"script.pl"],
        &[b"php", b"index.php"],
    ];
    for argv in forms {
        let query = Query {
            program: argv[0],
            argv: argv.to_vec(),
            cwd: b"/home/dev",
            ..Query::default()
        };
        let _ = policy.evaluate_with_files(&query, &Everywhere(data));
    }
}
