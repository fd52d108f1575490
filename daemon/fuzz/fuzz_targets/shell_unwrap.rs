//! Any byte string, judged as a shell command line and as `bash -c STRING`: the engine must
//! return a verdict without panicking, hanging or recursing without bound.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden::engine::{Policy, Query};

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(Policy::builtin)
}

fuzz_target!(|data: &[u8]| {
    let context = Query {
        cwd: b"/home/dev",
        ..Query::default()
    };
    let _ = policy().evaluate_shell(data, &context);
    let exec = Query {
        program: b"/bin/bash",
        argv: vec![b"bash", b"-c", data],
        cwd: b"/home/dev",
        ..Query::default()
    };
    let _ = policy().evaluate(&exec);
});
