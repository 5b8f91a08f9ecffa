//! Recovery: stop the whole actor system in the middle of a stream of transfers, reopen the
//! same data directory, and check that every acknowledged transfer is there and is delivered
//! exactly once (counted on the mock destination chain, which survives the stop).

#![allow(clippy::panic)]

use meridian::config::{ChainConfig, Config};
use meridian::hub::{ChainSpec, Hub, HubOptions};
use meridian::message::{ChainId, MessageId, MessageState};
use meridian_adapters::mock::{Misbehaviour, MockChain};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn config() -> Config {
    let mut c =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).expect("config");
    c.hub.refchain.seal_interval_ms = 20;
    c.hub.refchain.seal_max_entries = 64;
    c
}

fn specs(a: &MockChain, b: &MockChain) -> Vec<ChainSpec> {
    let cfg = |id: &str, city: &str| ChainConfig {
        id: id.into(),
        family: "mock".into(),
        home_city: city.into(),
        validators: 4,
        block_interval_ms: 100,
        ..ChainConfig::default()
    };
    vec![
        ChainSpec::mock(cfg("chain-a", "chengdu"), a.clone()),
        ChainSpec::mock(cfg("chain-b", "paris"), b.clone()),
    ]
}

#[test]
fn acknowledged_transfers_survive_a_stop_and_are_delivered_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = MockChain::new("chain-a", 4);
    let b = MockChain::new("chain-b", 4);
    let mut evidence = Vec::new();
    for block in 0..8 {
        for i in 0..50 {
            a.lock(
                "chain-b",
                &format!("s{block}-{i}"),
                &format!("r{block}-{i}"),
                "CNY",
                100 + i as u128,
            );
        }
        let (_, locs) = a.produce_block(block);
        evidence.extend(locs.iter().map(|l| a.evidence(l).expect("evidence")));
    }
    let acked: Arc<Mutex<Vec<MessageId>>> = Arc::default();
    // Messages the first life had recorded Delivered at the stop, with their delivery attempts.
    let delivered_before: Arc<Mutex<Vec<(MessageId, u64)>>> = Arc::default();

    // First life: a stream of concurrent submissions. Deliveries flow at first; then chain-b
    // refuses them, so finalized messages pile up undelivered; the system is stopped once 150
    // submissions are acknowledged and some finalized messages await delivery.
    {
        let (dir, a, b, acked, evidence, delivered_before) = (
            dir.path().to_path_buf(),
            a.clone(),
            b.clone(),
            acked.clone(),
            evidence.clone(),
            delivered_before.clone(),
        );
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let hub = Arc::new(
                    Hub::start(&config(), &dir, specs(&a, &b), HubOptions::default())
                        .await
                        .expect("hub"),
                );
                let src = ChainId::from("chain-a");
                let count = |s: &meridian::state::HubState, st: MessageState| {
                    s.messages().filter(|m| m.state == st).count()
                };
                // A paced stream (one submission every 3 ms, each its own task, many in
                // flight): it is still running when the system is stopped.
                {
                    let (hub, acked, src) = (hub.clone(), acked.clone(), src.clone());
                    actix_rt::spawn(async move {
                        for ev in evidence {
                            let (hub, acked, src) = (hub.clone(), acked.clone(), src.clone());
                            actix_rt::spawn(async move {
                                if let Ok(o) = hub.submit(&src, ev, None).await {
                                    acked.lock().expect("lock").push(o.id);
                                }
                            });
                            tokio::time::sleep(Duration::from_millis(3)).await;
                        }
                    });
                }
                for _ in 0..2000 {
                    let s = hub.state().await.expect("state");
                    if count(&s, MessageState::Delivered) >= 20 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                b.set_misbehaviour(Misbehaviour {
                    refuse_deliveries: true,
                    ..Misbehaviour::default()
                });
                for _ in 0..2000 {
                    let s = hub.state().await.expect("state");
                    if acked.lock().expect("lock").len() >= 150
                        && count(&s, MessageState::Finalized) >= 10
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let s = hub.state().await.expect("state");
                assert!(
                    count(&s, MessageState::Finalized) >= 10,
                    "finalized-but-undelivered messages at the stop: the restart must re-dispatch them"
                );
                *delivered_before.lock().expect("lock") = s
                    .messages()
                    .filter(|m| m.state == MessageState::Delivered)
                    .map(|m| (m.msg.id, b.delivery_attempts(&m.msg.id.0)))
                    .collect();
                actix_rt::System::current().stop();
            })
        })
        .join()
        .expect("first life");
    }
    b.set_misbehaviour(Misbehaviour::default());
    let acked: Vec<MessageId> = acked.lock().expect("lock").clone();
    let delivered_before = delivered_before.lock().expect("lock").clone();
    assert!(
        acked.len() >= 150 && acked.len() < 400,
        "stopped mid-stream: {} acked",
        acked.len()
    );
    assert!(
        delivered_before.len() >= 20,
        "some delivered before the stop"
    );

    // Second life on the same directory: everything acknowledged is there and gets delivered.
    actix_rt::System::new().block_on(async move {
        // RedbLog::open waits for the first life's log file to close.
        let hub = Hub::start(&config(), dir.path(), specs(&a, &b), HubOptions::default())
            .await
            .expect("reopened");
        for _ in 0..600 {
            let s = hub.state().await.expect("state");
            if acked.iter().all(|id| {
                s.message(id)
                    .is_some_and(|m| m.state == MessageState::Delivered)
            }) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let s = hub.state().await.expect("state");
        for id in &acked {
            let m = s
                .message(id)
                .unwrap_or_else(|| panic!("acknowledged {id} lost"));
            assert_eq!(m.state, MessageState::Delivered, "{id}");
        }
        let mut per_id: HashMap<[u8; 32], usize> = HashMap::new();
        for c in b.credits() {
            *per_id.entry(c.message_id).or_default() += 1;
        }
        for id in &acked {
            assert_eq!(per_id.get(&id.0), Some(&1), "{id} delivered once");
        }
        assert!(per_id.values().all(|n| *n == 1));
        // What the log already said Delivered is never sent to the chain again.
        for (id, attempts) in &delivered_before {
            assert_eq!(
                b.delivery_attempts(&id.0),
                *attempts,
                "{id} was delivered before the stop and re-sent after it"
            );
        }
        hub.stop();
    });
}

/// A chain's light client advances only through the log: after a restart on the same data
/// directory the chain actor resumes at the last recorded header (the next one is accepted, an
/// old one is a fork).
#[test]
fn light_client_state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = MockChain::new("chain-a", 4);
    let b = MockChain::new("chain-b", 4);
    let mut headers = Vec::new();
    for block in 0..3 {
        a.lock("chain-b", "s", "r", "CNY", 1);
        let (_, locs) = a.produce_block(block);
        headers.push(a.evidence(&locs[0]).expect("evidence").header);
    }
    let src = ChainId::from("chain-a");
    {
        let (dir, a, b, headers, src) = (
            dir.path().to_path_buf(),
            a.clone(),
            b.clone(),
            headers.clone(),
            src.clone(),
        );
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let hub = Hub::start(&config(), &dir, specs(&a, &b), HubOptions::default())
                    .await
                    .expect("hub");
                for h in &headers[..2] {
                    hub.advance_header(&src, h.clone()).await.expect("extends");
                }
                actix_rt::System::current().stop();
            })
        })
        .join()
        .expect("first life");
    }
    actix_rt::System::new().block_on(async move {
        // RedbLog::open waits for the first life's log file to close.
        let hub = Hub::start(&config(), dir.path(), specs(&a, &b), HubOptions::default())
            .await
            .expect("reopened");
        assert!(
            hub.advance_header(&src, headers[1].clone()).await.is_err(),
            "block 2 again is not an extension of the restored head"
        );
        let info = hub
            .advance_header(&src, headers[2].clone())
            .await
            .expect("block 3 extends the restored head");
        assert_eq!(info.height, 3);
        hub.stop();
    });
}
