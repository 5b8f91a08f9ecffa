//! Durable appends per second: the redb commit log with group commit, beside a plain
//! `write + fdatasync` per append on the same disk (a file under `target/`) in the same run.
//!
//! Run: `cargo bench --bench log`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meridian::log::{CommitLog, RedbLog};
use std::io::Write;
use std::time::{Duration, Instant};

const ENTRY: usize = 200; // about the size of an `Accepted` record
const IN_FLIGHT: usize = 4096; // appends waiting at once (many DApp requests)

fn bench_dir() -> tempfile::TempDir {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&base);
    tempfile::tempdir_in(base).expect("tempdir on the project's disk")
}

fn group_commit(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = bench_dir();
    let log = std::sync::Arc::new(
        RedbLog::open(&dir.path().join("bench.redb"), 65536, 8192).expect("open"),
    );
    let mut g = c.benchmark_group("commit log durable appends");
    g.throughput(Throughput::Elements(1));
    g.bench_function("redb group commit, 1 entry per append", |b| {
        b.iter_custom(|iters| {
            let log = log.clone();
            rt.block_on(async move {
                let start = Instant::now();
                let mut pending = futures::stream::FuturesUnordered::new();
                let mut sent = 0u64;
                use futures::StreamExt;
                while sent < iters || !pending.is_empty() {
                    while sent < iters && pending.len() < IN_FLIGHT {
                        pending.push(log.try_append(vec![vec![0x5a; ENTRY]]));
                        sent += 1;
                    }
                    if let Some(r) = pending.next().await {
                        r.expect("durable");
                    }
                }
                start.elapsed()
            })
        })
    });
    let stats = log.stats();
    let commits = stats
        .commits
        .load(std::sync::atomic::Ordering::Relaxed)
        .max(1);
    let entries = stats.entries.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "redb group commit: {entries} entries in {commits} fsyncs ({} per fsync)",
        entries / commits
    );

    g.bench_function("baseline: write + fdatasync per append", |b| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("plain.log"))
            .expect("open");
        let buf = [0x5au8; ENTRY];
        b.iter(|| {
            f.write_all(&buf).expect("write");
            f.sync_data().expect("fdatasync");
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(5));
    targets = group_commit
}
criterion_main!(benches);
