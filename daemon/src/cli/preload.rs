//! `warden preload [--agent NAME] [--monitor] [--fail-open] [--no-isolate] -- CMD ARGS…`: the
//! flags, turned into a [`launch::Plan`]; [`launch::run`] does the rest.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use crate::launch::isolate::probe;
use crate::launch::{self, Isolation, Plan, Supervision};
use crate::wire::{FailMode, Mode};

#[derive(clap::Args)]
pub struct Args {
    /// Agent name recorded with the session (default: CMD's file name).
    #[arg(long, value_name = "NAME")]
    agent: Option<String>,
    /// Decide and log every program start, but block nothing and never wait for approval
    /// (default: the daemon's mode, enforce unless `warden serve --monitor`).
    #[arg(long)]
    monitor: bool,
    /// Run programs unchecked while the daemon cannot be reached (default: refuse them, after
    /// waiting up to 2 s for a restarting daemon).
    #[arg(long)]
    fail_open: bool,
    /// Run the agent beside your other processes, without namespaces of its own (the
    /// default where unprivileged user namespaces are available isolates it).
    #[arg(long)]
    no_isolate: bool,
    /// The command to run, with its arguments. Every `-` word before `--` or before CMD is
    /// one of warden's flags (an unknown one is a usage error); everything from CMD on is
    /// CMD's.
    #[arg(value_name = "CMD", required = true, trailing_var_arg = true)]
    command: Vec<OsString>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    launch::run(plan(args))
}

fn plan(args: Args) -> Plan {
    let program = &args.command[0];
    let agent = args.agent.unwrap_or_else(|| {
        Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned()
    });
    Plan {
        agent,
        // Without --monitor, the daemon's own mode (`warden serve --monitor`).
        mode: args.monitor.then_some(Mode::Monitor),
        fail: if args.fail_open {
            FailMode::Open
        } else {
            FailMode::Closed
        },
        isolation: isolation(args.no_isolate),
        supervision: Supervision::Reap,
        command: args.command,
    }
}

/// Namespaces unless refused with `--no-isolate` or unavailable here; the fallback says once
/// why, and what the agent can then do.
fn isolation(no_isolate: bool) -> Isolation {
    if no_isolate {
        return Isolation::Shared;
    }
    match probe::check() {
        Ok(()) => Isolation::Namespaces,
        Err(blocked) => {
            eprintln!(
                "warden: no session isolation: {blocked}; the agent can see warden's daemon \
                 and files (see \"What the agent can and cannot do to warden\" in the README)"
            );
            Isolation::Shared
        }
    }
}
