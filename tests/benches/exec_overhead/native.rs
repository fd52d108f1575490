//! The C helpers of the benchmark, compiled with `cc` into a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/exec_overhead");

/// A directory under the system temp dir, removed with everything in it on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> std::io::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("warden-{label}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The compiled helpers: the exec loop driver (also linked statically, where no hook runs),
/// the fork and thread loop, the forward-only "floor" preload library and the socket round
/// trip to a server that does no work.
pub struct Natives {
    pub exec_loop: PathBuf,
    pub exec_loop_static: PathBuf,
    pub fork_loop: PathBuf,
    pub floor_lib: PathBuf,
    pub round_trip: PathBuf,
}

impl Natives {
    pub fn build(dir: &Path) -> Result<Natives, String> {
        let exec_loop = dir.join("exec_loop");
        compile(&["-O2", "-o"], &exec_loop, "exec_loop.c", &[])?;
        let exec_loop_static = dir.join("exec_loop_static");
        compile(
            &["-O2", "-static", "-o"],
            &exec_loop_static,
            "exec_loop.c",
            &[],
        )?;
        let fork_loop = dir.join("fork_loop");
        compile(&["-O2", "-pthread", "-o"], &fork_loop, "fork_loop.c", &[])?;
        let floor_lib = dir.join("forward_execve.so");
        compile(
            &["-O2", "-shared", "-fPIC", "-o"],
            &floor_lib,
            "forward_execve.c",
            &["-ldl"],
        )?;
        let round_trip = dir.join("round_trip");
        compile(&["-O2", "-o"], &round_trip, "round_trip.c", &[])?;
        Ok(Natives {
            exec_loop,
            exec_loop_static,
            fork_loop,
            floor_lib,
            round_trip,
        })
    }
}

fn compile(flags: &[&str], output: &Path, source: &str, libs: &[&str]) -> Result<(), String> {
    let source = Path::new(SOURCES).join(source);
    let status = Command::new("cc")
        .args(flags)
        .arg(output)
        .arg(&source)
        .args(libs)
        .status()
        .map_err(|err| format!("cannot run cc to compile {}: {err}", source.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cc failed to compile {} ({status})",
            source.display()
        ))
    }
}
