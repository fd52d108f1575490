//! Finding `libwarden.so` and making sure it is warden's and loads here.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::paths;

/// `libwarden.so`, searched like `warden setup` does: `$WARDEN_LIB`, next to an installed
/// binary (`<prefix>/lib/warden/`), `~/.local/lib/warden/`, or beside the running binary.
pub fn find() -> anyhow::Result<PathBuf> {
    let explicit = std::env::var_os(paths::env::LIB).filter(|v| !v.is_empty());
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty());
    let exe = std::env::current_exe().ok();
    let search = warden_wrapper_installer::LibrarySearch {
        explicit: explicit.as_deref().map(Path::new),
        exe: exe.as_deref(),
        home: home.as_deref().map(Path::new),
    };
    Ok(warden_wrapper_installer::find_library(&search)?)
}

/// Loads the library once here, because the dynamic loader only warns (and runs the agent
/// unguarded) when a preload entry cannot be loaded.
pub fn check_loadable(library: &Path) -> anyhow::Result<()> {
    let c_path = CString::new(library.as_os_str().as_bytes())
        .with_context(|| format!("invalid library path {}", library.display()))?;
    // SAFETY: dlopen/dlsym/dlerror with valid C strings; the handle is closed below.
    unsafe {
        let handle = libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            let reason = std::ffi::CStr::from_ptr(libc::dlerror()).to_string_lossy();
            bail!("cannot load {}: {reason}", library.display());
        }
        let hooks = hooks_execve(handle);
        libc::dlclose(handle);
        if !hooks {
            bail!(
                "{} is not warden's preload library (it has no execve hook)",
                library.display()
            );
        }
    }
    Ok(())
}

/// Whether warden's library is loaded in this process (an `LD_PRELOAD` entry named
/// `libwarden.so` that is loaded here and hooks `execve`).
pub fn loaded_here() -> bool {
    let Some(list) = std::env::var_os("LD_PRELOAD") else {
        return false;
    };
    let loaded = preload_entries(&list)
        .filter(|entry| {
            Path::new(entry).file_name()
                == Some(OsStr::new(warden_wrapper_installer::library::LIBRARY_FILE))
        })
        .any(|entry| {
            let Ok(c_path) = CString::new(entry.as_bytes()) else {
                return false;
            };
            // SAFETY: dlopen/dlsym with valid C strings; RTLD_NOLOAD only finds a library
            // that is loaded already, and the handle is closed below.
            unsafe {
                let handle = libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
                if handle.is_null() {
                    return false;
                }
                let hooks = hooks_execve(handle);
                libc::dlclose(handle);
                hooks
            }
        });
    loaded
}

/// Whether the library behind `handle` has its own `execve`: through the handle, `execve`
/// is the library's when it hooks it, else libc's.
///
/// # Safety
/// `handle` is a live handle from `dlopen`.
unsafe fn hooks_execve(handle: *mut libc::c_void) -> bool {
    let hooked = libc::dlsym(handle, c"execve".as_ptr());
    // libc's own, asked of libc itself: with the library preloaded, the default scope
    // would find the library's first.
    let libc_handle = libc::dlopen(c"libc.so.6".as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
    let own = if libc_handle.is_null() {
        libc::dlsym(libc::RTLD_DEFAULT, c"execve".as_ptr())
    } else {
        let own = libc::dlsym(libc_handle, c"execve".as_ptr());
        libc::dlclose(libc_handle);
        own
    };
    !hooked.is_null() && hooked != own
}

/// The entries of an `LD_PRELOAD` value (separated by colons or spaces).
fn preload_entries(list: &OsStr) -> impl Iterator<Item = &OsStr> {
    list.as_bytes()
        .split(|&b| b == b':' || b == b' ')
        .filter(|e| !e.is_empty())
        .map(OsStr::from_bytes)
}

/// `LD_PRELOAD` for the agent: warden's library first, entries already present kept.
pub fn preload_list(library: &Path) -> OsString {
    let mut list = OsString::from(library);
    if let Some(existing) = std::env::var_os("LD_PRELOAD") {
        for entry in preload_entries(&existing).filter(|e| *e != library.as_os_str()) {
            list.push(":");
            list.push(entry);
        }
    }
    list
}
