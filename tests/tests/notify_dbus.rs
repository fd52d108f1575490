//! Desktop notifications on a real session bus: the test starts `dbus-daemon --session` and
//! plays the notification server on it. An ask raises a `Notify` call carrying the command
//! and two actions; the server's `ActionInvoked` signal resolves the ask (resolver
//! `desktop`); the same signal from any other connection is ignored; without a bus the
//! daemon says so in one line and decides as always.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use futures_lite::StreamExt;
use zbus::message::Type;
use zbus::zvariant::OwnedValue;
use zbus::{Connection, MessageStream};

use warden_tests::{
    ask, decision_records, http, text, wait_for_answer, wait_until, Daemon, TempHome, TEST_POLICY,
};

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// A private `dbus-daemon --session`, ended on drop.
struct Bus {
    child: Child,
    address: String,
}

impl Bus {
    fn start(home: &TempHome) -> Bus {
        let socket = home.path().join("bus");
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .arg(format!("--address=unix:path={}", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (package dbus)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        Bus {
            child,
            address: line.trim().to_string(),
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `Notify` call as the server received it.
#[derive(Clone, Debug)]
struct Notified {
    id: u32,
    summary: String,
    body: String,
    actions: Vec<String>,
}

/// The notification server the test plays: owns `org.freedesktop.Notifications`, answers
/// `GetCapabilities` (with `actions`), `Notify` and `CloseNotification`, and records calls.
struct Server {
    runtime: tokio::runtime::Runtime,
    connection: Connection,
    notified: Arc<Mutex<Vec<Notified>>>,
    closed: Arc<Mutex<Vec<u32>>>,
}

impl Server {
    fn start(bus: &Bus) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let connection = runtime.block_on(connect(&bus.address));
        runtime
            .block_on(connection.request_name(SERVICE))
            .expect("own the notification service name");
        let notified = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(Mutex::new(Vec::new()));
        let (conn, seen, gone) = (connection.clone(), notified.clone(), closed.clone());
        runtime.spawn(async move {
            let mut calls = MessageStream::from(&conn);
            let mut next_id = 41;
            while let Some(Ok(message)) = calls.next().await {
                let header = message.header();
                if header.message_type() != Type::MethodCall {
                    continue;
                }
                let member = header.member().map(|m| m.to_string()).unwrap_or_default();
                let replied = match member.as_str() {
                    "GetCapabilities" => conn.reply(&header, &vec!["actions", "body"]).await,
                    "Notify" => {
                        type Call = (
                            String,
                            u32,
                            String,
                            String,
                            String,
                            Vec<String>,
                            HashMap<String, OwnedValue>,
                            i32,
                        );
                        let (_, _, _, summary, body, actions, _, _): Call =
                            message.body().deserialize().unwrap();
                        next_id += 1;
                        seen.lock().unwrap().push(Notified {
                            id: next_id,
                            summary,
                            body,
                            actions,
                        });
                        conn.reply(&header, &next_id).await
                    }
                    "CloseNotification" => {
                        gone.lock()
                            .unwrap()
                            .push(message.body().deserialize().unwrap());
                        conn.reply(&header, &()).await
                    }
                    _ => continue,
                };
                replied.unwrap();
            }
        });
        Server {
            runtime,
            connection,
            notified,
            closed,
        }
    }

    fn wait_for_notification(&self, count: usize) -> Notified {
        wait_until("a Notify call", || {
            self.notified.lock().unwrap().len() >= count
        });
        self.notified.lock().unwrap()[count - 1].clone()
    }

    /// Emits `ActionInvoked(id, action)` from `connection` (the server's own, or another).
    fn click(&self, connection: &Connection, id: u32, action: &str) {
        self.runtime
            .block_on(connection.emit_signal(
                None::<&str>,
                PATH,
                SERVICE,
                "ActionInvoked",
                &(id, action),
            ))
            .unwrap();
    }
}

async fn connect(address: &str) -> Connection {
    zbus::connection::Builder::address(address)
        .unwrap()
        .build()
        .await
        .expect("connect to the test bus")
}

fn daemon_on(home: &TempHome, address: &str) -> Daemon {
    Daemon::start_in(
        home,
        Some(TEST_POLICY),
        &[],
        &[("DBUS_SESSION_BUS_ADDRESS", OsStr::new(address))],
    )
}

fn resolution_of(home: &TempHome, id: u64) -> serde_json::Value {
    let out = home.warden(&["log", "--json", "-n", "100"]);
    text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|r| r["kind"] == "resolution" && r["approval"].as_u64() == Some(id))
        .unwrap_or_else(|| panic!("no resolution of #{id}"))
}

#[test]
fn an_ask_raises_a_notification_whose_approve_button_resolves_it() {
    let home = TempHome::new();
    let bus = Bus::start(&home);
    let server = Server::start(&bus);
    let daemon = daemon_on(&home, &bus.address);

    let id = ask(&home.socket(), &["kubectl", "apply", "-f", "prod.yaml"]);
    let shown = server.wait_for_notification(1);
    assert_eq!(shown.summary, "warden: a program asks to run");
    assert!(
        shown.body.contains("kubectl apply -f prod.yaml"),
        "{shown:?}"
    );
    assert_eq!(shown.actions, ["approve", "Approve", "deny", "Deny"]);

    server.click(&server.connection, shown.id, "approve");
    let answer = wait_for_answer(&home.socket(), id);
    assert_eq!(answer["decision"], "allow", "{answer}");
    assert_eq!(resolution_of(&home, id)["resolver"], "desktop");
    assert!(
        !daemon.log_text().contains("no desktop notifications"),
        "{}",
        daemon.log_text()
    );
}

#[test]
fn a_click_from_anyone_but_the_notification_server_is_ignored() {
    let home = TempHome::new();
    let bus = Bus::start(&home);
    let server = Server::start(&bus);
    let daemon = daemon_on(&home, &bus.address);

    let id = ask(&home.socket(), &["kubectl", "delete", "ns", "prod"]);
    let shown = server.wait_for_notification(1);
    let intruder = server.runtime.block_on(connect(&bus.address));
    server.click(&intruder, shown.id, "approve");
    wait_until("the ignored click in the log", || {
        daemon.log_text().contains("ignored a click")
    });
    let pending = http(&home.socket(), "GET", "/v1/approvals", None).json();
    assert_eq!(
        pending[0]["id"].as_u64(),
        Some(id),
        "still pending: {pending}"
    );

    server.click(&server.connection, shown.id, "deny");
    assert_eq!(wait_for_answer(&home.socket(), id)["decision"], "deny");
    assert_eq!(resolution_of(&home, id)["resolver"], "desktop");
}

#[test]
fn an_ask_answered_elsewhere_closes_its_notification() {
    let home = TempHome::new();
    let bus = Bus::start(&home);
    let server = Server::start(&bus);
    let _daemon = daemon_on(&home, &bus.address);

    let id = ask(&home.socket(), &["kubectl", "apply"]);
    let shown = server.wait_for_notification(1);
    let out = home.warden(&["deny", &id.to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("CloseNotification", || {
        server.closed.lock().unwrap().contains(&shown.id)
    });
}

#[test]
fn without_a_session_bus_the_daemon_says_so_once_and_decides_as_always() {
    let home = TempHome::new();
    let missing = home.path().join("no-bus");
    let daemon = Daemon::start_in(
        &home,
        Some(TEST_POLICY),
        &[],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            OsStr::new(&format!("unix:path={}", missing.display())),
        )],
    );
    let id = ask(&home.socket(), &["kubectl", "apply"]);
    ask(&home.socket(), &["kubectl", "apply", "again"]);
    let out = home.warden(&["approve", &id.to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_until("the line about the bus", || {
        daemon.log_text().contains("no desktop notifications")
    });
    let about_the_bus: Vec<String> = daemon
        .log_text()
        .lines()
        .filter(|line| !line.contains("listening on"))
        .map(str::to_string)
        .collect();
    assert_eq!(about_the_bus.len(), 1, "{about_the_bus:?}");
    assert_eq!(decision_records(&home).len(), 2);
}
