//! Verification time per proof format at realistic sizes, each beside a baseline measured in the
//! same run: the bare hash calls that verification has to make (same count, same input sizes).
//! The ratio `verify / baseline` is the verifier's overhead.
//!
//! Run: `cargo bench --bench proofs`

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use meridian_proofs::hash::{keccak256, sha512_half, sm3, Hash32};
use meridian_proofs::{eosio, eth, fisco, rfc6962, xrpl, xuper};
use sha2::{Digest as _, Sha256};
use std::time::Duration;

fn rfc6962_2_20(c: &mut Criterion) {
    let n: u64 = 1 << 20;
    // 64-byte leaves, so the leaf hash is one 65-byte SHA-256 call like every node.
    let mut tree = rfc6962::MerkleTree::new();
    for i in 0..n {
        let mut leaf = [0u8; 64];
        leaf[..8].copy_from_slice(&i.to_be_bytes());
        tree.push(&leaf);
    }
    let index = 777_777u64;
    let mut leaf = [0u8; 64];
    leaf[..8].copy_from_slice(&index.to_be_bytes());
    let root = tree.root();
    let proof = tree.inclusion_proof(index, n).expect("proof");
    assert_eq!(proof.len(), 20);
    let mut g = c.benchmark_group("rfc6962 2^20 leaves");
    g.bench_function("verify inclusion (21 hashes)", |b| {
        b.iter(|| {
            rfc6962::verify_inclusion(
                &rfc6962::leaf_hash(black_box(&leaf)),
                index,
                n,
                black_box(&proof),
                &root,
            )
            .expect("valid")
        })
    });
    g.bench_function("baseline: 21 x SHA-256(65 bytes)", |b| {
        let input = [7u8; 65];
        b.iter(|| {
            let mut acc = [0u8; 32];
            for _ in 0..21 {
                acc = Sha256::digest(black_box(input)).into();
            }
            acc
        })
    });
    g.finish();
}

/// Evidence of every event of one block, as the hub verifies a busy block's transfers: the
/// plain check of each proof, beside the same proofs through a [`PathMemo`] that starts empty
/// (in leaf order, and in a scrambled order).
fn rfc6962_block_5000(c: &mut Criterion) {
    let n: u64 = 5000;
    let mut tree = rfc6962::MerkleTree::new();
    let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().repeat(9)).collect();
    for l in &leaves {
        tree.push(l);
    }
    let root = tree.root();
    let proofs: Vec<(u64, Hash32, Vec<Hash32>)> = (0..n)
        .map(|i| {
            let p = tree.inclusion_proof(i, n).expect("proof");
            (i, rfc6962::leaf_hash(&leaves[i as usize]), p)
        })
        .collect();
    // 0, k, 2k, … mod n with k coprime to n: every leaf once, neighbours far apart.
    let scrambled: Vec<usize> = (0..n as usize).map(|j| (j * 2039) % n as usize).collect();
    let mut g = c.benchmark_group("rfc6962 every leaf of a 5000-leaf block");
    g.bench_function("baseline: plain verify of each proof", |b| {
        b.iter(|| {
            for (i, leaf, p) in &proofs {
                rfc6962::verify_inclusion(leaf, *i, n, black_box(p), &root).expect("valid");
            }
        })
    });
    for (name, order) in [
        ("memo, leaf order", (0..n as usize).collect::<Vec<_>>()),
        ("memo, scrambled order", scrambled),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut memo = meridian_proofs::audit::PathMemo::new(4, 1 << 15);
                for &k in &order {
                    let (i, leaf, p) = &proofs[k];
                    rfc6962::verify_inclusion_memo(&mut memo, leaf, *i, n, black_box(p), &root)
                        .expect("valid");
                }
            })
        });
    }
    g.finish();
}

fn mpt_100k(c: &mut Criterion) {
    let mut trie = eth::Trie::new();
    for i in 0u32..100_000 {
        let key = keccak256(&[&i.to_be_bytes()]);
        // Account-like values: rlp of ~70 bytes.
        let value = rlp::encode_list::<Vec<u8>, _>(&[
            i.to_be_bytes().to_vec(),
            vec![0xab; 9],
            keccak256(&[b"s", &i.to_be_bytes()]).to_vec(),
            keccak256(&[b"c", &i.to_be_bytes()]).to_vec(),
        ])
        .to_vec();
        trie.insert(&key, &value);
    }
    let root = trie.root();
    let key = keccak256(&[&4242u32.to_be_bytes()]);
    let proof = trie.proof(&key);
    let mut g = c.benchmark_group("eth-mpt 100k keys");
    g.bench_function(
        BenchmarkId::new("verify inclusion", format!("{} nodes", proof.len())),
        |b| b.iter(|| eth::verify_proof(&root, black_box(&key), black_box(&proof)).expect("valid")),
    );
    g.bench_function(
        BenchmarkId::new(
            "baseline: keccak256 of each node",
            format!("{} nodes", proof.len()),
        ),
        |b| {
            b.iter(|| {
                let mut acc = [0u8; 32];
                for n in black_box(&proof) {
                    acc = keccak256(&[n]);
                }
                acc
            })
        },
    );
    g.finish();
}

fn fisco_v2(c: &mut Criterion) {
    let hashes: Vec<Hash32> = (0u32..4096)
        .map(|i| keccak256(&[&i.to_be_bytes()]))
        .collect();
    let mut g = c.benchmark_group("fisco-v2 16-ary, 4096 txs");
    for alg in [fisco::FiscoHash::Keccak256, fisco::FiscoHash::Sm3] {
        let tree = fisco::V2Tree::new(alg, &hashes);
        let root = tree.root();
        let index = 3000usize;
        let proof = tree.proof(index).expect("proof");
        // The same hash calls: each level hashes its members' concatenation, then the final hash.
        let sizes: Vec<usize> = proof
            .iter()
            .enumerate()
            .map(|(l, level)| {
                let own = if l == 0 {
                    fisco::v2_leaf(index as u64, &hashes[index]).len()
                } else {
                    32
                };
                level
                    .left
                    .iter()
                    .chain(&level.right)
                    .map(Vec::len)
                    .sum::<usize>()
                    + own
            })
            .collect();
        let name = format!("{alg:?}");
        g.bench_function(BenchmarkId::new("verify", &name), |b| {
            b.iter(|| {
                fisco::verify_v2(alg, index as u64, &hashes[index], &root, black_box(&proof))
                    .expect("valid")
            })
        });
        g.bench_function(BenchmarkId::new("baseline: same hash calls", &name), |b| {
            let buf = vec![5u8; 16 * 35];
            b.iter(|| {
                let mut acc = [0u8; 32];
                for s in black_box(&sizes) {
                    acc = alg.digest(&[&buf[..*s]]);
                }
                acc
            })
        });
    }
    g.finish();
}

fn shamap_10k(c: &mut Criterion) {
    let mut g = c.benchmark_group("xrpl-shamap 10k items");
    for alg in [xrpl::XrplHash::Sha512Half, xrpl::XrplHash::Sm3] {
        let datas: Vec<Vec<u8>> = (0u32..10_000).map(|i| vec![(i % 251) as u8; 120]).collect();
        let items: Vec<(Hash32, Hash32)> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let k = sha512_half(&[&(i as u32).to_be_bytes()]);
                (k, xrpl::state_leaf_hash(alg, d, &k))
            })
            .collect();
        let map = xrpl::ShaMap::new(alg, &items);
        let root = map.root();
        let (key, _) = items[1234];
        let data = &datas[1234];
        let proof = map.proof(&key).expect("proof");
        let name = format!("{alg:?}, depth {}", proof.len());
        g.bench_function(BenchmarkId::new("verify state leaf", &name), |b| {
            b.iter(|| {
                let leaf = xrpl::state_leaf_hash(alg, black_box(data), &key);
                xrpl::verify_path(alg, &key, &leaf, black_box(&proof), &root).expect("valid")
            })
        });
        g.bench_function(BenchmarkId::new("baseline: same hash calls", &name), |b| {
            let leaf_in = vec![1u8; 4 + data.len() + 32];
            let inner_in = vec![2u8; 4 + 16 * 32];
            b.iter(|| {
                let mut acc = match alg {
                    xrpl::XrplHash::Sha512Half => sha512_half(&[black_box(&leaf_in)]),
                    xrpl::XrplHash::Sm3 => sm3(&[black_box(&leaf_in)]),
                };
                for _ in 0..proof.len() {
                    acc = match alg {
                        xrpl::XrplHash::Sha512Half => sha512_half(&[black_box(&inner_in)]),
                        xrpl::XrplHash::Sm3 => sm3(&[black_box(&inner_in)]),
                    };
                }
                acc
            })
        });
    }
    g.finish();
}

fn small_trees(c: &mut Criterion) {
    let ids: Vec<Hash32> = (0u32..1000)
        .map(|i| meridian_proofs::hash::sha256(&[&i.to_be_bytes()]))
        .collect();
    let mut g = c.benchmark_group("1000-leaf trees");
    let root = eosio::savanna_root(&ids);
    let proof = eosio::savanna_proof(&ids, 613).expect("proof");
    g.bench_function("eosio-savanna verify (10 hashes)", |b| {
        b.iter(|| {
            eosio::verify_savanna(&ids[613], 613, 1000, black_box(&proof), &root).expect("ok")
        })
    });
    let root = eosio::legacy_root(&ids);
    let proof = eosio::legacy_proof(&ids, 613).expect("proof");
    g.bench_function("eosio-legacy verify (10 hashes)", |b| {
        b.iter(|| eosio::verify_legacy(&ids[613], black_box(&proof), &root).expect("ok"))
    });
    let tree = xuper::Tree::new(&ids);
    let root = tree.root().expect("root");
    let proof = tree.proof(613).expect("proof");
    g.bench_function("xuper verify (10 double hashes)", |b| {
        b.iter(|| xuper::verify(&ids[613], 613, 1000, black_box(&proof), &root).expect("ok"))
    });
    g.bench_function("baseline: 10 x SHA-256(64 bytes)", |b| {
        let input = [3u8; 64];
        b.iter(|| {
            let mut acc = [0u8; 32];
            for _ in 0..10 {
                acc = Sha256::digest(black_box(input)).into();
            }
            acc
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = rfc6962_2_20, rfc6962_block_5000, mpt_100k, fisco_v2, shamap_10k, small_trees
}
criterion_main!(benches);
