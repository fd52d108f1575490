//! Whether a new policy only tightens an old one: every program start it judges gets the
//! same answer or a stricter one. The daemon applies such a change at once and holds any
//! other until an operator reloads (`server/reload.rs`), because without session isolation
//! the agent can write the policy file itself.
//!
//! The comparison is on definitions, not on behaviour:
//! - a rule removed, or changed in any way (even to a stricter action), loosens: what it
//!   matched no longer gets what it got;
//! - a new rule tightens when its action is at least the old `default`: decisions are the
//!   strictest of every matching rule, so a new rule can only lower the answer for what
//!   matched no rule before and got the default;
//! - any new `[[approved]]` entry loosens (it allows what a rule asks about);
//! - any change to `flag_aliases` loosens (it changes what the rules' flags match);
//! - a weaker `default` or `unparsable` loosens.
//!
//! A top-level setting added to the policy format must be added here.

use std::collections::{BTreeMap, BTreeSet};

use super::policy::RuleDef;
use super::{Action, Policy};

/// What a compiled policy was compiled from, kept for [`loosenings`].
#[derive(Default)]
pub(crate) struct Definitions {
    /// Every rule of every layer, by name (names are unique across layers).
    pub rules: BTreeMap<String, RuleDef>,
    /// Flag aliases as written, by program (a later layer's alias replaces an earlier one).
    pub flag_aliases: BTreeMap<String, BTreeMap<String, String>>,
}

/// One way a new policy is looser than the one in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loosening {
    RuleRemoved(String),
    RuleChanged(String),
    /// A new rule whose action is below the old default: what matched nothing gets it now.
    RuleBelowDefault {
        name: String,
        action: Action,
        default: Action,
    },
    /// A new `[[approved]]` entry (its name).
    Approved(String),
    /// The flag aliases of this program changed.
    FlagAliases(String),
    Default {
        from: Action,
        to: Action,
    },
    Unparsable {
        from: Action,
        to: Action,
    },
}

impl std::fmt::Display for Loosening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Loosening::RuleRemoved(name) => write!(f, "rule \"{name}\" removed"),
            Loosening::RuleChanged(name) => write!(f, "rule \"{name}\" changed"),
            Loosening::RuleBelowDefault {
                name,
                action,
                default,
            } => write!(
                f,
                "new rule \"{name}\" answers {action} where the default answered {default}"
            ),
            Loosening::Approved(name) => write!(f, "new [[approved]] entry \"{name}\""),
            Loosening::FlagAliases(program) => write!(f, "flag_aliases of {program} changed"),
            Loosening::Default { from, to } => write!(f, "default weakened from {from} to {to}"),
            Loosening::Unparsable { from, to } => {
                write!(f, "unparsable weakened from {from} to {to}")
            }
        }
    }
}

/// How `new` loosens `old`, in a stable order; empty when `new` only tightens it (or is
/// the same).
pub fn loosenings(old: &Policy, new: &Policy) -> Vec<Loosening> {
    let mut found = Vec::new();
    if new.default < old.default {
        found.push(Loosening::Default {
            from: old.default,
            to: new.default,
        });
    }
    if new.unparsable < old.unparsable {
        found.push(Loosening::Unparsable {
            from: old.unparsable,
            to: new.unparsable,
        });
    }
    let (old_rules, new_rules) = (&old.definitions.rules, &new.definitions.rules);
    for (name, def) in old_rules {
        match new_rules.get(name) {
            None => found.push(Loosening::RuleRemoved(name.clone())),
            Some(now) if now != def => found.push(Loosening::RuleChanged(name.clone())),
            Some(_) => {}
        }
    }
    for (name, def) in new_rules {
        if !old_rules.contains_key(name) && def.action < old.default {
            found.push(Loosening::RuleBelowDefault {
                name: name.clone(),
                action: def.action,
                default: old.default,
            });
        }
    }
    let (old_aliases, new_aliases) = (&old.definitions.flag_aliases, &new.definitions.flag_aliases);
    let programs: BTreeSet<&String> = old_aliases.keys().chain(new_aliases.keys()).collect();
    for program in programs {
        if old_aliases.get(program) != new_aliases.get(program) {
            found.push(Loosening::FlagAliases(program.clone()));
        }
    }
    for entry in &new.approved {
        let known = old
            .approved
            .iter()
            .any(|o| o.argv == entry.argv && o.cwd == entry.cwd);
        if !known {
            found.push(Loosening::Approved(entry.name.clone()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PolicySource;

    fn compile(text: &str) -> Policy {
        Policy::compile(&[PolicySource {
            origin: "test.toml".into(),
            text: text.into(),
        }])
        .unwrap()
    }

    const BASE: &str = r#"
default = "ask"
unparsable = "deny"

[flag_aliases.rm]
"-R" = "-r"

[[rule]]
name = "no-rm"
action = "deny"
program = ["rm"]
flags = ["-r"]

[[rule]]
name = "ask-kubectl"
action = "ask"
program = ["kubectl"]

[[approved]]
name = "approved-1"
argv = ["kubectl", "get", "pods"]
"#;

    fn against_base(text: &str) -> Vec<Loosening> {
        loosenings(&compile(BASE), &compile(text))
    }

    #[test]
    fn the_same_policy_or_one_with_more_strict_rules_only_tightens() {
        assert_eq!(against_base(BASE), []);
        let added = format!(
            "{BASE}\n[[rule]]\nname = \"no-curl\"\naction = \"deny\"\nprogram = [\"curl\"]\n\
             \n[[rule]]\nname = \"ask-helm\"\naction = \"ask\"\nprogram = [\"helm\"]\n"
        );
        assert_eq!(against_base(&added), []);
        let stricter = BASE.replace("default = \"ask\"", "default = \"deny\"");
        assert_eq!(against_base(&stricter), []);
        // An approved entry removed takes something away from what runs: tighter.
        let fewer = BASE.replace(
            "[[approved]]\nname = \"approved-1\"\nargv = [\"kubectl\", \"get\", \"pods\"]\n",
            "",
        );
        assert_eq!(against_base(&fewer), []);
    }

    #[test]
    fn every_way_of_loosening_is_named() {
        let cases = [
            (
                BASE.replace("[[rule]]\nname = \"ask-kubectl\"\naction = \"ask\"\nprogram = [\"kubectl\"]\n", ""),
                Loosening::RuleRemoved("ask-kubectl".into()),
            ),
            (
                BASE.replace("flags = [\"-r\"]", "flags = [\"-x\"]"),
                Loosening::RuleChanged("no-rm".into()),
            ),
            (
                BASE.replace("action = \"ask\"", "action = \"deny\""),
                Loosening::RuleChanged("ask-kubectl".into()),
            ),
            (
                format!("{BASE}\n[[rule]]\nname = \"allow-curl\"\naction = \"allow\"\nprogram = [\"curl\"]\n"),
                Loosening::RuleBelowDefault {
                    name: "allow-curl".into(),
                    action: Action::Allow,
                    default: Action::Ask,
                },
            ),
            (
                format!("{BASE}\n[[approved]]\nname = \"mine\"\nargv = [\"git\", \"reset\", \"--hard\"]\n"),
                Loosening::Approved("mine".into()),
            ),
            (
                format!("{BASE}\n[flag_aliases.chmod]\n\"-r\" = \"-Z\"\n"),
                Loosening::FlagAliases("chmod".into()),
            ),
            (
                BASE.replace("\"-R\" = \"-r\"", "\"-R\" = \"-r\"\n\"-r\" = \"-Z\""),
                Loosening::FlagAliases("rm".into()),
            ),
            (
                BASE.replace("[flag_aliases.rm]\n\"-R\" = \"-r\"\n", ""),
                Loosening::FlagAliases("rm".into()),
            ),
            (
                BASE.replace("default = \"ask\"", "default = \"allow\""),
                Loosening::Default {
                    from: Action::Ask,
                    to: Action::Allow,
                },
            ),
            (
                BASE.replace("unparsable = \"deny\"", "unparsable = \"log\""),
                Loosening::Unparsable {
                    from: Action::Deny,
                    to: Action::Log,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                against_base(&text),
                std::slice::from_ref(&expected),
                "{expected}"
            );
        }
    }

    #[test]
    fn loosenings_read_as_reasons() {
        let found = against_base(&format!(
            "{BASE}\n[[approved]]\nname = \"mine\"\nargv = [\"git\", \"reset\", \"--hard\"]\n"
        ));
        assert_eq!(found[0].to_string(), "new [[approved]] entry \"mine\"");
        assert_eq!(
            Loosening::Default {
                from: Action::Deny,
                to: Action::Ask
            }
            .to_string(),
            "default weakened from deny to ask"
        );
    }
}
