//! libwarden.so (being built).
#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: abort never returns and touches no Rust state.
    unsafe { libc::abort() }
}
