//! Command-line options, given after cargo's `--`.

use std::path::PathBuf;

pub struct Options {
    /// `--rounds N`: measured rounds, after one unrecorded warm-up round.
    pub rounds: usize,
    /// `--iterations N`: execs per loop and round.
    pub iterations: usize,
    /// `--results DIR`: where `make bench` left the daemon's and the engine's results
    /// (`preflight.txt`, `criterion/`); default `<target>/bench`.
    pub results: PathBuf,
}

impl Options {
    pub fn parse() -> Result<Options, String> {
        let mut options = Options {
            rounds: 15,
            iterations: 400,
            results: warden_tests::target_dir().join("bench"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--rounds" => options.rounds = positive(&arg, &value()?)?,
                "--iterations" => options.iterations = positive(&arg, &value()?)?,
                "--results" => options.results = PathBuf::from(value()?),
                // cargo passes `--bench` to every benchmark binary.
                "--bench" => {}
                _ => {
                    return Err(format!(
                    "unknown argument {arg:?} (expected --rounds N, --iterations N, --results DIR)"
                ))
                }
            }
        }
        Ok(options)
    }
}

fn positive(name: &str, value: &str) -> Result<usize, String> {
    value
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(format!("{name} needs a positive number, not {value:?}"))
}
