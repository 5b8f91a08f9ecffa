//! The embedded commit log: one redb file and two journal files beside it, written by one
//! thread with group commit through the write-ahead journal.
//!
//! Appenders hand batches to a bounded queue (`try_append` fails fast when it is full). The
//! writer thread takes the first waiting batch plus every other already waiting, up to
//! `max_batch` entries, appends them as one frame to the journal (see [`super::wal`]: one
//! contiguous write and one `fdatasync` into a preallocated file), and only then answers each
//! appender. A crash before that loses only batches nobody was told were durable; at the next
//! open every journal frame redb does not hold yet is written into redb before anything else.
//!
//! A checkpointer thread copies the journal's frames into redb in the background (one redb
//! transaction with `Durability::Immediate` per checkpoint: every [`CHECKPOINT_INTERVAL`] or
//! [`CHECKPOINT_BYTES`], whichever comes first). Until a frame is in redb its entries are kept
//! in memory and reads take them from there. The journal's two files are written in turns; the
//! writer goes on in the other file only once redb holds everything written there before (if
//! the checkpointer is behind, the writer waits for it: appends back up into the bounded queue).
//! A batch larger than a journal file is committed straight into redb. After each checkpoint
//! the redb file's pages are dropped from the page cache (`posix_fadvise(DONTNEED)`): the log
//! is read back only at start-up and for proofs, and a page cache that grew by every byte of
//! the log cost the checkpointer most of its time on fresh pages (see `drop_cached_pages`).
//!
//! Storage: rows of consecutive entries in the `batches` table, keyed by the sequence number
//! of their first entry, a row's value the entries each framed as `u32 LE length ‖ bytes` (a
//! journal frame's payload is the same bytes, so a checkpoint fills each row with several
//! group commits' payloads, up to [`CHECKPOINT_ROW_BYTES`]; a reader finds an entry in the
//! last row starting at or before it, whatever the rows' sizes). (One row per entry cost a
//! B-tree insert, page allocations and copy-on-write of the tree's right edge per entry: a
//! third of the hub's CPU under load.) A file in the older one-row-per-entry layout
//! (`entries` table) is converted when opened.
//!
//! The writer also hashes every entry it commits (RFC 6962 leaf hash) and keeps the most recent
//! [`RECENT_LEAVES`] hashes in memory, so the reference chain builds its trees without reading
//! the records back.

use super::wal::{self, Journal};
use super::{CommitLog, LogError, LogHealth};
use futures::future::BoxFuture;
use meridian_proofs::Hash32;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::collections::VecDeque;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// The older layout, one row per entry: converted to [`BATCHES`] on open.
const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");

/// One row per group commit (see the module documentation).
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");

/// Most framed bytes in one row: a commit of more is split over several rows (in the same
/// transaction). Reading one entry loads its row, so rows stay small.
const MAX_ROW_BYTES: usize = 1 << 20;

/// redb's page cache. Every page a commit writes enters the read cache until the cache is
/// full (redb's default is 1 GiB), each one a new zero-filled allocation faulted in page by
/// page (redb's `zero_filled_arc`). The hub reads the log back only at start-up (a sequential
/// scan) and for proofs (the reference chain takes the leaf hashes the writer keeps), so a
/// small cache serves: a group commit under load (tens of KiB) fits its write half (4 MiB)
/// many times over (redb writes out a larger one early). 64 MiB → 8 MiB: 8% fewer minor page
/// faults over a `benches/load.sh` run (211k → 193k; hub CPU per transfer unchanged within
/// the noise) and 56 MiB less memory the cache may hold.
const CACHE_BYTES: usize = 8 << 20;

/// Entries per row when converting a file of the older layout.
const CONVERT_CHUNK: usize = 1024;

/// Bytes `entries` take framed by [`frame_into`].
fn framed_len<'a>(entries: impl Iterator<Item = &'a [u8]>) -> usize {
    entries.map(|e| 4 + e.len()).sum()
}

/// Append `entries` to `out`, each framed as `u32 LE length ‖ bytes` (a row value, and a
/// journal frame's payload).
fn frame_into<'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = &'a [u8]>,
) -> Result<(), LogError> {
    for e in entries {
        let len = u32::try_from(e.len())
            .map_err(|_| LogError::Storage(format!("entry of {} bytes is too large", e.len())))?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(e);
    }
    Ok(())
}

/// Frame entries into one row value.
fn frame<'a>(entries: impl Iterator<Item = &'a [u8]> + Clone) -> Result<Vec<u8>, LogError> {
    let mut value = Vec::with_capacity(framed_len(entries.clone()));
    frame_into(&mut value, entries)?;
    Ok(value)
}

/// Write `entries` as the row of sequence number `start`.
fn put_row<E: AsRef<[u8]>>(
    table: &mut redb::Table<'_, u64, &'static [u8]>,
    start: u64,
    entries: &[E],
) -> Result<(), LogError> {
    let value = frame(entries.iter().map(AsRef::as_ref))?;
    table.insert(start, value.as_slice()).map_err(storage)?;
    Ok(())
}

/// The entries of one row value, in order, read as they are asked for.
fn entries_of(value: &[u8]) -> impl Iterator<Item = Result<&[u8], LogError>> {
    let mut rest = value;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            rest = &[];
            return Some(Err(LogError::Corrupt(
                "batch row ends inside a length".into(),
            )));
        };
        let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if tail.len() < len {
            rest = &[];
            return Some(Err(LogError::Corrupt(
                "batch row ends inside an entry".into(),
            )));
        }
        let (entry, tail) = tail.split_at(len);
        rest = tail;
        Some(Ok(entry))
    })
}

/// All entries of one row value, in order.
fn unframe(value: &[u8]) -> Result<Vec<&[u8]>, LogError> {
    entries_of(value).collect()
}

/// Convert the older one-row-per-entry table (if any rows are left in it) into batch rows,
/// keeping every sequence number, and drop it.
fn convert_entries(txn: &redb::WriteTransaction) -> Result<(), LogError> {
    {
        let old = txn.open_table(ENTRIES).map_err(storage)?;
        if old.is_empty().map_err(storage)? {
            drop(old);
            txn.delete_table(ENTRIES).map_err(storage)?;
            return Ok(());
        }
        let mut batches = txn.open_table(BATCHES).map_err(storage)?;
        if !batches.is_empty().map_err(storage)? {
            // Rows in both layouts: an older binary wrote to a converted file. Converting
            // would overwrite rows; refuse instead.
            return Err(LogError::Corrupt(
                "the log has entries in both the old one-row-per-entry layout and the \
                 one-row-per-commit layout (written to by an older meridian after conversion)"
                    .into(),
            ));
        }
        let mut chunk: Vec<Vec<u8>> = Vec::new();
        let (mut chunk_start, mut chunk_bytes) = (0u64, 0usize);
        for item in old.iter().map_err(storage)? {
            let (k, v) = item.map_err(storage)?;
            let seq = k.value();
            let entry = v.value();
            if !chunk.is_empty()
                && (seq != chunk_start + chunk.len() as u64
                    || chunk.len() >= CONVERT_CHUNK
                    || chunk_bytes + 4 + entry.len() > MAX_ROW_BYTES)
            {
                put_row(&mut batches, chunk_start, &chunk)?;
                chunk.clear();
                chunk_bytes = 0;
            }
            if chunk.is_empty() {
                chunk_start = seq;
            }
            chunk_bytes += 4 + entry.len();
            chunk.push(entry.to_vec());
        }
        if !chunk.is_empty() {
            put_row(&mut batches, chunk_start, &chunk)?;
        }
    }
    txn.delete_table(ENTRIES).map_err(storage)?;
    Ok(())
}

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
        // Make room first, so the ring never outgrows `cap` (it was allocated for that many:
        // no regrowth copies while it fills, and none past it).
        let excess = (self.hashes.len() + hashes.len()).saturating_sub(self.cap);
        let dropped = excess.min(self.hashes.len());
        self.hashes.drain(..dropped);
        self.start += excess as u64;
        self.hashes
            .extend(hashes.into_iter().skip(excess - dropped));
    }
}

type Reply = oneshot::Sender<Result<Range<u64>, LogError>>;
/// A journal frame held in memory until the checkpointer has written it into redb: its first
/// sequence number and the frame itself.
type HeldFrame = (u64, Arc<Vec<u8>>);

struct Request {
    entries: Vec<Vec<u8>>,
    reply: Reply,
}

/// Bytes per journal file (two of them, zero-filled when created). At ~1 KiB per accepted
/// transfer a file holds ~8,000; the writer moves on to the other one only once redb holds what
/// that one held, so a checkpoint must keep up with one file's worth of appends.
pub const JOURNAL_FILE_BYTES: u64 = 8 << 20;

/// The checkpointer writes the journal's frames into redb once this many bytes gathered …
pub const CHECKPOINT_BYTES: usize = 2 << 20;

/// … or once the oldest of them is this old.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// Most bytes in a row a checkpoint writes (consecutive group commits' payloads concatenated,
/// see [`put_groups`]). redb keeps a value in a leaf page of a power-of-two size; 255 KiB
/// leaves room for the page's header in a 256 KiB page. Under load (`benches/load.sh`, group
/// commits of ~60 KiB) the checkpoints wrote 1.47× the journal's bytes with one row per group
/// commit and 1.25× with rows filled up to this size. Reading one entry loads its row.
const CHECKPOINT_ROW_BYTES: usize = (256 << 10) - (1 << 10);

/// How long the checkpointer waits before it tries again after a failed redb commit; the wait
/// doubles with each failure in a row, up to [`CHECKPOINT_RETRY_MAX`].
const CHECKPOINT_RETRY: Duration = Duration::from_millis(100);

/// The longest wait between checkpoint attempts.
const CHECKPOINT_RETRY_MAX: Duration = Duration::from_secs(5);

/// Counters of the writer (for metrics and benchmarks).
#[derive(Debug, Default)]
pub struct LogStats {
    /// Group commits made durable (= journal fsyncs, or redb commits for batches too large
    /// for the journal).
    pub commits: AtomicU64,
    /// Entries made durable.
    pub entries: AtomicU64,
    /// Total time spent committing, in microseconds.
    pub commit_micros: AtomicU64,
    /// Checkpoints: redb transactions that took over journal frames.
    pub checkpoints: AtomicU64,
}

/// A group commit durable in the journal and not yet in redb.
struct Group {
    seq: u64,
    count: u64,
    /// The journal frame (header and payload).
    frame: Arc<Vec<u8>>,
    at: Instant,
}

/// What the writer, the checkpointer and readers share.
#[derive(Default)]
struct Unflushed {
    /// redb holds every entry before this.
    start: u64,
    /// Durable in the journal, not in redb yet, in order from `start`.
    groups: VecDeque<Group>,
    /// Their frames' bytes.
    bytes: usize,
    /// The writer waits for redb to hold everything before this.
    want: u64,
    /// The writer has stopped: checkpoint what is left and stop.
    closing: bool,
    /// The first failure of the checkpoints failing now (they are retried; one that succeeds
    /// clears it).
    failed: Option<LogError>,
    /// The first write the writer could not make: the log takes no more until it is opened
    /// again (what a failed write left in the journal is only known by reading it back).
    fatal: Option<LogError>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<Unflushed>,
    /// Signalled when a group is added, a checkpoint ends or the writer waits or stops.
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> Result<MutexGuard<'_, Unflushed>, LogError> {
        self.state
            .lock()
            .map_err(|_| LogError::Storage("commit log state poisoned".into()))
    }

    /// Block until redb holds every entry before `upto`.
    fn wait_flushed(&self, upto: u64) -> Result<(), LogError> {
        let mut s = self.lock()?;
        s.want = s.want.max(upto);
        self.changed.notify_all();
        while s.start < upto {
            if let Some(e) = &s.failed {
                return Err(e.clone());
            }
            s = self
                .changed
                .wait(s)
                .map_err(|_| LogError::Storage("commit log state poisoned".into()))?;
        }
        Ok(())
    }
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
    shared: Arc<Shared>,
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

/// Write journal frames' payloads into `table` as rows (a payload over [`MAX_ROW_BYTES`] is
/// split into several).
fn put_payload(
    table: &mut redb::Table<'_, u64, &'static [u8]>,
    seq: u64,
    count: u64,
    payload: &[u8],
) -> Result<(), LogError> {
    if payload.len() <= MAX_ROW_BYTES {
        table.insert(seq, payload).map_err(storage)?;
        return Ok(());
    }
    let entries = unframe(payload)?;
    if entries.len() as u64 != count {
        return Err(LogError::Corrupt(format!(
            "journal frame at {seq}: {} entries, header says {count}",
            entries.len()
        )));
    }
    let mut at = seq;
    for row in rows(&entries, MAX_ROW_BYTES) {
        put_row(table, at, row)?;
        at += row.len() as u64;
    }
    Ok(())
}

/// Where the log held in `table` ends: the first sequence number after its last row.
fn batches_end<T: ReadableTable<u64, &'static [u8]>>(table: &T) -> Result<u64, LogError> {
    Ok(match table.last().map_err(storage)? {
        Some((k, v)) => k.value() + unframe(v.value())?.len() as u64,
        None => 0,
    })
}

/// The journal frames of the log at `path` that redb does not hold yet (the log ends at
/// `end` there), in order, each as its first sequence number, entry count and payload; a frame
/// that would leave a gap is corruption. What recovery writes into redb and what a read-only
/// view reads beside it.
fn journal_tail(path: &Path, end: u64) -> Result<Vec<(u64, u64, Vec<u8>)>, LogError> {
    let paths = wal::paths(path);
    let mut found = Vec::new();
    let mut beyond = Vec::new();
    for p in &paths {
        let bytes = wal::read_file(p)?;
        let frames = wal::scan(&bytes);
        let stop = frames.last().map_or(0, |f| f.payload.end);
        for f in wal::frames_after(&bytes, stop) {
            beyond.push((f.seq, f.count, stop, p));
        }
        for f in frames {
            found.push((f.seq, f.count, bytes[f.payload].to_vec(), p));
        }
    }
    found.sort_by_key(|f| f.0);
    let mut end = end;
    let mut tail = Vec::new();
    for (seq, count, payload, p) in found {
        if seq + count <= end {
            continue; // in redb already
        }
        if seq != end {
            return Err(LogError::Corrupt(format!(
                "journal {}: a frame of entries {seq}..{} where the log ends at {end}",
                p.display(),
                seq + count
            )));
        }
        end += count;
        tail.push((seq, count, payload));
    }
    // Entries past the end behind a frame that no longer checks out: the journal was damaged
    // after they were made durable (and answered). Starting would drop them and issue their
    // sequence numbers again, to other records.
    if let Some((seq, count, stop, p)) = beyond.into_iter().find(|b| b.0 + b.1 > end) {
        return Err(LogError::Corrupt(format!(
            "journal {}: the frame at byte {stop} is damaged, and entries {seq}..{} that were \
             made durable after it follow; the log would end at {end} and lose them. Refusing \
             to start: restore the data directory from a backup, or keep a copy of it and \
             truncate the journal at byte {stop} to give those entries up",
            p.display(),
            seq + count
        )));
    }
    Ok(tail)
}

/// Write into redb every journal frame of the log at `path` that redb does not hold yet (the
/// log ends at `next`); returns where the log ends now.
fn recover(db: &Database, path: &Path, next: u64) -> Result<u64, LogError> {
    let tail = journal_tail(path, next)?;
    let mut end = next;
    let txn = db.begin_write().map_err(storage)?;
    {
        let mut table = txn.open_table(BATCHES).map_err(storage)?;
        for (seq, count, payload) in &tail {
            put_payload(&mut table, *seq, *count, payload)?;
            end += count;
        }
    }
    if end > next {
        txn.commit().map_err(storage)?;
        tracing::info!(
            entries = end - next,
            from = next,
            "commit log: entries recovered from the journal"
        );
    } else {
        txn.abort().map_err(storage)?;
    }
    Ok(end)
}

impl RedbLog {
    /// Open (or create) the log file at `path` and its journal files beside it (see
    /// [`JOURNAL_FILE_BYTES`]). `queue_capacity` bounds the number of batches waiting for the
    /// writer; `max_batch` bounds the entries committed per fsync. If another handle in this
    /// process is still closing the file, waits up to 10 s for it.
    pub fn open(path: &Path, queue_capacity: usize, max_batch: usize) -> Result<RedbLog, LogError> {
        Self::open_with(path, queue_capacity, max_batch, JOURNAL_FILE_BYTES)
    }

    /// [`RedbLog::open`] with journal files of `journal_bytes` each.
    pub fn open_with(
        path: &Path,
        queue_capacity: usize,
        max_batch: usize,
        journal_bytes: u64,
    ) -> Result<RedbLog, LogError> {
        // A log whose journal file is gone: what was only in it (transfers answered after
        // redb's last checkpoint, if the hub did not stop cleanly) is lost, and nothing else
        // would say so.
        let missing: Vec<PathBuf> = if path.exists() {
            wal::paths(path)
                .into_iter()
                .filter(|p| !p.exists())
                .collect()
        } else {
            Vec::new()
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let db = loop {
            match Database::builder().set_cache_size(CACHE_BYTES).create(path) {
                Ok(db) => break db,
                Err(redb::DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(LogError::Storage(format!("{}: {e}", path.display()))),
            }
        };
        let db = Arc::new(db);
        // Make sure the table exists (converting an older file), and find where the log ends.
        let txn = db.begin_write().map_err(storage)?;
        convert_entries(&txn)?;
        let next = batches_end(&txn.open_table(BATCHES).map_err(storage)?)?;
        txn.commit().map_err(storage)?;
        // The journal's frames redb does not hold yet (appends answered before a crash).
        let next = recover(&db, path, next)?;
        for p in &missing {
            tracing::warn!(
                journal = %p.display(),
                log_end = next,
                "a journal file of the commit log was missing and is made anew: if the hub did \
                 not stop cleanly, the transfers it answered after the last copy into redb are \
                 lost (the log ends at {next}); restore it with log.redb from the same backup"
            );
        }
        let journal = Journal::open(path, journal_bytes)?;

        let (tx, rx) = sync_channel::<Request>(queue_capacity.max(1));
        let (next_tx, next_rx) = watch::channel(next);
        let stats = Arc::new(LogStats::default());
        let leaves = Arc::new(Mutex::new(RecentLeaves {
            start: next,
            // Address space only until written (the pages are touched as the ring fills).
            hashes: VecDeque::with_capacity(RECENT_LEAVES),
            cap: RECENT_LEAVES,
        }));
        let shared = Arc::new(Shared {
            state: Mutex::new(Unflushed {
                start: next,
                want: next,
                ..Unflushed::default()
            }),
            changed: Condvar::new(),
        });
        let (cdb, cshared, cstats) = (db.clone(), shared.clone(), stats.clone());
        // A second handle on the file, only to drop its written pages from the page cache.
        let cfile = std::fs::File::open(path).ok();
        let checkpointer = std::thread::Builder::new()
            .name("log-checkpoint".into())
            .spawn(move || checkpointer_loop(&cdb, cfile.as_ref(), &cshared, &cstats))
            .map_err(storage)?;
        let writer_out = Written {
            next: next_tx,
            stats: stats.clone(),
            leaves: leaves.clone(),
            shared: shared.clone(),
        };
        let wdb = db.clone();
        let max_batch = max_batch.max(1);
        let writer = std::thread::Builder::new()
            .name("commit-log".into())
            .spawn(move || {
                writer_loop(&wdb, rx, next, max_batch, journal, &writer_out);
                // Let the checkpointer take over what is left, then wait for it.
                if let Ok(mut s) = writer_out.shared.lock() {
                    s.closing = true;
                    writer_out.shared.changed.notify_all();
                }
                let _ = checkpointer.join();
            })
            .map_err(storage)?;
        Ok(RedbLog {
            path: path.to_path_buf(),
            db,
            queue: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            next: next_rx,
            stats,
            leaves,
            shared,
        })
    }

    /// The writer's counters.
    pub fn stats(&self) -> Arc<LogStats> {
        self.stats.clone()
    }

    /// Stop accepting appends, let the writer finish what it has and the checkpointer write it
    /// into redb, and wait for both.
    pub fn stop_writing(&self) {
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// Up to `max` entries from `from` on: those redb holds from redb, the newer ones from the
    /// journal's frames kept in memory.
    fn read_sync(&self, from: u64, max: usize) -> Result<super::Entries, LogError> {
        // Taken first: redb holds everything before `start` from then on (a checkpoint that
        // ends after this only moves more into redb).
        let (start, groups): (u64, Vec<HeldFrame>) = {
            let s = self.shared.lock()?;
            let upto = from.saturating_add(max as u64);
            let groups = s
                .groups
                .iter()
                .filter(|g| g.seq + g.count > from && g.seq < upto)
                .map(|g| (g.seq, g.frame.clone()))
                .collect();
            (s.start, groups)
        };
        let mut out = if from < start {
            let n = usize::try_from(start - from).map_or(max, |n| n.min(max));
            Self::read_redb(self.db.as_ref(), from, n)?
        } else {
            Vec::new()
        };
        for (seq, frame) in groups {
            if out.len() >= max {
                break;
            }
            for (seq, entry) in (seq..).zip(entries_of(&frame[wal::HEADER..])) {
                let entry = entry?;
                if seq >= from.max(start) {
                    out.push((seq, entry.to_vec()));
                    if out.len() >= max {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn read_redb<D: ReadableDatabase>(
        db: &D,
        from: u64,
        max: usize,
    ) -> Result<super::Entries, LogError> {
        let txn = db.begin_read().map_err(storage)?;
        let table = match txn.open_table(BATCHES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(storage(e)),
        };
        let mut out = Vec::with_capacity(max.min(4096));
        if max == 0 {
            return Ok(out);
        }
        // The row holding `from` is the last one starting at or before it.
        let first = match table.range(..=from).map_err(storage)?.next_back() {
            Some(item) => item.map_err(storage)?.0.value(),
            None => from,
        };
        for item in table.range(first..).map_err(storage)? {
            let (k, v) = item.map_err(storage)?;
            for (seq, entry) in (k.value()..).zip(entries_of(v.value())) {
                let entry = entry?;
                if seq >= from {
                    out.push((seq, entry.to_vec()));
                    if out.len() >= max {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A stopped hub's commit log, read without writing anything (`meridian log inspect`): redb
/// opened read-only, the journal's frames past what redb holds read from its files into memory.
/// [`RedbLog::open`] would recover those frames into redb, create missing journal files and
/// take the file's lock for writing.
pub struct ReadOnlyLog {
    db: ReadDb,
    /// Where redb's entries end; the frames' entries follow, in order.
    redb_end: u64,
    frames: Vec<Vec<u8>>,
    next: watch::Sender<u64>,
}

/// The redb file a [`ReadOnlyLog`] reads: the log's own, opened read-only, or — when it was
/// not closed cleanly (the hub was killed) and redb would have to repair it — a copy repaired
/// in the temporary directory and removed again on drop.
enum ReadDb {
    Own(redb::ReadOnlyDatabase),
    Copy(Database, PathBuf),
}

impl Drop for ReadDb {
    fn drop(&mut self) {
        if let ReadDb::Copy(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl ReadDb {
    fn open(path: &Path) -> Result<ReadDb, LogError> {
        let builder = || {
            let mut b = Database::builder();
            b.set_cache_size(CACHE_BYTES);
            b
        };
        match builder().open_read_only(path) {
            Ok(db) => Ok(ReadDb::Own(db)),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(LogError::Storage(format!(
                "{} is open in a running hub: stop it to inspect its log",
                path.display()
            ))),
            Err(redb::DatabaseError::RepairAborted) => {
                let copy = std::env::temp_dir().join(format!(
                    "meridian-log-inspect-{}-{}.redb",
                    std::process::id(),
                    unix_nanos()
                ));
                tracing::warn!(
                    log = %path.display(),
                    copy = %copy.display(),
                    "the log was not closed cleanly: reading a repaired copy"
                );
                // A file of its own (never one planted under that name), removed on failure.
                let copy_err = |e: std::io::Error| {
                    LogError::Storage(format!(
                        "copying {} to {}: {e}",
                        path.display(),
                        copy.display()
                    ))
                };
                let mut to = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&copy)
                    .map_err(copy_err)?;
                let copied = std::fs::File::open(path)
                    .and_then(|mut from| std::io::copy(&mut from, &mut to));
                drop(to);
                if let Err(e) = copied {
                    let _ = std::fs::remove_file(&copy);
                    return Err(copy_err(e));
                }
                match builder().create(&copy) {
                    Ok(db) => Ok(ReadDb::Copy(db, copy)),
                    Err(e) => {
                        let _ = std::fs::remove_file(&copy);
                        Err(LogError::Storage(format!("{}: {e}", path.display())))
                    }
                }
            }
            Err(e) => Err(LogError::Storage(format!("{}: {e}", path.display()))),
        }
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, LogError> {
        match self {
            ReadDb::Own(db) => db.begin_read(),
            ReadDb::Copy(db, _) => db.begin_read(),
        }
        .map_err(storage)
    }

    fn read(&self, from: u64, max: usize) -> Result<super::Entries, LogError> {
        match self {
            ReadDb::Own(db) => RedbLog::read_redb(db, from, max),
            ReadDb::Copy(db, _) => RedbLog::read_redb(db, from, max),
        }
    }
}

/// Nanoseconds of the wall clock, to name a temporary file.
fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

impl ReadOnlyLog {
    /// Open the log at `path` for reading only.
    pub fn open(path: &Path) -> Result<ReadOnlyLog, LogError> {
        let db = ReadDb::open(path)?;
        let txn = db.begin_read()?;
        if txn.open_table(ENTRIES).is_ok() {
            return Err(LogError::Storage(format!(
                "{} is in the older one-row-per-entry layout: start the hub on it once to convert it",
                path.display()
            )));
        }
        let redb_end = match txn.open_table(BATCHES) {
            Ok(t) => batches_end(&t)?,
            Err(redb::TableError::TableDoesNotExist(_)) => 0,
            Err(e) => return Err(storage(e)),
        };
        // The journal's frames redb does not hold yet, as `recover` would write them.
        let tail = journal_tail(path, redb_end)?;
        let end = redb_end + tail.iter().map(|(_, count, _)| count).sum::<u64>();
        let frames = tail.into_iter().map(|(_, _, payload)| payload).collect();
        Ok(ReadOnlyLog {
            db,
            redb_end,
            frames,
            next: watch::channel(end).0,
        })
    }

    fn read_sync(&self, from: u64, max: usize) -> Result<super::Entries, LogError> {
        let mut out = if from < self.redb_end {
            let n = usize::try_from(self.redb_end - from).map_or(max, |n| n.min(max));
            self.db.read(from, n)?
        } else {
            Vec::new()
        };
        let mut seq = self.redb_end;
        for payload in &self.frames {
            for entry in entries_of(payload) {
                if out.len() >= max {
                    return Ok(out);
                }
                let entry = entry?;
                if seq >= from {
                    out.push((seq, entry.to_vec()));
                }
                seq += 1;
            }
        }
        Ok(out)
    }
}

impl CommitLog for ReadOnlyLog {
    fn try_append(
        &self,
        _entries: Vec<Vec<u8>>,
    ) -> BoxFuture<'static, Result<Range<u64>, LogError>> {
        Box::pin(async { Err(LogError::Closed) })
    }

    fn read(&self, from: u64, max: usize) -> BoxFuture<'static, Result<super::Entries, LogError>> {
        let r = self.read_sync(from, max);
        Box::pin(async move { r })
    }

    fn next_seq(&self) -> u64 {
        *self.next.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.next.subscribe()
    }
}

impl Drop for RedbLog {
    fn drop(&mut self) {
        self.stop_writing();
    }
}

/// What the writer publishes after each commit.
struct Written {
    next: watch::Sender<u64>,
    stats: Arc<LogStats>,
    leaves: Arc<Mutex<RecentLeaves>>,
    shared: Arc<Shared>,
}

fn writer_loop(
    db: &Database,
    rx: Receiver<Request>,
    mut next: u64,
    max_batch: usize,
    mut journal: Journal,
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
        match commit_batch(db, &mut journal, &out.shared, next, &batch) {
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
                // Hashed once the appenders are answered (so not in their latency, though the
                // next commit waits for it: ~1 us per entry); until the hashes are in,
                // `leaf_hashes` reads these entries back instead.
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
                let first = match out.shared.lock() {
                    Ok(mut s) => {
                        let first = s.fatal.is_none();
                        s.fatal.get_or_insert_with(|| e.clone());
                        first
                    }
                    Err(_) => true,
                };
                if first {
                    tracing::error!(error = %e, "commit log write failed");
                } else {
                    tracing::debug!(error = %e, "commit log write failed");
                }
                for r in batch {
                    let _ = r.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Make `batch` durable as the entries from `start` on: one journal frame, or (larger than a
/// journal file) one redb transaction once redb holds everything before it. Returns the next
/// sequence number.
fn commit_batch(
    db: &Database,
    journal: &mut Journal,
    shared: &Shared,
    start: u64,
    batch: &[Request],
) -> Result<u64, LogError> {
    let entries = batch.iter().flat_map(|r| &r.entries).map(Vec::as_slice);
    let count = entries.clone().count() as u64;
    if count == 0 {
        return Ok(start);
    }
    let mut frame = wal::start_frame(framed_len(entries.clone()));
    frame_into(&mut frame, entries)?;
    let end = start + count;
    if frame.len() as u64 > journal.size {
        shared.wait_flushed(start)?;
        let txn = db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(BATCHES).map_err(storage)?;
            put_payload(&mut table, start, count, &frame[wal::HEADER..])?;
        }
        txn.commit().map_err(storage)?;
        let mut s = shared.lock()?;
        s.start = end;
        s.want = s.want.max(end);
        return Ok(end);
    }
    wal::seal(&mut frame, start, count)?;
    if !journal.fits(frame.len()) {
        // The other file may be written over once redb holds what it held.
        shared.wait_flushed(journal.ends[1 - journal.current])?;
        journal.switch();
    }
    journal.append(&frame, end)?;
    let mut s = shared.lock()?;
    s.bytes += frame.len();
    s.groups.push_back(Group {
        seq: start,
        count,
        frame: Arc::new(frame),
        at: Instant::now(),
    });
    // The checkpointer sleeps until its interval is up unless it has nothing to wait for (it
    // waits without a timeout while no group is held) or the bytes make a checkpoint due:
    // waking it on every commit cost a context switch per group commit for nothing.
    if s.groups.len() == 1 || s.bytes >= CHECKPOINT_BYTES {
        shared.changed.notify_all();
    }
    Ok(end)
}

/// Write journal frames (consecutive groups) into `table`, their payloads concatenated into
/// rows of up to [`CHECKPOINT_ROW_BYTES`] (the concatenation of consecutive payloads is the row
/// of the first one's sequence number); a payload larger than that is written as it is.
fn put_groups(
    table: &mut redb::Table<'_, u64, &'static [u8]>,
    groups: &[(u64, u64, Arc<Vec<u8>>)],
) -> Result<(), LogError> {
    fn payload_of(seq: u64, frame: &[u8]) -> Result<&[u8], LogError> {
        frame.get(wal::HEADER..).ok_or_else(|| {
            LogError::Corrupt(format!("journal frame at {seq} is shorter than its header"))
        })
    }
    // One buffer for the rows, sized for what there is (an idle hub's checkpoint holds a few
    // bytes), at most one row.
    let mut total = 0;
    for (seq, _, frame) in groups {
        total += payload_of(*seq, frame)?.len();
    }
    let mut row: Vec<u8> = Vec::with_capacity(total.min(CHECKPOINT_ROW_BYTES));
    let mut row_seq = 0;
    for (seq, count, frame) in groups {
        let payload = payload_of(*seq, frame)?;
        if !row.is_empty() && row.len() + payload.len() > CHECKPOINT_ROW_BYTES {
            table.insert(row_seq, row.as_slice()).map_err(storage)?;
            row.clear();
        }
        if payload.len() > CHECKPOINT_ROW_BYTES {
            put_payload(table, *seq, *count, payload)?;
            continue;
        }
        if row.is_empty() {
            row_seq = *seq;
        }
        row.extend_from_slice(payload);
    }
    if !row.is_empty() {
        table.insert(row_seq, row.as_slice()).map_err(storage)?;
    }
    Ok(())
}

/// Copy the journal's frames into redb (see the module documentation) until the writer stops
/// and nothing is left.
fn checkpointer_loop(
    db: &Database,
    file: Option<&std::fs::File>,
    shared: &Shared,
    stats: &LogStats,
) {
    let mut retry = CHECKPOINT_RETRY;
    loop {
        let groups: Vec<(u64, u64, Arc<Vec<u8>>)> = {
            let Ok(mut s) = shared.lock() else { return };
            loop {
                let Some(oldest) = s.groups.front().map(|g| g.at) else {
                    if s.closing {
                        return;
                    }
                    s = match shared.changed.wait(s) {
                        Ok(s) => s,
                        Err(_) => return,
                    };
                    continue;
                };
                let due = s.closing
                    || s.want > s.start
                    || s.bytes >= CHECKPOINT_BYTES
                    || oldest.elapsed() >= CHECKPOINT_INTERVAL;
                if due {
                    break;
                }
                let left = CHECKPOINT_INTERVAL.saturating_sub(oldest.elapsed());
                s = match shared.changed.wait_timeout(s, left) {
                    Ok((s, _)) => s,
                    Err(_) => return,
                };
            }
            s.groups
                .iter()
                .map(|g| (g.seq, g.count, g.frame.clone()))
                .collect()
        };
        let started = Instant::now();
        let res = (|| {
            let txn = db.begin_write().map_err(storage)?;
            {
                let mut table = txn.open_table(BATCHES).map_err(storage)?;
                put_groups(&mut table, &groups)?;
            }
            txn.commit().map_err(storage)
        })();
        let Ok(mut s) = shared.lock() else { return };
        match res {
            Ok(()) => {
                if let Some(f) = file {
                    drop_cached_pages(f);
                }
                stats.checkpoints.fetch_add(1, Ordering::Relaxed);
                metrics::histogram!("meridian_log_checkpoint_seconds")
                    .record(started.elapsed().as_secs_f64());
                for _ in 0..groups.len() {
                    if let Some(g) = s.groups.pop_front() {
                        s.bytes -= g.frame.len();
                        s.start = g.seq + g.count;
                    }
                }
                if s.failed.take().is_some() {
                    tracing::info!("commit log checkpoints into redb work again");
                }
                retry = CHECKPOINT_RETRY;
                shared.changed.notify_all();
            }
            Err(e) => {
                // Logged once per run of failures: redb refuses every write after an I/O
                // error until it is opened again, so a retry every 100 ms would log ten
                // identical lines a second that hide the cause.
                if s.failed.is_none() {
                    tracing::error!(error = %e, "commit log checkpoint into redb failed (the journal keeps the entries; retrying)");
                    s.failed = Some(e);
                } else {
                    tracing::debug!(error = %e, "commit log checkpoint into redb failed again");
                }
                shared.changed.notify_all();
                if s.closing {
                    return; // the next open writes them into redb from the journal
                }
                drop(s);
                std::thread::sleep(retry);
                retry = (retry * 2).min(CHECKPOINT_RETRY_MAX);
            }
        }
    }
}

/// Ask the kernel to drop the redb file's clean pages from the page cache (a hint; errors are
/// ignored). The checkpoint just made them durable and the hub reads the log back only at
/// start-up and for proofs, while every page a checkpoint writes would otherwise stay cached
/// and the cache would grow by the log's size: on this kind of virtual machine a page cache
/// page the guest has not used lately costs several times a recycled one to fill (the
/// checkpointer's `pwrite` was 78% page-cache copying in a profile under load).
fn drop_cached_pages(file: &std::fs::File) {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let _ = file;
}

/// Split a commit's entries into rows of at most `max_bytes` framed bytes each (an entry
/// larger than that gets a row of its own), so a commit of many large entries never makes
/// one huge value.
fn rows<'a, 'b>(entries: &'b [&'a [u8]], max_bytes: usize) -> Vec<&'b [&'a [u8]]> {
    let mut out = Vec::new();
    let (mut from, mut bytes) = (0, 0usize);
    for (i, e) in entries.iter().enumerate() {
        let framed = 4 + e.len();
        if i > from && bytes + framed > max_bytes {
            out.push(&entries[from..i]);
            (from, bytes) = (i, 0);
        }
        bytes += framed;
    }
    out.push(&entries[from..]);
    out
}

impl CommitLog for RedbLog {
    fn close(&self) -> Result<(), LogError> {
        self.stop_writing();
        let s = self.shared.lock()?;
        let (Some(first), Some(last)) = (s.groups.front(), s.groups.back()) else {
            return match &s.fatal {
                Some(e) => Err(e.clone()),
                None => Ok(()),
            };
        };
        let [w0, w1] = wal::paths(&self.path);
        let why = s.failed.as_ref().or(s.fatal.as_ref()).map_or_else(
            || "the copy into redb did not finish".to_string(),
            ToString::to_string,
        );
        Err(LogError::Storage(format!(
            "entries {}..{} are only in the journal ({why}): keep {} and {} with {}; the \
             next start copies them into redb",
            first.seq,
            last.seq + last.count,
            w0.display(),
            w1.display(),
            self.path.display()
        )))
    }

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
        let res = self.read_sync(from, max);
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
        let res = self
            .read_sync(from, max)
            .and_then(|e| super::hash_entries(from, &e));
        Box::pin(async move { res })
    }

    fn next_seq(&self) -> u64 {
        *self.next.borrow()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.next.clone()
    }

    fn health(&self) -> LogHealth {
        let Ok(s) = self.shared.lock() else {
            return LogHealth::Failed(LogError::Storage("commit log state poisoned".into()));
        };
        match (&s.fatal, &s.failed) {
            (Some(e), _) => LogHealth::Failed(e.clone()),
            (None, Some(e)) => LogHealth::Degraded(e.clone()),
            (None, None) => LogHealth::Ok,
        }
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
            let published = {
                let l = log.leaves.lock().expect("lock");
                (l.start, l.end())
            };
            assert_eq!(published, (0, log.next_seq()), "hashes not published");
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

    #[tokio::test]
    async fn leaf_hashes_cross_from_disk_into_the_ring() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = RedbLog::open(&dir.path().join("log.redb"), 64, 1000).expect("open");
        log.leaves.lock().expect("lock").cap = 8;
        for i in 0..30u32 {
            log.try_append(vec![i.to_be_bytes().to_vec()])
                .await
                .expect("append");
        }
        for _ in 0..200 {
            if log.leaves.lock().expect("lock").end() == 30 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let kept = {
            let l = log.leaves.lock().expect("lock");
            (l.start, l.end())
        };
        assert_eq!(kept, (22, 30), "only the newest 8 kept");
        // Reads from 0 come from disk up to 22, then from the ring.
        leaf_hashes_match_records(&log).await;
        let from_disk = log.leaf_hashes(20, 100).await.expect("hashes");
        assert_eq!(
            from_disk.len(),
            2,
            "a read-back stops where the ring starts"
        );
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
        // A batch larger than the ring keeps its newest hashes only.
        l.extend(21, (21..27).map(h).collect());
        assert_eq!((l.start, l.end()), (23, 27));
        assert_eq!(
            l.hashes.iter().copied().collect::<Vec<_>>(),
            vec![h(23), h(24), h(25), h(26)]
        );
    }

    #[test]
    fn recent_leaves_never_outgrow_the_room_they_were_given() {
        let mut l = RecentLeaves {
            start: 0,
            hashes: VecDeque::with_capacity(64),
            cap: 64,
        };
        let room = l.hashes.capacity();
        for i in 0..100u64 {
            l.extend(i * 7, (0..7).map(|j| [(i * 7 + j) as u8; 32]).collect());
            assert!(l.hashes.len() <= 64);
        }
        assert_eq!(l.hashes.capacity(), room, "the ring was reallocated");
        assert_eq!((l.start, l.end()), (700 - 64, 700));
    }

    /// What `read(from, max)` must answer for a log holding `all`.
    fn expected(all: &[Vec<u8>], from: usize, max: usize) -> Vec<(u64, Vec<u8>)> {
        all.iter()
            .enumerate()
            .skip(from)
            .take(max)
            .map(|(i, e)| (i as u64, e.clone()))
            .collect()
    }

    #[tokio::test]
    async fn reads_start_and_stop_anywhere_inside_and_across_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        let mut want: Vec<Vec<u8>> = Vec::new();
        {
            let log = RedbLog::open(&path, 64, 1000).expect("open");
            // Rows of 1 to 6 entries, one append at a time so each is its own row; an empty
            // append writes nothing.
            for i in 0..30usize {
                let entries: Vec<Vec<u8>> = (0..i % 6)
                    .map(|k| vec![u8::try_from(i).expect("small"); k * 97])
                    .collect();
                let n = entries.len() as u64;
                let r = log.try_append(entries.clone()).await.expect("append");
                assert_eq!(r, want.len() as u64..want.len() as u64 + n);
                want.extend(entries);
            }
        }
        let log = RedbLog::open(&path, 4, 1000).expect("reopen");
        assert_eq!(log.next_seq(), want.len() as u64);
        for from in 0..=want.len() + 2 {
            for max in [0usize, 1, 2, 5, 1000] {
                let got = log.read(from as u64, max).await.expect("read");
                assert_eq!(got, expected(&want, from, max), "from {from} max {max}");
            }
        }
    }

    #[tokio::test]
    async fn a_file_of_the_one_row_per_entry_layout_is_converted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        let old: Vec<Vec<u8>> = (0..2500u32).map(|i| i.to_le_bytes().repeat(3)).collect();
        {
            let db = Database::create(&path).expect("create");
            let txn = db.begin_write().expect("txn");
            {
                let mut t = txn.open_table(ENTRIES).expect("table");
                for (i, e) in old.iter().enumerate() {
                    t.insert(i as u64, e.as_slice()).expect("insert");
                }
            }
            txn.commit().expect("commit");
        }
        {
            let log = RedbLog::open(&path, 4, 1000).expect("open converts");
            assert_eq!(log.next_seq(), 2500);
            let all = log.read(0, 10_000).await.expect("read");
            assert_eq!(all.len(), 2500);
            assert!(all
                .iter()
                .zip(&old)
                .enumerate()
                .all(|(i, ((s, a), b))| *s == i as u64 && a == b));
            assert_eq!(
                log.try_append(vec![b"new".to_vec()]).await.expect("append"),
                2500..2501
            );
        }
        let log = RedbLog::open(&path, 4, 1000).expect("reopen");
        assert_eq!(log.next_seq(), 2501);
        assert_eq!(
            log.read(2499, 5).await.expect("read")[1],
            (2500, b"new".to_vec())
        );
        let txn = log.db.begin_read().expect("read txn");
        assert!(matches!(
            txn.open_table(ENTRIES),
            Err(redb::TableError::TableDoesNotExist(_))
        ));
    }

    #[test]
    fn big_commits_are_split_into_bounded_rows() {
        let (a, b, big) = (vec![1u8; 10], vec![2u8; 20], vec![3u8; 100]);
        let entries: Vec<&[u8]> = vec![&a, &b, &a, &big, &b];
        let lens = |rs: Vec<&[&[u8]]>| rs.iter().map(|r| r.len()).collect::<Vec<_>>();
        assert_eq!(lens(rows(&entries, 1000)), vec![5]);
        // 14 + 24 = 38 fits 40; the next 14 does not; the 104-byte entry gets a row alone.
        assert_eq!(lens(rows(&entries, 40)), vec![2, 1, 1, 1]);
        assert_eq!(lens(rows(&entries, 1)), vec![1, 1, 1, 1, 1]);
        assert_eq!(rows(&entries, 40).concat(), entries);
    }

    #[tokio::test]
    async fn a_commit_over_the_row_limit_reads_back_across_its_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        // 40 entries of 300 KiB: rows of at most 1 MiB hold three, so 14 rows, one commit.
        let entries: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 300 << 10]).collect();
        {
            let log = RedbLog::open(&path, 4, 1000).expect("open");
            assert_eq!(
                log.try_append(entries.clone()).await.expect("append"),
                0..40
            );
            assert_eq!(log.stats().commits.load(Ordering::Relaxed), 1);
        }
        let log = RedbLog::open(&path, 4, 1000).expect("reopen");
        assert_eq!(log.next_seq(), 40);
        let txn = log.db.begin_read().expect("read txn");
        let rows = txn.open_table(BATCHES).expect("table").len().expect("len");
        assert_eq!(rows, 14);
        for from in [0u64, 2, 3, 4, 38, 39] {
            let got = log.read(from, 3).await.expect("read");
            let from = usize::try_from(from).expect("small");
            assert_eq!(got, expected(&entries, from, 3), "from {from}");
        }
    }

    #[tokio::test]
    async fn rows_in_both_layouts_are_refused_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        {
            let log = RedbLog::open(&path, 4, 1000).expect("open");
            log.try_append(vec![b"new layout".to_vec()])
                .await
                .expect("append");
        }
        {
            // An older binary appending to the converted file writes the old table again.
            let db = Database::create(&path).expect("db");
            let txn = db.begin_write().expect("txn");
            txn.open_table(ENTRIES)
                .expect("table")
                .insert(0, b"old layout".as_slice())
                .expect("insert");
            txn.commit().expect("commit");
        }
        let res = RedbLog::open(&path, 4, 1000);
        assert!(
            matches!(res, Err(LogError::Corrupt(_))),
            "expected Corrupt, got {res:?}"
        );
    }

    #[test]
    fn a_cut_batch_row_is_corrupt_not_short() {
        let value = frame([b"abc".as_slice(), b"de".as_slice()].into_iter()).expect("frame");
        assert_eq!(
            unframe(&value).expect("whole"),
            vec![b"abc".as_slice(), b"de"]
        );
        for cut in 1..value.len() {
            if cut == 7 {
                continue; // exactly after the first entry: a valid row of one entry
            }
            assert!(unframe(&value[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_checkpoint_fills_rows_from_consecutive_groups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::create(dir.path().join("log.redb")).expect("create");
        // Groups of 40 entries of 1 KiB (41 KiB framed): six fit one row, the seventh starts
        // the next; a group over the row limit gets rows of its own, the next group a new row.
        let small = |g: u64| -> Vec<Vec<u8>> {
            (0..40u64).map(|i| vec![(g * 40 + i) as u8; 1024]).collect()
        };
        let big: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 100 << 10]).collect();
        let mut all: Vec<Vec<u8>> = Vec::new();
        let mut groups = Vec::new();
        for g in 0..9u64 {
            let entries = if g == 7 { big.clone() } else { small(g) };
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            let seq = all.len() as u64;
            groups.push((seq, refs.len() as u64, Arc::new(journal_frame(seq, &refs))));
            all.extend(entries);
        }
        let txn = db.begin_write().expect("write txn");
        {
            let mut table = txn.open_table(BATCHES).expect("table");
            put_groups(&mut table, &groups).expect("put");
        }
        txn.commit().expect("commit");
        let txn = db.begin_read().expect("read txn");
        let table = txn.open_table(BATCHES).expect("table");
        let keys: Vec<u64> = table
            .iter()
            .expect("iter")
            .map(|r| r.expect("row").0.value())
            .collect();
        // Rows: groups 0-5, group 6, group 7 (300 KiB: over the limit, one row of its own as
        // the writer framed it), group 8.
        assert_eq!(keys, vec![0, 240, 280, 283]);
        for (_, v) in table.iter().expect("iter").map(|r| r.expect("row")) {
            assert!(v.value().len() <= CHECKPOINT_ROW_BYTES || v.value().len() > 300 << 10);
        }
        drop(table);
        for from in [0usize, 1, 239, 240, 279, 280, 282, 283, 322] {
            let got = RedbLog::read_redb(&db, from as u64, 50).expect("read");
            assert_eq!(got, expected(&all, from, 50), "from {from}");
        }
    }

    /// A journal frame of `entries` as the writer makes it.
    fn journal_frame(seq: u64, entries: &[&[u8]]) -> Vec<u8> {
        let mut buf = wal::start_frame(0);
        frame_into(&mut buf, entries.iter().copied()).expect("frame");
        wal::seal(&mut buf, seq, entries.len() as u64).expect("seal");
        buf
    }

    /// What a crash leaves: entries 0..5 appended and checkpointed into redb (`while_open`
    /// runs while the log is still open), then three more answered groups only in the journal
    /// (the checkpointer had not run since) and a torn frame after them. Returns the entries
    /// the log holds: 0..8.
    async fn crash_leftovers(path: &Path, while_open: impl FnOnce(&Path)) -> Vec<(u64, Vec<u8>)> {
        {
            let log = RedbLog::open(path, 8, 100).expect("open");
            for i in 0..5u8 {
                log.try_append(vec![vec![i]]).await.expect("append");
            }
            while_open(path);
            // Closing lets the checkpointer write 0..5 into redb.
        }
        {
            let mut j = Journal::open(path, JOURNAL_FILE_BYTES).expect("journal");
            j.append(&journal_frame(5, &[b"five", b"six"]), 7)
                .expect("frame");
            j.append(&journal_frame(7, &[b"seven"]), 8).expect("frame");
            let torn = journal_frame(8, &[b"eight-never-answered"]);
            j.append(&torn[..torn.len() - 3], 9).expect("torn frame");
        }
        (0..5u8)
            .map(|i| (u64::from(i), vec![i]))
            .chain([
                (5, b"five".to_vec()),
                (6, b"six".to_vec()),
                (7, b"seven".to_vec()),
            ])
            .collect()
    }

    /// `meridian log inspect`'s view: every answered entry, from redb and from the journal
    /// frames a crash left, with nothing in the directory written, created or locked for
    /// writing; refused while a hub has the log open.
    #[tokio::test]
    async fn the_read_only_view_reads_redb_and_the_journal_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        let want = crash_leftovers(&path, |path| {
            // Held open: a reader is refused with a message naming the running hub.
            let res = ReadOnlyLog::open(path);
            assert!(
                matches!(&res, Err(LogError::Storage(m)) if m.contains("running hub")),
                "{:?}",
                res.err()
            );
        })
        .await;
        let snapshot = || {
            let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
                .expect("dir")
                .map(|e| {
                    let e = e.expect("entry");
                    let bytes = std::fs::read(e.path()).expect("read");
                    (e.file_name().to_string_lossy().into_owned(), bytes)
                })
                .collect();
            files.sort();
            files
        };
        let before = snapshot();
        {
            let log = ReadOnlyLog::open(&path).expect("read-only open");
            assert_eq!(log.next_seq(), 8);
            assert_eq!(log.read(0, 100).await.expect("read"), want);
            for (from, max) in [(3u64, 3usize), (5, 1), (6, 10), (8, 5), (0, 0)] {
                let got = log.read(from, max).await.expect("read");
                let w: Vec<_> = want
                    .iter()
                    .filter(|(s, _)| *s >= from)
                    .take(max)
                    .cloned()
                    .collect();
                assert_eq!(got, w, "from {from} max {max}");
            }
            assert_eq!(
                log.try_append(vec![b"x".to_vec()]).await,
                Err(LogError::Closed)
            );
            // Two readers at once are fine.
            let again = ReadOnlyLog::open(&path).expect("second reader");
            assert_eq!(again.next_seq(), 8);
        }
        assert!(
            before == snapshot(),
            "the read-only view changed the directory"
        );
        // Without journal files it reads what redb holds and creates none.
        for p in wal::paths(&path) {
            std::fs::remove_file(p).expect("remove journal");
        }
        let log = ReadOnlyLog::open(&path).expect("open without journal");
        assert_eq!(log.read(0, 100).await.expect("read"), want[..5].to_vec());
        assert!(wal::paths(&path).iter().all(|p| !p.exists()));
    }

    #[tokio::test]
    async fn answered_frames_the_checkpoint_missed_are_recovered_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        let want = crash_leftovers(&path, |_| {}).await;
        let log = RedbLog::open(&path, 8, 100).expect("reopen");
        assert_eq!(
            log.next_seq(),
            8,
            "the answered frames are back, the torn one is not"
        );
        let all = log.read(0, 100).await.expect("read");
        assert_eq!(all, want);
        leaf_hashes_match_records(&log).await;
        // They are in redb now: reopened with the same journal, its frames are skipped rather
        // than written twice; reopened without it, nothing is missing.
        drop(log);
        let log = RedbLog::open(&path, 8, 100).expect("reopen with the same journal");
        assert_eq!(log.read(0, 100).await.expect("read"), want);
        drop(log);
        for p in wal::paths(&path) {
            std::fs::remove_file(p).expect("remove journal");
        }
        let log = RedbLog::open(&path, 8, 100).expect("reopen without journal");
        assert_eq!(log.read(0, 100).await.expect("read"), want);
        let r = log
            .try_append(vec![b"eight".to_vec()])
            .await
            .expect("append");
        assert_eq!(r, 8..9);
    }

    #[tokio::test]
    async fn a_journal_frame_past_the_end_of_the_log_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        drop(RedbLog::open(&path, 8, 100).expect("open"));
        {
            let mut j = Journal::open(&path, JOURNAL_FILE_BYTES).expect("journal");
            j.append(&journal_frame(3, &[b"after a gap"]), 4)
                .expect("frame");
        }
        let why = match RedbLog::open(&path, 8, 100) {
            Err(LogError::Corrupt(why)) => why,
            other => format!("not refused as corrupt: {:?}", other.map(|_| ())),
        };
        assert!(why.contains("entries 3..4"), "{why}");
    }

    /// One damaged byte in a journal frame that is followed by later, whole frames: the
    /// entries after it were durable and answered, so the log must not quietly end before
    /// them (it used to: their sequence numbers were then issued again to other records).
    #[tokio::test]
    async fn a_damaged_frame_before_durable_ones_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        drop(RedbLog::open(&path, 8, 100).expect("open"));
        let frames = [
            journal_frame(0, &[b"zero", b"one"]),
            journal_frame(2, &[b"two"]),
            journal_frame(3, &[b"three"]),
        ];
        {
            let mut j = Journal::open(&path, JOURNAL_FILE_BYTES).expect("journal");
            for (f, end) in frames.iter().zip([2, 3, 4]) {
                j.append(f, end).expect("frame");
            }
        }
        // Undamaged, all four entries are recovered (and the files kept for the next try).
        let copy = dir.path().join("copy");
        std::fs::create_dir(&copy).expect("dir");
        for name in ["log.redb", "log.redb.wal0", "log.redb.wal1"] {
            std::fs::copy(dir.path().join(name), copy.join(name)).expect("copy");
        }
        {
            let log = RedbLog::open(&copy.join("log.redb"), 8, 100).expect("open");
            assert_eq!(log.next_seq(), 4);
        }
        // A byte of the second frame's payload flipped.
        let wal0 = dir.path().join("log.redb.wal0");
        let mut bytes = std::fs::read(&wal0).expect("read");
        let at = frames[0].len() + wal::HEADER + 1;
        bytes[at] ^= 0x40;
        std::fs::write(&wal0, &bytes).expect("write");
        let why = match RedbLog::open(&path, 8, 100) {
            Err(LogError::Corrupt(why)) => why,
            other => format!("not refused as corrupt: {:?}", other.map(|_| ())),
        };
        let at_frame = frames[0].len();
        assert!(
            why.contains("entries 3..4") && why.contains(&format!("byte {at_frame}")),
            "{why}"
        );
        // The read-only view (`meridian log inspect`) refuses it too.
        assert!(ReadOnlyLog::open(&path).is_err());
    }

    #[tokio::test]
    async fn small_journals_switch_files_and_lose_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        let entry = |i: u32| {
            let mut e = i.to_be_bytes().to_vec();
            e.resize(100 + (i as usize % 50), b'a' + (i % 26) as u8);
            e
        };
        let mut all = Vec::new();
        {
            // 4 KiB journal files: a file holds ~30 of these entries, so the writer switches
            // files many times and waits for the checkpointer each time.
            let log = RedbLog::open_with(&path, 64, 8, 4096).expect("open");
            let mut i = 0u32;
            for round in 0..20 {
                let mut futs = Vec::new();
                for _ in 0..16 {
                    all.push(entry(i));
                    futs.push(log.try_append(vec![entry(i)]));
                    i += 1;
                }
                for r in futures::future::join_all(futs).await {
                    r.expect("append");
                }
                if round == 10 {
                    // One batch larger than a journal file goes straight into redb.
                    let big: Vec<Vec<u8>> = (0..60).map(|k| entry(i + k)).collect();
                    all.extend(big.iter().cloned());
                    let r = log.try_append(big).await.expect("big append");
                    assert_eq!(r, u64::from(i)..u64::from(i) + 60);
                    i += 60;
                }
            }
            assert_eq!(log.next_seq(), all.len() as u64);
            let checkpoints = log.stats().checkpoints.load(Ordering::Relaxed);
            assert!(checkpoints >= 3, "{checkpoints} checkpoints");
            let back = log.read(0, 10_000).await.expect("read");
            assert_eq!(back, expected(&all, 0, 10_000));
            leaf_hashes_match_records(&log).await;
        }
        let log = RedbLog::open_with(&path, 64, 8, 4096).expect("reopen");
        assert_eq!(
            log.read(0, 10_000).await.expect("read"),
            expected(&all, 0, 10_000)
        );
        assert_eq!(
            log.read(137, 5).await.expect("read"),
            expected(&all, 137, 5)
        );
    }

    /// Resident bytes of `path` in the page cache, by util-linux's `fincore`.
    fn resident_bytes(path: &Path) -> u64 {
        let out = std::process::Command::new("fincore")
            .args(["--bytes", "--noheadings", "--output", "RES"])
            .arg(path)
            .output();
        assert!(
            out.as_ref().is_ok_and(|o| o.status.success()),
            "fincore (util-linux) is needed: {out:?}"
        );
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
        text.unwrap_or_default()
            .trim()
            .parse()
            .expect("fincore prints a number")
    }

    #[tokio::test]
    async fn checkpointed_pages_leave_the_page_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.redb");
        {
            let log = RedbLog::open(&path, 1024, 8192).expect("open");
            for batch in 0..64u32 {
                let entries = (0..32u32)
                    .map(|i| vec![(batch * 32 + i) as u8; 4096])
                    .collect();
                log.try_append(entries).await.expect("append");
            }
            // Dropping the log waits for the checkpointer to write everything into redb.
        }
        let size = std::fs::metadata(&path).expect("metadata").len();
        let resident = resident_bytes(&path);
        assert!(
            size >= 8 << 20,
            "the file holds the 8 MiB appended ({size} bytes)"
        );
        assert!(
            resident < size / 4,
            "{resident} of {size} bytes still in the page cache after the checkpoints"
        );
        let log = RedbLog::open(&path, 1024, 8192).expect("reopen");
        let back = log.read(2047, 1).await.expect("read");
        assert_eq!(back, vec![(2047, vec![255u8; 4096])]);
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
