//! The terminal the agent shared with the operator's shell. A process can push bytes into
//! its controlling terminal's input (`TIOCSTI`, where the kernel still allows it): bytes
//! still queued when `warden preload` exits would be read by the operator's shell, outside
//! the session. They are discarded when the session ends.

/// Discards input waiting on the controlling terminal, if there is one.
pub fn discard_pending_input() {
    // SAFETY: open with a constant C string; the descriptor is closed below.
    let fd = unsafe {
        libc::open(
            c"/dev/tty".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return;
    }
    // SAFETY: tcflush and close on the descriptor we just opened.
    unsafe {
        libc::tcflush(fd, libc::TCIFLUSH);
        libc::close(fd);
    }
}
