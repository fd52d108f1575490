//! Every measurement held against its target from issue 7.

use crate::experiment::{Experiment, BASELINE, FLOOR};
use crate::results::{DaemonRun, EngineBench};
use crate::targets::{Check, MIB, MICROS, PER_SECOND, TIMES};
use crate::{DENIED, DENIED_HANGING_WEBHOOK, ENFORCE, ENFORCE_SHARED, LIBWARDEN, STRICT};

pub fn exec(exec_driver: &Experiment, exec_bash: &Experiment, load: &Experiment) -> Vec<Check> {
    let above_floor = exec_driver.compare(ENFORCE, FLOOR);
    vec![
        Check::at_most(
            "C exec loop under warden (allow) / without",
            exec_driver.compare(ENFORCE, BASELINE).ratio,
            1.25,
            TIMES,
        ),
        Check::at_most(
            "bash exec loop under warden (allow) / without",
            exec_bash.compare(ENFORCE, BASELINE).ratio,
            1.25,
            TIMES,
        ),
        Check::at_most(
            "added p50 per allowed exec above the floor",
            above_floor.added_p50_ns / 1000.0,
            60.0,
            MICROS,
        ),
        Check::at_most(
            "added p99 per allowed exec above the floor",
            above_floor.added_p99_ns / 1000.0,
            300.0,
            MICROS,
        ),
        Check::at_most(
            "added p50 per allowed exec, isolated session above one without",
            exec_driver.compare(ENFORCE, ENFORCE_SHARED).added_p50_ns / 1000.0,
            10.0,
            MICROS,
        ),
        Check::at_most(
            "load time above the floor (p50)",
            load.compare(LIBWARDEN, FLOOR).added_p50_ns / 1000.0,
            20.0,
            MICROS,
        ),
    ]
}

/// Strict mode (issue 15): with the library loaded, a start the hook decided costs the
/// supervisor its ptrace stops and the daemon's note, no question. Held at the typical exec
/// (p50), and by CPU; the static loop and the fork and thread loops are measured, not held to
/// a bar.
pub fn strict(exec_driver: &Experiment) -> Vec<Check> {
    vec![
        Check::at_most(
            "C exec loop in strict mode / warden enforce (p50)",
            exec_driver.compare(STRICT, ENFORCE).p50_ratio,
            1.15,
            TIMES,
        ),
        Check::at_most(
            "C exec loop in strict mode / warden enforce (CPU)",
            exec_driver.cpu_ns_per_exec(STRICT) / exec_driver.cpu_ns_per_exec(ENFORCE),
            1.15,
            TIMES,
        ),
    ]
}

/// Notifications (issue 13): a webhook that never answers does not slow a denied exec.
pub fn notifications(denials: &Experiment) -> Vec<Check> {
    vec![Check::at_most(
        "denied bash loop with a hanging webhook / without",
        denials.compare(DENIED_HANGING_WEBHOOK, DENIED).ratio,
        1.10,
        TIMES,
    )]
}

const DECISIONS_TARGET: f64 = 20_000.0;
const RSS_TARGET_MIB: f64 = 30.0;

pub fn daemon(runs: &[DaemonRun]) -> Vec<Check> {
    let mut checks: Vec<Check> = runs
        .iter()
        .map(|run| {
            let what = format!("daemon decisions/s, 8 clients ({})", run.label);
            match run.throughput.iter().find(|t| t.clients == 8) {
                Some(t) => Check::at_least(what, t.per_second, DECISIONS_TARGET, PER_SECOND),
                None => Check::missing(what, "≥ 20000/s"),
            }
        })
        .collect();
    if checks.is_empty() {
        checks.push(Check::missing("daemon decisions/s, 8 clients", "≥ 20000/s"));
    }
    let what = "daemon RSS with 1,000 rules";
    let rss = runs
        .iter()
        .find(|run| is_thousand_rules(&run.label))
        .and_then(|run| run.rss_kib);
    checks.push(match rss {
        Some(kib) => Check::at_most(what, kib as f64 / 1024.0, RSS_TARGET_MIB, MIB),
        None => Check::missing(what, "≤ 30 MiB"),
    });
    checks
}

const ENGINE_TARGET_US: f64 = 5.0;

pub fn engine(benches: &[EngineBench]) -> Vec<Check> {
    let checks: Vec<Check> = benches
        .iter()
        .filter(|bench| is_thousand_rules(&bench.group))
        .map(|bench| {
            Check::at_most(
                format!("engine p50 per evaluation, 1,000 rules: {}", bench.function),
                bench.median_ns / bench.evaluations() / 1000.0,
                ENGINE_TARGET_US,
                MICROS,
            )
        })
        .collect();
    if checks.is_empty() {
        return vec![Check::missing(
            "engine p50 per evaluation, 1,000 rules",
            "≤ 5.0 µs",
        )];
    }
    checks
}

fn is_thousand_rules(label: &str) -> bool {
    label.contains("1000") || label.contains("1,000")
}
