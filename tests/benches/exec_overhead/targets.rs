//! The targets of issue 7, each checked against a measurement.

use crate::table::Table;

pub struct Check {
    pub what: &'static str,
    pub target: String,
    pub measured: String,
    /// `None` when the measurement is missing (its benchmark did not run).
    pub pass: Option<bool>,
}

impl Check {
    /// A check of `measured ≤ limit`, both shown with `unit` and `decimals` decimals.
    pub fn at_most(
        what: &'static str,
        measured: f64,
        limit: f64,
        unit: &str,
        decimals: usize,
    ) -> Check {
        Check {
            what,
            target: format!("≤ {limit:.decimals$}{unit}"),
            measured: format!("{measured:.decimals$}{unit}"),
            pass: Some(measured <= limit),
        }
    }
}

pub fn print(checks: &[Check]) {
    println!("\n## Targets (issue 7)\n");
    let mut table = Table::new(&["target", "bar", "measured", "result"]);
    for check in checks {
        let result = match check.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "not measured",
        };
        table.row(vec![
            check.what.to_string(),
            check.target.clone(),
            check.measured.clone(),
            result.to_string(),
        ]);
    }
    table.print();
}
