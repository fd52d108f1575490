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
    // An interactive agent may have left another process group in the foreground: a flush
    // from the background raises SIGTTOU, which would stop `warden preload`, unless the
    // signal is blocked, which lets the flush through.
    // SAFETY: sigemptyset/sigaddset initialise the set before pthread_sigmask reads it;
    // the old mask is restored after tcflush and close on the descriptor we opened.
    unsafe {
        let mut ttou: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut ttou);
        libc::sigaddset(&mut ttou, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &ttou, &mut old);
        libc::tcflush(fd, libc::TCIFLUSH);
        libc::close(fd);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}
