//! `warden approve --always`: an exact-match allow rule appended to the user policy file.
//! The file is replaced atomically, and restored when the new policy does not compile.

use super::persist::write_atomic;
use super::reload::Edit;
use super::Daemon;
use crate::engine::approved_entry_toml;
use crate::paths;
use crate::wire::Approval;

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "the daemon's policy does not include {0} (it runs with \"serve --policy\"), so a rule \
         there would have no effect; approve without --always or add the rule to the policy file"
    )]
    NotInForce(std::path::PathBuf),
    /// The file holds other changes that loosen the policy, held for the operator.
    #[error(
        "the rule for approval #{id} was added to {file}, but that file also loosens the \
         policy otherwise ({reasons}); every change there waits until you review it and run \
         \"warden policy reload\"; then approve #{id} again",
        reasons = .reasons.join("; ")
    )]
    Held {
        id: u64,
        file: std::path::PathBuf,
        reasons: Vec<String>,
    },
    #[error("{0}")]
    Failed(String),
}

/// Adds the rule, reloads the policy and returns the rule's name.
pub fn allow_always(daemon: &Daemon, approval: &Approval) -> Result<String, EditError> {
    let file = paths::user_policy();
    if !daemon.policy.current().watches(&file) {
        return Err(EditError::NotInForce(file));
    }
    let name = format!("approved-{}", approval.id);
    let argv: Vec<&[u8]> = approval.argv.iter().map(|a| a.as_slice()).collect();
    let entry = approved_entry_toml(&name, &argv);
    let old = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(EditError::Failed(format!(
                "cannot read {}: {e}",
                file.display()
            )))
        }
    };
    let mut new = old.clone().unwrap_or_default();
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push('\n');
    new.push_str(&entry);
    write_atomic(&file, new.as_bytes())
        .map_err(|e| EditError::Failed(format!("cannot write {}: {e}", file.display())))?;
    match daemon.policy.reload_with_entry(&name) {
        Edit::Applied => Ok(name),
        Edit::Held(reasons) => Err(EditError::Held {
            id: approval.id,
            file,
            reasons,
        }),
        Edit::Invalid(reason) => {
            let restored = match &old {
                Some(text) => write_atomic(&file, text.as_bytes()),
                None => std::fs::remove_file(&file),
            };
            let _ = restored.map(|()| daemon.policy.reload_with_entry(&name));
            Err(EditError::Failed(format!(
                "the rule for approval #{} did not compile, {} is unchanged: {reason}",
                approval.id,
                file.display()
            )))
        }
    }
}
