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
        // Through the handle, execve is the library's own when it hooks it, else libc's.
        let hooked = libc::dlsym(handle, c"execve".as_ptr());
        let hooks =
            !hooked.is_null() && hooked != libc::dlsym(libc::RTLD_DEFAULT, c"execve".as_ptr());
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

/// `LD_PRELOAD` for the agent: warden's library first, entries already present kept.
pub fn preload_list(library: &Path) -> OsString {
    let mut list = OsString::from(library);
    if let Some(existing) = std::env::var_os("LD_PRELOAD") {
        for entry in existing
            .as_bytes()
            .split(|&b| b == b':' || b == b' ')
            .filter(|e| !e.is_empty() && *e != library.as_os_str().as_bytes())
        {
            list.push(":");
            list.push(OsStr::from_bytes(entry));
        }
    }
    list
}
