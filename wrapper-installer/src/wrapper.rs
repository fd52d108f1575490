//! The wrapper script: rendering it, and recognising (and reading) one warden wrote.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::agents::Agent;
use crate::shell::{quote, unquote_prefix};

/// The comment that marks a file as warden's own wrapper; the agent name follows it.
pub const MARKER: &str = "# warden-wrapper: ";

/// The marker only counts within the first lines, which are read with this bound.
const MARKER_SEARCH_BYTES: u64 = 4096;

/// What the wrapped agent's session does while the warden daemon cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailMode {
    /// Refuse every program (`warden preload`'s default).
    #[default]
    Closed,
    /// Run them unchecked (`warden preload --fail-open`).
    Open,
}

/// The wrapper for `agent` that runs `real` under `warden preload`, failing `fail`.
pub fn render(agent: &Agent, warden: &Path, real: &Path, fail: FailMode) -> Vec<u8> {
    let name = agent.name;
    let real_q = quote(real.as_os_str().as_bytes());
    let warden_q = quote(warden.as_os_str().as_bytes());
    let mut text = format!(
        "#!/bin/sh\n{MARKER}{name}\n\
         # Runs {name} with every program it starts checked by warden.\n\
         # Written by `warden setup {name}`; `warden setup {name} --remove` takes it away.\n"
    )
    .into_bytes();
    // A moved or uninstalled program would otherwise end in an obscure exec error.
    push_missing_check(
        &mut text,
        &real_q,
        "so this wrapper cannot run it",
        &format!("run \"warden setup {name}\" to wrap {name} where it is now"),
    );
    push_missing_check(
        &mut text,
        &warden_q,
        &format!("so {name} cannot run guarded"),
        &format!("reinstall warden, then run \"warden setup {name}\""),
    );
    for part in [
        b"exec ",
        &warden_q[..],
        &preload_args(agent, fail),
        &real_q,
        b" \"$@\"\n",
    ] {
        text.extend_from_slice(part);
    }
    text
}

/// Appends a check that exits 127 with `consequence` and `fix` on stderr when `path_q` (a
/// quoted path) is no longer executable. `consequence` and `fix` are fixed text without `'`.
fn push_missing_check(text: &mut Vec<u8>, path_q: &[u8], consequence: &str, fix: &str) {
    let explain = format!("; then\n    printf 'warden: %s is gone, {consequence}\\n' ");
    let hint = format!(" >&2\n    printf 'warden: {fix}\\n' >&2\n    exit 127\nfi\n");
    for part in [
        b"if [ ! -x ",
        path_q,
        b" ]",
        explain.as_bytes(),
        path_q,
        hint.as_bytes(),
    ] {
        text.extend_from_slice(part);
    }
}

/// What sits between the warden path and the real program on the `exec` line.
fn preload_args(agent: &Agent, fail: FailMode) -> Vec<u8> {
    let flag = match fail {
        FailMode::Closed => "",
        FailMode::Open => " --fail-open",
    };
    format!(" preload --agent {}{flag} -- ", agent.name).into_bytes()
}

/// What a wrapper records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub agent: String,
    pub warden: PathBuf,
    pub real: PathBuf,
}

/// The agent name in the marker, when `text` starts like a warden wrapper.
pub fn marker_agent(text: &[u8]) -> Option<String> {
    let mut lines = text.split(|&b| b == b'\n');
    let shebang = lines.next()?;
    if !shebang.starts_with(b"#!") {
        return None;
    }
    let name = lines.next()?.strip_prefix(MARKER.as_bytes())?;
    let name = std::str::from_utf8(name).ok()?;
    (!name.is_empty()).then(|| name.to_owned())
}

/// Reads back the agent, warden and real paths of a wrapper [`render`] wrote.
pub fn parse(text: &[u8], agent: &Agent) -> Option<Recorded> {
    let recorded_agent = marker_agent(text)?;
    let exec_at = find(text, b"\nexec ")? + b"\nexec ".len();
    let (warden, rest) = unquote_prefix(&text[exec_at..])?;
    let args = [FailMode::Closed, FailMode::Open].map(|fail| preload_args(agent, fail));
    let after_args = args.iter().find_map(|a| rest.strip_prefix(a.as_slice()))?;
    let (real, rest) = unquote_prefix(after_args)?;
    rest.starts_with(b" \"$@\"").then(|| Recorded {
        agent: recorded_agent,
        warden: PathBuf::from(OsStr::from_bytes(&warden)),
        real: PathBuf::from(OsStr::from_bytes(&real)),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The marker's agent name when the file at `path` is a warden wrapper. Unreadable files and
/// anything else (directories, missing files) count as not ours.
pub fn file_marker(path: &Path) -> Option<String> {
    marker_agent(&read_head(path, MARKER_SEARCH_BYTES).ok()?)
}

/// The whole wrapper at `path`, bounded to a size no wrapper reaches.
pub fn read_wrapper(path: &Path) -> std::io::Result<Vec<u8>> {
    read_head(path, 64 * 1024)
}

fn read_head(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AGENTS;
    use crate::test_support::{write_executable, Scratch};
    use std::process::Command;

    fn codex() -> &'static Agent {
        &AGENTS[0]
    }

    #[test]
    fn rendered_wrapper_carries_marker_and_parses_back() {
        let text = render(
            codex(),
            Path::new("/opt/w/warden"),
            Path::new("/usr/bin/codex"),
            FailMode::Closed,
        );
        assert_eq!(marker_agent(&text).as_deref(), Some("codex"));
        let recorded = parse(&text, codex()).unwrap();
        assert_eq!(recorded.warden, Path::new("/opt/w/warden"));
        assert_eq!(recorded.real, Path::new("/usr/bin/codex"));
        let text = String::from_utf8(text).unwrap();
        assert!(text
            .contains("exec '/opt/w/warden' preload --agent codex -- '/usr/bin/codex' \"$@\"\n"));
    }

    #[test]
    fn a_fail_open_wrapper_says_so_and_parses_back() {
        let text = render(
            codex(),
            Path::new("/opt/w/warden"),
            Path::new("/usr/bin/codex"),
            FailMode::Open,
        );
        assert_eq!(
            parse(&text, codex()).unwrap().real,
            Path::new("/usr/bin/codex")
        );
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains(
            "exec '/opt/w/warden' preload --agent codex --fail-open -- '/usr/bin/codex' \"$@\"\n"
        ));
    }

    #[test]
    fn rendering_is_deterministic() {
        let a = render(codex(), Path::new("/w"), Path::new("/c"), FailMode::Closed);
        assert_eq!(
            a,
            render(codex(), Path::new("/w"), Path::new("/c"), FailMode::Closed)
        );
    }

    #[test]
    fn foreign_scripts_have_no_marker() {
        assert_eq!(
            marker_agent(b"#!/bin/sh\nexec /usr/bin/codex \"$@\"\n"),
            None
        );
        assert_eq!(marker_agent(b"# warden-wrapper: codex\n"), None);
        assert_eq!(marker_agent(b"\x7fELF\x02\x01"), None);
        assert!(parse(b"#!/bin/sh\n# warden-wrapper: codex\nexec x\n", codex()).is_none());
    }

    /// Runs the rendered wrapper with a stand-in for `warden` that prints its arguments, in
    /// directories whose names a shell would otherwise expand or split.
    #[test]
    fn wrapper_passes_odd_paths_and_arguments_through_sh_intact() {
        let scratch = Scratch::new("odd");
        let odd = scratch
            .0
            .join("sp ace 'single' \"double\" $HOME `id` $(id) %s");
        let warden = odd.join("warden");
        let real = odd.join("co dex");
        write_executable(
            &warden,
            "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\n",
        );
        write_executable(&real, "#!/bin/sh\n");
        let wrapper = scratch.0.join("codex");
        write_executable(&wrapper, render(codex(), &warden, &real, FailMode::Closed));

        let out = Command::new(&wrapper)
            .args(["a b", "$x", "'q'"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let expected = format!(
            "<preload><--agent><codex><--><{}><a b><$x><'q'>",
            real.display()
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
        let recorded = parse(&std::fs::read(&wrapper).unwrap(), codex()).unwrap();
        assert_eq!((recorded.warden, recorded.real), (warden, real));
    }

    #[test]
    fn wrapper_explains_a_vanished_program_with_exit_127() {
        let scratch = Scratch::new("gone");
        let wrapper = scratch.0.join("codex");
        let real = scratch.0.join("it's gone %s/codex");
        write_executable(
            &wrapper,
            render(codex(), Path::new("/bin/true"), &real, FailMode::Closed),
        );

        let out = Command::new(&wrapper).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains(&format!("{} is gone", real.display())),
            "{stderr}"
        );
        assert!(stderr.contains("run \"warden setup codex\""), "{stderr}");
    }

    #[test]
    fn wrapper_explains_a_vanished_warden_with_exit_127() {
        let scratch = Scratch::new("nowarden");
        let wrapper = scratch.0.join("codex");
        let warden = scratch.0.join("missing-warden");
        write_executable(
            &wrapper,
            render(codex(), &warden, Path::new("/bin/true"), FailMode::Closed),
        );

        let out = Command::new(&wrapper).output().unwrap();
        assert_eq!(out.status.code(), Some(127));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains("reinstall warden"), "{stderr}");
    }

    #[test]
    fn file_marker_reads_files_and_ignores_the_rest() {
        let scratch = Scratch::new("marker");
        let ours = scratch.0.join("ours");
        std::fs::write(
            &ours,
            render(codex(), Path::new("/w"), Path::new("/c"), FailMode::Closed),
        )
        .unwrap();
        let theirs = scratch.0.join("theirs");
        std::fs::write(&theirs, "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(file_marker(&ours).as_deref(), Some("codex"));
        assert_eq!(file_marker(&theirs), None);
        assert_eq!(file_marker(&scratch.0), None);
        assert_eq!(file_marker(&scratch.0.join("missing")), None);
    }
}
