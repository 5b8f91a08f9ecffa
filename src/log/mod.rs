//! The commit log: a durable, totally ordered sequence of records (sequence numbers 0, 1, 2, …).
//!
//! [`CommitLog`] is the backend-neutral contract: append a batch (answered only once durable),
//! read from a sequence number, watch the next sequence number. It is shaped for a networked
//! backend too (NATS JetStream's publish-with-expected-sequence fits `try_append`). The
//! embedded default is [`RedbLog`]: one redb file behind a write-ahead journal ([`wal`]), a
//! writer thread doing group commit.
//!
//! Records are framed by [`encode_record`]: a version byte, a CRC-32 of the payload, and the
//! payload (postcard + serde), so a record that does not read back exactly is detected.

mod redb_log;
pub mod wal;

pub use redb_log::{LogStats, ReadOnlyLog, RedbLog};

use crate::record::LogRecord;
use futures::future::BoxFuture;
use std::ops::Range;
use thiserror::Error;
use tokio::sync::watch;

/// Why the log could not do what was asked.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LogError {
    /// The append queue is full: nothing was appended; retry later (HTTP 503).
    #[error("commit log queue is full")]
    Overloaded,
    /// The log was closed.
    #[error("commit log is closed")]
    Closed,
    /// The storage failed. Whether the failed batch is durable is unknown (a write or an
    /// fsync that fails may have left it whole on disk) until the log is read back: a restart
    /// tells, and the same evidence submitted again then answers with its message if it was.
    #[error("storage: {0}")]
    Storage(String),
    /// A stored record does not decode (wrong version, checksum mismatch, bad payload).
    #[error("record does not decode: {0}")]
    Corrupt(String),
}

/// Records read back: `(sequence number, bytes)` in order.
pub type Entries = Vec<(u64, Vec<u8>)>;

/// A durable, ordered log of opaque entries.
pub trait CommitLog: Send + Sync {
    /// Append `entries` as consecutive records; resolves with their sequence numbers once they
    /// are durable. Fails fast with [`LogError::Overloaded`] when the queue is full.
    fn try_append(&self, entries: Vec<Vec<u8>>)
        -> BoxFuture<'static, Result<Range<u64>, LogError>>;

    /// Up to `max` records from sequence number `from` on, in order.
    fn read(&self, from: u64, max: usize) -> BoxFuture<'static, Result<Entries, LogError>>;

    /// The RFC 6962 leaf hashes of up to `max` records from `from` on, in order (the
    /// reference chain's trees are built over them; fewer, or none, where the log ends). The
    /// default reads the records back and hashes them.
    fn leaf_hashes(
        &self,
        from: u64,
        max: usize,
    ) -> BoxFuture<'static, Result<Vec<meridian_proofs::Hash32>, LogError>> {
        // Records are held in memory together: read a bounded number at once.
        let read = self.read(from, max.min(4096));
        Box::pin(async move { hash_entries(from, &read.await?) })
    }

    /// The sequence number the next appended record will get (= number of records).
    fn next_seq(&self) -> u64;

    /// Watch [`CommitLog::next_seq`] change as records become durable.
    fn subscribe(&self) -> watch::Receiver<u64>;

    /// Whether the log can take writes (the health probes report it).
    fn health(&self) -> LogHealth {
        LogHealth::Ok
    }

    /// Stop taking appends and put everything in its final place. `Err` when entries that
    /// were answered are left only where the next open recovers them from (a journal), naming
    /// the files that must be kept; the process should not report a clean stop then.
    fn close(&self) -> Result<(), LogError> {
        Ok(())
    }
}

/// What [`CommitLog::health`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogHealth {
    /// Writes work.
    Ok,
    /// The store behind the log is failing and is being retried; appends may still succeed
    /// for a while (a journal in front of it takes them until it is full).
    Degraded(LogError),
    /// A write failed: the log takes no more until it is opened again (a restart).
    Failed(LogError),
}

/// The leaf hashes of `entries`, which must be the consecutive records from `from` on.
fn hash_entries(from: u64, entries: &Entries) -> Result<Vec<meridian_proofs::Hash32>, LogError> {
    let mut out = Vec::with_capacity(entries.len());
    for (want, (seq, bytes)) in (from..).zip(entries) {
        if *seq != want {
            return Err(LogError::Corrupt(format!("log skips from {want} to {seq}")));
        }
        out.push(meridian_proofs::rfc6962::leaf_hash(bytes));
    }
    Ok(out)
}

/// Current record framing version.
pub const RECORD_VERSION: u8 = 1;

/// Frame a record: `version ‖ crc32(payload) LE ‖ payload` (payload = postcard of the record).
pub fn encode_record(rec: &LogRecord) -> Result<Vec<u8>, LogError> {
    // Serialized in place after the header (no second copy of kilobytes of evidence), into a
    // buffer sized for the record so it does not grow on the way.
    let hint = match rec {
        LogRecord::Accepted { msg, .. } => {
            let e = &msg.evidence;
            e.locator.len() + e.header.len() + e.proof.len() + e.event.len() + 256
        }
        _ => 256,
    };
    let mut out = Vec::with_capacity(5 + hint);
    out.push(RECORD_VERSION);
    out.extend_from_slice(&[0; 4]);
    let mut out = postcard::to_extend(rec, out).map_err(|e| LogError::Corrupt(e.to_string()))?;
    let crc = crc32fast::hash(&out[5..]).to_le_bytes();
    out[1..5].copy_from_slice(&crc);
    Ok(out)
}

/// Read a framed record back, checking version and checksum.
pub fn decode_record(bytes: &[u8]) -> Result<LogRecord, LogError> {
    let (&version, rest) = bytes
        .split_first()
        .ok_or_else(|| LogError::Corrupt("empty record".into()))?;
    if version != RECORD_VERSION {
        return Err(LogError::Corrupt(format!(
            "unknown record version {version}"
        )));
    }
    if rest.len() < 4 {
        return Err(LogError::Corrupt("record shorter than its checksum".into()));
    }
    let (crc, payload) = rest.split_at(4);
    let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let got = crc32fast::hash(payload);
    if want != got {
        return Err(LogError::Corrupt(format!(
            "checksum mismatch: stored {want:08x}, payload gives {got:08x}"
        )));
    }
    let (rec, tail) = postcard::take_from_bytes::<LogRecord>(payload)
        .map_err(|e| LogError::Corrupt(e.to_string()))?;
    if !tail.is_empty() {
        return Err(LogError::Corrupt(format!("{} trailing bytes", tail.len())));
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageId;

    #[test]
    fn records_round_trip_and_corruption_is_detected() {
        let rec = LogRecord::TimedOut {
            id: MessageId([7; 32]),
            at_ms: 42,
        };
        let bytes = encode_record(&rec).expect("encodes");
        assert_eq!(decode_record(&bytes), Ok(rec));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(decode_record(&b).is_err(), "flip at {i} not detected");
        }
        assert!(decode_record(&[]).is_err());
        assert!(decode_record(&bytes[..3]).is_err());
    }
}
