//! Fixed-capacity byte buffers for the hook path, where `malloc` is off limits.
//!
//! A [`Buf`] keeps counting past its end instead of truncating, so a caller can build into a
//! small stack buffer first and, when that overflowed, build again into an `mmap` region of
//! exactly the measured size ([`build`]). Nothing is ever silently cut short.
//!
//! Stack storage is left uninitialised ([`uninit`]): the hooks run in fresh fork children,
//! where zeroing a buffer faults in and clears every stack page it spans, most of which the
//! few bytes actually written would never reach.

use core::mem::MaybeUninit;
use core::ptr;

use crate::syscall;

/// The largest region [`build`] maps: bigger requests than this are refused (and so denied).
const MAX_MAPPED: usize = 16 << 20;

/// `N` bytes of stack storage that nothing has written yet.
pub fn uninit<const N: usize>() -> [MaybeUninit<u8>; N] {
    [MaybeUninit::uninit(); N]
}

/// The bytes of `bytes`.
///
/// # Safety
/// Every byte of `bytes` must have been written.
pub unsafe fn assume_init(bytes: &[MaybeUninit<u8>]) -> &[u8] {
    // SAFETY: same layout; the caller vouches that all of it is initialised.
    unsafe { &*(bytes as *const [MaybeUninit<u8>] as *const [u8]) }
}

pub struct Buf<'a> {
    /// Initialised up to `min(len, bytes.len())`.
    bytes: &'a mut [MaybeUninit<u8>],
    len: usize,
}

impl<'a> Buf<'a> {
    pub fn new(bytes: &'a mut [u8]) -> Self {
        // SAFETY: same layout, and a Buf only ever writes initialised bytes, so the caller's
        // slice stays initialised.
        let bytes = unsafe { &mut *(bytes as *mut [u8] as *mut [MaybeUninit<u8>]) };
        Buf { bytes, len: 0 }
    }

    /// A Buf over storage that need not be initialised (see [`uninit`]).
    pub fn uninit(bytes: &'a mut [MaybeUninit<u8>]) -> Self {
        Buf { bytes, len: 0 }
    }

    pub fn push(&mut self, data: &[u8]) {
        let end = self.len + data.len();
        if end <= self.bytes.len() {
            // SAFETY: `len..end` lies inside `bytes` (checked above) and `data` is another
            // object, so the ranges do not overlap.
            unsafe {
                ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.bytes.as_mut_ptr().add(self.len).cast::<u8>(),
                    data.len(),
                )
            };
        }
        self.len = end;
    }

    pub fn byte(&mut self, b: u8) {
        self.push(&[b]);
    }

    pub fn num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }

    /// `word` as a shell would read it back, for people: as it is when every byte is
    /// harmless, else in single quotes (a `'` inside becomes `'\''`). The same rule as the
    /// daemon's `quote::command_line`, so both show a command alike.
    pub fn shell_word(&mut self, word: &[u8]) {
        let plain = !word.is_empty()
            && word
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
        if plain {
            self.push(word);
            return;
        }
        self.byte(b'\'');
        for (i, part) in word.split(|&b| b == b'\'').enumerate() {
            if i > 0 {
                self.push(br"'\''");
            }
            self.push(part);
        }
        self.byte(b'\'');
    }

    /// Bytes needed so far, including what did not fit.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn overflowed(&self) -> bool {
        self.len > self.bytes.len()
    }

    /// The content, or `None` when it did not fit.
    pub fn bytes(&self) -> Option<&[u8]> {
        // SAFETY: without overflow, `push` wrote every byte of `..len`.
        (!self.overflowed()).then(|| unsafe { assume_init(&self.bytes[..self.len]) })
    }
}

/// Anonymous private memory, unmapped on drop.
pub struct Mapping {
    addr: *mut u8,
    len: usize,
}

impl Mapping {
    pub fn new(len: usize) -> Option<Self> {
        if len == 0 || len > MAX_MAPPED {
            return None;
        }
        syscall::map(len).map(|addr| Mapping { addr, len })
    }

    /// The mapping as storage for functions that write before they read (see [`uninit`]).
    pub fn as_uninit_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: the mapping is `len` writable bytes owned by `self` (zero-filled by the
        // kernel, so initialised too).
        unsafe { core::slice::from_raw_parts_mut(self.addr.cast(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `len` writable bytes owned by `self`.
        unsafe { core::slice::from_raw_parts_mut(self.addr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region mapped in `new`, which dies with `self`.
        unsafe { syscall::unmap(self.addr, self.len) };
    }
}

/// Runs `write` into a stack buffer of `N` bytes, or, if that overflowed, into a mapping of
/// the measured size, and hands the result to `consume`. `None` when it needs more than the
/// mapping limit or memory is short: the caller must then refuse, never truncate.
pub fn build<const N: usize, R>(
    write: impl Fn(&mut Buf),
    consume: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    let mut stack = uninit::<N>();
    let mut buf = Buf::uninit(&mut stack);
    write(&mut buf);
    if let Some(bytes) = buf.bytes() {
        return Some(consume(bytes));
    }
    let mut mapping = Mapping::new(buf.len())?;
    let mut buf = Buf::new(mapping.as_mut_slice());
    write(&mut buf);
    buf.bytes().map(consume)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_past_the_end_without_writing() {
        let mut storage = [0u8; 4];
        let mut buf = Buf::new(&mut storage);
        buf.push(b"abc");
        assert_eq!(buf.bytes(), Some(&b"abc"[..]));
        buf.push(b"de");
        assert!(buf.overflowed());
        assert_eq!(buf.len(), 5);
        assert_eq!(buf.bytes(), None);
    }

    #[test]
    fn numbers() {
        let mut storage = [0u8; 32];
        let mut buf = Buf::new(&mut storage);
        buf.num(0);
        buf.byte(b' ');
        buf.num(u64::MAX);
        assert_eq!(buf.bytes(), Some(&b"0 18446744073709551615"[..]));
    }

    #[test]
    fn shell_words_are_quoted_like_the_daemon_quotes_them() {
        let mut storage = [0u8; 128];
        let mut buf = Buf::new(&mut storage);
        for word in [
            &b"cat"[..],
            b"~/.ssh/id_rsa",
            b"it's",
            b"",
            b"a=b:c,d@e%f+g",
        ] {
            buf.shell_word(word);
            buf.byte(b' ');
        }
        assert_eq!(
            buf.bytes().unwrap(),
            br"cat '~/.ssh/id_rsa' 'it'\''s' '' a=b:c,d@e%f+g "
        );
    }

    #[test]
    fn build_falls_back_to_a_mapping() {
        let big = [b'x'; 5000];
        let len = build::<16, _>(|b| b.push(&big), |bytes| bytes.len());
        assert_eq!(len, Some(5000));
    }

    #[test]
    fn build_refuses_beyond_the_limit() {
        let out = build::<16, _>(|b| b.push(&[0; 17]), |_| ()).map(|_| 0);
        assert_eq!(out, Some(0));
        let huge = build::<16, _>(
            |b| {
                for _ in 0..(MAX_MAPPED / 4096 + 1) {
                    b.push(&[0; 4096]);
                }
            },
            |_| (),
        );
        assert!(huge.is_none());
    }
}
