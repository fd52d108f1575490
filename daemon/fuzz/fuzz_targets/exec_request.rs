//! Fuzzes the daemon's request body parser (`POST /v1/preflight/exec`): any input either
//! fails cleanly or parses into a request that survives a serialise/parse round trip
//! unchanged (so `{"b64": …}` and plain strings can never be confused).
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::wire::ExecRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<ExecRequest>(data) {
        let text = serde_json::to_vec(&request).expect("a parsed request serialises");
        let again: ExecRequest = serde_json::from_slice(&text).expect("and parses back");
        assert_eq!(request, again);
    }
});
