//! Evaluation speed: the shipped default policy, and a generated policy of 1,000 extra rules
//! layered over it; plain program starts, deep `bash -c` strings and an interpreter one-liner
//! (whose code is scanned).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use warden::engine::{Policy, PolicySource, Query};

/// 1,000 rules of the kinds real policies have: program names with arguments, flags,
/// path globs and command-line regexes without a program.
fn generated_policy(rules: usize) -> Policy {
    let mut text = String::new();
    for i in 0..rules {
        let body = match i % 10 {
            0..=5 => format!("program = [\"tool{i}\"]\nargs_any = ['deploy-{i}', 'prod-{i}-.*']"),
            6 | 7 => format!("program = [\"cmd{i}\", \"cmd{i}-alt\"]\nflags = [\"-x\"]\nargs_all = ['target-{i}']"),
            8 => format!("program = [\"/opt/vendor{i}/bin/*\"]"),
            _ => format!("cmdline = 'secret-{i}-[a-z]+'"),
        };
        let action = ["ask", "deny", "log"][i % 3];
        text.push_str(&format!(
            "[[rule]]\nname = \"gen-{i}\"\naction = \"{action}\"\n{body}\n\n"
        ));
    }
    let generated = PolicySource {
        origin: "generated.toml".to_string(),
        text,
    };
    Policy::compile(&[Policy::builtin_source(), generated]).expect("generated policy compiles")
}

fn exec<'a>(program: &'a str, argv: &[&'a str]) -> Query<'a> {
    Query {
        program: program.as_bytes(),
        argv: argv.iter().map(|a| a.as_bytes()).collect(),
        cwd: b"/home/dev/project",
        agent: Some("codex"),
        session: Some("s1"),
        caller: vec![b"/bin/bash", b"-c", b"make"],
        identity: None,
        home: b"/home/dev",
    }
}

const DEEP: &str = "cd /tmp && (make -j4 2>&1 | tee build.log); echo \"$(git rev-parse HEAD)\" \
    && sudo -u builder env A=1 nice -n 5 timeout 60 rm -rf build/out || bash -c 'ls -la; grep -rn x src | head'";

fn bench(c: &mut Criterion) {
    let plain: Vec<Query> = vec![
        exec("/usr/bin/git", &["git", "status", "--short"]),
        exec("/usr/bin/rm", &["rm", "-rf", "target"]),
        exec("/usr/bin/kubectl", &["kubectl", "apply", "-f", "prod.yaml"]),
        exec("/usr/bin/python3", &["python3", "script.py", "--verbose"]),
        exec("/usr/local/bin/tool500", &["tool500", "deploy-500"]),
    ];
    let deep = exec("/bin/bash", &["bash", "-c", DEEP]);
    let one_liner = exec(
        "/usr/bin/python3",
        &[
            "python3",
            "-c",
            "import json,sys; print(json.load(open('package.json'))['name'])",
        ],
    );
    for (name, policy) in [
        ("default", Policy::builtin()),
        ("generated-1000", generated_policy(1000)),
    ] {
        let mut group = c.benchmark_group(format!("{name} ({} rules)", policy.rule_count()));
        group.bench_function("plain exec, 5 commands per iteration", |b| {
            b.iter(|| {
                for query in &plain {
                    black_box(policy.evaluate(black_box(query)));
                }
            })
        });
        group.bench_function("plain exec git status", |b| {
            b.iter(|| black_box(policy.evaluate(black_box(&plain[0]))))
        });
        group.bench_function("deep bash -c", |b| {
            b.iter(|| black_box(policy.evaluate(black_box(&deep))))
        });
        group.bench_function("python3 -c one-liner", |b| {
            b.iter(|| black_box(policy.evaluate(black_box(&one_liner))))
        });
        group.finish();
    }
    let policy = Policy::builtin();
    let mut group = c.benchmark_group("worst case (default policy)");
    group.sample_size(10);
    for (name, text) in [
        ("100,000 words", "a ".repeat(100_000)),
        ("4,000 commands joined by &&", "a && ".repeat(4_000) + "b"),
        ("4,000 pipeline stages", "a | ".repeat(4_000) + "b"),
    ] {
        let query = exec("/bin/bash", &["bash", "-c", &text]);
        group.bench_function(name, |b| {
            b.iter(|| black_box(policy.evaluate(black_box(&query))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
