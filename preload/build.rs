//! Compiles the C shim for the variadic `execl*` and limits the exported symbols to the hooks.
use std::env;
use std::path::PathBuf;

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    cc::Build::new()
        .file("src/shim.c")
        .flag_if_supported("-fno-stack-protector")
        .warnings_into_errors(true)
        .cargo_metadata(false)
        .compile("warden_shim");
    // whole-archive: nothing in Rust references execl*, yet they must be linked in.
    println!("cargo:rustc-link-search=native={out}");
    println!("cargo:rustc-link-lib=static:+whole-archive=warden_shim");
    // no_std leaves libc implicit; naming it records NEEDED libc.so.6 and symbol versions.
    println!("cargo:rustc-link-lib=dylib=c");
    // Every process pays the loader's work for this library, so it carries nothing it does not
    // use: no C start files (their _init/_fini and exit-time __cxa_finalize call, with five
    // relocations; the constructor runs from .init_array, which needs none of them), and the
    // shim's calls to the library's own execv/execvp/execve bound at link time, not by the
    // loader through PLT slots.
    println!("cargo:rustc-cdylib-link-arg=-nostartfiles");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-Bsymbolic-functions");
    // Each segment on pages of its own: otherwise the few writable bytes (GOT, then the
    // snapshot in .bss) straddle page boundaries wherever the code's size puts them, and each
    // page written at load is a page fault in every process.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,separate-loadable-segments");
    let map = manifest.join("exports.map");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        map.display()
    );
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rerun-if-changed=exports.map");
}
