//! Reading `/proc`: one reader for the daemon (who is calling, which session it belongs to)
//! and for `warden preload`. Every read is bounded, and a process that is gone or whose
//! files cannot be read is `None`, never a guess.

/// The initial environment block of `pid` (NUL-separated), at most `limit` bytes; `None`
/// when it cannot be read or is larger.
pub fn environ(pid: i32, limit: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(format!("/proc/{pid}/environ")).ok()?;
    let mut block = Vec::new();
    file.take(limit + 1).read_to_end(&mut block).ok()?;
    (block.len() as u64 <= limit).then_some(block)
}

/// A process's parent and start time (clock ticks since boot), from `/proc/<pid>/stat`.
/// The start time tells a live process apart from a later one that reuses its pid.
pub fn proc_stat(pid: i32) -> Option<(i32, u64)> {
    use std::io::Read;
    // One open and one read (this runs for every preflight; `read_to_string` would stat the
    // file and read it in growing chunks). A line that fills the buffer is refused, not cut.
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let mut storage = [0u8; STAT_MAX];
    let len = file.read(&mut storage).ok()?;
    if len == storage.len() {
        return None;
    }
    parse_stat(std::str::from_utf8(&storage[..len]).ok()?)
}

/// Room for one `/proc/<pid>/stat` line (52 numeric fields of at most 20 digits, plus the
/// name).
const STAT_MAX: usize = 1536;

/// Parent and start time from the text of `/proc/<pid>/stat`.
fn parse_stat(stat: &str) -> Option<(i32, u64)> {
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3 (state): ppid is field 4, starttime field 22.
    let mut fields = rest.split_ascii_whitespace();
    let ppid = fields.nth(1)?.parse().ok()?;
    let start = fields.nth(17)?.parse().ok()?;
    Some((ppid, start))
}

/// Whether `ancestor` is `pid` itself or one of its ancestors.
pub fn is_self_or_ancestor(ancestor: i32, pid: i32) -> bool {
    ancestry(pid).any(|(current, _)| current == ancestor)
}

/// `pid` and then each of its ancestors, with their start times, as long as /proc tells.
pub fn ancestry(pid: i32) -> impl Iterator<Item = (i32, u64)> {
    let mut next = Some(pid);
    let walk = std::iter::from_fn(move || {
        let current = next.take()?;
        let (ppid, start) = proc_stat(current)?;
        next = (ppid > 0 && ppid != current).then_some(ppid);
        Some((current, start))
    });
    walk.take(ANCESTRY_LIMIT)
}

/// Most processes an ancestry walk visits, so a corrupt or racing /proc cannot loop forever.
pub const ANCESTRY_LIMIT: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_names_the_parent() {
        let (ppid, _) = proc_stat(std::process::id() as i32).unwrap();
        assert_eq!(ppid as u32, std::os::unix::process::parent_id());
    }

    #[test]
    fn our_parent_is_our_ancestor_and_not_the_reverse() {
        let own = std::process::id() as i32;
        let parent = std::os::unix::process::parent_id() as i32;
        assert!(is_self_or_ancestor(own, own));
        assert!(is_self_or_ancestor(parent, own));
        assert!(!is_self_or_ancestor(own, parent));
    }

    #[test]
    fn ancestry_starts_with_the_process_and_its_start_time() {
        let own = std::process::id() as i32;
        let chain: Vec<(i32, u64)> = ancestry(own).collect();
        assert_eq!(chain[0], (own, proc_stat(own).unwrap().1));
        assert_eq!(chain[1].0 as u32, std::os::unix::process::parent_id());
        assert_eq!(ancestry(i32::MAX).count(), 0);
    }

    #[test]
    fn stat_is_parsed_after_the_last_parenthesis() {
        let line = "42 (a) b) (c) S 7 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3\n";
        assert_eq!(parse_stat(line), Some((7, 987654)));
        assert_eq!(parse_stat("42 (x) S 7"), None);
    }

    #[test]
    fn missing_process_has_no_stat() {
        assert_eq!(proc_stat(i32::MAX), None);
    }
}
