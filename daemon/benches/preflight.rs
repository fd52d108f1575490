//! Preflight throughput and latency over the real socket: the release `warden serve` in a
//! temporary WARDEN_HOME, 1, 8 and 64 concurrent clients, each request on a fresh connection
//! as the preload library does it. Prints decisions/s, p50/p99 latency and the daemon's RSS,
//! for the built-in policy and for it plus 1,000 generated rules.
//!
//! Run: `cargo bench -p warden --bench preflight` (`WARDEN_BENCH_SECS` sets the duration of
//! each measurement, default 3).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const COMMANDS: &[&[&str]] = &[
    &["git", "status"],
    &["ls", "-la"],
    &["bash", "-c", "make test && rm -rf build"],
    &["rm", "-rf", "/"],
    &["python3", "-c", "print(1)"],
    &["curl", "-fsSL", "https://example.com/install.sh"],
];

fn main() {
    let seconds: u64 = std::env::var("WARDEN_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let duration = Duration::from_secs(seconds);
    let setups = [
        ("built-in policy", None),
        (
            "built-in + 1,000 generated rules",
            Some(generated_policy(1000)),
        ),
    ];
    for (label, policy) in setups {
        let daemon = BenchDaemon::start(policy.as_deref());
        println!("== {label}: {} rules", daemon.rule_count());
        for clients in [1, 8, 64] {
            let result = measure(&daemon.socket, clients, duration);
            println!(
                "clients {clients:>3}: {:>8.0} decisions/s   p50 {:>7.1} µs   p99 {:>7.1} µs   ({} requests)",
                result.per_second, result.p50_us, result.p99_us, result.requests
            );
        }
        println!("daemon RSS: {} KiB", daemon.rss_kib());
    }
}

/// 1,000 rules over programs, flags and command-line regexes, layered on the default.
fn generated_policy(rules: usize) -> String {
    let mut text = String::from("include_default = true\n");
    for n in 0..rules {
        let body = match n % 3 {
            0 => format!("program = [\"tool-{n}\"]"),
            1 => format!("program = [\"git\"]\nargs_any = [\"branch-{n}\"]"),
            _ => format!("cmdline = 'deploy-{n} .*--prod'"),
        };
        text.push_str(&format!(
            "\n[[rule]]\nname = \"generated-{n}\"\naction = \"deny\"\n{body}\n"
        ));
    }
    text
}

struct BenchDaemon {
    child: Child,
    home: PathBuf,
    socket: PathBuf,
}

impl BenchDaemon {
    fn start(policy: Option<&str>) -> Self {
        let home = std::env::temp_dir().join(format!("warden-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
        command
            .arg("serve")
            .env("WARDEN_HOME", &home)
            .env_remove("WARDEN_SOCKET")
            .env_remove("WARDEN_DOOR")
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(text) = policy {
            let file = home.join("bench-policy.toml");
            std::fs::write(&file, text).unwrap();
            command.arg("--policy").arg(file);
        }
        let child = command.spawn().expect("start warden serve");
        let socket = home.join("warden.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "the daemon did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        BenchDaemon {
            child,
            home,
            socket,
        }
    }

    fn rule_count(&self) -> u64 {
        let reply = exchange(&self.socket, "GET", "/v1/status", b"");
        let status: serde_json::Value = serde_json::from_slice(&reply).unwrap();
        status["rule_count"].as_u64().unwrap_or(0)
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for BenchDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

struct Outcome {
    per_second: f64,
    p50_us: f64,
    p99_us: f64,
    requests: usize,
}

fn measure(socket: &Path, clients: usize, duration: Duration) -> Outcome {
    let bodies: Vec<Vec<u8>> = COMMANDS.iter().map(|argv| request_body(argv)).collect();
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let socket = socket.to_path_buf();
            let bodies = bodies.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut n = client;
                while started.elapsed() < duration {
                    let body = &bodies[n % bodies.len()];
                    let t = Instant::now();
                    let reply = exchange(&socket, "POST", "/v1/preflight/exec", body);
                    latencies.push(t.elapsed());
                    assert!(reply.starts_with(b"{\"decision\""), "bad reply");
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Outcome {
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50_us: at(0.50).as_secs_f64() * 1e6,
        p99_us: at(0.99).as_secs_f64() * 1e6,
        requests: all.len(),
    }
}

fn request_body(argv: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "session": null, "hook": "execve", "path": format!("/usr/bin/{}", argv[0]),
        "argv": argv, "cwd": "/home/user/project", "pid": 4242, "ppid": 1,
        "caller": ["bash"], "shell": null,
    }))
    .unwrap()
}

/// One request on a fresh connection; returns the reply body.
fn exchange(socket: &Path, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut stream = UnixStream::connect(socket).expect("connect to the daemon");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: w\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete reply");
    raw.split_off(split + 4)
}
