//! The hash-chained audit log: `<audit dir>/audit-NNNNNN.jsonl`, one JSON record per line.
//!
//! Each record carries `prev`, the SHA-256 (`hash`) of the record before it, and its own
//! `hash`: the SHA-256 of the line up to its `hash` field. Changing, inserting or removing
//! a record breaks the chain at that point; rotation starts a new file and keeps the chain.
//! A record is written with one `write(2)` before its decision is replied, so killing the
//! daemon never loses an acknowledged decision (no fsync on the hot path: the data is in
//! the kernel once `write` returns).
//!
//! The chain's end is anchored by the head file ([`head`]), rewritten after every record. A
//! daemon that starts and finds the log ending before its head (cut or emptied), the head
//! gone or the end rewritten says so in a `gap` record, the first it writes; [`verify`]
//! reports the end and every such record.

mod head;
mod verify;

pub use head::End;
pub use verify::{verify, Verification};

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use crate::wire::{AuditRecord, Decision};

/// `prev` of the very first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Records kept in memory for `warden log`.
const RECENT: usize = 1000;
const HASH_SUFFIX_LEN: usize = r#","hash":""}"#.len() + 64;
/// The kind of the record a starting daemon writes when the log's end does not match its head.
pub const GAP_KIND: &str = "gap";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no audit log in {dir}: {reason}")]
    NoLog { dir: PathBuf, reason: &'static str },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError {
    let path = path.to_path_buf();
    move |source| AuditError::Io { path, source }
}

pub struct AuditLog {
    dir: PathBuf,
    rotate_bytes: u64,
    writer: Mutex<Writer>,
    events: broadcast::Sender<Arc<str>>,
    /// The records a person may need to hear about (see [`AuditLog::subscribe_notable`]).
    notable: broadcast::Sender<Arc<str>>,
}

struct Writer {
    file: File,
    path: PathBuf,
    head: head::HeadFile,
    index: u64,
    size: u64,
    seq: u64,
    prev: String,
    recent: VecDeque<Arc<str>>,
}

impl AuditLog {
    /// Opens the log for appending, continuing the chain of the newest file. When the log's
    /// end does not match its head, the first record written is a `gap` record saying how.
    pub fn open(dir: &Path, rotate_bytes: u64) -> Result<Self, AuditError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error(dir))?;
        let found_head = head::read(&dir.join(head::FILE_NAME));
        let head_seq = found_head
            .as_ref()
            .ok()
            .and_then(Option::as_ref)
            .map(|h| h.seq);
        let files = log_files(dir)?;
        let mut last: Option<AuditRecord> = None;
        let mut hash_at_head = None;
        let mut recent = VecDeque::new();
        let index = files.last().map_or(1, |(index, _)| *index);
        let mut torn = false;
        // Newest file first: the chain continues from the newest record (a file created by
        // a rotation may still be empty), and `warden log` starts with the newest records.
        for (position, (_, path)) in files.iter().rev().enumerate() {
            if last.is_some() && recent.len() >= RECENT {
                break;
            }
            let bytes = std::fs::read(path).map_err(io_error(path))?;
            if position == 0 {
                torn = !bytes.is_empty() && !bytes.ends_with(b"\n");
            }
            let mut lines: Vec<(Arc<str>, AuditRecord)> = bytes
                .split(|b| *b == b'\n')
                .filter_map(|line| std::str::from_utf8(line).ok())
                .filter_map(|text| Some((Arc::from(text), serde_json::from_str(text).ok()?)))
                .collect();
            if last.is_none() {
                last = lines.last().map(|(_, record)| record.clone());
            }
            if let Some((_, record)) = lines.iter().find(|(_, r)| Some(r.seq) == head_seq) {
                hash_at_head.get_or_insert_with(|| record.hash.clone());
            }
            while let Some((text, _)) = lines.pop() {
                if recent.len() == RECENT {
                    break;
                }
                recent.push_front(text);
            }
        }
        let end = End::of(
            &found_head,
            last.as_ref().map(|r| (r.seq, r.hash.as_str())),
            hash_at_head.as_deref(),
        );
        let (seq, prev) = match last {
            Some(record) => (record.seq, record.hash),
            None => (0, GENESIS.to_string()),
        };
        // Never append after a torn line: start a new file; `audit verify` reports the tear.
        let index = if torn { index + 1 } else { index };
        let (file, path, size) = open_file(dir, index)?;
        let head = head::HeadFile::open(dir).map_err(io_error(&dir.join(head::FILE_NAME)))?;
        let (events, _) = broadcast::channel(1024);
        let (notable, _) = broadcast::channel(1024);
        let log = AuditLog {
            dir: dir.to_path_buf(),
            rotate_bytes,
            writer: Mutex::new(Writer {
                file,
                path,
                head,
                index,
                size,
                seq,
                prev,
                recent,
            }),
            events,
            notable,
        };
        match end.problem() {
            None => log.write_head()?,
            Some((word, problem)) => {
                let message = format!(
                    "at its start the daemon (pid {}) found the audit {word}: {problem}",
                    std::process::id()
                );
                eprintln!("warden serve: {message}");
                log.append(AuditRecord {
                    message: Some(message),
                    ..AuditRecord::new(GAP_KIND, crate::wire::Mode::Enforce, Decision::Deny)
                })?;
            }
        }
        Ok(log)
    }

    /// Writes the head for the newest record (after a start that found the end anchored).
    fn write_head(&self) -> Result<(), AuditError> {
        let writer = self.writer.lock().unwrap();
        writer
            .head
            .write(writer.seq, &writer.prev)
            .map_err(io_error(writer.head.path()))
    }

    /// Appends `record` (its `seq`, `time`, `prev` and `hash` are filled in here) and
    /// returns the line written.
    pub fn append(&self, mut record: AuditRecord) -> Result<Arc<str>, AuditError> {
        let notable = record.decision != Decision::Allow || record.kind == "resolution";
        let mut writer = self.writer.lock().unwrap();
        if writer.size >= self.rotate_bytes {
            let (file, path, size) = open_file(&self.dir, writer.index + 1)?;
            writer.file = file;
            writer.path = path;
            writer.size = size;
            writer.index += 1;
        }
        record.seq = writer.seq + 1;
        record.time = rfc3339(now_ms());
        record.prev = writer.prev.clone();
        record.hash = String::new();
        let body = serde_json::to_string(&record).expect("audit records always serialise");
        let hash = hex_sha256(body.as_bytes());
        let line = format!("{},\"hash\":\"{hash}\"}}\n", &body[..body.len() - 1]);
        // One write(2) of the whole line: O_APPEND keeps it contiguous.
        let path = writer.path.clone();
        writer
            .file
            .write_all(line.as_bytes())
            .map_err(io_error(&path))?;
        writer.size += line.len() as u64;
        writer.seq = record.seq;
        // After the record: a daemon killed in between leaves the head one behind, which still
        // anchors the log; before it, the head would name a record that is not there.
        writer
            .head
            .write(record.seq, &hash)
            .map_err(io_error(writer.head.path()))?;
        writer.prev = hash;
        let text: Arc<str> = Arc::from(line.trim_end());
        if writer.recent.len() == RECENT {
            writer.recent.pop_front();
        }
        writer.recent.push_back(text.clone());
        drop(writer);
        // Nobody listening is fine.
        let _ = self.events.send(text.clone());
        if notable {
            let _ = self.notable.send(text.clone());
        }
        Ok(text)
    }

    /// The newest `n` records, oldest first.
    pub fn recent(&self, n: usize) -> Vec<Arc<str>> {
        let writer = self.writer.lock().unwrap();
        let skip = writer.recent.len().saturating_sub(n);
        writer.recent.iter().skip(skip).cloned().collect()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    /// Only the records that are not a plain allow (asks, denials, resolutions): what the
    /// notifiers listen to, so that an allowed program start, the common case, wakes nobody.
    pub fn subscribe_notable(&self) -> broadcast::Receiver<Arc<str>> {
        self.notable.subscribe()
    }
}

/// Most of one file [`tail`] reads: its end, where the newest records are.
const TAIL_READ_LIMIT: u64 = 64 << 20;

/// The newest `n` records of the log in `dir`, oldest first, read from the files: what
/// `warden log` shows while no daemon runs. Lines that are not records are skipped.
pub fn tail(dir: &Path, n: usize) -> Result<Vec<AuditRecord>, AuditError> {
    let mut records = VecDeque::new();
    for (_, path) in log_files(dir)?.iter().rev() {
        if records.len() >= n {
            break;
        }
        let bytes = read_end(path, TAIL_READ_LIMIT).map_err(io_error(path))?;
        let mut lines: Vec<AuditRecord> = bytes
            .split(|b| *b == b'\n')
            .filter_map(|line| serde_json::from_slice(line).ok())
            .collect();
        while records.len() < n {
            let Some(record) = lines.pop() else { break };
            records.push_front(record);
        }
    }
    Ok(records.into())
}

/// The last `limit` bytes of `path` (all of it when shorter), starting at a line.
fn read_end(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(limit);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    if start > 0 {
        let first_line = bytes
            .iter()
            .position(|b| *b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes.drain(..first_line);
    }
    Ok(bytes)
}

fn open_file(dir: &Path, index: u64) -> Result<(File, PathBuf, u64), AuditError> {
    let path = dir.join(format!("audit-{index:06}.jsonl"));
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .map_err(io_error(&path))?;
    let size = file.metadata().map_err(io_error(&path))?.len();
    Ok((file, path, size))
}

/// The log files in chain order.
fn log_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, AuditError> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(io_error(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let name = entry.file_name();
        let index = name
            .to_str()
            .and_then(|n| n.strip_prefix("audit-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(index) = index {
            files.push((index, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a Unix time in milliseconds.
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Decision, Mode};

    fn record() -> AuditRecord {
        AuditRecord {
            pid: Some(1),
            hook: Some("execve".into()),
            argv: Some(vec!["rm".into(), "-rf".into()]),
            action: Some("deny".into()),
            rule: Some("no-rm".into()),
            ..AuditRecord::new("decision", Mode::Enforce, Decision::Deny)
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("warden-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
    }

    #[test]
    fn chain_survives_rotation_and_reopen() {
        let dir = temp_dir("rotate");
        let log = AuditLog::open(&dir, 600).unwrap();
        for _ in 0..5 {
            log.append(record()).unwrap();
        }
        drop(log);
        let log = AuditLog::open(&dir, 600).unwrap();
        log.append(record()).unwrap();
        let outcome = verify(&dir).unwrap();
        assert_eq!(outcome.broken, None);
        assert_eq!(outcome.records, 6);
        assert!(outcome.files > 1, "rotation made {} files", outcome.files);
        assert_eq!(log.recent(2).len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_empty_newest_file_does_not_restart_the_chain() {
        let dir = temp_dir("empty-newest");
        let log = AuditLog::open(&dir, 1 << 20).unwrap();
        log.append(record()).unwrap();
        drop(log);
        // As if the daemon died right after a rotation created the next file.
        std::fs::write(dir.join("audit-000002.jsonl"), "").unwrap();
        let log = AuditLog::open(&dir, 1 << 20).unwrap();
        log.append(record()).unwrap();
        assert_eq!(verify(&dir).unwrap().broken, None);
        assert_eq!(log.recent(10).len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A log of `n` records in `name`'s directory, closed again.
    fn log_of(name: &str, n: usize) -> PathBuf {
        let dir = temp_dir(name);
        let log = AuditLog::open(&dir, 1 << 20).unwrap();
        for _ in 0..n {
            log.append(record()).unwrap();
        }
        dir
    }

    /// Keeps the first `n` lines of the first log file.
    fn cut_to(dir: &Path, n: usize) {
        let path = dir.join("audit-000001.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, kept).unwrap();
    }

    #[test]
    fn a_log_cut_before_its_head_is_truncated_naming_the_last_record_expected() {
        let dir = log_of("cut", 64);
        assert!(verify(&dir).unwrap().intact());
        let last = head::read(&dir.join(head::FILE_NAME)).unwrap().unwrap();
        assert_eq!(last.seq, 64);
        cut_to(&dir, 58);
        let outcome = verify(&dir).unwrap();
        assert_eq!(outcome.broken, None, "the chain itself is whole");
        assert_eq!(outcome.records, 58);
        assert_eq!(
            outcome.end,
            End::Truncated {
                head: last,
                last: 58
            }
        );
        assert!(!outcome.intact());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_daemon_that_finds_its_log_cut_says_so_in_the_chain() {
        let dir = log_of("cut-restart", 10);
        cut_to(&dir, 0);
        let log = AuditLog::open(&dir, 1 << 20).unwrap();
        log.append(record()).unwrap();
        drop(log);
        let outcome = verify(&dir).unwrap();
        // The chain and its end are whole again, but the gap stays on record.
        assert_eq!(outcome.broken, None);
        assert_eq!(outcome.end, End::Anchored);
        assert_eq!(outcome.gaps.len(), 1, "{:?}", outcome.gaps);
        assert!(
            outcome.gaps[0].contains("found the audit log EMPTIED")
                && outcome.gaps[0].contains("record 10 (hash "),
            "{:?}",
            outcome.gaps
        );
        assert!(!outcome.intact());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_head_is_reported_and_recorded() {
        let dir = log_of("headless", 3);
        std::fs::remove_file(dir.join(head::FILE_NAME)).unwrap();
        assert_eq!(verify(&dir).unwrap().end, End::HeadMissing);
        drop(AuditLog::open(&dir, 1 << 20).unwrap());
        let outcome = verify(&dir).unwrap();
        assert_eq!(outcome.end, End::Anchored);
        assert!(
            outcome.gaps[0].contains("head MISSING"),
            "{:?}",
            outcome.gaps
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_fresh_log_is_intact_with_no_records_but_no_log_is_an_error() {
        let dir = temp_dir("fresh");
        drop(AuditLog::open(&dir, 1 << 20).unwrap());
        let outcome = verify(&dir).unwrap();
        assert!(outcome.intact() && outcome.records == 0, "{outcome:?}");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(verify(&dir), Err(AuditError::NoLog { .. })));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(matches!(verify(&dir), Err(AuditError::NoLog { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tail_reads_the_newest_records_across_files_oldest_first() {
        let dir = temp_dir("tail");
        let log = AuditLog::open(&dir, 600).unwrap();
        for _ in 0..5 {
            log.append(record()).unwrap();
        }
        let seqs = |records: Vec<AuditRecord>| records.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(tail(&dir, 3).unwrap()), [3, 4, 5]);
        assert_eq!(seqs(tail(&dir, 100).unwrap()), [1, 2, 3, 4, 5]);
        assert!(tail(&dir.join("missing"), 10).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_records_that_are_not_plain_allows_reach_notable_subscribers() {
        let dir = temp_dir("notable");
        let log = AuditLog::open(&dir, 1 << 20).unwrap();
        let mut notable = log.subscribe_notable();
        let allow = AuditRecord::new("decision", Mode::Enforce, Decision::Allow);
        let resolution = AuditRecord::new("resolution", Mode::Enforce, Decision::Allow);
        log.append(allow).unwrap();
        log.append(record()).unwrap();
        log.append(resolution).unwrap();
        let seqs: Vec<u64> = std::iter::from_fn(|| notable.try_recv().ok())
            .map(|line| serde_json::from_str::<AuditRecord>(&line).unwrap().seq)
            .collect();
        assert_eq!(seqs, [2, 3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn modified_record_is_named() {
        let dir = temp_dir("modified");
        let log = AuditLog::open(&dir, 1 << 20).unwrap();
        for _ in 0..3 {
            log.append(record()).unwrap();
        }
        let path = dir.join("audit-000001.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let tampered = text.replacen(lines[1], &lines[1].replace("no-rm", "no-rn"), 1);
        std::fs::write(&path, tampered).unwrap();
        let broken = verify(&dir).unwrap().broken.unwrap();
        assert!(broken.contains("audit-000001.jsonl:2"), "{broken}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
