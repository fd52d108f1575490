//! The body of `POST /v1/preflight/exec` (daemon/src/wire.rs `ExecRequest`), written into a
//! caller-supplied [`Buf`]. Byte strings that are valid UTF-8 become JSON strings, anything
//! else `{"b64":"…"}`, so no byte of what is judged is lost or altered.

use core::ffi::c_char;

use crate::buf::Buf;
use crate::sys::strings;

/// One program start, as the hook saw it.
pub struct Exec<'a> {
    /// The intercepted libc function.
    pub hook: &'a str,
    /// Absolute path of the program that will run.
    pub path: &'a [u8],
    /// The program's argv: a NULL-terminated array of C strings (or null).
    pub argv: *const *const c_char,
    /// The string given to `system`/`popen`.
    pub shell: Option<&'a [u8]>,
}

/// Who asks: the calling process.
pub struct Caller<'a> {
    pub session: Option<&'a [u8]>,
    pub cwd: &'a [u8],
    pub pid: i32,
    pub ppid: i32,
    /// `/proc/self/cmdline`: arguments separated (and usually ended) by NUL.
    pub cmdline: &'a [u8],
}

pub fn write_body(buf: &mut Buf, exec: &Exec, caller: &Caller) {
    buf.push(b"{\"session\":");
    optional(buf, caller.session);
    buf.push(b",\"hook\":");
    bytes(buf, exec.hook.as_bytes());
    buf.push(b",\"path\":");
    bytes(buf, exec.path);
    buf.push(b",\"argv\":");
    // SAFETY: `argv` comes from the hooked call, which requires a valid array.
    array(buf, unsafe { strings(exec.argv) });
    buf.push(b",\"cwd\":");
    bytes(buf, caller.cwd);
    buf.push(b",\"pid\":");
    int(buf, caller.pid);
    buf.push(b",\"ppid\":");
    int(buf, caller.ppid);
    buf.push(b",\"caller\":");
    let args = caller.cmdline.strip_suffix(b"\0").unwrap_or(caller.cmdline);
    array(buf, args.split(|&b| b == 0).filter(|_| !args.is_empty()));
    buf.push(b",\"shell\":");
    optional(buf, exec.shell);
    buf.byte(b'}');
}

/// A JSON array of byte strings.
fn array<'a>(buf: &mut Buf, items: impl Iterator<Item = &'a [u8]>) {
    buf.byte(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            buf.byte(b',');
        }
        bytes(buf, item);
    }
    buf.byte(b']');
}

fn optional(buf: &mut Buf, value: Option<&[u8]>) {
    match value {
        Some(value) => bytes(buf, value),
        None => buf.push(b"null"),
    }
}

fn int(buf: &mut Buf, n: i32) {
    if n < 0 {
        buf.byte(b'-');
    }
    buf.num(n.unsigned_abs() as u64);
}

/// A byte string in the wire's `Bytes` form.
pub fn bytes(buf: &mut Buf, value: &[u8]) {
    if core::str::from_utf8(value).is_ok() {
        string(buf, value);
    } else {
        buf.push(b"{\"b64\":\"");
        base64(buf, value);
        buf.push(b"\"}");
    }
}

/// A JSON string from valid UTF-8, escaping quotes, backslashes and control characters.
fn string(buf: &mut Buf, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.byte(b'"');
    let mut plain_from = 0;
    for (i, &b) in text.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        buf.push(&text[plain_from..i]);
        plain_from = i + 1;
        if escape.is_empty() {
            buf.push(b"\\u00");
            buf.byte(HEX[(b >> 4) as usize]);
            buf.byte(HEX[(b & 15) as usize]);
        } else {
            buf.push(escape);
        }
    }
    buf.push(&text[plain_from..]);
    buf.byte(b'"');
}

/// Standard base64 with padding.
fn base64(buf: &mut Buf, data: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        let sextet = |shift: u32| ALPHABET[((n >> shift) & 63) as usize];
        buf.byte(sextet(18));
        buf.byte(sextet(12));
        buf.byte(if chunk.len() > 1 { sextet(6) } else { b'=' });
        buf.byte(if chunk.len() > 2 { sextet(0) } else { b'=' });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl Fn(&mut Buf)) -> String {
        let mut storage = vec![0u8; 1 << 16];
        let mut buf = Buf::new(&mut storage);
        f(&mut buf);
        String::from_utf8(buf.bytes().unwrap().to_vec()).unwrap()
    }

    #[test]
    fn escapes_json_strings() {
        let out = render(|b| bytes(b, b"a\"b\\c\nd\x01\x7f\xc3\xa9"));
        assert_eq!(out, "\"a\\\"b\\\\c\\nd\\u0001\x7f\u{e9}\"");
    }

    #[test]
    fn non_utf8_becomes_b64() {
        assert_eq!(render(|b| bytes(b, b"r\xffm")), r#"{"b64":"cv9t"}"#);
        assert_eq!(render(|b| base64(b, b"\xff")), "/w==");
        assert_eq!(render(|b| base64(b, b"\xff\xfe")), "//4=");
    }

    #[test]
    fn full_body_matches_the_wire_format() {
        let rm = c"rm";
        let rf = c"-rf";
        let bad = c"x\xff";
        let argv = [rm.as_ptr(), rf.as_ptr(), bad.as_ptr(), core::ptr::null()];
        let exec = Exec {
            hook: "execve",
            path: b"/usr/bin/rm",
            argv: argv.as_ptr(),
            shell: None,
        };
        let caller = Caller {
            session: Some(b"s1"),
            cwd: b"/p",
            pid: 123,
            ppid: -1,
            cmdline: b"bash\0-c\0echo hi\0",
        };
        let body = render(|b| write_body(b, &exec, &caller));
        assert_eq!(
            body,
            r#"{"session":"s1","hook":"execve","path":"/usr/bin/rm","argv":["rm","-rf",{"b64":"eP8="}],"cwd":"/p","pid":123,"ppid":-1,"caller":["bash","-c","echo hi"],"shell":null}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["argv"][2]["b64"], "eP8=");
    }

    #[test]
    fn shell_requests_and_empty_caller() {
        let sh = c"sh";
        let argv = [sh.as_ptr(), core::ptr::null()];
        let exec = Exec {
            hook: "system",
            path: b"/bin/sh",
            argv: argv.as_ptr(),
            shell: Some(b"ls | wc"),
        };
        let caller = Caller {
            session: None,
            cwd: b"/",
            pid: 1,
            ppid: 0,
            cmdline: b"",
        };
        let body = render(|b| write_body(b, &exec, &caller));
        assert!(body.starts_with(r#"{"session":null,"hook":"system""#));
        assert!(body.ends_with(r#""caller":[],"shell":"ls | wc"}"#));
    }
}
