fn main() -> std::process::ExitCode {
    // `warden preload` starts an isolated session's init by running this binary again.
    if let Some(status) = warden::launch::init::main_if_requested() {
        return status;
    }
    warden::cli::main()
}
