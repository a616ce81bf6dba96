use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hotline_cdr::CallRecord;

use crate::StoreError;

/// Records waiting for the database, one JSON object per line, oldest first.
pub const SPOOL_FILE: &str = "call-records.spool";
/// The spool while it is being replayed. Renaming first means new records never land in a file
/// that is about to be deleted, and a crash mid-replay leaves it here to be replayed again (the
/// inserts are idempotent by id).
pub const REPLAYING_FILE: &str = "call-records.replaying";
/// Lines that could not be parsed or that the database refused, kept verbatim for an operator.
pub const BAD_FILE: &str = "call-records.bad";

/// The spool directory. Shared by the writer task and every handle (which spool directly when
/// the queue is full), so file operations are serialised by one lock.
#[derive(Debug, Clone)]
pub(crate) struct Spool {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
}

impl Spool {
    pub(crate) fn new(dir: PathBuf) -> Spool {
        Spool {
            dir,
            lock: Arc::new(Mutex::new(())),
        }
    }

    pub(crate) fn replaying_path(&self) -> PathBuf {
        self.dir.join(REPLAYING_FILE)
    }

    /// Appends and fsyncs: once this returns Ok the records survive a crash.
    pub(crate) fn append(&self, records: &[CallRecord]) -> Result<(), StoreError> {
        let mut text = String::new();
        for record in records {
            let line = serde_json::to_string(record).map_err(|e| StoreError::Spool {
                path: self.dir.join(SPOOL_FILE),
                source: std::io::Error::other(e),
            })?;
            text.push_str(&line);
            text.push('\n');
        }
        self.append_text(SPOOL_FILE, &text)
    }

    /// Keeps a rejected line verbatim (so it can be fixed and moved back into the spool).
    pub(crate) fn append_bad(&self, line: &str) -> Result<(), StoreError> {
        let mut text = line.trim_end_matches(['\r', '\n']).to_owned();
        text.push('\n');
        self.append_text(BAD_FILE, &text)
    }

    fn append_text(&self, name: &str, text: &str) -> Result<(), StoreError> {
        let path = self.dir.join(name);
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let io = |source| StoreError::Spool {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(io)?;
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        let mut out = String::with_capacity(text.len() + 1);
        // A crash mid-write leaves a torn last line; start on a fresh line so the torn one is
        // the only casualty (it goes to the bad file on replay) instead of swallowing ours.
        if ends_without_newline(&mut file).map_err(io)? {
            out.push('\n');
        }
        out.push_str(text);
        file.write_all(out.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        if !existed {
            sync_dir(&self.dir).map_err(io)?;
        }
        Ok(())
    }

    /// The file to replay next: a leftover `.replaying` first (a crash or a failed replay),
    /// otherwise the spool, renamed to `.replaying`. `None` when there is nothing to replay.
    pub(crate) fn take_for_replay(&self) -> Result<Option<PathBuf>, StoreError> {
        let replaying = self.replaying_path();
        let spool = self.dir.join(SPOOL_FILE);
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if replaying.exists() {
            return Ok(Some(replaying));
        }
        if !spool.exists() {
            return Ok(None);
        }
        let io = |source| StoreError::Spool {
            path: spool.clone(),
            source,
        };
        fs::rename(&spool, &replaying).map_err(io)?;
        sync_dir(&self.dir).map_err(io)?;
        Ok(Some(replaying))
    }

    /// Called only after every line of `.replaying` is in the database or the bad file.
    pub(crate) fn finish_replay(&self) -> Result<(), StoreError> {
        let replaying = self.replaying_path();
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let io = |source| StoreError::Spool {
            path: replaying.clone(),
            source,
        };
        fs::remove_file(&replaying).map_err(io)?;
        sync_dir(&self.dir).map_err(io)
    }
}

fn ends_without_newline(file: &mut File) -> std::io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// Makes a created, renamed or removed directory entry durable, not just the file's bytes.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use hotline_cdr::{CallKind, CallRecordBuilder, EndReason};

    use super::*;

    fn record(id: &str) -> CallRecord {
        let t = Utc
            .timestamp_millis_opt(1_700_000_000_000)
            .single()
            .expect("valid timestamp");
        CallRecordBuilder::arrived(id, "c@h", "alice", "12345", CallKind::Hotline, t).ended(
            EndReason::Cancelled,
            487,
            t,
        )
    }

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn append_creates_the_directory_and_writes_one_line_per_record() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(tmp.path().join("nested/spool"));
        spool.append(&[record("a"), record("b")]).expect("append");
        spool.append(&[record("c")]).expect("append");
        let got: Vec<String> = lines(&tmp.path().join("nested/spool").join(SPOOL_FILE))
            .iter()
            .map(|l| serde_json::from_str::<CallRecord>(l).expect("json").id)
            .collect();
        assert_eq!(got, ["a", "b", "c"]);
    }

    #[test]
    fn a_torn_last_line_does_not_swallow_the_next_record() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(SPOOL_FILE), "{\"id\":\"torn").expect("write");
        let spool = Spool::new(tmp.path().to_path_buf());
        spool.append(&[record("after")]).expect("append");
        let got = lines(&tmp.path().join(SPOOL_FILE));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], "{\"id\":\"torn");
        let after: CallRecord = serde_json::from_str(&got[1]).expect("json");
        assert_eq!(after.id, "after");
    }

    #[test]
    fn replay_takes_leftover_replaying_before_the_spool() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(tmp.path().to_path_buf());
        assert_eq!(spool.take_for_replay().expect("take"), None);

        spool.append(&[record("first")]).expect("append");
        let taken = spool.take_for_replay().expect("take").expect("some");
        assert_eq!(taken, tmp.path().join(REPLAYING_FILE));
        assert!(!tmp.path().join(SPOOL_FILE).exists());

        // New records arriving during the replay go to a fresh spool...
        spool.append(&[record("second")]).expect("append");
        // ...and an unfinished replay is offered again rather than overwritten.
        assert_eq!(spool.take_for_replay().expect("take"), Some(taken.clone()));
        assert_eq!(lines(&taken).len(), 1);

        spool.finish_replay().expect("finish");
        let next = spool.take_for_replay().expect("take").expect("some");
        let ids: Vec<String> = lines(&next)
            .iter()
            .map(|l| serde_json::from_str::<CallRecord>(l).expect("json").id)
            .collect();
        assert_eq!(ids, ["second"]);
    }

    #[test]
    fn bad_lines_are_kept_verbatim() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let spool = Spool::new(tmp.path().to_path_buf());
        spool.append_bad("not json\n").expect("bad");
        spool.append_bad("{\"id\":1}").expect("bad");
        assert_eq!(
            lines(&tmp.path().join(BAD_FILE)),
            ["not json", "{\"id\":1}"]
        );
    }
}
