//! Per chain family: verifying one piece of evidence (header finality, native inclusion proof
//! and event decoding) with the family's adapter, beside the bare signature checks that
//! evidence needs, measured in the same run. Evidence comes from each family's mock chain (its
//! genuine case in the conformance kit).
//!
//! Run: `cargo bench --bench adapters`

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use ed25519_dalek::{Signer as _, Verifier as _};
use k256::ecdsa::{RecoveryId, Signature as KSig, SigningKey as KKey, VerifyingKey as KVer};
use meridian_adapters::chainsql::ChainSqlMock;
use meridian_adapters::conformance::ConformanceChain;
use meridian_adapters::eos::EosMock;
use meridian_adapters::ethereum::EthereumMock;
use meridian_adapters::fabric::FabricMock;
use meridian_adapters::fisco::FiscoMock;
use meridian_adapters::mock::MockConformance;
use meridian_adapters::xuper::XuperMock;
use meridian_proofs::xrpl::XrplHash;
use std::time::Duration;

/// The bare signature scheme a family's evidence relies on, and how many checks it needs.
enum Bare {
    Ed25519(usize),
    Secp256k1Recover(usize),
    P256Verify(usize),
}

fn baseline(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, bare: &Bare) {
    let msg = [7u8; 32];
    match *bare {
        Bare::Ed25519(n) => {
            let k = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
            let (vk, sig) = (k.verifying_key(), k.sign(&msg));
            c.bench_function(format!("baseline: {n} x ed25519 verify"), |b| {
                b.iter(|| {
                    for _ in 0..n {
                        vk.verify_strict(black_box(&msg), &sig).expect("ok");
                    }
                })
            });
        }
        Bare::Secp256k1Recover(n) => {
            let k = KKey::from_slice(&[3; 32]).expect("key");
            let (sig, rec): (KSig, RecoveryId) = k.sign_prehash_recoverable(&msg).expect("sign");
            c.bench_function(format!("baseline: {n} x secp256k1 recover"), |b| {
                b.iter(|| {
                    for _ in 0..n {
                        KVer::recover_from_prehash(black_box(&msg), &sig, rec).expect("ok");
                    }
                })
            });
        }
        Bare::P256Verify(n) => {
            let k = p256::ecdsa::SigningKey::from_slice(&[5; 32]).expect("key");
            let sig: p256::ecdsa::Signature = k.sign(&msg);
            let vk = *k.verifying_key();
            c.bench_function(format!("baseline: {n} x P-256 verify"), |b| {
                b.iter(|| {
                    for _ in 0..n {
                        vk.verify(black_box(&msg), &sig).expect("ok");
                    }
                })
            });
        }
    }
}

fn family(c: &mut Criterion, name: &str, mut chain: Box<dyn ConformanceChain>, bare: Bare) {
    let ev = chain.genuine();
    let mut g = c.benchmark_group(format!("adapter {name}"));
    g.bench_function("verify evidence (fresh light client)", |b| {
        b.iter_batched(
            || chain.adapter().expect("adapter"),
            |mut a| a.verify_event(black_box(&ev)).expect("genuine"),
            BatchSize::SmallInput,
        )
    });
    baseline(&mut g, &bare);
    g.finish();
}

fn adapters(c: &mut Criterion) {
    family(
        c,
        "mock (4 ed25519 validators)",
        Box::new(MockConformance::new("m", 4)),
        Bare::Ed25519(4),
    );
    family(
        c,
        "ethereum clique (4 signers: block + 2 confirmations)",
        Box::new(EthereumMock::new("e", 1337, 4)),
        Bare::Secp256k1Recover(3),
    );
    family(
        c,
        "fisco (4 sealers)",
        Box::new(FiscoMock::new("f")),
        Bare::Secp256k1Recover(4),
    );
    family(
        c,
        "chainsql (UNL of 5)",
        Box::new(ChainSqlMock::new("c", 0, XrplHash::Sha512Half)),
        Bare::Ed25519(5),
    );
    family(
        c,
        "eos (4 producers, legacy merkle)",
        Box::new(EosMock::new("eos", 4, false)),
        Bare::Secp256k1Recover(3),
    );
    family(
        c,
        "fabric (2-of-3 orderers, 2-of-3 endorsers)",
        Box::new(FabricMock::new("ch")),
        Bare::P256Verify(6),
    );
    family(
        c,
        "xuper (4 validators, 3 proposers)",
        Box::new(XuperMock::new("x")),
        Bare::P256Verify(3),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = adapters
}
criterion_main!(benches);
