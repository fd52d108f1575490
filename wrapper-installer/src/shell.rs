//! POSIX shell quoting of byte strings (paths need not be UTF-8).

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `bytes` as one single-quoted shell word: `it's` becomes `'it'\''s'`.
pub fn quote(bytes: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::with_capacity(bytes.len() + 2);
    quoted.push(b'\'');
    for &byte in bytes {
        if byte == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(byte);
        }
    }
    quoted.push(b'\'');
    quoted
}

/// Reads one word written by [`quote`] from the start of `text`; returns the word and the
/// rest of `text`. `None` when `text` does not start with such a word.
pub fn unquote_prefix(text: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut word = Vec::new();
    let mut rest = text;
    let mut seen_any = false;
    loop {
        if let Some(after) = rest.strip_prefix(b"\\'") {
            word.push(b'\'');
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"'") {
            let end = after.iter().position(|&b| b == b'\'')?;
            word.extend_from_slice(&after[..end]);
            rest = &after[end + 1..];
        } else {
            return seen_any.then_some((word, rest));
        }
        seen_any = true;
    }
}

/// The shell-profile line that puts `dir` first on `PATH`, written with `$HOME` when `dir`
/// lies under `home` and needs no quoting there (the form users recognise).
pub fn path_export_line(dir: &Path, home: Option<&Path>) -> Vec<u8> {
    let plain = |bytes: &[u8]| {
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/+@,".contains(b))
    };
    let under_home = home
        .and_then(|h| dir.strip_prefix(h).ok())
        .map(|rest| rest.as_os_str().as_bytes())
        .filter(|rest| plain(rest));
    let mut line = b"export PATH=".to_vec();
    match under_home {
        Some([]) => line.extend_from_slice(b"\"$HOME"),
        Some(rest) => {
            line.extend_from_slice(b"\"$HOME/");
            line.extend_from_slice(rest);
        }
        None => {
            line.extend_from_slice(&quote(dir.as_os_str().as_bytes()));
            line.push(b'"');
        }
    }
    line.extend_from_slice(b":$PATH\"");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const ODD: &[&[u8]] = &[
        b"/plain/path",
        b"/with space/x",
        b"/it's/here",
        b"/\"double\"/q",
        b"/$HOME/`id`/$(id)",
        b"/back\\slash",
        b"/new\nline",
        b"''",
        b"",
        b"/not-utf8/\xff\xfe",
    ];

    #[test]
    fn quoting_round_trips() {
        for &raw in ODD {
            let quoted = quote(raw);
            let (word, rest) = unquote_prefix(&quoted).expect("parses");
            assert_eq!(word, raw);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn embedded_single_quote_uses_close_escape_reopen() {
        assert_eq!(quote(b"it's"), b"'it'\\''s'");
    }

    #[test]
    fn the_shell_reads_back_exactly_the_quoted_bytes() {
        for &raw in ODD {
            let mut script = b"printf '%s' ".to_vec();
            script.extend_from_slice(&quote(raw));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(std::ffi::OsStr::from_bytes(&script))
                .output()
                .expect("run sh");
            assert!(out.status.success());
            assert_eq!(out.stdout, raw);
        }
    }

    #[test]
    fn export_line_uses_home_when_it_can_and_quotes_otherwise() {
        let home = Some(Path::new("/home/u"));
        let line = |dir: &str| String::from_utf8(path_export_line(Path::new(dir), home)).unwrap();
        assert_eq!(
            line("/home/u/.local/bin"),
            r#"export PATH="$HOME/.local/bin:$PATH""#
        );
        assert_eq!(line("/opt/my bin"), r#"export PATH='/opt/my bin'":$PATH""#);
        assert_eq!(
            line("/home/u/it's"),
            r#"export PATH='/home/u/it'\''s'":$PATH""#
        );
    }

    #[test]
    fn unquote_rejects_unquoted_and_unterminated_text() {
        assert!(unquote_prefix(b"plain").is_none());
        assert!(unquote_prefix(b"'open").is_none());
        let (word, rest) = unquote_prefix(b"'a' b").unwrap();
        assert_eq!((word.as_slice(), rest), (&b"a"[..], &b" b"[..]));
    }
}
