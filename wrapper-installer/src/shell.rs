//! POSIX shell quoting of byte strings (paths need not be UTF-8).

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
        use std::os::unix::ffi::OsStrExt;
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
    fn unquote_rejects_unquoted_and_unterminated_text() {
        assert!(unquote_prefix(b"plain").is_none());
        assert!(unquote_prefix(b"'open").is_none());
        let (word, rest) = unquote_prefix(b"'a' b").unwrap();
        assert_eq!((word.as_slice(), rest), (&b"a"[..], &b" b"[..]));
    }
}
