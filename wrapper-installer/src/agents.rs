//! The CLI agents `warden setup` knows how to wrap. Supporting another agent is one entry.

use crate::error::SetupError;

/// One wrappable agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    /// Name used on the command line (`warden setup codex`) and for `warden preload --agent`.
    pub name: &'static str,
    /// Executable file name looked up on `PATH`, and the wrapper's file name.
    pub program: &'static str,
    /// Environment variable that names the real executable, bypassing the `PATH` search.
    pub real_override_env: &'static str,
}

/// Every supported agent, in the order `warden setup --list` shows them.
pub const AGENTS: &[Agent] = &[Agent {
    name: "codex",
    program: "codex",
    real_override_env: "CODEX_REAL",
}];

/// The agent called `name`, or an error listing the supported ones.
pub fn by_name(name: &str) -> Result<&'static Agent, SetupError> {
    AGENTS
        .iter()
        .find(|agent| agent.name == name)
        .ok_or_else(|| SetupError::UnknownAgent {
            name: name.to_owned(),
            supported: AGENTS.iter().map(|a| a.name).collect::<Vec<_>>().join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_is_supported_and_unknown_names_are_not() {
        assert_eq!(by_name("codex").unwrap().program, "codex");
        let err = by_name("nonesuch").unwrap_err().to_string();
        assert_eq!(err, "unknown agent `nonesuch`; supported: codex");
    }

    #[test]
    fn override_variables_never_look_like_credentials() {
        for agent in AGENTS {
            for word in ["KEY", "SECRET", "TOKEN"] {
                assert!(!agent.real_override_env.contains(word), "{agent:?}");
            }
        }
    }
}
