//! `warden audit verify`: the whole chain checked from the files (no daemon needed), its end
//! compared with the head, and the gaps the daemon found and recorded reported again.

use std::fs::File;
use std::io::BufRead;
use std::path::Path;

use super::head::{self, End};
use super::{hex_sha256, io_error, log_files, AuditError, GAP_KIND, GENESIS, HASH_SUFFIX_LEN};
use crate::wire::AuditRecord;

/// The outcome of [`verify`].
#[derive(Debug)]
pub struct Verification {
    pub files: usize,
    /// Records that chain correctly from the start.
    pub records: u64,
    /// The first record that breaks the chain: `file:line` and why.
    pub broken: Option<String>,
    /// How the log's end compares with its head (checked when the chain is whole).
    pub end: End,
    /// Gaps the daemon found at a start and recorded in the chain: `file:line: message`.
    pub gaps: Vec<String>,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.broken.is_none() && self.end == End::Anchored && self.gaps.is_empty()
    }
}

/// Checks the whole chain of the log in `dir`, and its end against the head. A directory
/// that does not exist or holds neither log files nor a head is an error: there is no log
/// to call intact.
pub fn verify(dir: &Path) -> Result<Verification, AuditError> {
    let first = verify_once(dir)?;
    // A read of the head can race the daemon's rewrite of it (a `pwrite` is not atomic for
    // readers): an end that does not match is checked once more before it is reported. A log
    // really cut short stays cut.
    if first.broken.is_none() && first.end != End::Anchored {
        return verify_once(dir);
    }
    Ok(first)
}

fn verify_once(dir: &Path) -> Result<Verification, AuditError> {
    if !dir.is_dir() {
        return Err(AuditError::NoLog {
            dir: dir.to_path_buf(),
            reason: "the directory does not exist",
        });
    }
    // The head first: a daemon appending meanwhile only puts the log ahead of it.
    let head = head::read(&dir.join(head::FILE_NAME));
    let files = log_files(dir)?;
    if files.is_empty() && matches!(head, Ok(None)) {
        return Err(AuditError::NoLog {
            dir: dir.to_path_buf(),
            reason: "it holds no audit files (audit-NNNNNN.jsonl) and no head",
        });
    }
    let head_seq = head.as_ref().ok().and_then(Option::as_ref).map(|h| h.seq);
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut records = 0;
    let mut hash_at_head = None;
    let mut gaps = Vec::new();
    for (_, path) in &files {
        let file = File::open(path).map_err(io_error(path))?;
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(io_error(path))?;
            if read == 0 {
                break;
            }
            number += 1;
            let place = format!("{}:{number}", path.display());
            let record = match check_line(&line, &expected_prev, expected_seq) {
                Ok(record) => record,
                Err(reason) => {
                    return Ok(Verification {
                        files: files.len(),
                        records,
                        broken: Some(format!("{place}: {reason}")),
                        end: End::Anchored,
                        gaps,
                    })
                }
            };
            if record.kind == GAP_KIND {
                let said = record.message.as_deref().unwrap_or("(no message)");
                gaps.push(format!("{place} ({}): {said}", record.time));
            }
            if Some(record.seq) == head_seq {
                hash_at_head = Some(record.hash.clone());
            }
            expected_prev = record.hash;
            expected_seq += 1;
            records += 1;
        }
    }
    let last = (records > 0).then_some((records, expected_prev.as_str()));
    Ok(Verification {
        files: files.len(),
        records,
        broken: None,
        end: End::of(&head, last, hash_at_head.as_deref()),
        gaps,
    })
}

/// The record on `line` if it is intact and follows the record before it.
fn check_line(line: &[u8], expected_prev: &str, expected_seq: u64) -> Result<AuditRecord, String> {
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err("incomplete record (no end of line)".into());
    };
    let text = std::str::from_utf8(line).map_err(|_| "record is not UTF-8".to_string())?;
    let record: AuditRecord =
        serde_json::from_str(text).map_err(|e| format!("not a valid record: {e}"))?;
    if text.len() < HASH_SUFFIX_LEN || !text.ends_with(&format!(",\"hash\":\"{}\"}}", record.hash))
    {
        return Err("the record's hash is not its last field".into());
    }
    let body = format!("{}}}", &text[..text.len() - HASH_SUFFIX_LEN]);
    if hex_sha256(body.as_bytes()) != record.hash {
        return Err("content does not match its hash (the record was modified)".into());
    }
    if record.prev != expected_prev {
        return Err(
            "does not chain to the record before it (a record was removed, \
                    inserted or rewritten)"
                .into(),
        );
    }
    if record.seq != expected_seq {
        return Err(format!(
            "sequence number {} where {expected_seq} was expected",
            record.seq
        ));
    }
    Ok(record)
}
