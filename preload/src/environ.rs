//! Staying loaded: what the library saw at load time, and the environment every program it
//! lets through gets.
//!
//! The constructor snapshots warden's own `LD_PRELOAD` entry and its `WARDEN_*` variables.
//! Every allowed exec or spawn then runs with an envp where warden's library is FIRST in
//! `LD_PRELOAD` (other entries kept) and the `WARDEN_*` variables are the snapshot's (forged
//! values replaced, removed ones re-added, ones absent at load removed), whatever the caller
//! did to its environment, plus `WARDEN_CHECKED` saying that this start was judged
//! (`checked.rs`). The envp is built on the stack (or in a mapping when huge).

use core::cell::UnsafeCell;
use core::ffi::c_char;
use core::mem::MaybeUninit;
use core::ptr;

use crate::buf::{self, Buf, Mapping};
use crate::checked;
use crate::sys::{self, pointers, value_of};

const LD_PRELOAD: &[u8] = b"LD_PRELOAD";
const SOCKET: &[u8] = b"WARDEN_SOCKET";
const DOOR: &[u8] = b"WARDEN_DOOR";
const SESSION: &[u8] = b"WARDEN_SESSION";
const FAIL: &[u8] = b"WARDEN_FAIL";
const HOME: &[u8] = b"WARDEN_HOME";

/// Room for one `NAME=value` entry kept from load time (with its NUL).
const ENTRY_MAX: usize = 512;

/// One `NAME=value\0` kept from load time. Its bytes stay uninitialised past the NUL: an
/// entry lives on the hook's stack too (`checked.rs`), where zeroing it would touch pages
/// for nothing.
#[derive(Clone, Copy)]
pub struct Entry {
    /// Initialised up to and including the NUL at `len` when set.
    bytes: [MaybeUninit<u8>; ENTRY_MAX],
    len: usize,
    name_len: usize,
}

impl Entry {
    pub const EMPTY: Entry = Entry {
        bytes: [MaybeUninit::uninit(); ENTRY_MAX],
        len: 0,
        name_len: 0,
    };

    /// Builds `name=<parts…>`; `None` when it would not fit.
    pub fn new(name: &[u8], parts: &[&[u8]]) -> Option<Entry> {
        let mut entry = Entry::EMPTY;
        entry.set(name, parts).then_some(entry)
    }

    /// Makes this entry `name=<parts…>` in place; false (and unset) when it would not fit.
    fn set(&mut self, name: &[u8], parts: &[&[u8]]) -> bool {
        self.len = 0;
        let mut buf = Buf::uninit(&mut self.bytes[..ENTRY_MAX - 1]);
        buf.push(name);
        buf.byte(b'=');
        for part in parts {
            buf.push(part);
        }
        let Some(len) = buf.bytes().map(<[u8]>::len) else {
            return false;
        };
        self.bytes[len].write(0);
        self.len = len;
        self.name_len = name.len();
        true
    }

    pub fn is_set(&self) -> bool {
        self.len > 0
    }

    pub fn value(&self) -> &[u8] {
        if self.is_set() {
            // SAFETY: `set` initialised everything up to `len`.
            unsafe { buf::assume_init(&self.bytes[self.name_len + 1..self.len]) }
        } else {
            &[]
        }
    }

    fn c_str(&self) -> *const c_char {
        self.bytes.as_ptr().cast()
    }
}

/// What a hook does while the daemon cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// Let the program run unchecked, saying so once per process.
    Open,
    /// Refuse the program (after a short wait for a restarting daemon).
    Closed,
}

/// What the library keeps from load time.
pub struct Snapshot {
    /// warden's own `LD_PRELOAD` entry (the library's path).
    pub library: Entry,
    pub socket: Entry,
    pub door: Entry,
    pub session: Entry,
    pub fail: Entry,
    /// Loaded through `LD_PRELOAD` (not `dlopen`) with warden's socket, door or session in the
    /// environment: this process runs under warden, so its own start must have been judged.
    pub guarded: bool,
}

impl Snapshot {
    const EMPTY: Snapshot = Snapshot {
        library: Entry::EMPTY,
        socket: Entry::EMPTY,
        door: Entry::EMPTY,
        session: Entry::EMPTY,
        fail: Entry::EMPTY,
        guarded: false,
    };

    /// Reads the load-time environment into this (empty) snapshot, in place: the snapshot is
    /// a few kilobytes that a copy would write twice. `library` is the path the dynamic
    /// loader reports for this library; the `LD_PRELOAD` entry naming the same file wins,
    /// since that is the spelling children must inherit.
    fn fill(&mut self, envp: *const *const c_char, library: &[u8]) {
        let get = |name: &[u8]| sys::lookup(envp, name).filter(|v| !v.is_empty());
        let preloaded = get(LD_PRELOAD).and_then(|list| {
            preload_entries(list)
                .find(|e| *e == library)
                .or_else(|| preload_entries(list).find(|e| same_file_name(e, library)))
        });
        let own_entry = preloaded.unwrap_or(library);
        let (socket, door, session) = (get(SOCKET), get(DOOR), get(SESSION));
        // The default location only when no explicit path is set (each lookup scans envp).
        let state_dir =
            |entry: &mut Entry, name: &[u8], file: &[u8], explicit: Option<&[u8]>| match explicit {
                Some(path) => entry.set(name, &[path]),
                None => match (get(HOME), get(b"HOME")) {
                    (Some(home), _) => entry.set(name, &[home, b"/", file]),
                    (None, Some(home)) => entry.set(name, &[home, b"/.warden/", file]),
                    (None, None) => entry.set(name, &[b"/.warden/", file]),
                },
            };
        self.library.set(LD_PRELOAD, &[own_entry]);
        state_dir(&mut self.socket, SOCKET, b"warden.sock", socket);
        state_dir(&mut self.door, DOOR, b"door.sock", door);
        // (A hook that ran before the constructor filled the snapshot once already.)
        let kept = |entry: &mut Entry, name: &[u8], value: Option<&[u8]>| match value {
            Some(value) => {
                entry.set(name, &[value]);
            }
            None => entry.len = 0,
        };
        kept(&mut self.session, SESSION, session);
        kept(&mut self.fail, FAIL, get(FAIL));
        self.guarded =
            preloaded.is_some() && (socket.is_some() || door.is_some() || session.is_some());
    }

    /// What a hook does when the daemon cannot be reached. Inside a session (the session
    /// variable was there at load) it refuses, unless the operator started the session with
    /// `warden preload --fail-open`; a library loaded outside any session lets programs run
    /// unless told `closed`. Any other value counts as unset.
    pub fn fail_mode(&self) -> FailMode {
        match self.fail.value() {
            b"open" => FailMode::Open,
            b"closed" => FailMode::Closed,
            _ if self.session.is_set() => FailMode::Closed,
            _ => FailMode::Open,
        }
    }

    /// warden's variables with the entries a child gets: the load-time ones and `checked`.
    fn warden_vars<'a>(&'a self, checked: &'a Entry) -> [(&'static [u8], &'a Entry); 5] {
        [
            (SOCKET, &self.socket),
            (DOOR, &self.door),
            (SESSION, &self.session),
            (FAIL, &self.fail),
            (checked::NAME, checked),
        ]
    }

    /// True when `envp` already is what a child must get, so it can be passed unchanged:
    /// warden's library first in the only `LD_PRELOAD`, and each `WARDEN_*` variable present
    /// exactly once with its load-time value (or absent, as at load time), and `checked`.
    fn is_restored(&self, envp: *const *const c_char, checked: &Entry) -> bool {
        let library = self.library.value();
        let mut preload_seen = 0;
        let mut vars_seen = [0usize; 5];
        // SAFETY: envp comes from the hooked call (or `environ`).
        for entry in unsafe { pointers(envp) } {
            // SAFETY: entries of envp are C strings.
            if let Some(list) = unsafe { value_of(entry, LD_PRELOAD) } {
                preload_seen += 1;
                if library.is_empty() || preload_entries(list).next() != Some(library) {
                    return false;
                }
            }
            for ((name, var), seen) in self.warden_vars(checked).into_iter().zip(&mut vars_seen) {
                // SAFETY: as above.
                if let Some(value) = unsafe { value_of(entry, name) } {
                    *seen += 1;
                    if !var.is_set() || value != var.value() {
                        return false;
                    }
                }
            }
        }
        preload_seen == usize::from(self.library.is_set())
            && self
                .warden_vars(checked)
                .iter()
                .zip(vars_seen)
                .all(|((_, var), seen)| seen == usize::from(var.is_set()))
    }

    /// Runs `run` with the environment a program must get, derived from `envp`, with
    /// `checked` (its `WARDEN_CHECKED` entry, see `checked.rs`). `None` when memory for a
    /// huge environment could not be had (the caller fails with ENOMEM).
    pub fn with_restored<R>(
        &self,
        envp: *const *const c_char,
        checked: &Entry,
        run: impl FnOnce(*const *const c_char) -> R,
    ) -> Option<R> {
        if self.is_restored(envp, checked) {
            return Some(run(envp));
        }
        buf::build::<1024, _>(
            |b| self.write_preload(b, envp),
            |preload| self.with_entries(envp, preload, checked, run),
        )?
    }

    /// `LD_PRELOAD=<warden>:<other entries of envp's LD_PRELOAD>\0`, or just `\0` when the
    /// library's own path is unknown (then envp's LD_PRELOAD is kept as it is).
    fn write_preload(&self, buf: &mut Buf, envp: *const *const c_char) {
        let library = self.library.value();
        if !library.is_empty() {
            buf.push(LD_PRELOAD);
            buf.byte(b'=');
            buf.push(library);
            // SAFETY: envp comes from the hooked call; its entries are C strings.
            for list in unsafe { pointers(envp).filter_map(|e| value_of(e, LD_PRELOAD)) } {
                for other in preload_entries(list).filter(|e| *e != library) {
                    buf.byte(b':');
                    buf.push(other);
                }
            }
        }
        buf.byte(0);
    }

    fn with_entries<R>(
        &self,
        envp: *const *const c_char,
        preload: &[u8],
        checked: &Entry,
        run: impl FnOnce(*const *const c_char) -> R,
    ) -> Option<R> {
        const STACK_ENTRIES: usize = 256;
        // SAFETY: envp comes from the hooked call.
        let count = unsafe { pointers(envp) }.count() + 7;
        // Uninitialised: only the slots written below (up to the final null) are read.
        let mut stack = [MaybeUninit::<*const c_char>::uninit(); STACK_ENTRIES];
        let mut mapping;
        let slots: &mut [MaybeUninit<*const c_char>] = if count <= STACK_ENTRIES {
            &mut stack
        } else {
            // Only for environments of hundreds of variables. (In a vfork child whose exec
            // succeeds, this mapping stays behind in the parent, unused.)
            mapping = Mapping::new(count * core::mem::size_of::<*const c_char>())?;
            let bytes = mapping.as_mut_slice();
            // SAFETY: the mapping is page-aligned and `count` pointers long.
            unsafe { core::slice::from_raw_parts_mut(bytes.as_mut_ptr().cast(), count) }
        };
        let mut n = 0;
        let mut put = |p: *const c_char| {
            slots[n].write(p);
            n += 1;
        };
        let own_preload = preload.len() > 1;
        if own_preload {
            put(preload.as_ptr().cast());
        }
        let vars = self.warden_vars(checked);
        for (_, var) in vars.iter().filter(|(_, v)| v.is_set()) {
            put(var.c_str());
        }
        // SAFETY: envp comes from the hooked call; its entries are C strings that stay valid
        // during `run`.
        for entry in unsafe { pointers(envp) } {
            // SAFETY: `entry` is one of those C strings.
            let replaced = unsafe {
                vars.iter().any(|(name, _)| value_of(entry, name).is_some())
                    || (own_preload && value_of(entry, LD_PRELOAD).is_some())
            };
            if !replaced {
                put(entry);
            }
        }
        put(ptr::null());
        // The array handed on ends at the null just written; nothing reads past it.
        Some(run(slots.as_ptr().cast()))
    }
}

/// Whether two paths name files of the same name (ld.so may report a preloaded library
/// under another spelling of its directory than `LD_PRELOAD` has).
fn same_file_name(a: &[u8], b: &[u8]) -> bool {
    fn file_name(path: &[u8]) -> &[u8] {
        path.rsplit(|&c| c == b'/').next().unwrap_or(path)
    }
    !file_name(a).is_empty() && file_name(a) == file_name(b)
}

/// The entries of an `LD_PRELOAD` list (separated by colons or spaces, as ld.so reads it).
fn preload_entries(list: &[u8]) -> impl Iterator<Item = &[u8]> {
    list.split(|&b| b == b':' || b == b' ')
        .filter(|e| !e.is_empty())
}

/// The snapshot, written once by the constructor before any hook can run in this process
/// and read-only afterwards.
pub struct Global(UnsafeCell<Snapshot>);

// SAFETY: written only by the constructor (single-threaded, before main) and read afterwards.
unsafe impl Sync for Global {}

pub static SNAPSHOT: Global = Global(UnsafeCell::new(Snapshot::EMPTY));

impl Global {
    pub fn get(&self) -> &Snapshot {
        // SAFETY: see the Sync impl: no writes happen once hooks can run.
        unsafe { &*self.0.get() }
    }

    /// Reads the load-time environment `envp` (see [`Snapshot::fill`]).
    ///
    /// # Safety
    /// Only from the library constructor, once, before other threads exist.
    pub unsafe fn fill(&self, envp: *const *const c_char, library: &[u8]) {
        // SAFETY: the caller's contract: nothing else reads or writes the snapshot now.
        unsafe { (*self.0.get()).fill(envp, library) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::strings;
    use std::ffi::{CStr, CString};

    fn take(envp: *const *const c_char, library: &[u8]) -> Snapshot {
        let mut snapshot = Snapshot::EMPTY;
        snapshot.fill(envp, library);
        snapshot
    }

    fn checked(value: &str) -> Entry {
        Entry::new(checked::NAME, &[value.as_bytes()]).unwrap()
    }

    fn array(items: &[&str]) -> (Vec<CString>, Vec<*const c_char>) {
        let owned: Vec<CString> = items.iter().map(|s| CString::new(*s).unwrap()).collect();
        let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        ptrs.push(ptr::null());
        (owned, ptrs)
    }

    fn collect(envp: *const *const c_char) -> Vec<String> {
        unsafe { strings(envp) }
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    fn snapshot() -> Snapshot {
        let (_o, load) = array(&[
            "HOME=/home/u",
            "LD_PRELOAD=/opt/other.so /lib/warden/libwarden.so",
            "WARDEN_SESSION=s1",
            "PATH=/bin",
        ]);
        take(load.as_ptr(), b"/lib/warden/libwarden.so")
    }

    #[test]
    fn snapshot_reads_load_time_values() {
        let snap = snapshot();
        assert_eq!(snap.library.value(), b"/lib/warden/libwarden.so");
        assert_eq!(snap.socket.value(), b"/home/u/.warden/warden.sock");
        assert_eq!(snap.door.value(), b"/home/u/.warden/door.sock");
        assert_eq!(snap.session.value(), b"s1");
        assert!(!snap.fail.is_set());
        assert_eq!(snap.fail_mode(), FailMode::Closed, "inside a session");
        let entry = unsafe { CStr::from_ptr(snap.session.c_str()) };
        assert_eq!(entry.to_bytes(), b"WARDEN_SESSION=s1");
        assert!(snap.guarded);
    }

    #[test]
    fn guarded_needs_the_preload_and_a_warden_variable() {
        let lib = b"/lib/warden/libwarden.so";
        let guarded = |env: &[&str]| take(array(env).1.as_ptr(), lib).guarded;
        assert!(guarded(&[
            "LD_PRELOAD=/lib/warden/libwarden.so",
            "WARDEN_SOCKET=/s"
        ]));
        assert!(guarded(&[
            "LD_PRELOAD=/usr/lib//libwarden.so",
            "WARDEN_DOOR=/d"
        ]));
        assert!(!guarded(&[
            "LD_PRELOAD=/lib/warden/libwarden.so",
            "WARDEN_HOME=/h"
        ]));
        assert!(!guarded(&["LD_PRELOAD=/other.so", "WARDEN_SESSION=s"]));
        assert!(!guarded(&["WARDEN_SESSION=s"]));
    }

    #[test]
    fn sessions_fail_closed_unless_the_operator_chose_open() {
        let lib = b"/lib/warden/libwarden.so";
        let mode = |env: &[&str]| take(array(env).1.as_ptr(), lib).fail_mode();
        let preload = "LD_PRELOAD=/lib/warden/libwarden.so";
        assert_eq!(mode(&[preload, "WARDEN_SESSION=s"]), FailMode::Closed);
        assert_eq!(
            mode(&[preload, "WARDEN_SESSION=s", "WARDEN_FAIL=x"]),
            FailMode::Closed
        );
        assert_eq!(
            mode(&[preload, "WARDEN_SESSION=s", "WARDEN_FAIL=open"]),
            FailMode::Open
        );
        // Outside any session (the library loaded by hand): open unless told otherwise.
        assert_eq!(mode(&[preload, "WARDEN_SOCKET=/s"]), FailMode::Open);
        assert_eq!(mode(&[preload, "WARDEN_FAIL=closed"]), FailMode::Closed);
    }

    #[test]
    fn scrubbed_environment_gets_warden_back() {
        let snap = snapshot();
        let (_o, envp) = array(&["A=1"]);
        let out = snap
            .with_restored(envp.as_ptr(), &checked("e7.0.1"), collect)
            .unwrap();
        assert_eq!(
            out,
            vec![
                "LD_PRELOAD=/lib/warden/libwarden.so".to_string(),
                "WARDEN_SOCKET=/home/u/.warden/warden.sock".into(),
                "WARDEN_DOOR=/home/u/.warden/door.sock".into(),
                "WARDEN_SESSION=s1".into(),
                "WARDEN_CHECKED=e7.0.1".into(),
                "A=1".into(),
            ]
        );
        let empty = snap
            .with_restored(ptr::null(), &checked("s7.0.1"), collect)
            .unwrap();
        assert_eq!(empty.len(), 5);
        assert_eq!(empty[4], "WARDEN_CHECKED=s7.0.1");
    }

    #[test]
    fn forged_values_are_replaced_and_order_fixed() {
        let snap = snapshot();
        let (_o, envp) = array(&[
            "LD_PRELOAD=/x/evil.so:/lib/warden/libwarden.so",
            "WARDEN_SESSION=forged",
            "WARDEN_FAIL=open",
            "WARDEN_SOCKET=/tmp/fake.sock",
            "WARDEN_CHECKED=e1",
            "B=2",
        ]);
        let out = snap
            .with_restored(envp.as_ptr(), &checked("e7.0.1"), collect)
            .unwrap();
        assert_eq!(out[0], "LD_PRELOAD=/lib/warden/libwarden.so:/x/evil.so");
        assert!(out.contains(&"WARDEN_SESSION=s1".to_string()));
        assert!(out.contains(&"WARDEN_SOCKET=/home/u/.warden/warden.sock".to_string()));
        assert!(!out.iter().any(|e| e.starts_with("WARDEN_FAIL=")));
        let checked: Vec<_> = out
            .iter()
            .filter(|e| e.starts_with("WARDEN_CHECKED="))
            .collect();
        assert_eq!(checked, ["WARDEN_CHECKED=e7.0.1"]);
        assert!(!out
            .iter()
            .any(|e| e.contains("forged") || e.contains("fake")));
        assert_eq!(out.last().unwrap(), "B=2");
    }

    #[test]
    fn a_correct_environment_passes_unchanged() {
        let snap = snapshot();
        let (_o, envp) = array(&[
            "WARDEN_CHECKED=s7.0.1",
            "X=1",
            "LD_PRELOAD=/lib/warden/libwarden.so:/opt/other.so",
            "WARDEN_SOCKET=/home/u/.warden/warden.sock",
            "WARDEN_DOOR=/home/u/.warden/door.sock",
            "WARDEN_SESSION=s1",
        ]);
        let passed = snap
            .with_restored(envp.as_ptr(), &checked("s7.0.1"), |p| p)
            .unwrap();
        assert_eq!(passed, envp.as_ptr());
        let other = snap
            .with_restored(envp.as_ptr(), &checked("e7.0.1"), |p| p)
            .unwrap();
        assert_ne!(other, envp.as_ptr(), "another proof is put in");
    }

    #[test]
    fn huge_environments_use_a_mapping() {
        let snap = snapshot();
        let items: Vec<String> = (0..5000).map(|i| format!("V{i}=x")).collect();
        let refs: Vec<&str> = items.iter().map(String::as_str).collect();
        let (_o, envp) = array(&refs);
        let out = snap
            .with_restored(envp.as_ptr(), &checked("e7.0.1"), collect)
            .unwrap();
        assert_eq!(out.len(), 5005);
        assert_eq!(out[5], "V0=x");
    }

    #[test]
    fn explicit_state_dirs() {
        let (_o, load) = array(&[
            "WARDEN_HOME=/w",
            "WARDEN_DOOR=/d/door",
            "WARDEN_FAIL=closed",
        ]);
        let snap = take(load.as_ptr(), b"/l/libwarden.so");
        assert_eq!(snap.socket.value(), b"/w/warden.sock");
        assert_eq!(snap.door.value(), b"/d/door");
        assert_eq!(snap.fail_mode(), FailMode::Closed);
        assert_eq!(snap.library.value(), b"/l/libwarden.so");
        assert!(!snap.guarded, "not loaded through LD_PRELOAD");
    }
}
