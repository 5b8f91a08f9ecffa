//! The commit log's write-ahead journal: two preallocated, zero-filled files beside the redb
//! file, written in turns. A group commit is one frame appended to the current file with one
//! `pwrite` and one `fdatasync`. The files never grow and their blocks were written when they
//! were created, so the fsync writes only the frame's pages: no block allocation, no inode or
//! bitmap writes. (A redb commit writes ~12 separate regions — B-tree pages, allocator state,
//! header — plus the filesystem's metadata for newly allocated pages: 3 ms and ~1 ms of CPU per
//! commit on this machine's virtual disk, against ~0.3 ms and ~70 µs for one contiguous write.)
//!
//! Frame: `magic "MWAL" ‖ first seq u64 LE ‖ entry count u32 LE ‖ payload length u32 LE ‖
//! CRC-32 u32 LE of (seq ‖ count ‖ length ‖ payload) ‖ payload`; the payload is the entries
//! framed exactly as a redb row (`u32 LE length ‖ bytes` each).
//!
//! Reading a file back: frames from offset 0 while each is whole, checks out and continues the
//! sequence numbers of the one before. A file is reused only once everything in it is in redb,
//! and always with higher sequence numbers than before, so what follows the last frame written
//! (an older frame, the middle of one, zeros or a torn write) ends the scan.

use super::LogError;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Frame magic.
const MAGIC: [u8; 4] = *b"MWAL";
/// Frame header bytes.
pub const HEADER: usize = 24;

/// A frame's header fields and where its payload lies in the buffer it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRef {
    /// Sequence number of its first entry.
    pub seq: u64,
    /// Number of entries.
    pub count: u64,
    /// Byte range of the payload.
    pub payload: std::ops::Range<usize>,
}

/// A buffer with room for a frame header, to which the payload is appended; [`seal`] fills in
/// the header.
pub fn start_frame(payload_hint: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(HEADER + payload_hint);
    buf.resize(HEADER, 0);
    buf
}

fn crc_of(seq: u64, count: u32, len: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(&count.to_le_bytes());
    h.update(&len.to_le_bytes());
    h.update(payload);
    h.finalize()
}

/// Fill in the header of a buffer made by [`start_frame`] (payload appended after it).
pub fn seal(buf: &mut [u8], seq: u64, count: u64) -> Result<(), LogError> {
    let too_big = |what: &str| LogError::Storage(format!("journal frame: {what} does not fit u32"));
    let count = u32::try_from(count).map_err(|_| too_big("entry count"))?;
    let len = u32::try_from(buf.len() - HEADER).map_err(|_| too_big("payload length"))?;
    let crc = crc_of(seq, count, len, &buf[HEADER..]);
    buf[0..4].copy_from_slice(&MAGIC);
    buf[4..12].copy_from_slice(&seq.to_le_bytes());
    buf[12..16].copy_from_slice(&count.to_le_bytes());
    buf[16..20].copy_from_slice(&len.to_le_bytes());
    buf[20..24].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// The frame at `off` of `bytes`, if a whole one that checks out starts there.
fn frame_at(bytes: &[u8], off: usize) -> Option<FrameRef> {
    let h = bytes.get(off..off.checked_add(HEADER)?)?;
    if h[0..4] != MAGIC {
        return None;
    }
    let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or([0; 8]));
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().unwrap_or([0; 4]));
    let (seq, count, len, crc) = (u64_at(4), u32_at(12), u32_at(16), u32_at(20));
    let start = off + HEADER;
    let end = usize::try_from(len)
        .ok()
        .and_then(|l| start.checked_add(l))?;
    let payload = bytes.get(start..end)?;
    (crc_of(seq, count, len, payload) == crc).then_some(FrameRef {
        seq,
        count: u64::from(count),
        payload: start..end,
    })
}

/// The frames of one journal file's contents, from the start, as far as they are whole, check
/// out and continue each other's sequence numbers.
pub fn scan(bytes: &[u8]) -> Vec<FrameRef> {
    let mut out: Vec<FrameRef> = Vec::new();
    let mut off = 0usize;
    while let Some(f) = frame_at(bytes, off) {
        if out
            .last()
            .is_some_and(|prev| prev.seq + prev.count != f.seq)
        {
            break;
        }
        off = f.payload.end;
        out.push(f);
    }
    out
}

/// Whole frames that check out anywhere in `bytes` from offset `from` on (found by their
/// magic): after the end of [`scan`] these are older frames of an earlier use of the file —
/// or, when they hold entries beyond the log's end, frames written after one that was damaged
/// since (a frame is written only once the one before it is durable, so a torn write can only
/// be the last).
pub fn frames_after(bytes: &[u8], from: usize) -> Vec<FrameRef> {
    let Some(rest) = bytes.get(from..) else {
        return Vec::new();
    };
    memchr::memmem::find_iter(rest, &MAGIC)
        .filter_map(|i| frame_at(bytes, from + i))
        .collect()
}

fn io_err(path: &Path, e: std::io::Error) -> LogError {
    LogError::Storage(format!("{}: {e}", path.display()))
}

/// The two journal files of the log at `base` (`<base>.wal0`, `<base>.wal1`).
pub fn paths(base: &Path) -> [PathBuf; 2] {
    let name = |i: u8| {
        let mut s = base.as_os_str().to_owned();
        s.push(format!(".wal{i}"));
        PathBuf::from(s)
    };
    [name(0), name(1)]
}

/// Open the journal file at `path`, creating it zero-filled to `size` bytes (through a
/// temporary file, renamed once written and synced) if it is missing or of another size.
pub fn open_file(path: &Path, size: u64) -> Result<File, LogError> {
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.len() == size {
            return OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| io_err(path, e));
        }
    }
    // Missing, or of another size: its frames (if any) were already read back by the caller.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
        let zeros = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
            f.write_all(&zeros[..n]).map_err(|e| io_err(&tmp, e))?;
            left -= n as u64;
        }
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))?;
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_err(path, e))
}

/// The contents of the journal file at `path` (empty if it does not exist).
pub fn read_file(path: &Path) -> Result<Vec<u8>, LogError> {
    match std::fs::read(path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err(path, e)),
    }
}

/// The two files being written in turns.
pub struct Journal {
    files: [File; 2],
    paths: [PathBuf; 2],
    /// Bytes per file.
    pub size: u64,
    /// File being written.
    pub current: usize,
    /// Where the next frame goes in it.
    pub offset: u64,
    /// Per file: the sequence number after its last frame written since start-up (0: none);
    /// the file may be reused once redb holds everything before that.
    pub ends: [u64; 2],
}

impl Journal {
    /// Open (creating as needed) the two files of the log at `base`, each `size` bytes; the
    /// first frame goes to the start of file 0.
    pub fn open(base: &Path, size: u64) -> Result<Journal, LogError> {
        let paths = paths(base);
        let files = [open_file(&paths[0], size)?, open_file(&paths[1], size)?];
        Ok(Journal {
            files,
            paths,
            size,
            current: 0,
            offset: 0,
            ends: [0, 0],
        })
    }

    /// Whether a frame of `len` bytes fits the rest of the current file.
    pub fn fits(&self, len: usize) -> bool {
        self.offset.saturating_add(len as u64) <= self.size
    }

    /// Go on at the start of the other file.
    pub fn switch(&mut self) {
        self.current = 1 - self.current;
        self.offset = 0;
    }

    /// Write a sealed frame (ending at sequence number `end`) at the current offset and make it
    /// durable.
    pub fn append(&mut self, frame: &[u8], end: u64) -> Result<(), LogError> {
        let (file, path) = (&self.files[self.current], &self.paths[self.current]);
        file.write_all_at(frame, self.offset)
            .map_err(|e| io_err(path, e))?;
        file.sync_data().map_err(|e| io_err(path, e))?;
        self.offset += frame.len() as u64;
        self.ends[self.current] = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64, entries: &[&[u8]]) -> Vec<u8> {
        let mut buf = start_frame(64);
        for e in entries {
            buf.extend_from_slice(&(e.len() as u32).to_le_bytes());
            buf.extend_from_slice(e);
        }
        seal(&mut buf, seq, entries.len() as u64).expect("seal");
        buf
    }

    #[test]
    fn a_scan_stops_at_a_torn_a_changed_or_an_older_frame() {
        let (a, b, c) = (
            frame(10, &[b"one", b"two"]),
            frame(12, &[b"three"]),
            frame(13, &[b"four", b"five", b"six"]),
        );
        let whole = [a.clone(), b.clone(), c.clone()].concat();
        let seqs = |v: Vec<FrameRef>| v.iter().map(|f| (f.seq, f.count)).collect::<Vec<_>>();
        assert_eq!(seqs(scan(&whole)), vec![(10, 2), (12, 1), (13, 3)]);
        // Zeros after the frames, as in a fresh file.
        assert_eq!(scan(&[whole.clone(), vec![0; 100]].concat()).len(), 3);
        // The last frame cut anywhere: the first two remain.
        for cut in 1..c.len() {
            let torn = &whole[..a.len() + b.len() + cut];
            assert_eq!(seqs(scan(torn)), vec![(10, 2), (12, 1)], "cut {cut}");
        }
        // Any changed byte of the middle frame ends the scan before it.
        for i in 0..b.len() {
            let mut bad = whole.clone();
            bad[a.len() + i] ^= 0x20;
            assert_eq!(seqs(scan(&bad)), vec![(10, 2)], "byte {i}");
        }
        // A reused file: new frames, then an older one left from before (lower seq).
        let old = frame(3, &[b"old"]);
        let reused = [a.clone(), b.clone(), old].concat();
        assert_eq!(seqs(scan(&reused)), vec![(10, 2), (12, 1)]);
        // The payload ranges point at the entries.
        let f = &scan(&whole)[1];
        assert_eq!(
            &whole[f.payload.clone()],
            &[5, 0, 0, 0, b't', b'h', b'r', b'e', b'e']
        );
    }

    #[test]
    fn files_are_created_zero_filled_and_reopened_as_they_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("log.redb");
        let mut j = Journal::open(&base, 4096).expect("open");
        let f = frame(0, &[b"x"]);
        assert!(j.fits(4096) && !j.fits(4097));
        j.append(&f, 1).expect("append");
        assert_eq!((j.offset, j.ends), (f.len() as u64, [1, 0]));
        drop(j);
        let [p0, p1] = paths(&base);
        let bytes = read_file(&p0).expect("read");
        assert_eq!(bytes.len(), 4096);
        assert_eq!(scan(&bytes).len(), 1);
        assert!(read_file(&p1).expect("read").iter().all(|&b| b == 0));
        // Reopened at the same size: contents kept; at another size: recreated.
        Journal::open(&base, 4096).expect("reopen");
        assert_eq!(scan(&read_file(&p0).expect("read")).len(), 1);
        Journal::open(&base, 8192).expect("resize");
        let bytes = read_file(&p0).expect("read");
        assert_eq!((bytes.len(), scan(&bytes).len()), (8192, 0));
    }
}
