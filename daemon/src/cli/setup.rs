//! `warden setup`: install or remove the wrapper that makes a plain agent command (`codex`)
//! run under `warden preload`, and list the supported agents.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use warden_wrapper_installer::shell::path_export_line;
use warden_wrapper_installer::{
    by_name, default_bin_dir, install, list, remove, AgentStatus, Change, Context, FailMode,
    InstallOptions, InstallReport, PathOrder, RemoveReport, WrapperState,
};

use crate::paths;

#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  warden setup codex                  wrap the first codex on PATH as ~/.local/bin/codex
  CODEX_REAL=/opt/codex warden setup codex   wrap that file instead
  warden setup codex --remove         take the wrapper away again
  warden setup --list                 supported agents: installed? wrapped?")]
pub struct Args {
    /// The agent to wrap (see --list).
    #[arg(required_unless_present = "list", conflicts_with = "list")]
    agent: Option<String>,
    /// Show the supported agents and whether each is installed and wrapped.
    #[arg(long)]
    list: bool,
    /// Replace a file at the wrapper path that is not warden's, keeping a backup.
    #[arg(long, conflicts_with = "remove")]
    force: bool,
    /// Print the wrapper that would be written; change nothing.
    #[arg(long, conflicts_with = "remove")]
    dry_run: bool,
    /// Directory for the wrapper [default: ~/.local/bin].
    #[arg(long, value_name = "DIR")]
    bin_dir: Option<PathBuf>,
    /// Remove warden's wrapper and restore the file a --force install replaced.
    #[arg(long)]
    remove: bool,
    /// Make the wrapper run the agent with `warden preload --fail-open`: programs run
    /// unchecked while the daemon cannot be reached (default: they are refused).
    #[arg(long, conflicts_with = "remove")]
    fail_open: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ctx = context()?;
    let bin_dir = match &args.bin_dir {
        Some(dir) => std::path::absolute(dir)
            .with_context(|| format!("cannot resolve --bin-dir {}", dir.display()))?,
        None => default_bin_dir(ctx.home.as_deref())?,
    };
    let mut out = std::io::stdout().lock();
    let Some(name) = args.agent else {
        let statuses = list(&ctx, &bin_dir)?;
        statuses
            .iter()
            .try_for_each(|s| print_status(&mut out, s))?;
        return Ok(ExitCode::SUCCESS);
    };
    let agent = by_name(&name)?;
    if args.remove {
        let report = remove(agent, &ctx, &bin_dir)
            .with_context(|| format!("cannot remove the {name} wrapper"))?;
        print_removal(&mut out, agent.program, &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let options = InstallOptions {
        bin_dir: bin_dir.clone(),
        force: args.force,
        dry_run: args.dry_run,
        real_override: std::env::var_os(agent.real_override_env)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        fail: if args.fail_open {
            FailMode::Open
        } else {
            FailMode::Closed
        },
    };
    let report = install(agent, &ctx, &options)
        .with_context(|| format!("cannot install the {name} wrapper; nothing was changed"))?;
    print_install(&mut out, agent.name, &report, args.dry_run)?;
    print_path_order(&mut out, agent.program, &bin_dir, &report.path_order, &ctx)?;
    Ok(ExitCode::SUCCESS)
}

fn context() -> anyhow::Result<Context> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    Ok(Context {
        path_var: non_empty("PATH").unwrap_or_default(),
        home: non_empty("HOME").map(PathBuf::from),
        warden_exe: std::env::current_exe()
            .context("cannot find the path of the running warden binary")?,
        warden_lib: non_empty(paths::env::LIB).map(PathBuf::from),
    })
}

fn print_install(
    out: &mut impl Write,
    name: &str,
    report: &InstallReport,
    dry_run: bool,
) -> anyhow::Result<()> {
    let wrapper = report.wrapper.display();
    let what = match &report.change {
        Change::Created => "new file".to_owned(),
        Change::Unchanged => "already up to date".to_owned(),
        Change::Updated {
            previous_real: Some(old),
        } if *old != report.real => format!("updated; it ran {} before", old.display()),
        Change::Updated { .. } => "updated".to_owned(),
        Change::ReplacedForeign { backup } => {
            format!("replaced the file there, kept at {}", backup.display())
        }
    };
    if dry_run {
        writeln!(out, "Would write {wrapper} ({what}), mode 0755:")?;
        out.write_all(&report.text)?;
        writeln!(out, "(dry run: nothing was changed)")?;
    } else {
        writeln!(out, "Installed {wrapper} ({what}).")?;
    }
    writeln!(
        out,
        "It runs {} under `warden preload --agent {name}`; library {} loads.",
        report.real.display(),
        report.library.display()
    )?;
    Ok(())
}

/// Tells whether a plain command reaches the wrapper, and if not, the profile line to add.
fn print_path_order(
    out: &mut impl Write,
    program: &str,
    bin_dir: &Path,
    order: &PathOrder,
    ctx: &Context,
) -> anyhow::Result<()> {
    let dir = bin_dir.display();
    match order {
        PathOrder::WrapperFirst => {
            writeln!(
                out,
                "{dir} comes first on PATH, so a plain `{program}` is guarded \
                 (shells that already ran {program} may need `hash -r`)."
            )?;
            return Ok(());
        }
        PathOrder::Shadowed { by } => eprintln!(
            "warden: warning: {} comes before {dir} on PATH, so a plain `{program}` is NOT guarded.",
            by.display()
        ),
        PathOrder::NotOnPath => eprintln!(
            "warden: warning: {dir} is not on PATH, so a plain `{program}` is NOT guarded."
        ),
    }
    let mut advice = b"Add this line to your shell profile (~/.profile, ~/.bashrc or ~/.zshrc), \
                       then open a new shell:\n    "
        .to_vec();
    advice.extend_from_slice(&path_export_line(bin_dir, ctx.home.as_deref()));
    advice.push(b'\n');
    std::io::stderr().write_all(&advice)?;
    Ok(())
}

fn print_removal(out: &mut impl Write, program: &str, report: &RemoveReport) -> anyhow::Result<()> {
    let wrapper = report.wrapper.display();
    match (&report.restored, report.removed) {
        (Some(backup), _) => writeln!(
            out,
            "Removed the wrapper {wrapper} and put back the file it replaced (from {}).",
            backup.display()
        )?,
        (None, true) => writeln!(out, "Removed the wrapper {wrapper}.")?,
        (None, false) => writeln!(out, "No wrapper at {wrapper}; nothing to remove.")?,
    }
    match &report.now_first {
        Some(first) => writeln!(out, "A plain `{program}` now runs {}.", first.display())?,
        None => writeln!(out, "No `{program}` is on PATH now.")?,
    }
    Ok(())
}

fn print_status(out: &mut impl Write, status: &AgentStatus) -> anyhow::Result<()> {
    let installed = match &status.installed {
        Some(path) => format!("installed: {}", path.display()),
        None => "installed: no".to_owned(),
    };
    let wrapper = status.wrapper_path.display();
    let wrapped = match &status.wrapper {
        WrapperState::Absent => "wrapped: no".to_owned(),
        WrapperState::Foreign => format!("wrapped: no ({wrapper} is not warden's)"),
        WrapperState::Wrapped { real: Some(real) } if !real.exists() => format!(
            "wrapped: {wrapper}, but it runs {} which is gone; run `warden setup {}`",
            real.display(),
            status.agent.name
        ),
        WrapperState::Wrapped { real: Some(real) } => {
            format!("wrapped: {wrapper} runs {}", real.display())
        }
        WrapperState::Wrapped { real: None } => format!("wrapped: {wrapper}"),
    };
    let order = match (&status.wrapper, &status.path_order) {
        (WrapperState::Wrapped { .. }, PathOrder::Shadowed { by }) => {
            format!(" (not first on PATH: {} is)", by.display())
        }
        (WrapperState::Wrapped { .. }, PathOrder::NotOnPath) => " (not on PATH)".to_owned(),
        _ => String::new(),
    };
    writeln!(out, "{}\t{installed}\t{wrapped}{order}", status.agent.name)?;
    Ok(())
}
