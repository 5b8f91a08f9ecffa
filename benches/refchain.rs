//! Sealing a reference-chain block of 10,000 log entries (read them from the commit log, build
//! their RFC 6962 tree, hash the header) and verifying a quorum certificate of 91 of the 135
//! relays' ed25519 signatures; beside the bare costs: SHA-256 of the same leaves and nodes, and
//! 91 `verify_strict` calls.
//!
//! Run: `cargo bench --bench refchain`

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use meridian::log::{CommitLog, RedbLog};
use meridian::refchain::{BlockHeader, QuorumCertificate, RelayInfo, RelayKey, RelaySet};
use meridian_proofs::rfc6962::MerkleTree;
use sha2::{Digest, Sha256};
use std::time::Duration;

fn seal(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&base);
    let dir = tempfile::tempdir_in(base).expect("tempdir");
    let log = RedbLog::open(&dir.path().join("seal.redb"), 64, 10_000).expect("open");
    let entries: Vec<Vec<u8>> = (0u32..10_000)
        .map(|i| {
            let mut e = vec![0x11u8; 200];
            e[..4].copy_from_slice(&i.to_be_bytes());
            e
        })
        .collect();
    rt.block_on(log.try_append(entries.clone()))
        .expect("append");

    let mut g = c.benchmark_group("reference chain");
    g.bench_function(
        "seal block of 10k entries (read log + RFC 6962 root + header)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut tree = MerkleTree::new();
                    let mut next = 0u64;
                    while next < 10_000 {
                        let batch = log.read(next, 4096).await.expect("read");
                        for (_, bytes) in batch {
                            tree.push(&bytes);
                            next += 1;
                        }
                    }
                    let header = BlockHeader {
                        height: 1,
                        prev_hash: [0; 32],
                        log_start: 0,
                        log_end: 10_000,
                        entries_root: tree.root(),
                        log_root: tree.root(),
                        time_ms: 0,
                        relay_set_hash: [1; 32],
                    };
                    header.hash()
                })
            })
        },
    );
    g.bench_function(
        "baseline: SHA-256 of 10k leaves (201 B) + 9,999 nodes (65 B)",
        |b| {
            let leaf = [0x11u8; 201];
            let node = [0x22u8; 65];
            b.iter(|| {
                let mut acc = [0u8; 32];
                for _ in 0..10_000 {
                    acc = Sha256::digest(black_box(leaf)).into();
                }
                for _ in 0..9_999 {
                    acc = Sha256::digest(black_box(node)).into();
                }
                acc
            })
        },
    );

    let keys: Vec<RelayKey> = (0u8..135)
        .map(|i| RelayKey::from_seed(&format!("city-{i}"), [i; 32]))
        .collect();
    let set = RelaySet {
        relays: keys
            .iter()
            .map(|k| RelayInfo {
                id: k.id.clone(),
                public_key: k.public_key(),
            })
            .collect(),
    };
    let header = BlockHeader {
        height: 7,
        prev_hash: [3; 32],
        log_start: 0,
        log_end: 10_000,
        entries_root: [4; 32],
        log_root: [5; 32],
        time_ms: 1,
        relay_set_hash: set.hash(),
    };
    let quorum = set.quorum();
    let qc = QuorumCertificate {
        height: header.height,
        block_hash: header.hash(),
        signatures: keys
            .iter()
            .take(quorum)
            .enumerate()
            .map(|(i, k)| k.vote(i as u16, &header))
            .collect(),
    };
    qc.verify(&set, &header).expect("quorum");
    g.bench_function(
        format!("verify quorum certificate ({quorum} of 135)"),
        |b| b.iter(|| qc.verify(black_box(&set), &header).expect("quorum")),
    );
    let raw: Vec<(ed25519_dalek::VerifyingKey, ed25519_dalek::Signature)> = (0..quorum)
        .map(|i| {
            let sk = SigningKey::from_bytes(&[i as u8; 32]);
            (sk.verifying_key(), sk.sign(b"block hash message........"))
        })
        .collect();
    g.bench_function(format!("baseline: {quorum} x ed25519 verify"), |b| {
        b.iter(|| {
            for (vk, sig) in black_box(&raw) {
                vk.verify(b"block hash message........", sig).expect("ok");
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(4));
    targets = seal
}
criterion_main!(benches);
