//! warden: the policy daemon, its client and the command-line interface.
//!
//! Layout (one concern per module):
//! - [`engine`]: the pure policy engine (no I/O): TOML policy, shell unwrapping, evaluation.
//! - [`wire`]: the JSON request and reply types shared by the daemon, its clients and the
//!   preload library's protocol.
//! - [`paths`]: where warden keeps its state (`WARDEN_HOME`) and sockets.
//! - [`procfs`]: bounded readers of `/proc` (parents, start times, environments, pid
//!   namespaces, mount points).
//! - [`server`]: `warden serve`, a thin shell around the engine: sockets, door, sessions,
//!   approvals, audit, policy reload.
//! - [`client`]: talks to a running daemon over its Unix socket.
//! - [`launch`]: `warden preload`: starting an agent as a guarded session and watching over
//!   it until it ends.
//! - [`cli`]: the `warden` command line, a thin shell around the client and the engine.
//! - [`quote`]: argv shown as a person would type it (never used for matching).

pub mod cli;
pub mod client;
pub mod engine;
pub mod launch;
pub mod paths;
pub mod policy_files;
pub mod procfs;
pub mod quote;
pub mod server;
pub mod wire;
