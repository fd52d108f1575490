//! The three things `warden setup` does: install a wrapper, remove it, list agents.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::agents::{Agent, AGENTS};
use crate::atomic::write_executable;
use crate::error::SetupError;
use crate::library::{check_loadable, find_library, LibrarySearch};
use crate::search::{
    canonical, find_real, first_on_path, is_executable_file, path_dirs, path_order, PathOrder,
};
use crate::wrapper::{file_marker, marker_agent, parse, read_wrapper, render, FailMode};

/// The environment `warden setup` runs in, read by the caller.
#[derive(Debug, Clone)]
pub struct Context {
    /// `$PATH`.
    pub path_var: OsString,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// The absolute path of the running `warden` binary, which the wrapper will run.
    pub warden_exe: PathBuf,
    /// `$WARDEN_LIB`.
    pub warden_lib: Option<PathBuf>,
}

/// `~/.local/bin`: on `PATH` in most distributions' default profiles.
pub fn default_bin_dir(home: Option<&Path>) -> Result<PathBuf, SetupError> {
    home.map(|h| h.join(".local/bin")).ok_or(SetupError::NoHome)
}

#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Absolute directory that receives the wrapper.
    pub bin_dir: PathBuf,
    /// Replace a file that is not warden's, keeping a backup.
    pub force: bool,
    /// Check everything and render the wrapper, but change nothing.
    pub dry_run: bool,
    /// The agent's `*_REAL` variable: the real executable, bypassing the `PATH` search.
    pub real_override: Option<PathBuf>,
    /// What the wrapped agent's sessions do while the daemon cannot be reached.
    pub fail: FailMode,
}

/// What installing did (or, in a dry run, would do) to the wrapper path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Created,
    /// The same wrapper was already there.
    Unchanged,
    /// An older warden wrapper was replaced; it had recorded `previous_real`.
    Updated {
        previous_real: Option<PathBuf>,
    },
    /// A foreign file was replaced (`--force`) and kept at `backup`.
    ReplacedForeign {
        backup: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct InstallReport {
    pub wrapper: PathBuf,
    pub real: PathBuf,
    pub library: PathBuf,
    pub text: Vec<u8>,
    pub change: Change,
    pub path_order: PathOrder,
}

/// Installs (or with `dry_run`, plans) the wrapper for `agent`. Every check runs before
/// anything is written, so a refusal leaves the file system as it was.
pub fn install(
    agent: &Agent,
    ctx: &Context,
    opts: &InstallOptions,
) -> Result<InstallReport, SetupError> {
    let bin_dir = absolute_bin_dir(&opts.bin_dir)?;
    let wrapper = bin_dir.join(agent.program);
    let dirs = path_dirs(&ctx.path_var);
    let real = locate_real(agent, &dirs, bin_dir, opts.real_override.as_deref())?;
    let library = find_library(&LibrarySearch {
        explicit: ctx.warden_lib.as_deref(),
        exe: Some(&ctx.warden_exe),
        home: ctx.home.as_deref(),
    })?;
    check_loadable(&library)?;

    let text = render(agent, &ctx.warden_exe, &real, opts.fail);
    let backup = backup_path(&wrapper);
    let change = match Existing::at(&wrapper)? {
        Existing::Missing => Change::Created,
        Existing::Ours(old) if old == text => Change::Unchanged,
        Existing::Ours(old) => Change::Updated {
            previous_real: parse(&old, agent).map(|recorded| recorded.real),
        },
        Existing::Foreign if !opts.force => {
            return Err(SetupError::ForeignFile {
                path: wrapper,
                backup,
            })
        }
        Existing::Foreign if exists(&backup) => return Err(SetupError::BackupExists(backup)),
        Existing::Foreign => Change::ReplacedForeign { backup },
    };
    if !opts.dry_run {
        std::fs::create_dir_all(bin_dir).map_err(SetupError::io("create", bin_dir))?;
        write_wrapper(&wrapper, &text, &change)?;
    }
    Ok(InstallReport {
        path_order: path_order(agent.program, &dirs, bin_dir),
        wrapper,
        real,
        library,
        text,
        change,
    })
}

fn absolute_bin_dir(bin_dir: &Path) -> Result<&Path, SetupError> {
    if bin_dir.is_absolute() {
        Ok(bin_dir)
    } else {
        Err(SetupError::RelativeBinDir(bin_dir.to_path_buf()))
    }
}

/// The real agent executable: the override when given, else the first on `PATH` that is
/// neither in the wrapper's directory nor a warden wrapper.
fn locate_real(
    agent: &Agent,
    dirs: &[PathBuf],
    bin_dir: &Path,
    real_override: Option<&Path>,
) -> Result<PathBuf, SetupError> {
    let bad_override = |path: &Path, problem| SetupError::BadOverride {
        env: agent.real_override_env,
        path: path.to_path_buf(),
        problem,
    };
    let real = match real_override {
        Some(path) if !path.is_absolute() => {
            return Err(bad_override(path, "not an absolute path"))
        }
        Some(path) => path.to_path_buf(),
        None => find_real(agent.program, dirs, bin_dir).ok_or(SetupError::AgentNotFound {
            program: agent.program,
            env: agent.real_override_env,
            wrapper_dir: bin_dir.to_path_buf(),
        })?,
    };
    if reaches(&real, &bin_dir.join(agent.program)) {
        return Err(SetupError::PointsAtItself {
            real,
            env: agent.real_override_env,
            program: agent.program,
        });
    }
    if !is_executable_file(&real) {
        return Err(bad_override(&real, "not an executable file"));
    }
    if file_marker(&real).is_some() {
        return Err(bad_override(
            &real,
            "a warden wrapper, not the real program",
        ));
    }
    Ok(real)
}

/// Whether `path`, or any link in its chain of symlinks, is the file at `location`. The file
/// at `location` itself is about to be replaced, so its own symlink (if any) does not count.
fn reaches(path: &Path, location: &Path) -> bool {
    // The kernel's own limit on symlink chains (MAXSYMLINKS).
    const MAX_HOPS: usize = 40;
    let location = canonical_parent(location);
    let mut current = path.to_path_buf();
    for _ in 0..MAX_HOPS {
        current = canonical_parent(&current);
        if current == location {
            return true;
        }
        match std::fs::read_link(&current) {
            // A relative target is relative to the link's directory; join keeps an absolute one.
            Ok(target) => current = current.parent().unwrap_or(Path::new("/")).join(target),
            Err(_) => return false,
        }
    }
    false
}

/// `path` with its directory canonicalised and its last component kept as it is.
fn canonical_parent(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => canonical(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// What sits at the wrapper path now.
enum Existing {
    Missing,
    /// A warden wrapper, with its text.
    Ours(Vec<u8>),
    Foreign,
}

impl Existing {
    fn at(path: &Path) -> Result<Existing, SetupError> {
        match std::fs::symlink_metadata(path) {
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Existing::Missing),
            Err(err) => return Err(SetupError::io("inspect", path)(err)),
            Ok(_) => {}
        }
        if path.is_dir() {
            return Err(SetupError::NotAFile(path.to_path_buf()));
        }
        // A dangling symlink or unreadable file cannot be shown to be ours.
        Ok(match read_wrapper(path) {
            Ok(text) if marker_agent(&text).is_some() => Existing::Ours(text),
            _ => Existing::Foreign,
        })
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Where `--force` keeps the file it replaces.
pub fn backup_path(wrapper: &Path) -> PathBuf {
    let name = wrapper.file_name().unwrap_or_default().to_string_lossy();
    wrapper.with_file_name(format!("{name}.warden-backup"))
}

/// Puts `text` at `wrapper`; a foreign file is first kept at its backup path. A hard link
/// keeps the original in place until the atomic rename, so `codex` never goes missing.
fn write_wrapper(wrapper: &Path, text: &[u8], change: &Change) -> Result<(), SetupError> {
    let Change::ReplacedForeign { backup } = change else {
        return write_executable(wrapper, text);
    };
    let linked = std::fs::hard_link(wrapper, backup).is_ok();
    if !linked {
        std::fs::rename(wrapper, backup).map_err(SetupError::io("back up", wrapper))?;
    }
    let written = write_executable(wrapper, text);
    if written.is_err() {
        let _ = if linked {
            std::fs::remove_file(backup)
        } else {
            std::fs::rename(backup, wrapper)
        };
    }
    written
}

#[derive(Debug, Clone)]
pub struct RemoveReport {
    pub wrapper: PathBuf,
    /// False when there was no wrapper to remove.
    pub removed: bool,
    /// The backup put back in the wrapper's place.
    pub restored: Option<PathBuf>,
    /// What a plain agent command runs now.
    pub now_first: Option<PathBuf>,
}

/// Removes `agent`'s wrapper from `bin_dir` (only a file with warden's marker), restoring
/// the backup a `--force` install kept.
pub fn remove(agent: &Agent, ctx: &Context, bin_dir: &Path) -> Result<RemoveReport, SetupError> {
    let bin_dir = absolute_bin_dir(bin_dir)?;
    let wrapper = bin_dir.join(agent.program);
    let backup = backup_path(&wrapper);
    let (removed, restored) = match Existing::at(&wrapper)? {
        Existing::Missing => (false, None),
        Existing::Foreign => return Err(SetupError::NotOurs(wrapper)),
        Existing::Ours(_) if exists(&backup) => {
            std::fs::rename(&backup, &wrapper).map_err(SetupError::io("restore", &backup))?;
            (true, Some(backup))
        }
        Existing::Ours(_) => {
            std::fs::remove_file(&wrapper).map_err(SetupError::io("remove", &wrapper))?;
            (true, None)
        }
    };
    Ok(RemoveReport {
        now_first: first_on_path(agent.program, &path_dirs(&ctx.path_var)),
        wrapper,
        removed,
        restored,
    })
}

/// The wrapper path's state, as `--list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrapperState {
    Absent,
    /// A warden wrapper that runs `real` (`None` when it cannot be read back).
    Wrapped {
        real: Option<PathBuf>,
    },
    Foreign,
}

#[derive(Debug, Clone)]
pub struct AgentStatus {
    pub agent: &'static Agent,
    /// The real executable found on `PATH`.
    pub installed: Option<PathBuf>,
    pub wrapper_path: PathBuf,
    pub wrapper: WrapperState,
    pub path_order: PathOrder,
}

/// Every supported agent: found on `PATH`? wrapped in `bin_dir`?
pub fn list(ctx: &Context, bin_dir: &Path) -> Result<Vec<AgentStatus>, SetupError> {
    let bin_dir = absolute_bin_dir(bin_dir)?;
    let dirs = path_dirs(&ctx.path_var);
    AGENTS
        .iter()
        .map(|agent| {
            let wrapper_path = bin_dir.join(agent.program);
            let wrapper = match Existing::at(&wrapper_path)? {
                Existing::Missing => WrapperState::Absent,
                Existing::Foreign => WrapperState::Foreign,
                Existing::Ours(text) => WrapperState::Wrapped {
                    real: parse(&text, agent).map(|recorded| recorded.real),
                },
            };
            Ok(AgentStatus {
                agent,
                installed: find_real(agent.program, &dirs, bin_dir),
                wrapper_path,
                wrapper,
                path_order: path_order(agent.program, &dirs, bin_dir),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::by_name;
    use crate::library::LibraryError;
    use crate::test_support::{build_shared_object, write_executable, Scratch};

    /// A home with `~/.local/bin` first on PATH, a real codex in `usr/bin` and a loadable
    /// library passed as `WARDEN_LIB`.
    struct Fixture {
        s: Scratch,
        ctx: Context,
        bin: PathBuf,
        usr: PathBuf,
    }

    impl Fixture {
        fn new(tag: &str) -> Fixture {
            let s = Scratch::new(tag);
            let home = s.dir("home");
            let bin = home.join(".local/bin");
            let usr = s.dir("usr/bin");
            write_executable(&usr.join("codex"), "#!/bin/sh\n");
            let lib = build_shared_object(&s.dir("lib"));
            let path_var = std::env::join_paths([&bin, &usr]).unwrap();
            let ctx = Context {
                path_var,
                home: Some(home),
                warden_exe: PathBuf::from("/opt/warden/bin/warden"),
                warden_lib: Some(lib),
            };
            Fixture { s, ctx, bin, usr }
        }

        fn options(&self) -> InstallOptions {
            InstallOptions {
                bin_dir: self.bin.clone(),
                force: false,
                dry_run: false,
                real_override: None,
                fail: FailMode::Closed,
            }
        }

        fn install(&self, opts: &InstallOptions) -> Result<InstallReport, SetupError> {
            install(codex(), &self.ctx, opts)
        }

        fn wrapper(&self) -> PathBuf {
            self.bin.join("codex")
        }
    }

    fn codex() -> &'static Agent {
        by_name("codex").unwrap()
    }

    #[test]
    fn install_is_idempotent_and_follows_a_moved_codex() {
        let f = Fixture::new("ops-install");
        let first = f.install(&f.options()).unwrap();
        assert_eq!(first.change, Change::Created);
        assert_eq!(first.real, f.usr.join("codex"));
        assert_eq!(first.path_order, PathOrder::WrapperFirst);
        assert_eq!(std::fs::read(f.wrapper()).unwrap(), first.text);

        assert_eq!(f.install(&f.options()).unwrap().change, Change::Unchanged);

        let moved = f.s.dir("opt/codex/bin");
        std::fs::rename(f.usr.join("codex"), moved.join("codex")).unwrap();
        let mut ctx = f.ctx.clone();
        ctx.path_var = std::env::join_paths([&f.bin, &moved]).unwrap();
        let again = install(codex(), &ctx, &f.options()).unwrap();
        assert_eq!(
            again.change,
            Change::Updated {
                previous_real: Some(f.usr.join("codex"))
            }
        );
        assert_eq!(again.real, moved.join("codex"));
    }

    #[test]
    fn refusals_change_nothing() {
        let f = Fixture::new("ops-refuse");
        let mut ctx = f.ctx.clone();
        ctx.warden_lib = Some(f.s.0.join("missing/libwarden.so"));
        let err = install(codex(), &ctx, &f.options()).unwrap_err();
        assert!(matches!(
            err,
            SetupError::Library(LibraryError::ExplicitMissing(_))
        ));

        ctx = f.ctx.clone();
        ctx.path_var = f.bin.clone().into_os_string();
        let err = install(codex(), &ctx, &f.options()).unwrap_err();
        assert!(err.to_string().contains("set CODEX_REAL="), "{err}");

        let mut opts = f.options();
        opts.real_override = Some(f.wrapper());
        let err = f.install(&opts).unwrap_err();
        assert!(matches!(err, SetupError::PointsAtItself { .. }), "{err}");

        opts.real_override = Some(PathBuf::from("relative/codex"));
        assert!(matches!(
            f.install(&opts),
            Err(SetupError::BadOverride { .. })
        ));
        assert!(!f.bin.exists());
    }

    #[test]
    fn foreign_file_needs_force_which_keeps_a_backup_that_remove_restores() {
        let f = Fixture::new("ops-force");
        write_executable(&f.wrapper(), "#!/bin/sh\necho mine\n");
        let err = f.install(&f.options()).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(
            std::fs::read_to_string(f.wrapper()).unwrap(),
            "#!/bin/sh\necho mine\n"
        );

        let mut opts = f.options();
        opts.force = true;
        let report = f.install(&opts).unwrap();
        let backup = f.bin.join("codex.warden-backup");
        assert_eq!(
            report.change,
            Change::ReplacedForeign {
                backup: backup.clone()
            }
        );
        assert_eq!(
            std::fs::read_to_string(&backup).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert!(file_marker(&f.wrapper()).is_some());

        let removed = remove(codex(), &f.ctx, &f.bin).unwrap();
        assert_eq!(removed.restored, Some(backup.clone()));
        assert_eq!(
            std::fs::read_to_string(f.wrapper()).unwrap(),
            "#!/bin/sh\necho mine\n"
        );
        assert!(!backup.exists());
        assert_eq!(removed.now_first, Some(f.wrapper()));

        let err = remove(codex(), &f.ctx, &f.bin).unwrap_err();
        assert!(matches!(err, SetupError::NotOurs(_)), "{err}");
    }

    /// A common setup: `~/.local/bin/codex` is a symlink to the npm-installed codex.
    #[test]
    fn a_foreign_symlink_is_backed_up_as_the_symlink_itself() {
        let f = Fixture::new("ops-symlink");
        std::fs::create_dir_all(&f.bin).unwrap();
        std::os::unix::fs::symlink(f.usr.join("codex"), f.wrapper()).unwrap();
        let mut opts = f.options();
        opts.force = true;
        f.install(&opts).unwrap();
        let backup = f.bin.join("codex.warden-backup");
        assert_eq!(std::fs::read_link(&backup).unwrap(), f.usr.join("codex"));
        assert!(!f.wrapper().is_symlink());

        remove(codex(), &f.ctx, &f.bin).unwrap();
        assert_eq!(
            std::fs::read_link(f.wrapper()).unwrap(),
            f.usr.join("codex")
        );
    }

    #[test]
    fn a_real_codex_that_links_to_the_wrapper_path_is_refused() {
        let f = Fixture::new("ops-loop");
        std::fs::create_dir_all(&f.bin).unwrap();
        // codex-link -> ~/.local/bin/codex -> usr/bin/codex: after install it would loop.
        std::os::unix::fs::symlink(f.usr.join("codex"), f.wrapper()).unwrap();
        let link = f.s.0.join("codex-link");
        std::os::unix::fs::symlink(f.wrapper(), &link).unwrap();
        let mut opts = f.options();
        opts.force = true;
        opts.real_override = Some(link);
        let err = f.install(&opts).unwrap_err();
        assert!(matches!(err, SetupError::PointsAtItself { .. }), "{err}");
        assert!(f.wrapper().is_symlink());
    }

    #[test]
    fn force_refuses_to_overwrite_an_existing_backup() {
        let f = Fixture::new("ops-backup");
        write_executable(&f.wrapper(), "#!/bin/sh\n");
        std::fs::write(f.bin.join("codex.warden-backup"), "older").unwrap();
        let mut opts = f.options();
        opts.force = true;
        assert!(matches!(f.install(&opts), Err(SetupError::BackupExists(_))));
        assert_eq!(
            std::fs::read_to_string(f.bin.join("codex.warden-backup")).unwrap(),
            "older"
        );
    }

    #[test]
    fn dry_run_writes_nothing() {
        let f = Fixture::new("ops-dry");
        let mut opts = f.options();
        opts.dry_run = true;
        let report = f.install(&opts).unwrap();
        assert_eq!(report.change, Change::Created);
        assert!(marker_agent(&report.text).is_some());
        assert!(!f.bin.exists());
    }

    #[test]
    fn remove_without_wrapper_is_a_no_op_and_list_tracks_state() {
        let f = Fixture::new("ops-list");
        let report = remove(codex(), &f.ctx, &f.bin).unwrap();
        assert!(!report.removed);
        assert_eq!(report.now_first, Some(f.usr.join("codex")));

        let status = &list(&f.ctx, &f.bin).unwrap()[0];
        assert_eq!(status.installed, Some(f.usr.join("codex")));
        assert_eq!(status.wrapper, WrapperState::Absent);

        f.install(&f.options()).unwrap();
        let status = &list(&f.ctx, &f.bin).unwrap()[0];
        assert_eq!(
            status.wrapper,
            WrapperState::Wrapped {
                real: Some(f.usr.join("codex"))
            }
        );
        assert_eq!(status.path_order, PathOrder::WrapperFirst);
    }
}
