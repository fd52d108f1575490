//! libwarden.so: loaded with `LD_PRELOAD`, it intercepts every libc function that starts a
//! program and asks the warden daemon first (see docs/ARCHITECTURE.md, "The hook path").
//!
//! `#![no_std]` on purpose: every process of the agent loads this library, and std's
//! relocations and start-up would be paid by each of them. The hook path never allocates,
//! locks or panics; its buffers live on the stack (or in `mmap` regions when large).
#![cfg_attr(not(test), no_std)]

mod args;
mod ask;
mod buf;
mod checked;
mod environ;
mod fnv;
mod hooks;
mod http;
mod load;
mod memo;
mod preflight;
mod real;
mod reply;
mod request;
mod resolve;
mod shell;
mod sys;
mod syscall;
mod transport;

use core::ffi::{c_char, c_int};
use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: abort never returns and touches no Rust state.
    unsafe { libc::abort() }
}

static INITIALISED: AtomicBool = AtomicBool::new(false);

/// Runs when the dynamic loader maps the library, before the program's `main`.
#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = constructor;

extern "C" fn constructor(_argc: c_int, argv: *const *const c_char, envp: *const *const c_char) {
    // SAFETY: glibc passes every constructor the program's argv and initial environment, as
    // the kernel laid them out.
    unsafe { args::record(argv, envp) };
    initialise(envp);
    // SAFETY: glibc passes the constructor the program's argv and initial environment.
    unsafe { load::check(argv, envp) };
}

/// For a hook that runs before the constructor (from an earlier library's constructor).
fn ensure_initialised() {
    if !INITIALISED.load(Ordering::Acquire) {
        initialise(sys::current_environ());
    }
}

fn initialise(envp: *const *const c_char) {
    // SAFETY: runs in the constructor, before main and before other threads exist.
    unsafe { environ::SNAPSHOT.fill(envp, own_path()) };
    real::resolve_all();
    INITIALISED.store(true, Ordering::Release);
}

/// The path the dynamic loader loaded this library from (the loader's own copy, which lives
/// as long as the library is mapped; the snapshot copies it).
fn own_path() -> &'static [u8] {
    // SAFETY: dladdr only reads loader state; Dl_info is plain data.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(constructor as *const libc::c_void, &mut info) == 0 {
            return &[];
        }
        sys::bytes(info.dli_fname)
    }
}
