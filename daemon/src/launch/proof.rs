//! The proof of judgement that `warden preload` hands the agent command after judging it
//! itself, so that a dynamic agent does not judge itself a second time at load. Its grammar
//! is the library's (`preload/src/checked.rs`): the agent is a child, so the proof is
//! `s<parent pid>.<n>.<hash of the n arguments after argv[0]>` (the parent's pid as the agent
//! sees it: this process's, or 1 in an isolated session, where the init is the parent),
//! valid for nothing but such a child with exactly those trailing arguments, and spent when
//! the library reads it. The hash is the library's own function, compiled from its source
//! file.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[path = "../../../preload/src/fnv.rs"]
mod fnv;

/// `WARDEN_CHECKED` for the child `argv` (never empty) of the process `parent`.
pub fn for_child_of(parent: u32, argv: &[OsString]) -> OsString {
    tag(parent, argv).into()
}

/// Whether starting `program` loads the library, which spends the proof at once: a script
/// (its interpreter does) or an ELF file with an interpreter (a dynamic loader). A static
/// program keeps the proof in its environment, for its children to find.
pub fn loads_the_library(program: &Path) -> bool {
    let mut head = [0u8; 4096];
    let Ok(mut file) = std::fs::File::open(program) else {
        return false;
    };
    let mut len = 0;
    while len < head.len() {
        match file.read(&mut head[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    is_script_or_dynamic(&head[..len])
}

/// `#!`, or a 64-bit little-endian ELF whose program headers (within `head`) name an
/// interpreter (`PT_INTERP`).
fn is_script_or_dynamic(head: &[u8]) -> bool {
    if head.starts_with(b"#!") {
        return true;
    }
    let u16_at = |at: usize| {
        head.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u64_at = |at: usize| {
        head.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    };
    if !head.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(offset), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    const PT_INTERP: u32 = 3;
    (0..count as usize).any(|i| {
        let at = offset as usize + i * size as usize;
        head.get(at..at + 4)
            .is_some_and(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) == PT_INTERP)
    })
}

fn tag(parent: u32, argv: &[OsString]) -> String {
    let judged = argv.get(1..).unwrap_or_default();
    let hash = fnv::hash_args(judged.iter().map(|arg| arg.as_bytes()));
    format!("s{parent}.{}.{hash}", judged.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_dynamic_programs_load_the_library_and_static_ones_do_not() {
        assert!(loads_the_library(Path::new("/bin/sh")));
        assert!(is_script_or_dynamic(b"#!/bin/sh\necho"));
        assert!(!is_script_or_dynamic(b"\x7fELF\x02\x01\x01"));
        assert!(!is_script_or_dynamic(b"plain text"));
        assert!(!loads_the_library(Path::new("/no/such/program")));
        let codex = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex");
        if codex.exists() {
            assert!(!loads_the_library(&codex), "Codex is a static program");
        }
    }

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
