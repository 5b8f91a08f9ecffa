//! The conformance kit on the EOSIO adapter (legacy and Savanna merkle, 4 and 21 producers),
//! and EOS mainnet block 1's id through the adapter's header serialization.

use meridian_adapters::conformance::{self, ConformanceChain};
use meridian_adapters::eos::{
    decode_headers, decode_locator, encode_locator, name, BlockHeader, EosChain, EosMock,
};
use meridian_adapters::{AdapterError, ChainAdapter, Delivery};

#[test]
fn eos_adapter_passes_the_kit_legacy() {
    let report = conformance::run(&mut EosMock::new("eos-legacy", 4, false));
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

#[test]
fn eos_adapter_passes_the_kit_savanna() {
    let report = conformance::run(&mut EosMock::new("eos-savanna", 4, true));
    assert!(report.failures().is_empty(), "\n{report}");
}

#[test]
fn eos_adapter_passes_the_kit_with_21_producers() {
    for savanna in [false, true] {
        let report = conformance::run(&mut EosMock::new("eos-21", 21, savanna));
        assert!(report.failures().is_empty(), "savanna {savanna}\n{report}");
    }
}

#[test]
fn rejections_name_the_reason() {
    let mut m = EosMock::new("eos-why", 4, false);
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    let ev = a.verify_event(&e).expect("genuine");
    assert_eq!(
        (
            ev.destination.as_str(),
            ev.sender.as_str(),
            ev.recipient.as_str(),
            ev.asset.as_str(),
            ev.amount
        ),
        ("elsewhere", "alice", "bob", "EOS", 70_000)
    );
    assert!(matches!(
        a.verify_event(&m.below_quorum()),
        Err(AdapterError::BelowQuorum {
            valid: 2,
            needed: 3
        })
    ));
    assert!(matches!(
        a.verify_event(&m.unknown_validator()),
        Err(AdapterError::UnknownValidator(_))
    ));
    assert!(matches!(
        a.verify_event(&m.wrong_chain()),
        Err(AdapterError::Malformed {
            what: "producer signature",
            ..
        })
    ));
    assert!(matches!(
        a.verify_event(&m.non_final()),
        Err(AdapterError::NotFinal { .. })
    ));
}

#[test]
fn replays_are_refused_by_global_sequence_too() {
    let mut m = EosMock::new("eos-replay", 4, true);
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    a.verify_event(&e).expect("genuine");
    a.mark_relayed(&e.locator);
    assert!(matches!(a.verify_event(&e), Err(AdapterError::Replay(_))));
    // The same proof under a locator naming another action count must not pass either.
    let (b, i, c) = decode_locator(&e.locator).expect("locator");
    let mut e2 = e.clone();
    e2.locator = encode_locator(b, i, c + 1);
    assert!(a.verify_event(&e2).is_err());
}

#[test]
fn the_notification_to_the_token_contract_is_not_a_lock() {
    let mut m = EosMock::new("eos-notif", 4, false);
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    let (b, i, c) = decode_locator(&e.locator).expect("locator");
    // Action i-1 is the token contract's own receipt of the same transfer.
    let chain = &m.chain;
    let other = chain
        .evidence(&encode_locator(b, i - 1, c), 2)
        .expect("evidence");
    assert!(matches!(
        a.verify_event(&other),
        Err(AdapterError::Malformed {
            what: "lock event",
            ..
        })
    ));
}

#[test]
fn header_chain_deliveries_and_state() {
    let chain = EosChain::new("eos-hdr", "eos-hdr", "prod", b"producer", 4, false);
    let mut a = chain.adapter().expect("adapter");
    let e1 = chain.lock(2).expect("block 2");
    let hs = decode_headers(&e1.header).expect("headers");
    assert_eq!(hs[0].header.block_num(), 2);
    // Block 3 with its confirmations (blocks 4, 5): produced by the lock above plus two more.
    let _ = chain.produce_block(None);
    let e3 = chain
        .evidence(&encode_locator(3, 0, 1), 2)
        .map(|e| e.header)
        .unwrap_or_default();
    assert!(matches!(
        a.verify_header(&e3),
        Err(AdapterError::Fork { .. }) | Err(AdapterError::Malformed { .. })
    ));
    assert_eq!(a.verify_header(&e1.header).expect("block 2").height, 2);
    let state = a.light_client_state();
    a.restore_light_client(&state).expect("restore");
    assert!(a.restore_light_client(&[1, 2]).is_err());

    let d = Delivery {
        message_id: [7; 32],
        refund: false,
        account: "bob".into(),
        asset: "EOS".into(),
        amount: 5,
        refchain_height: 3,
        deadline_ms: u64::MAX,
    };
    let act = a.encode_delivery(&d).expect("encodes");
    assert_eq!(&act[..8], &name("bridge").expect("name").to_le_bytes());
    assert!(a
        .encode_delivery(&Delivery {
            account: "Not A Name".into(),
            ..d.clone()
        })
        .is_err());
    assert!(a.applied(&d.message_id).expect("rpc").is_none());
    let r1 = a.deliver(&d).expect("delivers");
    assert!(!r1.duplicate);
    let r2 = a.deliver(&d).expect("delivers again");
    assert!(r2.duplicate && r2.reference == r1.reference);
    assert!(a.applied(&d.message_id).expect("rpc").is_some());
}

/// EOS mainnet block 1 (tests/vectors/eosio-legacy/SOURCES.md): the adapter's header
/// serialization gives the committed bytes and the published id.
#[test]
fn eos_mainnet_block_1_id() {
    let h = BlockHeader {
        // 2018-06-08T08:08:08.500 in 500 ms slots since 2000-01-01.
        timestamp: ((1_528_445_288_500u64 - 946_684_800_000) / 500) as u32,
        producer: 0,
        confirmed: 1,
        previous: [0; 32],
        transaction_mroot: [0; 32],
        action_mroot: hex::decode(
            "aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906",
        )
        .expect("hex")
        .try_into()
        .expect("32 bytes"),
        schedule_version: 0,
        extensions: vec![],
    };
    assert_eq!(
        hex::encode(h.encode()),
        "d1eb59450000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000aca376f206b8fc25a6ed44dbdc66547c36c6c33e3a119ffbeaef943642f0e906000000000000"
    );
    assert_eq!(h.block_num(), 1);
    assert_eq!(
        hex::encode(h.id()),
        "00000001405147477ab2f5f51cda427b638191c66d2c59aa392d5c2c98076cb0"
    );
}

#[test]
fn a_locator_with_another_index_or_count_in_the_same_block_is_refused() {
    // The index is bound by the proof; the count only as far as it changes the proof's shape
    // (legacy: the depth) — a count of the same shape is accepted, which is why replays are
    // also refused by the receipt's global_sequence.
    for savanna in [false, true] {
        let mut m = EosMock::new("eos-loc", 4, savanna);
        let mut a = m.adapter().expect("adapter");
        let e = m.genuine();
        a.verify_event(&e).expect("genuine");
        let (b, i, c) = decode_locator(&e.locator).expect("locator");
        for (i2, c2) in [(i - 1, c), (i + 1, c + 2), (i, c * 2), (c, c)] {
            let mut bad = e.clone();
            bad.locator = encode_locator(b, i2, c2);
            assert!(
                a.verify_event(&bad).is_err(),
                "savanna {savanna}: ({i2}, {c2}) accepted for ({i}, {c})"
            );
        }
    }
}

/// Each header costs a signature recovery: evidence may carry a round of the schedule (12
/// blocks per producer), more than the quorum needs, and a longer list is refused before any
/// signature is checked, however valid its headers.
#[test]
fn a_header_list_longer_than_a_round_is_refused() {
    let chain = EosChain::new("eos-long", "eos-long", "prod", b"producer", 4, false);
    let mut a = chain.adapter().expect("adapter");
    let max = a.max_headers();
    assert_eq!(max, 4 * 12);
    // A lock with max − 1 blocks on it: max headers, all linked and validly signed.
    let fits = chain.lock(max - 1).expect("lock");
    assert_eq!(decode_headers(&fits.header).expect("headers").len(), max);
    a.verify_event(&fits).expect("a round of headers verifies");
    let too_long = chain.lock(max).expect("lock");
    assert_eq!(
        decode_headers(&too_long.header).expect("headers").len(),
        max + 1
    );
    let err = a
        .verify_event(&too_long)
        .expect_err("one header past the round");
    assert!(
        matches!(&err, AdapterError::Malformed { what: "header", reason } if reason.contains("at most 48")),
        "{err}"
    );
}
