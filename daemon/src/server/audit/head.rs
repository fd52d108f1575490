//! The anchored end of the audit log: a small file, `<audit dir>/head`, naming the last
//! record written (its sequence number and hash). The chain alone shows a record changed,
//! inserted or removed in the middle, but not records cut from the end: a log truncated to
//! its first 58 records is a perfect chain. With the head, a log that ends before the record
//! the head names was cut.
//!
//! The head has a fixed length and is rewritten in place with one `pwrite` after each record
//! (one system call more per decision, no rename): a reader sees the old or the new text. It
//! is written after the record, so a daemon killed between the two leaves the head one record
//! behind, which still anchors the log (the record it names is there, with its hash).

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::GENESIS;

/// The head's file name inside the audit directory.
pub const FILE_NAME: &str = "head";

const PREFIX: &str = "warden-audit-head seq=";
/// `PREFIX`, 20 digits, ` hash=`, 64 hex digits and a newline: every head has this length.
const LEN: usize = PREFIX.len() + 20 + " hash=".len() + 64 + 1;

/// The last record written: its sequence number and hash (`seq` 0 and the genesis hash for a
/// log without records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    fn parse(text: &[u8]) -> Result<Head, String> {
        let bad = || {
            format!(
                "not a head ({} bytes; expected one line \"{PREFIX}<20 digits> hash=<64 hex digits>\")",
                text.len()
            )
        };
        let text = std::str::from_utf8(text).map_err(|_| bad())?;
        let (seq, hash) = text
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix('\n'))
            .and_then(|rest| rest.split_once(" hash="))
            .ok_or_else(bad)?;
        let hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if text.len() != LEN || !seq.bytes().all(|b| b.is_ascii_digit()) || !hex(hash) {
            return Err(bad());
        }
        let head = Head {
            seq: seq.parse().map_err(|_| bad())?,
            hash: hash.to_string(),
        };
        if head.seq == 0 && head.hash != GENESIS {
            return Err("names record 0 with a hash other than the chain's start".into());
        }
        Ok(head)
    }

    /// `record 64 (hash 3f2a09c1…)`, for messages.
    pub fn describe(&self) -> String {
        format!("record {} (hash {})", self.seq, &self.hash[..16])
    }
}

/// The text of the head naming record `seq` with `hash`, built on the stack (it is written
/// once per decision).
fn text(seq: u64, hash: &str) -> [u8; LEN] {
    let mut text = [b'0'; LEN];
    let (prefix, rest) = text.split_at_mut(PREFIX.len());
    prefix.copy_from_slice(PREFIX.as_bytes());
    let (digits, rest) = rest.split_at_mut(20);
    let mut value = seq;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    let (label, rest) = rest.split_at_mut(" hash=".len());
    label.copy_from_slice(b" hash=");
    let len = hash.len().min(64);
    rest[..len].copy_from_slice(&hash.as_bytes()[..len]);
    rest[64] = b'\n';
    text
}

/// Reads the head at `path`: `Ok(None)` when there is none, `Err` with the reason when it
/// cannot be read or is not a head.
pub fn read(path: &Path) -> Result<Option<Head>, String> {
    use std::io::Read;
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut text = Vec::with_capacity(LEN + 1);
    file.take(LEN as u64 + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Head::parse(&text)
        .map(Some)
        .map_err(|reason| format!("{}: {reason}", path.display()))
}

/// The head file, open for rewriting in place.
pub struct HeadFile {
    file: File,
    path: PathBuf,
}

impl HeadFile {
    pub fn open(dir: &Path) -> std::io::Result<HeadFile> {
        let path = dir.join(FILE_NAME);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        Ok(HeadFile { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the file name record `seq` with `hash`: one `pwrite` of the whole text at offset
    /// 0 (every head has the same length, so nothing of an older one is left behind).
    pub fn write(&self, seq: u64, hash: &str) -> std::io::Result<()> {
        match self.file.write_at(&text(seq, hash), 0)? {
            n if n == LEN => Ok(()),
            // A regular file takes 113 bytes in one write unless the disk is full.
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "short write of the audit head",
            )),
        }
    }
}

/// How the log's end compares with its head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The record the head names is in the log, with the head's hash (possibly followed by
    /// records written after it), or there is neither a head nor a record.
    Anchored,
    /// Records but no head: a log cut short cannot be told from an intact one.
    HeadMissing,
    /// The head file is there but is not a head.
    HeadUnreadable(String),
    /// The log ends before the record the head names: records were cut from its end (all of
    /// them when `last` is 0).
    Truncated { head: Head, last: u64 },
    /// The record with the head's sequence number has another hash: the end was rewritten.
    Rewritten { head: Head, found: String },
}

impl End {
    /// Compares the head with the log: `last` is the log's last record (sequence number and
    /// hash), `hash_at_head` the hash of its record numbered like the head, when that record
    /// was seen.
    pub fn of(
        head: &Result<Option<Head>, String>,
        last: Option<(u64, &str)>,
        hash_at_head: Option<&str>,
    ) -> End {
        let head = match head {
            Err(reason) => return End::HeadUnreadable(reason.clone()),
            Ok(None) if last.is_none() => return End::Anchored,
            Ok(None) => return End::HeadMissing,
            Ok(Some(head)) => head,
        };
        let last_seq = last.map_or(0, |(seq, _)| seq);
        if head.seq == 0 {
            return End::Anchored;
        }
        if last_seq < head.seq {
            return End::Truncated {
                head: head.clone(),
                last: last_seq,
            };
        }
        match hash_at_head {
            Some(found) if found != head.hash => End::Rewritten {
                head: head.clone(),
                found: found.to_string(),
            },
            _ => End::Anchored,
        }
    }

    /// What went wrong: a few words naming it (`log TRUNCATED`) and a sentence saying what
    /// was found; `None` when the end is anchored.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        match self {
            End::Anchored => None,
            End::HeadMissing => Some((
                "head MISSING",
                format!(
                    "the log has records but no {FILE_NAME} file beside it, so records cut from \
                     its end cannot be detected (the file was deleted, or the log predates it)"
                ),
            )),
            End::HeadUnreadable(reason) => Some(("head UNREADABLE", reason.clone())),
            End::Truncated { head, last: 0 } => Some((
                "log EMPTIED",
                format!(
                    "it has no records, but its head names {} as the last one written",
                    head.describe()
                ),
            )),
            End::Truncated { head, last } => Some((
                "log TRUNCATED",
                format!(
                    "it ends at record {last}, but its head names {} as the last one \
                     written; {} missing",
                    head.describe(),
                    match head.seq - last {
                        1 => format!("record {} is", head.seq),
                        _ => format!("records {}–{} are", last + 1, head.seq),
                    }
                ),
            )),
            End::Rewritten { head, found } => Some((
                "log REWRITTEN at its end",
                format!(
                    "its head names {}, but record {} has hash {}",
                    head.describe(),
                    head.seq,
                    &found[..found.len().min(16)]
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS.to_string(),
        }
    }

    fn head(seq: u64, hash: char) -> Head {
        Head {
            seq,
            hash: hash.to_string().repeat(64),
        }
    }

    #[test]
    fn a_head_reads_back_as_written_and_has_one_length() {
        for head in [genesis(), head(64, 'a'), head(u64::MAX, 'f')] {
            assert_eq!(Head::parse(&text(head.seq, &head.hash)), Ok(head));
        }
    }

    #[test]
    fn anything_else_is_not_a_head() {
        let good = String::from_utf8(text(7, &"b".repeat(64)).to_vec()).unwrap();
        let bad = [
            String::new(),
            good.replace("seq=", "seq:"),
            good.replace('b', "B"),
            good.replace('b', "g"),
            good[..good.len() - 1].to_string(),
            format!("{good}x"),
            good.replace("00000000000000000007", "0000000000000000000x"),
            String::from_utf8(text(0, &"a".repeat(64)).to_vec()).unwrap(),
        ];
        for text in bad {
            assert!(Head::parse(text.as_bytes()).is_err(), "{text:?}");
        }
    }

    #[test]
    fn the_end_is_anchored_when_the_heads_record_is_there() {
        let h = Ok(Some(head(64, 'a')));
        let a = "a".repeat(64);
        assert_eq!(End::of(&h, Some((64, &a)), Some(&a)), End::Anchored);
        // The head one behind: the daemon died between the record and the head.
        assert_eq!(End::of(&h, Some((65, "c")), Some(&a)), End::Anchored);
        assert_eq!(End::of(&Ok(None), None, None), End::Anchored);
        assert_eq!(End::of(&Ok(Some(genesis())), None, None), End::Anchored);
    }

    #[test]
    fn a_log_that_ends_before_its_head_was_cut() {
        let h = Ok(Some(head(64, 'a')));
        let truncated = End::of(&h, Some((58, "x")), None);
        assert_eq!(
            truncated,
            End::Truncated {
                head: head(64, 'a'),
                last: 58
            }
        );
        let (word, problem) = truncated.problem().unwrap();
        assert_eq!(word, "log TRUNCATED");
        assert!(problem.contains("ends at record 58"), "{problem}");
        assert!(
            problem.contains("record 64 (hash aaaaaaaaaaaaaaaa)"),
            "{problem}"
        );
        assert!(problem.contains("records 59–64"), "{problem}");
        let one = End::of(&h, Some((63, "x")), None).problem().unwrap().1;
        assert!(one.ends_with("record 64 is missing"), "{one}");
        let emptied = End::of(&h, None, None);
        assert_eq!(emptied.problem().unwrap().0, "log EMPTIED");
        let rewritten = End::of(&h, Some((64, "b")), Some("bbbb"));
        assert!(matches!(rewritten, End::Rewritten { .. }));
        assert_eq!(End::of(&Ok(None), Some((3, "x")), None), End::HeadMissing);
        assert_eq!(
            End::of(&Err("bad".into()), None, None).problem(),
            Some(("head UNREADABLE", "bad".to_string()))
        );
    }
}
