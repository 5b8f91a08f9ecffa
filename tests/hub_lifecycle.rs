//! The transfer lifecycle end to end, in process: the real actor system on a real redb log in a
//! temporary data directory, between two generic mock chains.

#![allow(clippy::panic)]

use meridian::actors::RelayBehaviour;
use meridian::config::{ChainConfig, Config};
use meridian::hub::{ChainSpec, Hub, HubOptions, ProofRequestError};
use meridian::message::{ChainId, MessageId, MessageState};
use meridian_adapters::mock::{Misbehaviour, MockChain};
use meridian_adapters::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn config() -> Config {
    let mut c =
        Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config")).expect("config");
    c.hub.refchain.seal_interval_ms = 50;
    c.hub.refchain.seal_max_entries = 1000;
    c
}

fn chain_cfg(id: &str, city: &str) -> ChainConfig {
    ChainConfig {
        id: id.into(),
        family: "mock".into(),
        home_city: city.into(),
        validators: 4,
        block_interval_ms: 100,
        ..ChainConfig::default()
    }
}

struct Net {
    a: MockChain,
    b: MockChain,
}

impl Net {
    fn new() -> Self {
        Net {
            a: MockChain::new("chain-a", 4),
            b: MockChain::new("chain-b", 4),
        }
    }

    fn specs(&self) -> Vec<ChainSpec> {
        vec![
            ChainSpec::mock(chain_cfg("chain-a", "beijing"), self.a.clone()),
            ChainSpec::mock(chain_cfg("chain-b", "tokyo"), self.b.clone()),
        ]
    }

    /// Lock `n` transfers on chain A bound for chain B; returns their evidence.
    fn lock_on_a(&self, n: usize, amount: u128) -> Vec<meridian_adapters::Evidence> {
        for i in 0..n {
            self.a.lock(
                "chain-b",
                &format!("alice{i}"),
                &format!("bob{i}"),
                "USDT",
                amount,
            );
        }
        let (_, locators) = self.a.produce_block(1);
        locators
            .iter()
            .map(|l| self.a.evidence(l).expect("evidence"))
            .collect()
    }
}

async fn wait_for<F: Fn(&meridian::state::HubState) -> bool>(hub: &Hub, what: &str, f: F) {
    for _ in 0..400 {
        if let Some(s) = hub.state().await {
            if f(&s) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let s = hub.state().await.expect("state");
    let states: Vec<_> = s.messages().map(|m| m.state).collect();
    panic!(
        "timed out waiting for {what}; states {states:?}, blocks {}",
        s.blocks().len()
    );
}

#[actix_rt::test]
async fn transfers_reach_delivered_exactly_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
        .await
        .expect("hub");
    let evidence = net.lock_on_a(20, 5);
    let src = ChainId::from("chain-a");
    let mut ids = Vec::new();
    for ev in &evidence {
        let out = hub.submit(&src, ev.clone(), None).await.expect("accepted");
        assert!(!out.existing);
        assert_eq!(out.state, MessageState::Committed);
        ids.push(out.id);
    }
    // The same evidence again is the same message, not a second transfer.
    let again = hub
        .submit(&src, evidence[3].clone(), None)
        .await
        .expect("known");
    assert!(again.existing);
    assert_eq!(again.id, ids[3]);
    wait_for(&hub, "all delivered", |s| {
        ids.iter().all(|id| {
            s.message(id)
                .is_some_and(|m| m.state == MessageState::Delivered)
        })
    })
    .await;
    let credits = net.b.credits();
    assert_eq!(credits.len(), 20, "each message delivered once");
    for (i, id) in ids.iter().enumerate() {
        let m = hub.message(*id).await.expect("message");
        assert_eq!(
            m.msg.route_nonce, i as u64,
            "gap-free route nonces in submission order"
        );
        let states: Vec<_> = m.timeline.iter().map(|t| t.state).collect();
        assert_eq!(
            states,
            vec![
                MessageState::Committed,
                MessageState::Finalized,
                MessageState::Delivered
            ]
        );
        assert!(credits
            .iter()
            .any(|c| c.message_id == id.0 && c.account == format!("bob{i}") && c.amount == 5));
    }
    let s = hub.state().await.expect("state");
    assert!(s.blocks().iter().any(|b| b.qc.is_some()));
    hub.stop();
}

#[actix_rt::test]
async fn tampered_proof_is_rejected_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
        .await
        .expect("hub");
    let mut ev = net.lock_on_a(3, 7).remove(1);
    let last = ev.proof.len() - 1;
    ev.proof[last] ^= 1;
    let err = hub
        .submit(&ChainId::from("chain-a"), ev.clone(), None)
        .await
        .expect_err("tampered");
    assert!(
        matches!(err, meridian::actors::SubmitError::Rejected(_)),
        "{err:?}"
    );
    let mut ev2 = net.lock_on_a(1, 7).remove(0);
    ev2.event[20] ^= 1;
    assert!(hub
        .submit(&ChainId::from("chain-a"), ev2, None)
        .await
        .is_err());
    assert_eq!(hub.state().await.expect("state").message_count(), 0);
    hub.stop();
}

#[actix_rt::test]
async fn undeliverable_transfer_is_refunded_after_timeout() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    net.b.set_misbehaviour(Misbehaviour {
        refuse_deliveries: true,
        ..Default::default()
    });
    let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
        .await
        .expect("hub");
    let ev = net.lock_on_a(1, 9).remove(0);
    let out = hub
        .submit(&ChainId::from("chain-a"), ev, Some(1))
        .await
        .expect("accepted");
    wait_for(&hub, "refunded", |s| {
        s.message(&out.id)
            .is_some_and(|m| m.state == MessageState::Refunded)
    })
    .await;
    assert!(net.b.credits().is_empty());
    let refunds = net.a.credits();
    assert_eq!(refunds.len(), 1);
    assert!(refunds[0].refund && refunds[0].account == "alice0" && refunds[0].amount == 9);
    let m = hub.message(out.id).await.expect("message");
    let states: Vec<_> = m.timeline.iter().map(|t| t.state).collect();
    assert_eq!(*states.last().expect("some"), MessageState::Refunded);
    assert!(states.contains(&MessageState::TimedOut));
    hub.stop();
}

#[actix_rt::test]
async fn forty_four_byzantine_relays_cannot_stop_finality() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let mut faults = HashMap::new();
    for i in 0..44u16 {
        faults.insert(
            i * 3,
            if i % 2 == 0 {
                RelayBehaviour::Crashed
            } else {
                RelayBehaviour::Garbage
            },
        );
    }
    let hub = Hub::start(
        &config(),
        dir.path(),
        net.specs(),
        HubOptions {
            relay_behaviour: faults,
        },
    )
    .await
    .expect("hub");
    let ev = net.lock_on_a(1, 1).remove(0);
    let out = hub
        .submit(&ChainId::from("chain-a"), ev, None)
        .await
        .expect("accepted");
    wait_for(&hub, "delivered", |s| {
        s.message(&out.id)
            .is_some_and(|m| m.state == MessageState::Delivered)
    })
    .await;
    let s = hub.state().await.expect("state");
    let qc = s.blocks()[0].qc.clone().expect("final");
    assert_eq!(
        qc.signatures.len(),
        91,
        "exactly the honest relays' signatures count"
    );
    hub.stop();
}

#[actix_rt::test]
async fn forty_five_faulty_relays_leave_blocks_unfinalized() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let mut faults = HashMap::new();
    for i in 0..45u16 {
        faults.insert(
            i,
            if i % 3 == 0 {
                RelayBehaviour::Crashed
            } else {
                RelayBehaviour::Garbage
            },
        );
    }
    let hub = Hub::start(
        &config(),
        dir.path(),
        net.specs(),
        HubOptions {
            relay_behaviour: faults,
        },
    )
    .await
    .expect("hub");
    let ev = net.lock_on_a(1, 1).remove(0);
    let out = hub
        .submit(&ChainId::from("chain-a"), ev, None)
        .await
        .expect("accepted");
    wait_for(&hub, "a sealed block", |s| !s.blocks().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let s = hub.state().await.expect("state");
    assert!(
        s.blocks().iter().all(|b| b.qc.is_none()),
        "90 honest relays must not finalize"
    );
    assert_eq!(
        s.message(&out.id).expect("m").state,
        MessageState::Committed
    );
    assert!(net.b.credits().is_empty());
    hub.stop();
}

/// Wraps the mock adapter: panics on a poisoned locator, like a buggy adapter would, and,
/// while its gate is shut, takes as long to verify as a chain actor busy with deliveries to a
/// slow node. With a counter, it answers every delivery `Pending` (sent, never final: a chain
/// whose blocks stopped) and counts the asks.
struct Panicky(
    Box<dyn ChainAdapter>,
    Arc<AtomicBool>,
    Option<Arc<AtomicUsize>>,
);

impl Panicky {
    /// A factory of `inner`'s adapters, wrapped with `gate` and, if given, the delivery counter.
    fn factory(
        inner: meridian::actors::AdapterFactory,
        gate: Arc<AtomicBool>,
        asks: Option<Arc<AtomicUsize>>,
    ) -> meridian::actors::AdapterFactory {
        Arc::new(move || {
            inner()
                .map(|a| Box::new(Panicky(a, gate.clone(), asks.clone())) as Box<dyn ChainAdapter>)
        })
    }

    /// A factory of `inner`'s adapters, wrapped; and the gate (open).
    fn wrap(
        inner: meridian::actors::AdapterFactory,
    ) -> (meridian::actors::AdapterFactory, Arc<AtomicBool>) {
        let gate = Arc::new(AtomicBool::new(true));
        (Self::factory(inner, gate.clone(), None), gate)
    }

    /// A factory of `inner`'s adapters whose deliveries are never final; and the count of
    /// deliveries asked.
    fn never_final(
        inner: meridian::actors::AdapterFactory,
    ) -> (meridian::actors::AdapterFactory, Arc<AtomicUsize>) {
        let asks = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicBool::new(true));
        (Self::factory(inner, open, Some(asks.clone())), asks)
    }
}

impl ChainAdapter for Panicky {
    fn chain_id(&self) -> &str {
        self.0.chain_id()
    }
    fn family(&self) -> Family {
        self.0.family()
    }
    fn verify_header(&mut self, h: &[u8]) -> Result<HeaderInfo, AdapterError> {
        self.0.verify_header(h)
    }
    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        if ev.locator == b"PANIC" {
            panic!("adapter bug");
        }
        while !self.1.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.0.verify_event(ev)
    }
    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        self.0.encode_delivery(d)
    }
    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        match &self.2 {
            Some(asks) => {
                asks.fetch_add(1, Ordering::SeqCst);
                Err(AdapterError::Pending("in a block, never final".into()))
            }
            None => self.0.deliver(d),
        }
    }
    fn applied(&mut self, id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        self.0.applied(id)
    }
    fn light_client_state(&self) -> Vec<u8> {
        self.0.light_client_state()
    }
    fn restore_light_client(&mut self, s: &[u8]) -> Result<(), AdapterError> {
        self.0.restore_light_client(s)
    }
    fn mark_relayed(&mut self, locator: &[u8]) {
        self.0.mark_relayed(locator)
    }
}

#[actix_rt::test]
async fn panicking_chain_actor_restarts_without_taking_the_hub_down() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let mut specs = net.specs();
    specs[0].factory = Panicky::wrap(specs[0].factory.clone()).0;
    let hub = Hub::start(&config(), dir.path(), specs, HubOptions::default())
        .await
        .expect("hub");
    let a = ChainId::from("chain-a");
    let mut poisoned = net.lock_on_a(1, 1).remove(0);
    poisoned.locator = b"PANIC".to_vec();
    let err = hub.submit(&a, poisoned, None).await.expect_err("panicked");
    assert!(err.to_string().contains("panicked"), "{err}");
    for _ in 0..100 {
        if hub.chain_restarts(&a) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(hub.chain_restarts(&a), 1);
    // The restarted actor serves the next transfer end to end.
    let ev = net.lock_on_a(1, 2).remove(0);
    let out = hub
        .submit(&a, ev, None)
        .await
        .expect("accepted after restart");
    wait_for(&hub, "delivered", |s| {
        s.message(&out.id)
            .is_some_and(|m| m.state == MessageState::Delivered)
    })
    .await;
    hub.stop();
}

/// A source chain whose actor is slow (here: every verification waits on a gate, as behind
/// deliveries to a slow node) holds up only its own submissions: another chain's transfer is
/// accepted meanwhile. With one batch pipeline for all chains, four stuck batches from the
/// slow chain took every slot and the other chain's transfer waited for the gate.
#[actix_rt::test]
async fn a_slow_source_chain_does_not_hold_up_another_chains_transfers() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let mut specs = net.specs();
    let (factory, gate) = Panicky::wrap(specs[0].factory.clone());
    specs[0].factory = factory;
    let hub = Hub::start(&config(), dir.path(), specs, HubOptions::default())
        .await
        .expect("hub");
    let (a, b) = (ChainId::from("chain-a"), ChainId::from("chain-b"));
    let from_a = net.lock_on_a(4, 1);
    net.b.lock("chain-a", "carol", "dave", "USDT", 3);
    let (_, locators) = net.b.produce_block(1);
    let from_b = net.b.evidence(&locators[0]).expect("evidence");

    gate.store(false, Ordering::SeqCst);
    // One submission from chain A at a time, each into a batch of its own, all stuck.
    let stuck = futures::future::join_all(from_a.into_iter().enumerate().map(|(k, ev)| {
        let (hub, a) = (&hub, &a);
        async move {
            tokio::time::sleep(Duration::from_millis(100 * k as u64)).await;
            hub.submit(a, ev, None).await
        }
    }));
    let other = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let r = tokio::time::timeout(Duration::from_secs(5), hub.submit(&b, from_b, None)).await;
        gate.store(true, Ordering::SeqCst);
        r
    };
    let (stuck, other) = futures::join!(stuck, other);
    let out = other
        .expect("chain B's transfer answered while chain A's verifications wait")
        .expect("accepted");
    assert!(!out.existing);
    for r in stuck {
        r.expect("chain A's transfers accepted once its chain answers");
    }
    wait_for(&hub, "all five delivered", |s| {
        s.messages().count() == 5 && s.messages().all(|m| m.state == MessageState::Delivered)
    })
    .await;
    hub.stop();
}

/// A delivery its destination answers `Pending` (sent, not final yet) is asked again after
/// 2 s, then 4, 8, … (at most 30 s apart), and the sweep over undelivered messages does not
/// ask it early: a chain whose finality takes minutes is not asked about each pending
/// delivery every 2 s for all of them. Before, every 2 s (six asks in the first 11 s).
#[actix_rt::test]
async fn a_pending_delivery_is_asked_again_less_and_less_often() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let mut specs = net.specs();
    let (factory, asks) = Panicky::never_final(specs[1].factory.clone());
    specs[1].factory = factory;
    let hub = Hub::start(&config(), dir.path(), specs, HubOptions::default())
        .await
        .expect("hub");
    let ev = net.lock_on_a(1, 5).remove(0);
    let out = hub
        .submit(&ChainId::from("chain-a"), ev, None)
        .await
        .expect("accepted");
    for _ in 0..400 {
        if asks.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(asks.load(Ordering::SeqCst), 1, "the first delivery");
    // Past the sweep 10 s after start, short of the fourth ask 14 s after the first.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        asks.load(Ordering::SeqCst),
        3,
        "asked again 2 s and 6 s after the first, not at the sweep, not yet at 14 s"
    );
    let m = hub.message(out.id).await.expect("message");
    assert_eq!(m.state, MessageState::Finalized, "never recorded delivered");
    hub.stop();
}

/// A delivered message's finality is provable offline: the `meridian-finality` document from
/// the hub verifies with the real binary, and a changed byte of it does not; the whole log's
/// growth between two blocks is proven by an `rfc6962-consistency` document.
#[actix_rt::test]
async fn finality_and_consistency_proofs_verify_offline() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
        .await
        .expect("hub");
    let src = ChainId::from("chain-a");
    let mut ids = Vec::new();
    for round in 0..2 {
        for ev in net.lock_on_a(5, 7 + round) {
            ids.push(hub.submit(&src, ev, None).await.expect("accepted").id);
        }
        let want = ids.clone();
        wait_for(&hub, "finalized", move |s| {
            want.iter().all(|id| {
                s.message(id)
                    .is_some_and(|m| m.block.is_some() && m.state != MessageState::Committed)
            })
        })
        .await;
    }
    let bin = env!("CARGO_BIN_EXE_meridian");
    let verify = |doc: &serde_json::Value| {
        let path = dir.path().join("doc.json");
        std::fs::write(&path, doc.to_string()).expect("write");
        let out = std::process::Command::new(bin)
            .args(["proof", "verify"])
            .arg(&path)
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let proof = hub.finality_proof(ids[7]).await.expect("final");
    proof.verify().expect("verifies in process");
    let doc = serde_json::to_value(&proof).expect("json");
    assert_eq!(verify(&doc), (Some(0), "valid\n".to_string()));
    // Tamper: the record, a path element, the header's log root, a signature.
    let mut bad = doc.clone();
    let rec = bad["record"].as_str().expect("hex").to_string();
    let flipped = format!(
        "{}{}",
        &rec[..rec.len() - 1],
        if rec.ends_with('0') { "1" } else { "0" }
    );
    bad["record"] = flipped.into();
    assert_eq!(verify(&bad).0, Some(1));
    let mut bad = doc.clone();
    bad["header"]["log_root"] = hex::encode([9u8; 32]).into();
    assert_eq!(verify(&bad).0, Some(1));
    let mut bad = doc.clone();
    bad["qc"]["signatures"]
        .as_array_mut()
        .expect("sigs")
        .truncate(89);
    assert_eq!(verify(&bad).0, Some(1), "89 signatures are below quorum");
    let mut bad = doc.clone();
    bad["message_id"] = hex::encode(ids[0].0).into();
    assert_eq!(verify(&bad).0, Some(1), "the record is another message's");

    let s = hub.state().await.expect("state");
    let last = s.blocks().last().expect("blocks").header.height;
    assert!(last >= 1, "at least two blocks");
    let c = hub.consistency_proof(0, last).await.expect("consistency");
    let cdoc = meridian_proofs::document::to_document(&c);
    assert_eq!(verify(&cdoc), (Some(0), "valid\n".to_string()));
    assert_eq!(
        meridian_proofs::document::verify_value(cdoc),
        Ok(meridian_proofs::Verdict::Valid)
    );
    // Blocks by height: the window below a height, the head for any height above it, none
    // past the head for the proofs.
    let heights =
        |b: Vec<meridian::state::BlockEntry>| b.iter().map(|b| b.header.height).collect::<Vec<_>>();
    // (Deliveries keep sealing blocks meanwhile: the head may have moved past `last`.)
    assert_eq!(heights(hub.blocks(Some(1), 5).await), vec![1, 0]);
    let head = heights(hub.blocks(Some(u64::MAX), 1).await);
    assert!(head.len() == 1 && head[0] >= last, "{head:?}");
    let all = heights(hub.blocks(None, 100).await);
    let top = all.first().copied().unwrap_or_default();
    assert!(top >= head[0], "{all:?}");
    assert_eq!(all, (0..=top).rev().collect::<Vec<_>>());
    assert!(matches!(
        hub.consistency_proof(0, u64::MAX).await,
        Err(ProofRequestError::UnknownBlock(u64::MAX))
    ));
    assert!(matches!(
        hub.finality_proof(MessageId([7; 32])).await,
        Err(ProofRequestError::UnknownMessage(_))
    ));
    hub.stop();
}

/// 44 relays that sign anything, and a forged block that conflicts with the log (another
/// entries root for the same log range): the honest 91 refuse it, so its certificate stays at
/// 44 valid signatures, below the quorum of 91; a signature by a key outside the relay set,
/// claiming an honest relay's index, is not counted either.
#[actix_rt::test]
async fn byzantine_signers_cannot_finalize_a_conflicting_block() {
    use meridian::actors::relay::Propose;
    use meridian::refchain::{BlockHeader, QuorumCertificate, QuorumError, RelayKey};
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let faults = (0..44u16)
        .map(|i| (i * 3, RelayBehaviour::SignAnything))
        .collect();
    let hub = Hub::start(
        &config(),
        dir.path(),
        net.specs(),
        HubOptions {
            relay_behaviour: faults,
        },
    )
    .await
    .expect("hub");
    let src = ChainId::from("chain-a");
    let mut ids = Vec::new();
    for ev in net.lock_on_a(3, 9) {
        ids.push(hub.submit(&src, ev, None).await.expect("accepted").id);
    }
    wait_for(&hub, "delivered with 44 sign-anything relays", |s| {
        ids.iter().all(|id| {
            s.message(id)
                .is_some_and(|m| m.state == MessageState::Delivered)
        })
    })
    .await;
    let s = hub.state().await.expect("state");
    let last = s.blocks().last().expect("a block").header.clone();
    // The next block as the honest sequencer would seal it, but with a forged entries root.
    let forged = BlockHeader {
        height: last.height + 1,
        prev_hash: last.hash(),
        log_start: last.log_end,
        log_end: s.next_seq(),
        entries_root: [0xee; 32],
        log_root: [0xee; 32],
        time_ms: last.time_ms + 1,
        relay_set_hash: last.relay_set_hash,
    };
    let votes =
        futures::future::join_all(hub.relays().iter().map(|r| r.send(Propose(forged.clone()))))
            .await;
    let mut signatures: Vec<_> = votes
        .into_iter()
        .filter_map(|v| v.ok().and_then(Result::ok))
        .collect();
    assert_eq!(
        signatures.len(),
        44,
        "only the sign-anything relays sign it"
    );
    // A key outside the set signs as relay 1 (an honest relay's index).
    let outsider = RelayKey::from_seed("outsider", [0x42; 32]);
    signatures.push(outsider.vote(1, &forged));
    let qc = QuorumCertificate {
        height: forged.height,
        block_hash: forged.hash(),
        signatures,
    };
    let set = hub.relay_set();
    assert_eq!(qc.valid_signatures(&set, &forged), 44);
    assert_eq!(
        qc.verify(&set, &forged),
        Err(QuorumError::BelowQuorum {
            valid: 44,
            needed: 91
        })
    );
    hub.stop();
}

/// Rotating a city relay's key: blocks sealed afterwards name the new relay set, blocks
/// sealed before stay provable under theirs, also after a restart (the sets are in the log).
#[test]
fn relay_key_rotation_keeps_old_and_new_blocks_provable() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let (first, second, old_hash, new_hash) = {
        let (dir, net) = (
            dir.path().to_path_buf(),
            Net {
                a: net.a.clone(),
                b: net.b.clone(),
            },
        );
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let hub = Hub::start(&config(), &dir, net.specs(), HubOptions::default())
                    .await
                    .expect("hub");
                let src = ChainId::from("chain-a");
                let old_hash = hub.relay_set().hash();
                let ev = net.lock_on_a(1, 3).remove(0);
                let first = hub.submit(&src, ev, None).await.expect("accepted").id;
                wait_for(&hub, "first delivered", |s| {
                    s.message(&first)
                        .is_some_and(|m| m.state == MessageState::Delivered)
                })
                .await;
                let next = hub.rotate_relay_key("beijing").await.expect("rotated");
                assert_ne!(next.hash(), old_hash);
                let ev = net.lock_on_a(1, 4).remove(0);
                let second = hub.submit(&src, ev, None).await.expect("accepted").id;
                wait_for(&hub, "second delivered", |s| {
                    s.message(&second)
                        .is_some_and(|m| m.state == MessageState::Delivered)
                })
                .await;
                let p1 = hub.finality_proof(first).await.expect("proof 1");
                let p2 = hub.finality_proof(second).await.expect("proof 2");
                assert_eq!(p1.header.relay_set_hash, old_hash);
                assert_eq!(p2.header.relay_set_hash, next.hash());
                p1.verify().expect("old block under the old set");
                p2.verify().expect("new block under the new set");
                actix_rt::System::current().stop();
                (first, second, old_hash, next.hash())
            })
        })
        .join()
        .expect("first life")
    };
    actix_rt::System::new().block_on(async move {
        // RedbLog::open waits for the first life's log file to close.
        let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
            .await
            .expect("reopened");
        assert_eq!(hub.relay_set().hash(), new_hash, "the rotated key was kept");
        let p1 = hub.finality_proof(first).await.expect("proof 1");
        assert_eq!(p1.header.relay_set_hash, old_hash);
        p1.verify().expect("old block still provable after restart");
        hub.finality_proof(second)
            .await
            .expect("proof 2")
            .verify()
            .expect("new block");
        hub.stop();
    });
}

/// Relay keys whose commit log is gone (the data directory restored without it, or the log
/// deleted): starting would have the same keys sign a second reference chain from height 0, so
/// the hub refuses, naming both; with the keys moved away too it starts as a new hub.
#[test]
fn relay_keys_without_their_log_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    {
        let data = data.clone();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let net = Net::new();
                let hub = Hub::start(&config(), &data, net.specs(), HubOptions::default())
                    .await
                    .expect("hub");
                let ev = net.lock_on_a(1, 3).remove(0);
                let id = hub
                    .submit(&ChainId::from("chain-a"), ev, None)
                    .await
                    .expect("accepted")
                    .id;
                wait_for(&hub, "delivered", |s| {
                    s.message(&id)
                        .is_some_and(|m| m.state == MessageState::Delivered)
                })
                .await;
                hub.stop();
                actix_rt::System::current().stop();
            });
        })
        .join()
        .expect("first life");
    }
    for name in ["log.redb", "log.redb.wal0", "log.redb.wal1"] {
        std::fs::remove_file(data.join(name)).expect(name);
    }
    actix_rt::System::new().block_on(async {
        let net = Net::new();
        let why = match Hub::start(&config(), &data, net.specs(), HubOptions::default()).await {
            Err(e @ meridian::hub::HubError::LostLog(_)) => e.to_string(),
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("started a new log under the old relay keys"),
        };
        assert!(
            why.contains("relay-keys") && why.contains("log.redb"),
            "{why}"
        );
        assert!(!data.join("log.redb").exists(), "no log was made");
        std::fs::rename(data.join("relay-keys"), dir.path().join("old-keys")).expect("mv");
        let hub = Hub::start(&config(), &data, net.specs(), HubOptions::default())
            .await
            .expect("a new hub with new keys");
        assert_eq!(hub.state().await.expect("state").messages().count(), 0);
        hub.stop();
    });
}

/// Submissions that arrive together are verified and committed in batches: every distinct
/// evidence becomes exactly one message (duplicates within a batch and across batches answer
/// the first message), nonces stay gap-free, a forged proof in the middle of a batch is
/// rejected alone, and every message is delivered once.
#[actix_rt::test]
async fn concurrent_submissions_batch_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
        .await
        .expect("hub");
    let evidence = net.lock_on_a(300, 2);
    let src = ChainId::from("chain-a");
    let mut forged = evidence[7].clone();
    let last = forged.proof.len() - 1;
    forged.proof[last] ^= 0x01;
    // Each evidence three times, all at once, plus the forged one among them.
    let mut submissions: Vec<Evidence> = Vec::new();
    for round in 0..3 {
        for (i, ev) in evidence.iter().enumerate() {
            submissions.push(ev.clone());
            if round == 1 && i == 150 {
                submissions.push(forged.clone());
            }
        }
    }
    let answers = futures::future::join_all(
        submissions
            .iter()
            .map(|ev| hub.submit(&src, ev.clone(), None)),
    )
    .await;
    let mut first: HashMap<Vec<u8>, meridian::message::MessageId> = HashMap::new();
    let mut new_messages = 0;
    let mut rejected = 0;
    for (ev, a) in submissions.iter().zip(&answers) {
        match a {
            Ok(out) => {
                if !out.existing {
                    new_messages += 1;
                }
                let id = *first.entry(ev.locator.clone()).or_insert(out.id);
                assert_eq!(id, out.id, "one message per evidence");
            }
            Err(e) => {
                assert_eq!(ev, &forged, "only the forged proof is refused: {e}");
                rejected += 1;
            }
        }
    }
    assert_eq!(rejected, 1);
    assert_eq!(new_messages, 300, "each distinct evidence accepted once");
    assert_eq!(first.len(), 300);
    let ids: Vec<_> = first.values().copied().collect();
    wait_for(&hub, "all delivered", |s| {
        ids.iter().all(|id| {
            s.message(id)
                .is_some_and(|m| m.state == MessageState::Delivered)
        })
    })
    .await;
    assert_eq!(net.b.credits().len(), 300, "each message delivered once");
    let mut nonces: Vec<u64> = Vec::new();
    for id in &ids {
        nonces.push(hub.message(*id).await.expect("message").msg.route_nonce);
    }
    nonces.sort_unstable();
    assert_eq!(nonces, (0..300).collect::<Vec<u64>>(), "gap-free nonces");
}

/// The router answers a new submission as soon as its record is durable, before it applies
/// the batch; a lookup sent after the answer must still find the message, at the answered
/// sequence number (read your writes), for every one of many concurrent submissions.
#[actix_rt::test]
async fn an_accepted_transfer_is_visible_to_the_next_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let net = Net::new();
    let hub = Hub::start(&config(), dir.path(), net.specs(), HubOptions::default())
        .await
        .expect("hub");
    let evidence = net.lock_on_a(400, 4);
    let src = ChainId::from("chain-a");
    let hub = &hub;
    let src = &src;
    let seen = futures::future::join_all(evidence.into_iter().map(|ev| async move {
        let out = hub.submit(src, ev, None).await.expect("accepted");
        assert!(!out.existing);
        let m = hub.message(out.id).await;
        (out, m)
    }))
    .await;
    for (out, m) in &seen {
        let m = m
            .as_ref()
            .unwrap_or_else(|| panic!("message {:?} answered but not found", out.id));
        assert_eq!(m.seq, out.seq, "the answered sequence number");
        assert_eq!(out.state, MessageState::Committed);
    }
    assert_eq!(seen.len(), 400);
}

/// A chain dropped from the configuration while the log still holds open transfers of it is
/// refused at start, naming the chain (its transfers would never be delivered nor refunded);
/// configured again, the hub starts and holds them.
#[test]
fn open_transfers_of_an_unconfigured_chain_refuse_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let id = {
        let data = data.clone();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let net = Net::new();
                net.b.set_misbehaviour(Misbehaviour {
                    refuse_deliveries: true,
                    ..Default::default()
                });
                let hub = Hub::start(&config(), &data, net.specs(), HubOptions::default())
                    .await
                    .expect("hub");
                let ev = net.lock_on_a(1, 3).remove(0);
                let id = hub
                    .submit(&ChainId::from("chain-a"), ev, Some(3600))
                    .await
                    .expect("accepted")
                    .id;
                hub.stop();
                actix_rt::System::current().stop();
                id
            })
        })
        .join()
        .expect("first life")
    };
    actix_rt::System::new().block_on(async {
        let net = Net::new();
        let only_a = net.specs().into_iter().take(1).collect();
        let why = match Hub::start(&config(), &data, only_a, HubOptions::default()).await {
            Err(e @ meridian::hub::HubError::Unconfigured(_)) => e.to_string(),
            Err(e) => panic!("refused for another reason: {e}"),
            Ok(_) => panic!("started without the destination of an open transfer"),
        };
        assert!(why.contains("chain-b (1 open)"), "{why}");
        assert!(!why.contains("chain-a"), "{why}");
        let hub = Hub::start(&config(), &data, net.specs(), HubOptions::default())
            .await
            .expect("configured again");
        let s = hub.state().await.expect("state");
        assert!(s
            .message(&id)
            .is_some_and(|m| m.state != MessageState::Delivered));
        hub.stop();
    });
}
