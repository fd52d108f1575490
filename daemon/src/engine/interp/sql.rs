//! SQL given to a database client, scanned for what reads, writes or runs outside the
//! database: file functions (`readfile('P')`, `pg_read_file`, `LOAD_FILE`, `lo_import`,
//! `writefile`, `lo_export`, `load_extension`), `COPY … FROM/TO 'P'` and `… PROGRAM 'cmd'`,
//! `LOAD DATA INFILE 'P'`, `INTO OUTFILE/DUMPFILE 'P'`, `ATTACH 'P'`, `VACUUM INTO 'P'`,
//! and the clients' own commands (sqlite's `.shell`, `.read`, `.output |cmd`, psql's `\!`,
//! `\copy`, `\o |cmd`, mysql's `system`, `source`).
//!
//! Whether a backslash escapes a quote depends on the database (MySQL: yes; SQLite and
//! standard SQL: no), so the text is read both ways and every finding of either counts.

use super::token::{find, is_word_byte, is_word_start, Cursor};
use super::Finding;

pub(crate) fn scan(code: &[u8]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for line in code.split(|&b| b == b'\n') {
        client_command(line, &mut findings);
    }
    for escapes in [Escapes::Backslash, Escapes::Doubled] {
        statements(&tokenize(code, escapes), &mut findings);
    }
    findings
}

#[derive(Clone, Copy, PartialEq)]
enum Escapes {
    Backslash,
    Doubled,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// A keyword or name, uppercased.
    Word(Vec<u8>),
    Str(Vec<u8>),
    Punct(u8),
    Concat,
}

fn tokenize(code: &[u8], escapes: Escapes) -> Vec<Tok> {
    let mut cursor = Cursor::new(code);
    let mut tokens = Vec::new();
    while let Some(b) = cursor.peek() {
        match b {
            b'-' if cursor.peek_at(1) == Some(b'-') => cursor.skip_line(),
            b'#' => cursor.skip_line(),
            b'/' if cursor.peek_at(1) == Some(b'*') => {
                cursor.at += 2;
                cursor.skip_past(b"*/");
            }
            b'|' if cursor.peek_at(1) == Some(b'|') => {
                cursor.at += 2;
                tokens.push(Tok::Concat);
            }
            b'\'' | b'"' => {
                cursor.at += 1;
                tokens.push(Tok::Str(quoted(&mut cursor, b, escapes)));
            }
            b'$' => {
                // `$tag$ … $tag$`, PostgreSQL's dollar quoting.
                let tag_end = cursor.rest()[1..]
                    .iter()
                    .position(|&c| !is_word_byte(c))
                    .map(|p| p + 1);
                match tag_end {
                    Some(end) if cursor.rest()[end] == b'$' => {
                        let tag = cursor.rest()[..=end].to_vec();
                        cursor.at += tag.len();
                        let body_start = cursor.at;
                        match find(cursor.rest(), &tag) {
                            Some(len) => {
                                tokens.push(Tok::Str(
                                    cursor.code[body_start..body_start + len].to_vec(),
                                ));
                                cursor.at += len + tag.len();
                            }
                            None => cursor.at = cursor.code.len(),
                        }
                    }
                    _ => cursor.at += 1,
                }
            }
            b'`' => {
                cursor.at += 1;
                quoted(&mut cursor, b'`', Escapes::Doubled);
                tokens.push(Tok::Word(Vec::new()));
            }
            _ if is_word_start(b) => {
                let word = cursor.word();
                // E'…' (PostgreSQL escapes) and X'…'/N'…' prefixes.
                if cursor.peek() == Some(b'\'') && word.len() == 1 {
                    cursor.at += 1;
                    let mode = if word.eq_ignore_ascii_case(b"e") {
                        Escapes::Backslash
                    } else {
                        escapes
                    };
                    tokens.push(Tok::Str(quoted(&mut cursor, b'\'', mode)));
                } else {
                    tokens.push(Tok::Word(word.to_ascii_uppercase()));
                }
            }
            b' ' | b'\t' | b'\r' | b'\n' => cursor.at += 1,
            _ => {
                cursor.at += 1;
                tokens.push(Tok::Punct(b));
            }
        }
    }
    tokens
}

fn quoted(cursor: &mut Cursor<'_>, quote: u8, escapes: Escapes) -> Vec<u8> {
    let mut text = Vec::new();
    while let Some(b) = cursor.bump() {
        if b == b'\\' && escapes == Escapes::Backslash {
            if let Some(next) = cursor.bump() {
                text.push(match next {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'0' => 0,
                    other => other,
                });
            }
            continue;
        }
        if b == quote {
            if cursor.peek() == Some(quote) {
                cursor.at += 1;
                text.push(quote);
                continue;
            }
            break;
        }
        text.push(b);
    }
    text
}

/// A string expression at `at`: literals joined by `||` or in `CONCAT(…)`.
fn string_at(tokens: &[Tok], at: usize) -> Option<Vec<u8>> {
    let mut text = Vec::new();
    let mut i = at;
    loop {
        i = match tokens.get(i) {
            Some(Tok::Str(s)) => {
                text.extend_from_slice(s);
                i + 1
            }
            Some(Tok::Word(w))
                if w == b"CONCAT" && tokens.get(i + 1) == Some(&Tok::Punct(b'(')) =>
            {
                let mut j = i + 2;
                while let Some(Tok::Str(s)) = tokens.get(j) {
                    text.extend_from_slice(s);
                    j += 1;
                    if tokens.get(j) != Some(&Tok::Punct(b',')) {
                        break;
                    }
                    j += 1;
                }
                if tokens.get(j) != Some(&Tok::Punct(b')')) {
                    return None;
                }
                j + 1
            }
            _ => return (i > at).then_some(text),
        };
        if tokens.get(i) != Some(&Tok::Concat) {
            return Some(text);
        }
        i += 1;
    }
}

fn is(tokens: &[Tok], at: usize, word: &[u8]) -> bool {
    matches!(tokens.get(at), Some(Tok::Word(w)) if w == word)
}

fn statements(tokens: &[Tok], findings: &mut Vec<Finding>) {
    for (i, token) in tokens.iter().enumerate() {
        let Tok::Word(word) = token else { continue };
        let argument = |n: usize| -> Option<Vec<u8>> {
            // FUNC(a, b): the n-th argument when it is a string expression.
            if tokens.get(i + 1) != Some(&Tok::Punct(b'(')) {
                return None;
            }
            let mut at = i + 2;
            for _ in 0..n {
                at = (at..tokens.len()).find(|&j| tokens[j] == Tok::Punct(b','))? + 1;
            }
            string_at(tokens, at)
        };
        match &word[..] {
            b"READFILE"
            | b"PG_READ_FILE"
            | b"PG_READ_BINARY_FILE"
            | b"LOAD_FILE"
            | b"LO_IMPORT"
            | b"LOAD_EXTENSION"
            | b"PG_STAT_FILE"
            | b"PG_LS_DIR" => {
                if let Some(path) = argument(0) {
                    findings.push(Finding::Read(path));
                }
            }
            b"WRITEFILE" | b"EDIT" => {
                if let Some(path) = argument(0) {
                    findings.push(Finding::Write(path));
                }
            }
            b"LO_EXPORT" => {
                if let Some(path) = argument(1) {
                    findings.push(Finding::Write(path));
                }
            }
            b"COPY" => copy(tokens, i + 1, findings),
            b"INFILE" => {
                if let Some(path) = string_at(tokens, i + 1) {
                    findings.push(Finding::Read(path));
                }
            }
            b"OUTFILE" | b"DUMPFILE" if i > 0 && is(tokens, i - 1, b"INTO") => {
                if let Some(path) = string_at(tokens, i + 1) {
                    findings.push(Finding::Write(path));
                }
            }
            b"ATTACH" => {
                let at = if is(tokens, i + 1, b"DATABASE") {
                    i + 2
                } else {
                    i + 1
                };
                if let Some(path) = string_at(tokens, at) {
                    findings.push(Finding::Write(path));
                }
            }
            b"INTO" if i > 0 && is(tokens, i - 1, b"VACUUM") => {
                if let Some(path) = string_at(tokens, i + 1) {
                    findings.push(Finding::Write(path));
                }
            }
            _ => {}
        }
    }
}

/// `COPY t FROM 'P'`, `COPY t TO 'P'`, `… FROM PROGRAM 'cmd'` within the statement.
fn copy(tokens: &[Tok], from: usize, findings: &mut Vec<Finding>) {
    let end = (from..tokens.len())
        .find(|&j| tokens[j] == Tok::Punct(b';'))
        .unwrap_or(tokens.len());
    for j in from..end {
        let reads = is(tokens, j, b"FROM");
        if !reads && !is(tokens, j, b"TO") {
            continue;
        }
        if is(tokens, j + 1, b"PROGRAM") {
            if let Some(command) = string_at(tokens, j + 2) {
                findings.push(Finding::Shell(command));
            }
        } else if let Some(path) = string_at(tokens, j + 1) {
            findings.push(if reads {
                Finding::Read(path)
            } else {
                Finding::Write(path)
            });
        }
    }
}

/// A line that is a command of the client itself rather than SQL.
fn client_command(line: &[u8], findings: &mut Vec<Finding>) {
    let line = line.trim_ascii();
    let (name, rest) = match line.iter().position(|b| b.is_ascii_whitespace()) {
        Some(at) => (&line[..at], line[at..].trim_ascii()),
        None => (line, &b""[..]),
    };
    let lower = name.to_ascii_lowercase();
    let argument = unquote(
        rest.split(|b| b.is_ascii_whitespace())
            .next()
            .unwrap_or(b""),
    );
    if rest.is_empty() {
        // Every command that matters here takes an argument.
        return;
    }
    match &lower[..] {
        b".shell" | b".system" | b"\\!" | b"system" | b"\\p" | b"pager" => {
            findings.push(Finding::Shell(rest.to_vec()))
        }
        b".read"
        | b".import"
        | b".open"
        | b".restore"
        | b".load"
        | b"\\i"
        | b"\\ir"
        | b"\\include"
        | b"\\include_relative"
        | b"source"
        | b"\\." => findings.push(Finding::Read(argument.to_vec())),
        b".output" | b".once" | b".log" | b".backup" | b".save" | b"\\o" | b"\\out" | b"\\w"
        | b"\\write" | b"tee" | b"\\t" => match rest.strip_prefix(b"|") {
            Some(command) => findings.push(Finding::Shell(command.trim_ascii().to_vec())),
            None if argument != b"stdout" => findings.push(Finding::Write(argument.to_vec())),
            None => {}
        },
        b"\\copy" => {
            // Like COPY, but the file may also be an unquoted word.
            let words: Vec<&[u8]> = rest
                .split(|b| b.is_ascii_whitespace())
                .filter(|w| !w.is_empty())
                .collect();
            for pair in words.windows(2) {
                let direction = pair[0].to_ascii_uppercase();
                let target = pair[1].to_ascii_uppercase();
                if matches!(
                    &target[..],
                    b"PROGRAM" | b"STDIN" | b"STDOUT" | b"PSTDIN" | b"PSTDOUT"
                ) {
                    continue;
                }
                match &direction[..] {
                    b"FROM" => findings.push(Finding::Read(unquote(pair[1]).to_vec())),
                    b"TO" => findings.push(Finding::Write(unquote(pair[1]).to_vec())),
                    _ => {}
                }
            }
            copy(&tokenize(rest, Escapes::Doubled), 0, findings);
        }
        _ => {}
    }
}

fn unquote(word: &[u8]) -> &[u8] {
    match word {
        [b'\'' | b'"', inner @ .., last] if *last == word[0] => inner,
        _ => word,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_functions_copy_and_client_commands() {
        let findings = scan(
            b"select readfile('/home/u/.ssh/' || 'id_rsa');\n\
              COPY t FROM PROGRAM 'rm -rf ~';\n\
              copy t to '/tmp/x';\n\
              select 'it''s', load_file(\"/etc/shadow\");\n\
              .shell cat ~/.aws/credentials\n\
              \\! id\n",
        );
        assert!(findings.contains(&Finding::Read(b"/home/u/.ssh/id_rsa".to_vec())));
        assert!(findings.contains(&Finding::Shell(b"rm -rf ~".to_vec())));
        assert!(findings.contains(&Finding::Write(b"/tmp/x".to_vec())));
        assert!(findings.contains(&Finding::Read(b"/etc/shadow".to_vec())));
        assert!(findings.contains(&Finding::Shell(b"cat ~/.aws/credentials".to_vec())));
        assert!(findings.contains(&Finding::Shell(b"id".to_vec())));
    }

    #[test]
    fn both_quoting_conventions_are_read() {
        // SQLite ends the first string at the backslash; MySQL does not.
        let findings = scan(br"select '\', readfile('/etc/shadow') --'");
        assert!(findings.contains(&Finding::Read(b"/etc/shadow".to_vec())));
    }
}
