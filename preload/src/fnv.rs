//! FNV-1a over arguments, each followed by its NUL: the hash in a `WARDEN_CHECKED` proof
//! (`checked.rs`) and in the denial memo.
//!
//! One definition for every side that computes a proof: the library compiles this module,
//! and `warden preload` (which hands the agent command its proof) and the test harness
//! include this same file by path. It must therefore depend on nothing but `core`.

/// FNV-1a over arguments, each followed by a NUL.
pub fn hash_args<'a>(args: impl Iterator<Item = &'a [u8]>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for arg in args {
        for &b in arg.iter().chain(&[0]) {
            hash = (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
