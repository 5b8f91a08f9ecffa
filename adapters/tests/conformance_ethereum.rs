//! The conformance kit on the Ethereum (clique PoA) adapter, plus real-encoding checks.

use meridian_adapters::conformance::{self, ConformanceChain};
use meridian_adapters::ethereum::{clique, decode_locator, EthMisbehaviour, EthereumMock};
use meridian_adapters::proofs::eth;
use meridian_adapters::proofs::hash::keccak256;
use meridian_adapters::{AdapterError, ChainAdapter, Delivery};

#[test]
fn ethereum_adapter_passes_the_kit() {
    let mut chain = EthereumMock::new("eth-private", 1337, 4);
    let report = conformance::run(&mut chain);
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

#[test]
fn kit_passes_with_other_signer_counts() {
    // (One signer needs no confirmations: nothing is below quorum or non-final.)
    for n in [2usize, 3, 7] {
        let report = conformance::run(&mut EthereumMock::new("eth-n", 99, n));
        assert!(report.failures().is_empty(), "{n} signers\n{report}");
    }
}

#[test]
fn rejections_name_the_right_reason() {
    let mut chain = EthereumMock::new("eth-private", 1337, 4);
    let mut a = chain.adapter().expect("adapter");
    let good = chain.genuine();
    let ev = a.verify_event(&good).expect("genuine");
    assert_eq!(ev.destination, "elsewhere");
    assert_eq!(ev.amount, 7);
    assert!(ev.sender.starts_with("0x") && ev.sender.len() == 42);
    assert_eq!(decode_locator(&good.locator).expect("locator").0, ev.height);
    assert!(matches!(
        a.verify_event(&chain.below_quorum()),
        Err(AdapterError::BelowQuorum {
            valid: 1,
            needed: 3
        })
    ));
    assert!(matches!(
        a.verify_event(&chain.unknown_validator()),
        Err(AdapterError::UnknownValidator(_))
    ));
    assert!(matches!(
        a.verify_event(&chain.wrong_chain()),
        Err(AdapterError::WrongChain { .. })
    ));
    assert!(matches!(
        a.verify_event(&chain.non_final()),
        Err(AdapterError::NotFinal { .. })
    ));
    chain.set_misbehaviour(EthMisbehaviour::default());
    a.mark_relayed(&good.locator);
    assert!(matches!(
        a.verify_event(&good),
        Err(AdapterError::Replay(_))
    ));
}

#[test]
fn light_client_follows_and_restores() {
    let mut chain = EthereumMock::new("eth-lc", 5, 4);
    let ev = chain.genuine();
    let mut a = chain.adapter().expect("adapter");
    // Block 1 and its two confirmations extend genesis: block 1 becomes the trusted head.
    let info = a.verify_header(&ev.header).expect("extends genesis");
    assert_eq!(info.height, 1);
    // The same batch again does not extend the new head.
    assert!(matches!(
        a.verify_header(&ev.header),
        Err(AdapterError::Fork { .. })
    ));
    let state = a.light_client_state();
    let mut b = chain.adapter().expect("adapter");
    b.restore_light_client(&state).expect("restore");
    assert_eq!(b.light_client_state(), state);
    assert!(b.restore_light_client(&state[1..]).is_err());
}

#[test]
fn deliveries_apply_once() {
    let chain = EthereumMock::new("eth-dst", 7, 3);
    let mut a = chain.adapter().expect("adapter");
    let d = Delivery {
        message_id: [9; 32],
        refund: false,
        account: "0xabc".into(),
        asset: "USDT".into(),
        amount: 5,
        refchain_height: 3,
        deadline_ms: u64::MAX,
    };
    let data = a.encode_delivery(&d).expect("encode");
    assert_eq!(
        &data[..4],
        &keccak256(&[b"release(bytes32,bool,string,string,uint256,uint256,uint256)"])[..4]
    );
    assert_eq!((data.len() - 4) % 32, 0);
    assert_eq!(a.applied(&d.message_id).expect("query"), None);
    let r1 = a.deliver(&d).expect("deliver");
    assert!(!r1.duplicate);
    let r2 = a.deliver(&d).expect("repeat");
    assert!(r2.duplicate);
    assert_eq!(r1.reference, r2.reference);
    assert!(a.applied(&d.message_id).expect("query").is_some());
    assert_eq!(chain.credits().len(), 1);
    let late = Delivery {
        message_id: [8; 32],
        deadline_ms: 1,
        ..d
    };
    assert!(matches!(
        a.deliver(&late),
        Err(AdapterError::Expired { .. })
    ));
}

/// A real go-ethereum-encoded header (mainnet block 14764013, London, 16 fields): it parses
/// and hashes to its block hash, and our clique seal hash handles its shape.
#[test]
fn real_london_header_parses_and_hashes() {
    let text = include_str!("../../tests/vectors/eth-header/mainnet-14764013-london.json");
    let doc: serde_json::Value = serde_json::from_str(text).expect("json");
    let unhex =
        |k: &str| hex::decode(doc[k].as_str().expect(k).trim_start_matches("0x")).expect("hex");
    let rlp = unhex("rlp");
    let hash = unhex("hash");
    let h = eth::parse_header(&rlp).expect("parses");
    assert_eq!(h.number, 14_764_013);
    assert_eq!(h.field_count, 16);
    assert_eq!(h.hash.to_vec(), hash);
    assert_eq!(eth::header_hash(&rlp).to_vec(), hash);
    // Mainnet is not clique: its short extraData has no seal.
    assert!(clique::recover_signer(&rlp, &h.extra_data).is_err());
}

/// Seal a header with a key and recover the key's address; any change breaks the seal.
#[test]
fn clique_seal_round_trip() {
    let chain = EthereumMock::new("eth-seal", 11, 3);
    let ev = {
        let mut c = chain.clone();
        c.genuine()
    };
    let list = rlp::Rlp::new(&ev.header);
    let signers = chain.signers();
    for item in list.iter() {
        let raw = item.as_raw();
        let h = eth::parse_header(raw).expect("header");
        assert_eq!(h.field_count, 16);
        let who = clique::recover_signer(raw, &h.extra_data).expect("recovers");
        assert_eq!(who, signers[(h.number % 3) as usize]);
        // The seal hash ignores the seal itself.
        let mut unsealed = h.extra_data.clone();
        let n = unsealed.len();
        unsealed[n - 65..].fill(0);
        assert_ne!(unsealed, h.extra_data);
    }
    // Known-answer: key 1's address (secp256k1 generator) is 0x7e5f4552….
    let one = {
        let mut k = [0u8; 32];
        k[31] = 1;
        k256::ecdsa::SigningKey::from_slice(&k).expect("key")
    };
    assert_eq!(
        hex::encode(clique::address(one.verifying_key())),
        "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
    );
    // Round trip over the mock's first header with key 1.
    let first = list.at(0).expect("first").as_raw().to_vec();
    let seal = clique::seal(&one, &first).expect("seal");
    let h = eth::parse_header(&first).expect("header");
    let mut extra = h.extra_data.clone();
    let n = extra.len();
    extra[n - 65..].copy_from_slice(&seal);
    // Recovery uses the seal in `extra` and the seal hash of the header (seal excluded).
    assert_eq!(
        clique::recover_signer(&first, &extra).expect("recovers"),
        clique::address(one.verifying_key())
    );
    let genesis = chain.genesis();
    assert_eq!(
        chain.config().expect("config").genesis_hash,
        keccak256(&[&genesis])
    );
}

/// A trie node of the proof re-tagged from a byte string to a list of the same length
/// (`b9…` → `f9…`) is other evidence bytes for the same proof: refused, not read as the string
/// (which `rlp::Rlp::data` does for a list too).
#[test]
fn a_proof_node_retagged_as_a_list_is_refused() {
    let mut chain = EthereumMock::new("eth-private", 1337, 4);
    let mut a = chain.adapter().expect("adapter");
    let good = chain.genuine();
    a.verify_event(&good).expect("genuine");
    let outer = rlp::Rlp::new(&good.proof)
        .payload_info()
        .expect("proof list")
        .header_len;
    let first = good.proof[outer];
    assert!((0x80..=0xbf).contains(&first), "node tag {first:#x}");
    let mut retagged = good.clone();
    retagged.proof[outer] = first + 0x40;
    let err = a
        .verify_event(&retagged)
        .expect_err("a list where a trie node's bytes are");
    assert!(err.to_string().contains("proof"), "{err}");
}

/// Each clique header costs a signature recovery, and evidence needs at most the event's block
/// and `max(quorum − 1, confirmations)` children (any `quorum` consecutive blocks have distinct
/// signers): a list longer than twice that is refused before any seal is checked. Before, a
/// piece of evidence could carry 1,024 headers, ~1,024 recoveries (~0.2 s of a core) each time.
#[test]
fn a_clique_header_list_longer_than_evidence_needs_is_refused() {
    let chain = EthereumMock::new("eth-long", 1337, 4);
    let mut a = chain.adapter().expect("adapter");
    let max = a.config().max_evidence_headers();
    assert_eq!(max, 2 * 3, "4 signers: quorum 3, 2 confirmations");
    chain.lock("elsewhere", clique::Address::default(), "bob", "USDT", 7);
    let (_, locators) = chain.produce_block().expect("block");
    for _ in 0..max {
        chain.produce_block().expect("block");
    }
    let header_count = |ev: &meridian_adapters::Evidence| {
        rlp::Rlp::new(&ev.header)
            .item_count()
            .expect("a header list")
    };
    let fits = chain
        .evidence_with_children(&locators[0], max - 1)
        .expect("evidence");
    assert_eq!(header_count(&fits), max);
    a.verify_event(&fits)
        .expect("the longest list allowed verifies");
    let too_long = chain
        .evidence_with_children(&locators[0], max)
        .expect("evidence");
    assert_eq!(header_count(&too_long), max + 1);
    let err = a
        .verify_event(&too_long)
        .expect_err("one header past the cap");
    assert!(
        matches!(&err, AdapterError::Malformed { what: "header", reason } if reason.contains("at most 6")),
        "{err}"
    );
}
