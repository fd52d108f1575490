//! The shell state a command runs in, as far as its shell string tells: the directories it
//! may run in (after `cd`), the variables with literal values, the files written earlier in
//! the string and by which programs, and whether globs match hidden files. The shell walker
//! keeps one scope per point of the string and gives each command a snapshot; a shell that
//! a command starts (`bash -c`, `eval`) begins from its command's.
//!
//! Where the shell may take one of several paths (`cd x; …` when `cd` fails, `if`, `||`,
//! loops), the scope after them is their [`Scope::join`]: every directory any path may have
//! reached, and only the variables all paths agree on. A command is then judged in each
//! directory it may run in, which is never weaker than judging it in one.

use std::collections::BTreeMap;

use super::glob::Dots;
use super::paths::PathWord;

/// Most directories one command is judged in.
pub(crate) const MAX_CWDS: usize = 16;
/// Most files remembered as written in one shell string.
const MAX_WRITTEN: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scope {
    /// Where the command may run: rooted directories (absolute, or `~…` when the home is
    /// unknown), or directories the engine cannot place (`cd "$DIR"`) as written.
    pub cwds: Vec<PathWord>,
    /// Variables whose values are known literals. Others expand to themselves (`$v`).
    pub vars: BTreeMap<Vec<u8>, Var>,
    /// Directories saved by `pushd`, innermost last.
    pub pushed: Vec<Vec<PathWord>>,
    /// Where the last `cd` left from (`cd -` goes back); empty when unknown.
    pub previous: Vec<PathWord>,
    /// Files written so far in the string, in normal form, and by whom.
    pub written: Vec<Written>,
    pub dots: Dots,
    /// The positional parameters, `$0` first, when the shell was given them as words
    /// (`sh -c STRING NAME ARGS…`); empty when unknown.
    pub positional: Vec<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Var {
    pub value: Value,
    pub export: Export,
}

/// A known value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Value {
    pub text: Vec<u8>,
    /// Glob text when the value stands for the paths a glob matches (`for f in ~/.ssh/*`):
    /// wildcards stay live even where `"$f"` is quoted.
    pub glob: Option<Vec<u8>>,
}

/// Whether a shell that the command starts sees the variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Export {
    Shell,
    Environment,
}

/// A file written earlier in the string: its normal forms and the programs that wrote it
/// (wrappers seen through, and the programs that fed them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Written {
    pub forms: Vec<Vec<u8>>,
    pub by: Vec<Vec<u8>>,
}

/// Which variables a shell started by a command inherits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inherit {
    /// `eval`, `source`: the same shell, every variable.
    Everything,
    /// A new shell process (`bash -c`): exported variables only; `shopt`s start over.
    Exported,
}

impl Scope {
    /// A scope that starts in `cwd` (none when it is unknown).
    pub fn at(cwd: Option<PathWord>) -> Scope {
        Scope {
            cwds: cwd.into_iter().collect(),
            ..Scope::default()
        }
    }

    /// The scope a shell started by a command in this scope begins with, in `cwds`.
    pub fn inherited(&self, cwds: Vec<PathWord>, inherit: Inherit) -> Scope {
        let vars = match inherit {
            Inherit::Everything => self.vars.clone(),
            Inherit::Exported => self
                .vars
                .iter()
                .filter(|(_, v)| v.export == Export::Environment)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        Scope {
            cwds,
            vars,
            pushed: Vec::new(),
            previous: Vec::new(),
            written: self.written.clone(),
            dots: match inherit {
                Inherit::Everything => self.dots,
                Inherit::Exported => Dots::Hidden,
            },
            positional: match inherit {
                Inherit::Everything => self.positional.clone(),
                Inherit::Exported => Vec::new(),
            },
        }
    }

    /// Gives a shell its positional parameters (none leaves those it has).
    pub fn set_positional(&mut self, positional: Vec<Vec<u8>>) {
        if !positional.is_empty() {
            self.positional = positional;
        }
    }

    /// The scope after one of two paths ran.
    pub fn join(&self, other: &Scope) -> Scope {
        if self == other {
            return self.clone();
        }
        let mut cwds = self.cwds.clone();
        add_all(&mut cwds, &other.cwds, MAX_CWDS);
        let vars = self
            .vars
            .iter()
            .filter_map(|(name, var)| {
                let theirs = other.vars.get(name)?;
                (theirs.value == var.value).then(|| {
                    let export = match (var.export, theirs.export) {
                        (Export::Shell, Export::Shell) => Export::Shell,
                        _ => Export::Environment,
                    };
                    (
                        name.clone(),
                        Var {
                            value: var.value.clone(),
                            export,
                        },
                    )
                })
            })
            .collect();
        let mut written = self.written.clone();
        for file in &other.written {
            record(&mut written, file.clone());
        }
        Scope {
            cwds,
            vars,
            pushed: if self.pushed.len() >= other.pushed.len() {
                self.pushed.clone()
            } else {
                other.pushed.clone()
            },
            previous: {
                let mut previous = self.previous.clone();
                add_all(&mut previous, &other.previous, MAX_CWDS);
                previous
            },
            written,
            dots: match (self.dots, other.dots) {
                (Dots::Hidden, Dots::Hidden) => Dots::Hidden,
                _ => Dots::Matched,
            },
            positional: match self.positional == other.positional {
                true => self.positional.clone(),
                false => Vec::new(),
            },
        }
    }

    /// Remembers a written file (its programs added to those of an earlier write).
    pub fn wrote(&mut self, file: Written) {
        record(&mut self.written, file);
    }

    /// The programs that wrote a file with one of `forms`.
    pub fn writers(&self, forms: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut by = Vec::new();
        for file in &self.written {
            if file.forms.iter().any(|f| forms.contains(f)) {
                add_all(&mut by, &file.by, usize::MAX);
            }
        }
        by
    }
}

fn record(written: &mut Vec<Written>, file: Written) {
    if let Some(known) = written
        .iter_mut()
        .find(|w| w.forms.iter().any(|f| file.forms.contains(f)))
    {
        add_all(&mut known.by, &file.by, usize::MAX);
    } else if written.len() < MAX_WRITTEN {
        written.push(file);
    }
}

fn add_all<T: Clone + PartialEq>(into: &mut Vec<T>, items: &[T], max: usize) {
    for item in items {
        if into.len() >= max {
            return;
        }
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(text: &str, export: Export) -> Var {
        Var {
            value: Value {
                text: text.as_bytes().to_vec(),
                glob: None,
            },
            export,
        }
    }

    #[test]
    fn a_join_keeps_every_directory_and_only_agreed_variables() {
        let mut a = Scope::at(Some(PathWord::plain(b"/srv")));
        a.vars.insert(b"same".to_vec(), var("1", Export::Shell));
        a.vars.insert(b"differs".to_vec(), var("1", Export::Shell));
        a.vars.insert(b"only-a".to_vec(), var("1", Export::Shell));
        let mut b = Scope::at(Some(PathWord::plain(b"/tmp")));
        b.vars
            .insert(b"same".to_vec(), var("1", Export::Environment));
        b.vars.insert(b"differs".to_vec(), var("2", Export::Shell));
        let joined = a.join(&b);
        assert_eq!(
            joined.cwds,
            [PathWord::plain(b"/srv"), PathWord::plain(b"/tmp")]
        );
        assert_eq!(joined.vars.len(), 1);
        assert_eq!(joined.vars[&b"same".to_vec()].export, Export::Environment);
    }

    #[test]
    fn child_shells_inherit_exported_variables_only() {
        let mut scope = Scope::at(None);
        scope
            .vars
            .insert(b"e".to_vec(), var("1", Export::Environment));
        scope.vars.insert(b"s".to_vec(), var("1", Export::Shell));
        scope.dots = Dots::Matched;
        let child = scope.inherited(Vec::new(), Inherit::Exported);
        assert_eq!(child.vars.keys().collect::<Vec<_>>(), [&b"e".to_vec()]);
        assert_eq!(child.dots, Dots::Hidden);
        assert_eq!(
            scope.inherited(Vec::new(), Inherit::Everything).vars.len(),
            2
        );
    }

    #[test]
    fn writers_of_a_file_are_remembered() {
        let mut scope = Scope::default();
        let file = |f: &str, by: &str| Written {
            forms: vec![f.as_bytes().to_vec()],
            by: vec![by.as_bytes().to_vec()],
        };
        scope.wrote(file("/tmp/i.sh", "curl"));
        scope.wrote(file("/tmp/i.sh", "chmod"));
        assert_eq!(
            scope.writers(&[b"/tmp/i.sh".to_vec()]),
            [b"curl".to_vec(), b"chmod".to_vec()]
        );
        assert!(scope.writers(&[b"/tmp/other".to_vec()]).is_empty());
    }
}
