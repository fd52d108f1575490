//! Parsing the daemon's HTTP reply: the status line, `Content-Length`, and the JSON body
//! (`ExecReply` on 200, `ErrorReply` otherwise). Anything unexpected is `Malformed`, which the
//! caller never turns into an allow.

/// What the policy said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    Ask,
}

/// A parsed reply. Byte strings are raw JSON string contents (still escaped).
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    Decided {
        decision: Decision,
        id: Option<u64>,
        /// Why, for the denial and waiting lines (never read from an allow).
        message: Option<&'a [u8]>,
        /// The command that decided, shell-quoted by the daemon (never read from an allow).
        command: Option<&'a [u8]>,
    },
    /// A non-200 status: `{"error": …}`.
    Refused {
        status: u16,
        error: Option<&'a [u8]>,
    },
    Malformed,
}

/// How a reply is framed once its headers are in.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// Headers are not complete yet.
    Incomplete,
    /// The whole reply is `total` bytes long (headers + body).
    Complete {
        total: usize,
    },
    /// No `Content-Length`: the body runs until the daemon closes the connection.
    UntilClose,
    Malformed,
}

/// Decides from the bytes read so far whether the reply is complete.
pub fn framing(raw: &[u8]) -> Framing {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        return Framing::Incomplete;
    };
    let head = &raw[..head_end];
    let mut length = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Framing::Malformed;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"content-length") {
            match number(value) {
                Some(n) if n <= usize::MAX as u64 / 2 => length = Some(n as usize),
                _ => return Framing::Malformed,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            // The daemon always sends a sized body; chunking would be a different server.
            return Framing::Malformed;
        }
    }
    match length {
        Some(n) => Framing::Complete {
            total: head_end + 4 + n,
        },
        None => Framing::UntilClose,
    }
}

/// Parses a complete reply.
pub fn parse(raw: &[u8]) -> Answer<'_> {
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        return Answer::Malformed;
    };
    let Some(status) = status(&raw[..head_end]) else {
        return Answer::Malformed;
    };
    let body = &raw[head_end + 4..];
    let Some(fields) = Fields::parse(body) else {
        return Answer::Malformed;
    };
    if status != 200 {
        return Answer::Refused {
            status,
            error: fields.string(b"error"),
        };
    }
    let decision = match fields.string(b"decision") {
        Some(b"allow") => Decision::Allow,
        Some(b"deny") => Decision::Deny,
        Some(b"ask") => Decision::Ask,
        _ => return Answer::Malformed,
    };
    let id = match fields.get(b"id") {
        Some(Value::Number(n)) => Some(n),
        Some(Value::Null) | None => None,
        Some(_) => return Answer::Malformed,
    };
    if decision == Decision::Ask && id.is_none() {
        return Answer::Malformed;
    }
    // Each lookup walks the body again; an allow, the common answer, needs neither.
    let (message, command) = match decision {
        Decision::Allow => (None, None),
        Decision::Deny | Decision::Ask => (fields.string(b"message"), fields.string(b"command")),
    };
    Answer::Decided {
        decision,
        id,
        message,
        command,
    }
}

fn status(head: &[u8]) -> Option<u16> {
    let rest = head
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| head.strip_prefix(b"HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if rest.get(3).is_some_and(|&b| b != b' ' && b != b'\r') {
        return None;
    }
    number(code).map(|n| n as u16)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, &d| n * 10 + (d - b'0') as u64))
}

/// A top-level JSON value as far as the hook cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value<'a> {
    /// Raw string contents between the quotes, escapes untouched.
    String(&'a [u8]),
    Number(u64),
    Null,
    /// Booleans, negative or fractional numbers, arrays, objects: validated and skipped.
    Other,
}

/// The fields of a flat JSON object, validated once and looked up by key.
struct Fields<'a> {
    body: &'a [u8],
}

impl<'a> Fields<'a> {
    fn parse(body: &'a [u8]) -> Option<Self> {
        let fields = Fields { body };
        fields.walk(|_, _| ())?;
        Some(fields)
    }

    fn get(&self, key: &[u8]) -> Option<Value<'a>> {
        let mut found = None;
        self.walk(|k, v| {
            if k == key && found.is_none() {
                found = Some(v);
            }
        })?;
        found
    }

    fn string(&self, key: &[u8]) -> Option<&'a [u8]> {
        match self.get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// Visits each `key: value` pair; `None` when the body is not one JSON object.
    fn walk(&self, mut visit: impl FnMut(&'a [u8], Value<'a>)) -> Option<()> {
        let mut p = Parser {
            s: self.body,
            at: 0,
        };
        p.expect(b'{')?;
        if !p.eat(b'}') {
            loop {
                let key = p.string()?;
                p.expect(b':')?;
                let value = p.value(0)?;
                visit(key, value);
                if p.eat(b'}') {
                    break;
                }
                p.expect(b',')?;
            }
        }
        p.skip_ws();
        (p.at == p.s.len()).then_some(())
    }
}

/// Nesting deeper than this is refused rather than recursed into.
const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while self.s.get(self.at).is_some_and(|b| b" \t\r\n".contains(b)) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        self.eat(b).then_some(())
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match *self.s.get(self.at)? {
                b'"' => break,
                b'\\' => self.at += 2,
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let raw = &self.s[start..self.at];
        self.at += 1;
        Some(raw)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.s.get(self.at..end)? == word).then(|| self.at = end)
    }

    fn value(&mut self, depth: usize) -> Option<Value<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match *self.s.get(self.at)? {
            b'"' => self.string().map(Value::String),
            b'n' => self.literal(b"null").map(|_| Value::Null),
            b't' => self.literal(b"true").map(|_| Value::Other),
            b'f' => self.literal(b"false").map(|_| Value::Other),
            b'0'..=b'9' | b'-' => self.number(),
            open @ (b'[' | b'{') => {
                self.at += 1;
                let close = if open == b'[' { b']' } else { b'}' };
                if self.eat(close) {
                    return Some(Value::Other);
                }
                loop {
                    if open == b'{' {
                        self.string()?;
                        self.expect(b':')?;
                    }
                    self.value(depth + 1)?;
                    if self.eat(close) {
                        return Some(Value::Other);
                    }
                    self.expect(b',')?;
                }
            }
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Value<'a>> {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|b| b"0123456789+-.eE".contains(b))
        {
            self.at += 1;
        }
        let text = &self.s[start..self.at];
        Some(number(text).map_or(Value::Other, Value::Number))
    }
}

/// Writes a raw JSON string's contents for people: escapes decoded, other controls dropped.
pub fn push_unescaped(buf: &mut crate::buf::Buf, raw: &[u8]) {
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        i += 1;
        if b != b'\\' {
            buf.byte(b);
            continue;
        }
        let Some(&esc) = raw.get(i) else { break };
        i += 1;
        match esc {
            b'n' | b't' | b'r' => buf.byte(b' '),
            b'u' => {
                let code = raw
                    .get(i..i + 4)
                    .and_then(|hex| core::str::from_utf8(hex).ok())
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok());
                i += 4;
                let ch = code.and_then(char::from_u32).unwrap_or('?');
                if !ch.is_control() {
                    let mut utf8 = [0u8; 4];
                    buf.push(ch.encode_utf8(&mut utf8).as_bytes());
                }
            }
            other => buf.byte(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn decisions() {
        let raw = reply(
            "200 OK",
            r#"{"decision":"deny","id":null,"rule":"no-rm","message":"no \"rm\"","command":"rm -rf 'a b'"}"#,
        );
        assert_eq!(framing(&raw), Framing::Complete { total: raw.len() });
        assert_eq!(
            parse(&raw),
            Answer::Decided {
                decision: Decision::Deny,
                id: None,
                message: Some(&br#"no \"rm\""#[..]),
                command: Some(&b"rm -rf 'a b'"[..]),
            }
        );
        let ask = reply(
            "200 OK",
            r#"{ "decision" : "ask", "id" : 7, "rule": null, "message": null }"#,
        );
        assert_eq!(
            parse(&ask),
            Answer::Decided {
                decision: Decision::Ask,
                id: Some(7),
                message: None,
                command: None,
            }
        );
    }

    #[test]
    fn errors_are_refusals() {
        let raw = reply("413 Payload Too Large", r#"{"error":"request too large"}"#);
        assert_eq!(
            parse(&raw),
            Answer::Refused {
                status: 413,
                error: Some(&b"request too large"[..])
            }
        );
    }

    #[test]
    fn garbage_is_malformed() {
        for raw in [
            &b"garbage"[..],
            b"HTTP/1.1 200 OK\r\n\r\nnot json",
            b"HTTP/1.1 200 OK\r\n\r\n{\"decision\":\"maybe\"}",
            b"HTTP/1.1 200 OK\r\n\r\n{\"decision\":\"ask\",\"id\":null}",
            b"HTTP/1.1 200 OK\r\n\r\n{\"decision\":\"allow\"} trailing",
            b"HTTP/1.1 200 OK\r\n\r\n{\"decision\":\"allow\",\"id\":\"7\"}",
            b"HTTP/1.1 2000 OK\r\n\r\n{\"decision\":\"allow\"}",
            b"HTTP/1.1 200 OK\r\n\r\n{\"decision\":\"allow\",\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
        ] {
            assert_eq!(parse(raw), Answer::Malformed, "{}", String::from_utf8_lossy(raw));
        }
        assert_eq!(
            framing(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n"),
            Framing::Malformed
        );
        assert_eq!(
            framing(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"),
            Framing::Malformed
        );
        assert_eq!(framing(b"HTTP/1.1 200 OK\r\n"), Framing::Incomplete);
        assert_eq!(framing(b"HTTP/1.1 200 OK\r\n\r\n"), Framing::UntilClose);
    }

    #[test]
    fn nested_values_are_skipped() {
        let raw = reply(
            "200 OK",
            r#"{"extra":{"a":[1,2,{"b":true}],"c":-1.5e3},"decision":"allow","id":3,"command":"ls"}"#,
        );
        assert_eq!(
            parse(&raw),
            Answer::Decided {
                decision: Decision::Allow,
                id: Some(3),
                message: None,
                command: None,
            }
        );
    }

    #[test]
    fn unescapes_for_display() {
        let mut storage = [0u8; 64];
        let mut buf = crate::buf::Buf::new(&mut storage);
        push_unescaped(&mut buf, br#"a\"b\\c\nd\u00e9\u0001"#);
        assert_eq!(buf.bytes().unwrap(), "a\"b\\c d\u{e9}".as_bytes());
    }
}
