//! The targets of issues 7 and 15, each checked against a measurement.

use crate::table::Table;

/// A unit suffix and the decimals shown with it.
pub type Unit = (&'static str, usize);
pub const MICROS: Unit = (" µs", 1);
pub const TIMES: Unit = ("×", 3);
pub const PER_SECOND: Unit = ("/s", 0);
pub const MIB: Unit = (" MiB", 1);

pub struct Check {
    pub what: String,
    pub target: String,
    pub measured: String,
    /// `None` when the measurement is missing (its benchmark did not run).
    pub pass: Option<bool>,
}

impl Check {
    /// A check of `measured ≤ limit`.
    pub fn at_most(what: impl Into<String>, measured: f64, limit: f64, unit: Unit) -> Check {
        Check::compare(what.into(), "≤", measured, limit, unit, measured <= limit)
    }

    /// A check of `measured ≥ limit`.
    pub fn at_least(what: impl Into<String>, measured: f64, limit: f64, unit: Unit) -> Check {
        Check::compare(what.into(), "≥", measured, limit, unit, measured >= limit)
    }

    /// A target whose benchmark did not run or printed nothing usable.
    pub fn missing(what: impl Into<String>, target: &str) -> Check {
        Check {
            what: what.into(),
            target: target.to_string(),
            measured: "—".to_string(),
            pass: None,
        }
    }

    fn compare(
        what: String,
        relation: &str,
        measured: f64,
        limit: f64,
        unit: Unit,
        pass: bool,
    ) -> Check {
        let (suffix, decimals) = unit;
        Check {
            what,
            target: format!("{relation} {limit:.decimals$}{suffix}"),
            measured: format!("{measured:.decimals$}{suffix}"),
            // NaN (a configuration that produced no samples) never passes.
            pass: Some(pass && !measured.is_nan()),
        }
    }
}

pub fn print(checks: &[Check]) {
    println!("\n## Targets (issues 7 and 15)\n");
    let mut table = Table::new(&["target", "bar", "measured", "result"]);
    for check in checks {
        let result = match check.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "not measured",
        };
        table.row(vec![
            check.what.clone(),
            check.target.clone(),
            check.measured.clone(),
            result.to_string(),
        ]);
    }
    table.print();
}
