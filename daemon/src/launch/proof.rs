//! The proof of judgement that `warden preload` hands the agent command after judging it
//! itself, so that a dynamic agent does not judge itself a second time at load. Its grammar
//! is the library's (`preload/src/checked.rs`): the agent is this process's child, so the
//! proof is `s<own pid>.<n>.<hash of the n arguments after argv[0]>`, valid for nothing but
//! that child with exactly those trailing arguments, and spent when the library reads it.
//! The hash is the library's own function, compiled from its source file.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

#[path = "../../../preload/src/fnv.rs"]
mod fnv;

/// `WARDEN_CHECKED` for the child `argv` that this process starts (argv is never empty).
pub fn for_child(argv: &[OsString]) -> OsString {
    tag(std::process::id(), argv).into()
}

fn tag(parent: u32, argv: &[OsString]) -> String {
    let judged = argv.get(1..).unwrap_or_default();
    let hash = fnv::hash_args(judged.iter().map(|arg| arg.as_bytes()));
    format!("s{parent}.{}.{hash}", judged.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_proof_names_the_parent_and_covers_the_arguments_after_argv0() {
        // FNV-1a's offset basis: no arguments hashed.
        assert_eq!(tag(7, &argv(&["true"])), "s7.0.14695981039346656037");
        let proof = tag(42, &argv(&["terraform", "destroy"]));
        assert!(proof.starts_with("s42.1."), "{proof}");
        assert_eq!(proof, tag(42, &argv(&["/usr/bin/terraform", "destroy"])));
        assert_ne!(proof, tag(42, &argv(&["terraform", "apply"])));
    }
}
