//! Operator approvals that last: `[[approved]]` entries that `warden approve --always` appends
//! to the user policy. An entry names one exact argv (and optionally a cwd); it allows that
//! command and everything it runs that a rule would `ask` about or `log`, never what a rule
//! denies.
//!
//! In TOML, an argv element (or the cwd) that is valid UTF-8 is a string; anything else is an
//! inline table `{ b64 = "<standard base64>" }`, as on the wire.

use base64::Engine as _;

use super::matcher::Context;
use super::unit::Unit;
use super::Policy;

#[derive(Debug)]
pub(crate) struct Approved {
    pub name: String,
    pub argv: Vec<Vec<u8>>,
    pub cwd: Option<Vec<u8>>,
}

impl Approved {
    fn covers(&self, unit: &Unit<'_>, ctx: &Context<'_>) -> bool {
        self.argv.len() == unit.argv.len()
            && self
                .argv
                .iter()
                .zip(&unit.argv)
                .all(|(a, b)| a[..] == b[..])
            && self.cwd.as_deref().is_none_or(|cwd| cwd == ctx.cwd)
    }
}

impl Policy {
    /// The name of the approval that covers exactly this command, if any.
    pub(crate) fn approval_for(&self, unit: &Unit<'_>, ctx: &Context<'_>) -> Option<&str> {
        self.approved
            .iter()
            .find(|a| a.covers(unit, ctx))
            .map(|a| a.name.as_str())
    }
}

/// Renders one `[[approved]]` entry for `argv`, ready to append to a policy file.
pub fn approved_entry_toml(name: &str, argv: &[&[u8]]) -> String {
    let elements: Vec<String> = argv.iter().map(|a| toml_bytes(a)).collect();
    format!(
        "\n[[approved]]\nname = {}\nargv = [{}]\n",
        toml_string(name),
        elements.join(", ")
    )
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

fn toml_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => toml_string(text),
        Err(_) => format!(
            "{{ b64 = \"{}\" }}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
    }
}
