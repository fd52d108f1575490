//! `warden completions SHELL` and `warden man`: shell completions and the manual page, both
//! generated from the definition the parser itself uses, so they cannot drift from it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

#[derive(clap::Args)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints the completion script for `args.shell` on stdout.
pub fn completions(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut super::Cli::command(), "warden", &mut out);
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write `warden.1` and a page per subcommand (`warden-serve.1`, …) into this directory
    /// instead of printing `warden.1`.
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Prints the manual page `warden.1` (roff), or writes every page into a directory.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let command = super::Cli::command();
    match args.dir {
        Some(dir) => clap_mangen::generate_to(command, &dir)
            .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
