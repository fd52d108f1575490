//! The I/O edge of the policy engine: reads the policy files that are in force.
//!
//! With no explicit file, the effective policy is the built-in default plus the operator's
//! `$WARDEN_HOME/policy.toml` when it exists. An explicit file stands alone, unless it says
//! `include_default = true` at its top level.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::engine::{policy, Policy, PolicyError, PolicySource};
use crate::paths;

/// Largest policy file warden reads.
pub const MAX_POLICY_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("cannot read policy file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy file {path} is larger than {MAX_POLICY_BYTES} bytes; split it or remove unused entries")]
    TooLarge { path: PathBuf },
    #[error("policy file {path} is not UTF-8 text")]
    NotText { path: PathBuf },
    /// The message already names file, line and rule.
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// The effective policy: `explicit` alone (plus the default when it asks for it), or the
/// built-in default plus the user policy when it exists.
pub fn load_effective(explicit: Option<&Path>) -> Result<Policy, PolicyLoadError> {
    Ok(Policy::compile(&effective_sources(explicit)?)?)
}

/// The files behind the effective policy, whether they exist yet or not: what a daemon
/// watches to reload.
pub fn watched_files(explicit: Option<&Path>) -> Vec<PathBuf> {
    match explicit {
        Some(file) => vec![file.to_path_buf()],
        None => vec![paths::user_policy()],
    }
}

/// The sources of the effective policy, in layering order.
pub fn effective_sources(explicit: Option<&Path>) -> Result<Vec<PolicySource>, PolicyLoadError> {
    match explicit {
        Some(file) => {
            let source = read_source(file)?;
            if policy::includes_default(&source)? {
                Ok(vec![Policy::builtin_source(), source])
            } else {
                Ok(vec![source])
            }
        }
        None => {
            let mut sources = vec![Policy::builtin_source()];
            let user = paths::user_policy();
            if user.exists() {
                sources.push(read_source(&user)?);
            }
            Ok(sources)
        }
    }
}

/// Reads one policy file, bounded in size.
pub fn read_source(path: &Path) -> Result<PolicySource, PolicyLoadError> {
    let read_error = |source| PolicyLoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_POLICY_BYTES {
        return Err(PolicyLoadError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|_| PolicyLoadError::NotText {
        path: path.to_path_buf(),
    })?;
    Ok(PolicySource {
        origin: path.display().to_string(),
        text,
    })
}
