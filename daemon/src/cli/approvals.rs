use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PendingArgs {}
#[derive(clap::Args)]
pub struct ApproveArgs {}
#[derive(clap::Args)]
pub struct DenyArgs {}

pub fn pending(_args: PendingArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
pub fn approve(_args: ApproveArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
pub fn deny(_args: DenyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
