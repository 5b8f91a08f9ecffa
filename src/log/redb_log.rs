//! The embedded commit log: one redb file, written by one thread with group commit.
//!
//! Appenders hand batches to a bounded queue (`try_append` fails fast when it is full). The
//! writer thread takes the first waiting batch plus every other already waiting, up to
//! `max_batch` entries, writes them all in one redb write transaction and commits it with
//! `Durability::Immediate` (one fsync), and only then answers each appender. A crash before
//! the commit loses only batches nobody was told were durable.
//!
//! The writer also hashes every entry it commits (RFC 6962 leaf hash) and keeps the most recent
//! [`RECENT_LEAVES`] hashes in memory, so the reference chain builds its trees without reading
//! the records back.

use super::{CommitLog, LogError};
use futures::future::BoxFuture;
use meridian_proofs::Hash32;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::VecDeque;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");

/// Leaf hashes kept in memory (32 bytes each: 32 MiB); older ones are read back and hashed.
pub const RECENT_LEAVES: usize = 1 << 20;

/// Most entries read back at once by `leaf_hashes` (they are held in memory together).
const READ_BACK_CHUNK: usize = 4096;

/// The leaf hashes of the entries `start..start + hashes.len()`.
#[derive(Debug)]
struct RecentLeaves {
    start: u64,
    hashes: VecDeque<Hash32>,
    /// Most hashes kept.
    cap: usize,
}

impl RecentLeaves {
    fn end(&self) -> u64 {
        self.start + self.hashes.len() as u64
    }

    /// Add the hashes of the entries from `at` on (only right after the last ones).
    fn extend(&mut self, at: u64, hashes: Vec<Hash32>) {
        if at != self.end() {
            self.start = at;
            self.hashes.clear();
        }
        self.hashes.extend(hashes);
        let excess = self.hashes.len().saturating_sub(self.cap);
        self.hashes.drain(..excess);
        self.start += excess as u64;
    }
}

type Reply = oneshot::Sender<Result<Range<u64>, LogError>>;

struct Request {
    entries: Vec<Vec<u8>>,
    reply: Reply,
}

/// Counters of the writer (for metrics and benchmarks).
#[derive(Debug, Default)]
pub struct LogStats {
    /// Committed write transactions (= fsyncs).
    pub commits: AtomicU64,
    /// Entries made durable.
    pub entries: AtomicU64,
    /// Total time spent committing, in microseconds.
    pub commit_micros: AtomicU64,
}

/// The redb-backed [`CommitLog`].
pub struct RedbLog {
    path: PathBuf,
    db: Arc<Database>,
    queue: Mutex<Option<SyncSender<Request>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    next: watch::Receiver<u64>,
    stats: Arc<LogStats>,
    leaves: Arc<Mutex<RecentLeaves>>,
}

impl std::fmt::Debug for RedbLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbLog")
            .field("path", &self.path)
            .field("next_seq", &*self.next.borrow())
            .finish()
    }
}

fn storage<E: std::fmt::Display>(e: E) -> LogError {
    LogError::Storage(e.to_string())
}

impl RedbLog {
    /// Open (or create) the log file at `path`. `queue_capacity` bounds the number of batches
    /// waiting for the writer; `max_batch` bounds the entries committed per fsync. If another
    /// handle in this process is still closing the file, waits up to 10 s for it.
    pub fn open(path: &Path, queue_capacity: usize, max_batch: usize) -> Result<RedbLog, LogError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let db = loop {
            match Database::create(path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(LogError::Storage(format!("{}: {e}", path.display()))),
            }
        };
        let db = Arc::new(db);
        // Make sure the table exists, and find where the log ends.
        let txn = db.begin_write().map_err(storage)?;
        let next = {
            let table = txn.open_table(ENTRIES).map_err(storage)?;
            let last = table.last().map_err(storage)?;
            last.map_or(0, |(k, _)| k.value() + 1)
        };
        txn.commit().map_err(storage)?;

        let (tx, rx) = sync_channel::<Request>(queue_capacity.max(1));
        let (next_tx, next_rx) = watch::channel(next);
        let stats = Arc::new(LogStats::default());
        let leaves = Arc::new(Mutex::new(RecentLeaves {
            start: next,
            hashes: VecDeque::new(),
            cap: RECENT_LEAVES,
        }));
        let (wdb, wstats) = (db.clone(), stats.clone());
        let writer_out = Written {
            next: next_tx,
            stats: wstats,
            leaves: leaves.clone(),
        };
        let max_batch = max_batch.max(1);
        let writer = std::thread::Builder::new()
            .name("commit-log".into())
            .spawn(move || writer_loop(&wdb, rx, next, max_batch, &writer_out))
            .map_err(storage)?;
        Ok(RedbLog {
            path: path.to_path_buf(),
            db,
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            next: next_rx,
            stats,
            leaves,
        })
    }

    /// The writer's counters.
    pub fn stats(&self) -> Arc<LogStats> {
        self.stats.clone()
    }

    /// Stop accepting appends, let the writer finish what it has, and wait for it.
    pub fn close(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    fn read_sync(db: &Database, from: u64, max: usize) -> Result<super::Entries, LogError> {
        let txn = db.begin_read().map_err(storage)?;
        let table = match txn.open_table(ENTRIES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(storage(e)),
        };
        let mut out = Vec::with_capacity(max.min(4096));
        for item in table.range(from..).map_err(storage)?.take(max) {
            let (k, v) = item.map_err(storage)?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }
}

impl Drop for RedbLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// What the writer publishes after each commit.
struct Written {
    next: watch::Sender<u64>,
    stats: Arc<LogStats>,
    leaves: Arc<Mutex<RecentLeaves>>,
}

fn writer_loop(
    db: &Database,
    rx: Receiver<Request>,
    mut next: u64,
    max_batch: usize,
    out: &Written,
) {
    let stats = &out.stats;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let mut count = batch[0].entries.len();
        while count < max_batch {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.entries.len();
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        match commit_batch(db, next, &batch) {
            Ok(end) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.entries.fetch_add(end - next, Ordering::Relaxed);
                metrics::histogram!("meridian_log_fsync_seconds")
                    .record(started.elapsed().as_secs_f64());
                metrics::histogram!("meridian_log_batch_entries").record((end - next) as f64);
                stats.commit_micros.fetch_add(
                    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                let first = next;
                next = end;
                let _ = out.next.send(next);
                let mut at = first;
                let mut entries = Vec::with_capacity(batch.len());
                for r in batch {
                    let n = r.entries.len() as u64;
                    let _ = r.reply.send(Ok(at..at + n));
                    entries.push(r.entries);
                    at += n;
                }
                // Hashed once the appenders are answered (so not in their latency); until the
                // hashes are in, `leaf_hashes` reads these entries back instead.
                let hashes = entries
                    .iter()
                    .flatten()
                    .map(|e| meridian_proofs::rfc6962::leaf_hash(e))
                    .collect();
                if let Ok(mut l) = out.leaves.lock() {
                    l.extend(first, hashes);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "commit log write failed");
                for r in batch {
                    let _ = r.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

fn commit_batch(db: &Database, start: u64, batch: &[Request]) -> Result<u64, LogError> {
    let txn = db.begin_write().map_err(storage)?;
    let mut seq = start;
    {
        let mut table = txn.open_table(ENTRIES).map_err(storage)?;
        for r in batch {
            for e in &r.entries {
                table.insert(seq, e.as_slice()).map_err(storage)?;
                seq += 1;
            }
        }
    }
    txn.commit().map_err(storage)?;
    Ok(seq)
}

impl CommitLog for RedbLog {
    fn try_append(
        &self,
        entries: Vec<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Range<u64>, LogError>> {
        let (reply, rx) = oneshot::channel();
        let sent = match self.queue.lock() {
            Ok(q) => match q.as_ref() {
                Some(tx) => match tx.try_send(Request { entries, reply }) {
                    Ok(()) => Ok(()),
                    Err(TrySendError::Full(_)) => Err(LogError::Overloaded),
                    Err(TrySendError::Disconnected(_)) => Err(LogError::Closed),
                },
                None => Err(LogError::Closed),
            },
            Err(_) => Err(LogError::Closed),
        };
        Box::pin(async move {
            sent?;
            rx.await.map_err(|_| LogError::Closed)?
        })
    }

    fn read(&self, from: u64, max: usize) -> BoxFuture<'static, Result<super::Entries, LogError>> {
        let res = Self::read_sync(&self.db, from, max);
        Box::pin(async move { res })
    }

    fn leaf_hashes(
        &self,
        from: u64,
        max: usize,
    ) -> BoxFuture<'static, Result<Vec<Hash32>, LogError>> {
        let (start, recent) = match self.leaves.lock() {
            Ok(l) if from >= l.start && from < l.end() => {
                let skip = usize::try_from(from - l.start).unwrap_or(usize::MAX);
                let upto = skip.saturating_add(max).min(l.hashes.len());
                let recent: Vec<Hash32> = l.hashes.range(skip..upto).copied().collect();
                (l.start, Some(recent))
            }
            Ok(l) => (l.start, None),
            Err(_) => (u64::MAX, None),
        };
        if let Some(recent) = recent {
            return Box::pin(async move { Ok(recent) });
        }
        // Older than what is kept, or committed but not hashed yet: read back and hash.
        let max = match start.checked_sub(from) {
            Some(n) if n > 0 => usize::try_from(n).map_or(max, |n| n.min(max)),
            _ => max,
        }
        .min(READ_BACK_CHUNK);
        let res = Self::read_sync(&self.db, from, max).and_then(|e| super::hash_entries(from, &e));
        Box::pin(async move { res })
    }

    fn next_seq(&self) -> u64 {
        *self.next.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.next.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_are_ordered_durable_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        {
            let log = RedbLog::open(&path, 64, 1000).expect("open");
            let mut futs = Vec::new();
            for i in 0..50u32 {
                futs.push(log.try_append(vec![i.to_be_bytes().to_vec(), b"x".to_vec()]));
            }
            let ranges: Vec<_> = futures::future::join_all(futs).await;
            let mut seen = std::collections::BTreeSet::new();
            for r in ranges {
                let r = r.expect("appended");
                assert_eq!(r.end - r.start, 2);
                assert!(seen.insert(r.start));
            }
            assert_eq!(log.next_seq(), 100);
            // 50 appends issued together: the writer grouped some of them into one fsync.
            assert!(log.stats().commits.load(Ordering::Relaxed) < 50);
        }
        let log = RedbLog::open(&path, 4, 1000).expect("reopen");
        assert_eq!(log.next_seq(), 100);
        let all = log.read(0, 1000).await.expect("read");
        assert_eq!(all.len(), 100);
        assert!(all.iter().enumerate().all(|(i, (s, _))| *s == i as u64));
        assert_eq!(log.read(98, 10).await.expect("read").len(), 2);
        let r = log
            .try_append(vec![b"more".to_vec()])
            .await
            .expect("append");
        assert_eq!(r, 100..101);
    }

    fn hashes_of(entries: &[(u64, Vec<u8>)]) -> Vec<Hash32> {
        entries
            .iter()
            .map(|(_, b)| meridian_proofs::rfc6962::leaf_hash(b))
            .collect()
    }

    /// Every read of `log`'s leaf hashes, in chunks of each size, equals hashing the records.
    async fn leaf_hashes_match_records(log: &RedbLog) {
        let all = log.read(0, 10_000).await.expect("read");
        let want = hashes_of(&all);
        for chunk in [1usize, 7, 64, 10_000] {
            let mut got = Vec::new();
            while got.len() < want.len() {
                let part = log
                    .leaf_hashes(got.len() as u64, chunk)
                    .await
                    .expect("leaf hashes");
                assert!(!part.is_empty() && part.len() <= chunk, "chunk {chunk}");
                got.extend(part);
            }
            assert_eq!(got, want, "chunk {chunk}");
        }
        let end = log.next_seq();
        assert!(log
            .leaf_hashes(end, 5)
            .await
            .expect("past the end")
            .is_empty());
    }

    #[tokio::test]
    async fn leaf_hashes_are_the_records_hashes_fresh_and_after_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        {
            let log = RedbLog::open(&path, 64, 1000).expect("open");
            for i in 0..40u32 {
                let entries = (0..=i % 5)
                    .map(|k| format!("{i}/{k}").into_bytes())
                    .collect();
                log.try_append(entries).await.expect("append");
            }
            // The writer publishes hashes just after answering: wait until they are all in.
            for _ in 0..200 {
                if log.leaves.lock().expect("lock").end() == log.next_seq() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            leaf_hashes_match_records(&log).await;
        }
        // Reopened: nothing in memory, everything read back; then new entries from memory.
        let log = RedbLog::open(&path, 64, 1000).expect("reopen");
        leaf_hashes_match_records(&log).await;
        log.try_append(vec![b"after".to_vec(), b"reopen".to_vec()])
            .await
            .expect("append");
        leaf_hashes_match_records(&log).await;
    }

    #[test]
    fn recent_leaves_keep_the_newest_and_restart_on_a_gap() {
        let h = |i: u8| [i; 32];
        let mut l = RecentLeaves {
            start: 10,
            hashes: VecDeque::new(),
            cap: 4,
        };
        l.extend(10, vec![h(10), h(11), h(12)]);
        l.extend(13, vec![h(13), h(14)]);
        assert_eq!((l.start, l.end()), (11, 15));
        assert_eq!(
            l.hashes.iter().copied().collect::<Vec<_>>(),
            vec![h(11), h(12), h(13), h(14)]
        );
        l.extend(20, vec![h(20)]);
        assert_eq!((l.start, l.end()), (20, 21));
    }

    #[tokio::test]
    async fn a_full_queue_is_reported_not_absorbed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = RedbLog::open(&dir.path().join("log.redb"), 1, 1).expect("open");
        let mut overloaded = 0;
        let mut futs = Vec::new();
        for _ in 0..200 {
            let f = log.try_append(vec![vec![0u8; 64]]);
            futs.push(f);
        }
        for r in futures::future::join_all(futs).await {
            if r == Err(LogError::Overloaded) {
                overloaded += 1;
            }
        }
        assert!(
            overloaded > 0,
            "200 appends into a queue of 1 were all absorbed"
        );
    }
}
