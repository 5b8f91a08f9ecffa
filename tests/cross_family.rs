//! Cross-family transfers end to end through the hub, in process: each source chain's native
//! evidence (FISCO BCOS receipt proofs under sealer signatures, ChainSQL SHAMap proofs under UNL
//! validations, Ethereum receipt-trie proofs under clique seals) verified by its adapter,
//! committed, finalized by the city relays and delivered on another family's chain.

#![allow(clippy::panic)]

use meridian::actors::router::SubmitError;
use meridian::config::{ChainConfig, Config};
use meridian::hub::{ChainSpec, Hub, HubOptions};
use meridian::message::{ChainId, MessageState};
use meridian_adapters::chainsql::ChainSqlMock;
use meridian_adapters::demo::DemoChain;
use meridian_adapters::eos::EosChain;
use meridian_adapters::ethereum::EthereumMock;
use meridian_adapters::fabric::FabricChain;
use meridian_adapters::fisco::FiscoChain;
use meridian_adapters::mock::MockChain;
use meridian_adapters::xuper::XuperChain;
use meridian_proofs::xrpl::XrplHash;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

fn cfg(id: &str, family: &str, city: &str) -> ChainConfig {
    ChainConfig {
        id: id.into(),
        family: family.into(),
        home_city: city.into(),
        validators: 4,
        block_interval_ms: 100,
        ..ChainConfig::default()
    }
}

/// The shipped configuration with blocks every 50 ms.
fn config() -> Config {
    let mut c =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).expect("config");
    c.hub.refchain.seal_interval_ms = 50;
    c
}

/// A hub on `dir` over these chains, each (chain, family, home city).
async fn start(dir: &Path, chains: &[(Arc<dyn DemoChain>, &str, &str)]) -> Hub {
    let specs = chains
        .iter()
        .map(|(c, fam, city)| ChainSpec::demo(cfg(&c.chain_id(), fam, city), c.clone()))
        .collect();
    Hub::start(&config(), dir, specs, HubOptions::default())
        .await
        .expect("hub")
}

#[actix_rt::test]
async fn transfers_between_families_are_delivered() {
    let eth: Arc<dyn DemoChain> = Arc::new(EthereumMock::new("eth-main", 1337, 4));
    let fisco: Arc<dyn DemoChain> =
        Arc::new(FiscoChain::new("fisco-group1", 1, 1, b"fisco-demo", 4));
    let csql: Arc<dyn DemoChain> =
        Arc::new(ChainSqlMock::new("chainsql-main", 8, XrplHash::Sha512Half));
    let mock: Arc<dyn DemoChain> = Arc::new(MockChain::new("mock-x", 4));
    let fabric: Arc<dyn DemoChain> =
        Arc::new(FabricChain::new("fabric-channel", b"orderers", b"peers"));
    let xuper: Arc<dyn DemoChain> = Arc::new(XuperChain::new("xuper", b"demo", 4));
    let eos: Arc<dyn DemoChain> = Arc::new(EosChain::new(
        "eos-main", "eos-main", "prod", b"demo", 4, false,
    ));
    let chains = [
        (eth.clone(), "ethereum", "california"),
        (fisco.clone(), "fisco", "shenzhen"),
        (csql.clone(), "chainsql", "shanghai"),
        (mock.clone(), "mock", "chengdu"),
        (eos.clone(), "eos", "hangzhou"),
        (xuper.clone(), "xuper", "beijing"),
        (fabric.clone(), "fabric", "wuhan"),
    ];
    for (c, _, _) in &chains {
        assert!(!c.chain_id().is_empty());
    }
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start(dir.path(), &chains).await;
    // FISCO BCOS → Ethereum, ChainSQL → Ethereum, Ethereum → FISCO BCOS, mock → ChainSQL,
    // EOS → FISCO BCOS, ChainSQL → EOS, ChainSQL → XuperChain, XuperChain → Ethereum,
    // Fabric → EOS, Ethereum → Fabric.
    type Chain = Arc<dyn DemoChain>;
    let routes: [(&Chain, &Chain); 10] = [
        (&fisco, &eth),
        (&csql, &eth),
        (&eth, &fisco),
        (&mock, &csql),
        (&eos, &fisco),
        (&csql, &eos),
        (&csql, &xuper),
        (&xuper, &eth),
        (&fabric, &eos),
        (&eth, &fabric),
    ];
    let mut sent = Vec::new();
    for (i, (from, to)) in routes.iter().enumerate() {
        // Names every family can hold (EOS account names take a-z, 1-5 and dots).
        let tag = char::from(b'a' + i as u8);
        let ev = from
            .lock(
                &to.chain_id(),
                &format!("alice{tag}"),
                &format!("bob{tag}"),
                "CNY",
                1_000 + i as u128,
            )
            .expect("lock");
        let out = hub
            .submit(&ChainId(from.chain_id()), ev, None)
            .await
            .unwrap_or_else(|e| panic!("{} → {}: {e}", from.chain_id(), to.chain_id()));
        sent.push((out.id, (*to).clone(), from.chain_id()));
    }
    for _ in 0..400 {
        let s = hub.state().await.expect("state");
        if sent.iter().all(|(id, _, _)| {
            s.message(id)
                .is_some_and(|m| m.state == MessageState::Delivered)
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let s = hub.state().await.expect("state");
    for (id, to, from) in &sent {
        let m = s.message(id).unwrap_or_else(|| panic!("{id} lost"));
        assert_eq!(
            m.state,
            MessageState::Delivered,
            "{from} → {}",
            to.chain_id()
        );
        assert!(
            to.was_applied(&id.0),
            "{from} → {}: applied on the destination",
            to.chain_id()
        );
        hub.finality_proof(*id)
            .await
            .expect("proof")
            .verify()
            .expect("final");
    }
    hub.stop();
}

/// A transfer its destination could never apply (a recipient that is no EOS account name, an
/// amount beyond ChainSQL's range) is refused when submitted, and nothing is committed: it
/// used to be accepted (202), then retried silently until its deadline and refunded.
#[actix_rt::test]
async fn transfers_their_destination_cannot_apply_are_refused() {
    let mock: Arc<dyn DemoChain> = Arc::new(MockChain::new("mock-x", 4));
    let csql: Arc<dyn DemoChain> =
        Arc::new(ChainSqlMock::new("chainsql-main", 8, XrplHash::Sha512Half));
    let eos: Arc<dyn DemoChain> = Arc::new(EosChain::new(
        "eos-main", "eos-main", "prod", b"demo", 4, false,
    ));
    let dir = tempfile::tempdir().expect("tmp");
    let hub = start(
        dir.path(),
        &[
            (mock.clone(), "mock", "chengdu"),
            (csql, "chainsql", "shanghai"),
            (eos, "eos", "hangzhou"),
        ],
    )
    .await;
    let before = hub.stats().await.expect("stats");
    for (to, recipient, amount, needle) in [
        ("eos-main", "r7", 5u128, "invalid character"),
        ("eos-main", "Bob", 5, "invalid character"),
        ("chainsql-main", "bob", u128::from(u64::MAX) + 1, "amount"),
    ] {
        let ev = mock
            .lock(to, "alice", recipient, "CNY", amount)
            .expect("lock");
        let e = hub
            .submit(&ChainId("mock-x".into()), ev, None)
            .await
            .expect_err(recipient);
        assert!(
            matches!(&e, meridian::actors::router::SubmitError::Undeliverable { destination, .. } if destination == to),
            "{to} {recipient}: {e:?}"
        );
        assert!(e.to_string().contains(needle), "{e}");
    }
    // What the destination can apply still goes through, and nothing refused was committed.
    let ev = mock
        .lock("eos-main", "alice", "bob", "CNY", 5)
        .expect("lock");
    hub.submit(&ChainId("mock-x".into()), ev, None)
        .await
        .expect("a valid EOS name");
    let after = hub.stats().await.expect("stats");
    let total =
        |s: &meridian::actors::router::Stats| s.by_state.iter().map(|(_, n)| n).sum::<usize>();
    assert_eq!(total(&after), total(&before) + 1);
    hub.stop();
}

/// A source chain that forgot its blocks (an in-memory demo chain after a restart) issues
/// the same positions again: another event at a position the log already holds is refused,
/// not answered as the message already there (which told a new lock's submitter that an
/// earlier, different transfer was theirs).
#[test]
fn another_event_at_a_known_position_is_not_the_known_message() {
    let dir = tempfile::tempdir().expect("tmp");
    let life = |sender: &'static str, recipient: &'static str, amount: u128| {
        let dir = dir.path().to_path_buf();
        actix_rt::System::new().block_on(async move {
            // A fresh in-memory chain each life: its first lock is at the same position.
            let eth: Arc<dyn DemoChain> = Arc::new(EthereumMock::new("eth-main", 1337, 4));
            let dest: Arc<dyn DemoChain> = Arc::new(MockChain::new("mock-x", 4));
            let hub = start(
                &dir,
                &[
                    (eth.clone(), "ethereum", "california"),
                    (dest, "mock", "chengdu"),
                ],
            )
            .await;
            let ev = eth
                .lock("mock-x", sender, recipient, "CNY", amount)
                .expect("lock");
            let out = hub.submit(&ChainId("eth-main".into()), ev, None).await;
            hub.stop();
            out
        })
    };
    let first = life("alice", "bob", 5).expect("first life");
    assert!(!first.existing);
    let e = life("mallory", "eve", 7).expect_err("another event at the same position");
    assert!(e.to_string().contains("another event"), "{e}");
}

/// EOS evidence with another action count in its locator (bound only as far as it shapes the
/// proof), Xuper evidence with other block heights (a Xuper block id commits to none) and
/// Fabric evidence with an empty envelope put before the transaction (a block's data hash is
/// of its envelopes' concatenation: no boundaries) at the next index verify as well as the
/// original: they are the same event, so the same message, whether
/// they arrive together or after a restart (when the adapters' in-memory replay sets are
/// empty). Each used to be a second message, delivered again: one lock, paid out twice.
#[test]
fn one_event_is_one_message_whatever_else_its_evidence_says() {
    let dir = tempfile::tempdir().expect("tmp");
    let eos: Arc<dyn DemoChain> = Arc::new(EosChain::new(
        "eos-main", "eos-main", "prod", b"demo", 4, false,
    ));
    let xuper: Arc<dyn DemoChain> = Arc::new(XuperChain::new("xuper", b"demo", 4));
    let fabric: Arc<dyn DemoChain> =
        Arc::new(FabricChain::new("fabric-channel", b"orderers", b"peers"));
    let dest_chain = MockChain::new("mock-x", 4);
    let dest: Arc<dyn DemoChain> = Arc::new(dest_chain.clone());
    let chains = [
        (eos.clone(), "eos", "hangzhou"),
        (xuper.clone(), "xuper", "beijing"),
        (fabric.clone(), "fabric", "wuhan"),
        (dest.clone(), "mock", "chengdu"),
    ];
    // An EOS lock whose block's action count has a neighbour of the same tree depth that
    // still holds the action's index; the locator with that count.
    let eos_pair = || {
        for _ in 0..20 {
            let ev = eos
                .lock("mock-x", "alice", "bob", "CNY", 1_000)
                .expect("lock");
            let loc = &ev.locator;
            let word = |i: usize| u32::from_be_bytes(loc[i..i + 4].try_into().expect("u32"));
            let (index, count) = (word(4), word(8));
            let same_depth =
                |c: u32| c > index && c.next_power_of_two() == count.next_power_of_two();
            if let Some(other) = [count + 1, count - 1].into_iter().find(|c| same_depth(*c)) {
                let mut variant = ev.clone();
                variant.locator[8..12].copy_from_slice(&other.to_be_bytes());
                return (ev, variant);
            }
        }
        panic!("no EOS block with a count that has a neighbour of its depth");
    };
    // A Xuper lock and the same evidence with every height 1,000 higher.
    let xuper_pair = || {
        let ev = xuper
            .lock("mock-x", "carol", "dave", "CNY", 2_000)
            .expect("lock");
        let mut header: serde_json::Value = serde_json::from_slice(&ev.header).expect("json");
        for b in header["blocks"].as_array_mut().expect("blocks") {
            b["height"] = (b["height"].as_u64().expect("height") + 1_000).into();
        }
        let mut variant = ev.clone();
        variant.header = serde_json::to_vec(&header).expect("json");
        let height = u64::from_be_bytes(ev.locator[..8].try_into().expect("u64"));
        variant.locator[..8].copy_from_slice(&(height + 1_000).to_be_bytes());
        (ev, variant)
    };
    // A Fabric lock and the same block data with an empty envelope before the transaction:
    // its index one higher, and a validity flag more in the (unsigned) block metadata.
    let fabric_pair = || {
        let ev = fabric
            .lock("mock-x", "erin", "frank", "CNY", 3_000)
            .expect("lock");
        let mut variant = ev.clone();
        let block = protobuf_fields(&ev.header)
            .into_iter()
            .map(|(field, value)| match field {
                3 => {
                    let mut meta = protobuf_fields(&value);
                    meta[2].1.insert(0, 0);
                    (field, protobuf_encode(&meta))
                }
                _ => (field, value),
            })
            .collect::<Vec<_>>();
        variant.header = protobuf_encode(&block);
        variant.proof = [&[0x0a, 0x00][..], &ev.proof].concat();
        let index = u64::from_be_bytes(ev.locator[8..16].try_into().expect("u64"));
        variant.locator[8..16].copy_from_slice(&(index + 1).to_be_bytes());
        (ev, variant)
    };
    let (eos_ev, eos_variant) = eos_pair();
    let (xuper_ev, xuper_variant) = xuper_pair();
    let (fabric_ev, fabric_variant) = fabric_pair();
    let cases = [
        ("eos-main", eos_ev, eos_variant),
        ("xuper", xuper_ev, xuper_variant),
        ("fabric-channel", fabric_ev, fabric_variant),
    ];
    let ids = {
        let (dir, chains, cases) = (dir.path().to_path_buf(), chains.clone(), cases.clone());
        actix_rt::System::new().block_on(async move {
            let hub = start(&dir, &chains).await;
            let mut ids = Vec::new();
            for (source, ev, variant) in cases.clone() {
                let source = ChainId(source.into());
                // Together: at most one message; each answer that is not a refusal names it.
                let (a, b) = futures::join!(
                    hub.submit(&source, ev, None),
                    hub.submit(&source, variant, None)
                );
                let a = a.unwrap_or_else(|e| panic!("{source}: the original refused: {e}"));
                if let Ok(b) = b {
                    assert_eq!(b.id, a.id, "{source}: the variant is another message");
                }
                ids.push(a.id);
            }
            for id in &ids {
                wait_delivered(&hub, *id).await;
            }
            // Relayed: a variant is evidence of a relayed event (the adapters say so only
            // of evidence that passes every other check), answered with its message; a
            // variant with a changed proof byte is refused as what it is.
            for ((source, _, variant), id) in cases.into_iter().zip(&ids) {
                let source = ChainId(source.into());
                let out = hub
                    .submit(&source, variant.clone(), None)
                    .await
                    .unwrap_or_else(|e| panic!("{source}: the variant once relayed: {e}"));
                assert_eq!((out.id, out.existing), (*id, true), "{source}");
                let mut forged = variant;
                let last = forged.proof.len() - 1;
                forged.proof[last] ^= 1;
                let err = hub
                    .submit(&source, forged, None)
                    .await
                    .expect_err("a forged variant");
                assert!(
                    matches!(&err, SubmitError::Rejected(why) if !why.contains("relayed")),
                    "{source}: {err}"
                );
            }
            hub.stop();
            ids
        })
    };
    // After a restart the adapters remember nothing relayed: the variant verifies, and is the
    // message the log holds.
    let (dir2, chains2, ids2) = (dir.path().to_path_buf(), chains.clone(), ids.clone());
    actix_rt::System::new().block_on(async move {
        let hub = start(&dir2, &chains2).await;
        for ((source, _, variant), id) in cases.into_iter().zip(&ids2) {
            let out = hub
                .submit(&ChainId(source.into()), variant, None)
                .await
                .unwrap_or_else(|e| panic!("{source}: the variant after a restart: {e}"));
            assert_eq!(out.id, *id, "{source}: a second message for one event");
            assert!(out.existing, "{source}");
        }
        let s = hub.state().await.expect("state");
        assert_eq!(s.messages().count(), 3, "one message per event");
        hub.stop();
    });
    // Paid out once each.
    let credits = dest_chain.credits();
    assert_eq!(credits.len(), 3, "{credits:?}");
    for id in &ids {
        assert!(
            credits.iter().any(|d| d.message_id == id.0),
            "{}",
            id.to_hex()
        );
    }
}

/// Wait (≤ 20 s) until message `id` is delivered.
async fn wait_delivered(hub: &Hub, id: meridian::message::MessageId) {
    for _ in 0..400 {
        let s = hub.state().await.expect("state");
        if s.message(&id)
            .is_some_and(|m| m.state == MessageState::Delivered)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} not delivered", id.to_hex());
}

/// The length-delimited fields of a protobuf message (every field of the Fabric messages
/// these tests take apart is one), in order.
fn protobuf_fields(mut b: &[u8]) -> Vec<(u64, Vec<u8>)> {
    fn varint(b: &mut &[u8]) -> u64 {
        let mut v = 0;
        for shift in (0..64).step_by(7) {
            let (x, rest) = b.split_first().expect("varint");
            *b = rest;
            v |= u64::from(x & 0x7f) << shift;
            if x & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let key = varint(&mut b);
        assert_eq!(key & 7, 2, "not a length-delimited field");
        let n = usize::try_from(varint(&mut b)).expect("length");
        out.push((key >> 3, b[..n].to_vec()));
        b = &b[n..];
    }
    out
}

/// The inverse of [`protobuf_fields`].
fn protobuf_encode(fields: &[(u64, Vec<u8>)]) -> Vec<u8> {
    fn put(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut out = Vec::new();
    for (field, value) in fields {
        put(field << 3 | 2, &mut out);
        put(value.len() as u64, &mut out);
        out.extend_from_slice(value);
    }
    out
}
