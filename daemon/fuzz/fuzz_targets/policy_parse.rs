//! Any text as a policy file: compiling either fails with an error or gives a policy that
//! can evaluate a command; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::engine::{Policy, PolicySource, Query};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = PolicySource {
        origin: "fuzz.toml".to_string(),
        text: text.to_string(),
    };
    if let Ok(policy) = Policy::compile(&[source]) {
        let query = Query {
            program: b"/bin/rm",
            argv: vec![b"rm", b"-rf", b"/"],
            ..Query::default()
        };
        let _ = policy.evaluate(&query);
        for test in policy.tests() {
            let _ = test.run(&policy);
        }
    }
});
