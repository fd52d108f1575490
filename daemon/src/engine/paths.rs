//! Paths as rules see them. A path reaches the rules as written and also in normal form:
//! `.` and `..` folded, repeated and trailing slashes dropped, relative paths joined to
//! the directories the command may run in, and a path inside the user's home directory
//! (however it is spelled: `~`, `$HOME`, `${HOME}`, the real path, a glob that matches it)
//! also in the `~/…` form the policy's patterns are written for. Paths inside larger
//! arguments (`-F f=@P;type=…`, `-d @P`, `--config=P`, `key=P`, `file://P`) are found too.
//!
//! The home directory is rewritten into `~` on the word's side rather than into the rules:
//! the policy is compiled once and shared by sessions whose homes differ, and a rule
//! written as `~/.ssh/…` stays readable and covers every spelling through this one place.
//!
//! Pure: no file system access, so symbolic links are not followed.

use super::glob::{self, Dots, Glob};

/// Whether a path word is plain bytes or glob text (see [`super::glob`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Plain,
    /// Glob text: wildcards are live, literal `*?[\` are escaped with a backslash.
    Glob,
}

/// A word that may name a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PathWord {
    pub text: Vec<u8>,
    pub kind: Kind,
}

/// A path word borrowed: what the functions here read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathRef<'a> {
    pub text: &'a [u8],
    pub kind: Kind,
}

impl PathRef<'_> {
    /// A part of this word (same kind).
    fn part(&self, bytes: &[u8]) -> PathWord {
        PathWord::new(bytes.to_vec(), self.kind)
    }

    pub fn is_rooted(&self) -> bool {
        matches!(self.text.first(), Some(b'/' | b'~'))
    }

    pub fn to_owned(self) -> PathWord {
        PathWord {
            text: self.text.to_vec(),
            kind: self.kind,
        }
    }
}

impl PathWord {
    pub fn as_ref(&self) -> PathRef<'_> {
        PathRef {
            text: &self.text,
            kind: self.kind,
        }
    }

    pub fn plain(text: &[u8]) -> PathWord {
        PathWord {
            text: text.to_vec(),
            kind: Kind::Plain,
        }
    }

    /// Glob text stays a glob only while it has a live wildcard; otherwise it becomes the
    /// plain text it stands for.
    pub fn new(text: Vec<u8>, kind: Kind) -> PathWord {
        match kind {
            Kind::Glob if !glob::has_wildcard(&text) => PathWord {
                text: unescape(&text),
                kind: Kind::Plain,
            },
            kind => PathWord { text, kind },
        }
    }

    /// Whether this word is a directory that relative paths can be joined to.
    pub fn is_rooted(&self) -> bool {
        self.as_ref().is_rooted()
    }
}

/// Glob text with its escapes removed.
pub(crate) fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut escaped = false;
    for &b in text {
        if b == b'\\' && !escaped {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(b);
    }
    out
}

/// `text` as glob text in which every character is literal (`(` too, which would open an
/// extglob group after `@`, `+` or `!`).
pub(crate) fn escape(text: &[u8], out: &mut Vec<u8>) {
    for &b in text {
        if matches!(b, b'*' | b'?' | b'[' | b'\\' | b'(') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// What relative paths and `~` lead to for one command.
pub(crate) struct Base<'a> {
    /// The home directory in normal form; empty when unknown.
    pub home: &'a [u8],
    /// The directories the command may run in: rooted (absolute, or `~…` when the home
    /// is unknown); others (`$DIR`) cannot be joined to and are skipped.
    pub cwds: &'a [PathWord],
    pub dots: Dots,
}

/// How a path word starts.
enum Start<'w> {
    /// `/…`: the whole word.
    Root(&'w [u8]),
    /// `~`, `~/…`, `$HOME`, `${HOME}/…`: what follows.
    Home(&'w [u8]),
    /// `~name/…`: the prefix `~name` and what follows.
    User(&'w [u8], &'w [u8]),
    /// A relative path (also `$PWD/…`, as what follows).
    Relative(&'w [u8]),
    /// An option, another variable, nothing.
    NotAPath,
}

fn start(text: &[u8]) -> Start<'_> {
    let after = |prefix: &[u8]| {
        text.strip_prefix(prefix)
            .filter(|rest| rest.is_empty() || rest[0] == b'/')
    };
    if text.first() == Some(&b'/') {
        return Start::Root(text);
    }
    if let Some(rest) = after(b"~")
        .or_else(|| after(b"$HOME"))
        .or_else(|| after(b"${HOME}"))
    {
        return Start::Home(rest);
    }
    if let Some(rest) = after(b"$PWD").or_else(|| after(b"${PWD}")) {
        return Start::Relative(rest.strip_prefix(b"/").unwrap_or(rest));
    }
    match text.first() {
        Some(b'~') => {
            let end = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            Start::User(&text[..end], &text[end..])
        }
        None | Some(b'$' | b'-') => Start::NotAPath,
        Some(_) => Start::Relative(text),
    }
}

/// Lexically joins `path` to the rooted `base` (`/…`, `~…` or `~name…`), folding `.`,
/// `..` and repeated slashes. `..` never climbs above `/`; above a `~` whose place is
/// unknown it is kept (`~/..`).
pub(crate) fn join(base: &[u8], path: &[u8]) -> Vec<u8> {
    let root: &[u8] = match base.first() {
        Some(b'/') | None => b"",
        Some(_) => &base[..base.iter().position(|&b| b == b'/').unwrap_or(base.len())],
    };
    let mut joined = Vec::with_capacity(base.len() + path.len() + 1);
    joined.extend_from_slice(root);
    // Where the components kept as `..` (above a `~` whose place is unknown) end.
    let mut floor = root.len();
    for part in base[root.len()..]
        .split(|&b| b == b'/')
        .chain(path.split(|&b| b == b'/'))
    {
        match part {
            b"" | b"." => {}
            b".." if joined.len() > floor => {
                let slash = joined.iter().rposition(|&b| b == b'/').unwrap_or(floor);
                joined.truncate(slash.max(floor));
            }
            b".." if !root.is_empty() => {
                joined.extend_from_slice(b"/..");
                floor = joined.len();
            }
            b".." => {}
            name => {
                joined.push(b'/');
                joined.extend_from_slice(name);
            }
        }
    }
    if joined.is_empty() {
        joined.push(b'/');
    }
    joined
}

/// The home directory in normal form, or empty when `home` is not an absolute path.
pub(crate) fn normal_home(home: &[u8]) -> Vec<u8> {
    if home.first() == Some(&b'/') {
        join(b"/", home)
    } else {
        Vec::new()
    }
}

/// Appends the normal forms of `word` that differ from it: joined to each working
/// directory, folded, and in `~` form when inside the home directory.
pub(crate) fn forms(word: PathRef<'_>, base: &Base<'_>, out: &mut Vec<PathWord>) {
    let mut add = |form: PathWord| {
        let at = out.len();
        if !base.home.is_empty() && form.text.first() == Some(&b'/') {
            under_home(&form, base, word, out);
        }
        if form.as_ref() != word && !out.contains(&form) {
            out.insert(at, form);
        }
    };
    match start(word.text) {
        Start::Root(path) => add(word.part(&join(b"/", path))),
        Start::Home(rest) if base.home.is_empty() => add(word.part(&join(b"~", rest))),
        Start::Home(rest) => add(joined_to(&PathWord::plain(base.home), word, rest)),
        Start::User(prefix, rest) => add(word.part(&join(prefix, rest))),
        Start::Relative(rest) => {
            for cwd in base.cwds.iter().filter(|cwd| cwd.is_rooted()) {
                add(joined_to(cwd, word, rest));
            }
        }
        Start::NotAPath => {}
    }
}

/// `rest` of `word` joined to the directory `dir`: glob text when either is a glob.
fn joined_to(dir: &PathWord, word: PathRef<'_>, rest: &[u8]) -> PathWord {
    match (dir.kind, word.kind) {
        (Kind::Plain, Kind::Plain) => PathWord::plain(&join(&dir.text, rest)),
        (Kind::Glob, Kind::Glob) => PathWord::new(join(&dir.text, rest), Kind::Glob),
        (Kind::Glob, Kind::Plain) => {
            let mut escaped = Vec::with_capacity(rest.len());
            escape(rest, &mut escaped);
            PathWord::new(join(&dir.text, &escaped), Kind::Glob)
        }
        (Kind::Plain, Kind::Glob) => {
            let mut escaped = Vec::with_capacity(dir.text.len());
            escape(&dir.text, &mut escaped);
            PathWord::new(join(&escaped, rest), Kind::Glob)
        }
    }
}

/// Where a directory word leads from the directories `cwds`: rooted normal forms
/// (absolute when the home is known), or, when the engine cannot place it (`$DIR`, `-`),
/// the word as written.
pub(crate) fn directory(word: &PathWord, cwds: &[PathWord], home: &[u8]) -> Vec<PathWord> {
    let word_ref = word.as_ref();
    let mut found: Vec<PathWord> = Vec::new();
    let mut add = |dir: PathWord| {
        if !found.contains(&dir) && found.len() < super::scope::MAX_CWDS {
            found.push(dir);
        }
    };
    match start(&word.text) {
        Start::Root(path) => add(word_ref.part(&join(b"/", path))),
        Start::Home(rest) if home.is_empty() => add(word_ref.part(&join(b"~", rest))),
        Start::Home(rest) => add(joined_to(&PathWord::plain(home), word_ref, rest)),
        Start::User(prefix, rest) => add(word_ref.part(&join(prefix, rest))),
        Start::Relative(rest) => {
            for cwd in cwds {
                match cwd.is_rooted() {
                    true => add(joined_to(cwd, word_ref, rest)),
                    // Below a directory the engine cannot place, nothing is known either.
                    false => add(cwd.clone()),
                }
            }
        }
        Start::NotAPath => add(word.clone()),
    }
    found
}

/// Appends the `~` forms of the absolute `form` when it lies inside the home directory.
fn under_home(form: &PathWord, base: &Base<'_>, word: PathRef<'_>, out: &mut Vec<PathWord>) {
    match form.kind {
        Kind::Plain => {
            // Both are in normal form, so the rest is too.
            let rest = match form.text.strip_prefix(base.home) {
                Some(rest) if base.home == b"/" => rest,
                Some(rest) if rest.is_empty() || rest[0] == b'/' => rest,
                _ => return,
            };
            let mut text = Vec::with_capacity(rest.len() + 2);
            text.push(b'~');
            if !rest.is_empty() && rest[0] != b'/' {
                text.push(b'/');
            }
            text.extend_from_slice(rest);
            push(out, PathWord::plain(&text), word);
        }
        Kind::Glob => {
            if let Some(glob) = Glob::parse(&form.text, base.dots) {
                for rest in glob.under_home(base.home) {
                    push(out, PathWord::new(rest, Kind::Glob), word);
                }
            }
        }
    }
}

fn push(out: &mut Vec<PathWord>, form: PathWord, original: PathRef<'_>) {
    if form.as_ref() != original && !out.contains(&form) {
        out.push(form);
    }
}

/// Most paths found inside one argument.
const MAX_EMBEDDED: usize = 16;
/// How deeply arguments are taken apart (`--opt=k=@p;x` is three levels).
const MAX_NESTING: usize = 4;

/// Appends the paths a tool may take from inside the larger argument `word`: the value of
/// `--name=VALUE`, `-XVALUE` (when the value looks like a path), `key=VALUE`, `@FILE` and
/// `<FILE` (curl's data and form fields), the parts of `a;b`, `a,b` and `SRC:DST`, and the
/// path of a `file:` URL, percent-decoded. The word itself is not appended.
pub(crate) fn embedded(word: PathRef<'_>, out: &mut Vec<PathWord>) {
    take_apart(word, out, 0);
}

fn take_apart(word: PathRef<'_>, out: &mut Vec<PathWord>, level: usize) {
    if level >= MAX_NESTING || out.len() >= MAX_EMBEDDED {
        return;
    }
    let text = word.text;
    let found = |part: PathWord, out: &mut Vec<PathWord>| {
        if !part.text.is_empty() && part.as_ref() != word && !out.contains(&part) {
            take_apart(part.as_ref(), out, level + 1);
            if out.len() < MAX_EMBEDDED {
                out.push(part);
            }
        }
    };
    if let Some(long) = text.strip_prefix(b"--") {
        if let Some(eq) = long.iter().position(|&b| b == b'=') {
            found(word.part(&long[eq + 1..]), out);
        }
        return;
    }
    if text.len() > 2 && text[0] == b'-' && text[1].is_ascii_alphanumeric() {
        if matches!(text[2], b'/' | b'~' | b'.' | b'@' | b'$' | b'<') {
            found(word.part(&text[2..]), out);
        }
        return;
    }
    if let Some(rest) = text.strip_prefix(b"file:") {
        found(file_url_path(rest, word.kind), out);
        return;
    }
    if let Some(eq) = key_value(text) {
        found(word.part(&text[eq + 1..]), out);
        return;
    }
    if let Some(rest) = text.strip_prefix(b"@").or_else(|| text.strip_prefix(b"<")) {
        found(word.part(rest), out);
        return;
    }
    for separator in [b';', b','] {
        if text.contains(&separator) {
            for part in text.split(|&b| b == separator) {
                found(word.part(part), out);
            }
            return;
        }
    }
    if matches!(text.first(), Some(b'/' | b'~' | b'.')) && text.contains(&b':') {
        for part in text.split(|&b| b == b':') {
            found(word.part(part), out);
        }
    }
}

/// The position of `=` in `key=value`, where the key is a word of letters, digits, `_`,
/// `.` and `-` (not an option).
fn key_value(text: &[u8]) -> Option<usize> {
    let eq = text.iter().position(|&b| b == b'=')?;
    let key = &text[..eq];
    let valid = !key.is_empty()
        && key[0] != b'-'
        && key
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    valid.then_some(eq)
}

/// The local path of a `file:` URL (what follows `file:`): an optional `//host`, then the
/// path, percent-decoded, without a query or fragment.
fn file_url_path(rest: &[u8], kind: Kind) -> PathWord {
    let path = match rest.strip_prefix(b"//") {
        Some(authority) => {
            let slash = authority
                .iter()
                .position(|&b| b == b'/')
                .unwrap_or(authority.len());
            &authority[slash..]
        }
        None => rest,
    };
    let end = path
        .iter()
        .position(|&b| b == b'#' || (b == b'?' && kind == Kind::Plain))
        .unwrap_or(path.len());
    let mut decoded = Vec::with_capacity(end);
    let mut i = 0;
    while i < end {
        let hex = |b: u8| (b as char).to_digit(16);
        match (path[i], path.get(i + 1), path.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if i + 2 < end && hex(h).is_some() && hex(l).is_some() => {
                let byte = (hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8;
                match kind {
                    Kind::Glob => escape(&[byte], &mut decoded),
                    Kind::Plain => decoded.push(byte),
                }
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    PathWord::new(decoded, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(words: &[PathWord]) -> Vec<String> {
        words
            .iter()
            .map(|w| String::from_utf8_lossy(&w.text).into_owned())
            .collect()
    }

    fn forms_of(word: &str, home: &str, cwds: &[&str]) -> Vec<String> {
        let cwds: Vec<PathWord> = cwds
            .iter()
            .map(|c| PathWord::new(c.as_bytes().to_vec(), Kind::Glob))
            .collect();
        let base = Base {
            home: home.as_bytes(),
            cwds: &cwds,
            dots: Dots::Hidden,
        };
        let mut out = Vec::new();
        let kind = if glob::has_wildcard(word.as_bytes()) {
            Kind::Glob
        } else {
            Kind::Plain
        };
        forms(
            PathWord::new(word.as_bytes().to_vec(), kind).as_ref(),
            &base,
            &mut out,
        );
        texts(&out)
    }

    #[test]
    fn paths_are_folded() {
        assert_eq!(join(b"/home/u/project", b".."), b"/home/u");
        assert_eq!(join(b"/home/u/project", b"../.."), b"/home");
        assert_eq!(join(b"/home/u", b"../../../.."), b"/");
        assert_eq!(join(b"/home/u", b"./a//b/./c/"), b"/home/u/a/b/c");
        assert_eq!(join(b"/srv", b"../*"), b"/*");
        assert_eq!(join(b"/", b""), b"/");
        assert_eq!(join(b"~", b"/.ssh/./id_rsa"), b"~/.ssh/id_rsa");
        assert_eq!(join(b"~", b"/x/../.."), b"~/..");
        assert_eq!(join(b"~alice", b"/."), b"~alice");
        assert_eq!(join(b"/", b"//etc//./shadow/"), b"/etc/shadow");
    }

    #[test]
    fn the_home_directory_is_found_however_it_is_spelled() {
        let home = "/srv/dev";
        for word in [
            "/srv/dev",
            "/srv/dev/",
            "/srv/dev/.",
            "/srv//dev",
            "/srv/x/../dev",
        ] {
            assert!(
                forms_of(word, home, &[]).contains(&"~".to_string()),
                "{word}"
            );
        }
        assert_eq!(forms_of("$HOME", home, &[]), ["/srv/dev", "~"]);
        assert_eq!(
            forms_of("${HOME}/.ssh", home, &[]),
            ["/srv/dev/.ssh", "~/.ssh"]
        );
        assert_eq!(
            forms_of("~/.ssh/./id_rsa", home, &[]),
            ["/srv/dev/.ssh/id_rsa", "~/.ssh/id_rsa"]
        );
        assert_eq!(forms_of("/srv/de?", home, &[]), ["~"]);
        assert_eq!(forms_of("/srv/dev/.ss?/id_*", home, &[]), ["~/.ss?/id_*"]);
        assert!(forms_of("/srv/devops", home, &[]).is_empty());
        assert_eq!(forms_of("~/.ssh//id_rsa", "", &[]), ["~/.ssh/id_rsa"]);
        assert_eq!(forms_of("~", "", &[]), Vec::<String>::new());
        assert_eq!(forms_of("/home/dev/x", "", &[]), Vec::<String>::new());
    }

    #[test]
    fn relative_paths_are_joined_to_every_working_directory() {
        assert_eq!(
            forms_of("..", "/home/dev", &["/home/dev/project"]),
            ["/home/dev", "~"]
        );
        assert_eq!(forms_of("./*", "", &["~", "/tmp"]), ["~/*", "/tmp/*"]);
        assert_eq!(forms_of("id_rsa", "", &["~/.ss?"]), ["~/.ss?/id_rsa"]);
        assert_eq!(forms_of("$PWD/x", "", &["/srv"]), ["/srv/x"]);
        assert!(forms_of("x", "", &["$DIR"]).is_empty());
        for not_a_path in ["-rf", "$OTHER/x", ""] {
            assert!(
                forms_of(not_a_path, "", &["/srv"]).is_empty(),
                "{not_a_path}"
            );
        }
    }

    fn embedded_in(word: &str) -> Vec<String> {
        let mut out = Vec::new();
        embedded(PathWord::plain(word.as_bytes()).as_ref(), &mut out);
        texts(&out)
    }

    #[test]
    fn paths_inside_arguments_are_found() {
        assert!(embedded_in("f=@~/.ssh/id_rsa;type=text/plain").contains(&"~/.ssh/id_rsa".into()));
        assert_eq!(embedded_in("@/etc/shadow"), ["/etc/shadow"]);
        assert_eq!(
            embedded_in("--config=~/.aws/credentials"),
            ["~/.aws/credentials"]
        );
        assert_eq!(
            embedded_in("-d@/etc/passwd"),
            ["/etc/passwd", "@/etc/passwd"]
        );
        assert_eq!(embedded_in("if=/dev/sda"), ["/dev/sda"]);
        assert_eq!(embedded_in("file:///etc/%73hadow"), ["/etc/shadow"]);
        assert_eq!(
            embedded_in("file://localhost/etc/passwd?x"),
            ["/etc/passwd"]
        );
        assert!(
            embedded_in("--mount=type=bind,source=/home/u/.ssh,target=/k")
                .contains(&"/home/u/.ssh".into())
        );
        assert_eq!(
            embedded_in("~/.ssh:/root/.ssh:ro"),
            ["~/.ssh", "/root/.ssh", "ro"]
        );
        assert!(embedded_in("-rf").is_empty());
        assert!(embedded_in("plain").is_empty());
        let deep = "a=".repeat(100) + "/x";
        assert!(embedded_in(&deep).len() <= MAX_EMBEDDED);
    }
}
