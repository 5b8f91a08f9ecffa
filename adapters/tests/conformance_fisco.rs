//! The conformance kit on the FISCO BCOS 2.x adapter, and a real WeBank proof through the
//! adapter's proof path.

use meridian_adapters::conformance::{self, ConformanceChain};
use meridian_adapters::fisco::{
    decode_proof, encode_proof, FiscoChain, FiscoMock, Misbehaviour, SignedHeader,
};
use meridian_adapters::proofs::fisco::{verify_v2, FiscoHash, Level};
use meridian_adapters::{AdapterError, ChainAdapter, Delivery};

#[test]
fn fisco_adapter_passes_the_kit() {
    let report = conformance::run(&mut FiscoMock::new("fisco-conf"));
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

#[test]
fn rejections_name_the_reason() {
    let mut m = FiscoMock::new("fisco-why");
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    let ev = a.verify_event(&e).expect("genuine");
    assert_eq!(ev.destination, "elsewhere");
    assert_eq!(ev.sender, format!("0x{}", "a1".repeat(20)));
    assert_eq!(
        (ev.recipient.as_str(), ev.asset.as_str(), ev.amount),
        ("bob", "USDT", 7)
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
        Err(AdapterError::WrongChain { .. })
    ));
    assert!(matches!(
        a.verify_event(&m.non_final()),
        Err(AdapterError::NotFinal { .. })
    ));
}

#[test]
fn duplicate_and_out_of_range_sealer_indices_do_not_count() {
    let mut m = FiscoMock::new("fisco-dup");
    let mut a = m.adapter().expect("adapter");
    let mut e = m.genuine();
    let mut sh = SignedHeader::decode(&e.header).expect("decodes");
    let first = sh.sigs[0];
    // Two valid signatures, the first repeated, plus one at an index past the sealer list.
    sh.sigs = vec![first, first, sh.sigs[1], (9, sh.sigs[2].1)];
    e.header = sh.encode();
    assert!(matches!(
        a.verify_event(&e),
        Err(AdapterError::BelowQuorum {
            valid: 2,
            needed: 3
        })
    ));
}

#[test]
fn a_block_still_collecting_signatures_is_not_final() {
    let chain = FiscoChain::new("fisco-late", 1, 1, b"sealer", 4);
    let mut a = chain.adapter().expect("adapter");
    chain.set_misbehaviour(Misbehaviour {
        signers: Some(4),
        pending: true,
    });
    chain.lock("dest", [1; 20], "r", "A", 5);
    let loc = chain.produce_block(10);
    let pending = chain.evidence(&loc[0]).expect("evidence");
    assert!(matches!(
        a.verify_event(&pending),
        Err(AdapterError::NotFinal { .. })
    ));
}

#[test]
fn header_chain_deliveries_and_state() {
    let chain = FiscoChain::new("fisco-hdr", 1, 1, b"sealer", 4);
    let mut a = chain.adapter().expect("adapter");
    chain.lock("dest", [1; 20], "r", "A", 5);
    let l1 = chain.produce_block(10);
    chain.lock("dest", [1; 20], "r", "A", 6);
    let l2 = chain.produce_block(20);
    let h1 = chain.evidence(&l1[0]).expect("ev").header;
    let h2 = chain.evidence(&l2[0]).expect("ev").header;
    assert!(matches!(
        a.verify_header(&h2),
        Err(AdapterError::Fork { .. })
    ));
    assert_eq!(a.verify_header(&h1).expect("h1").height, 1);
    let state = a.light_client_state();
    assert_eq!(a.verify_header(&h2).expect("h2").height, 2);
    a.restore_light_client(&state).expect("restore");
    assert_eq!(a.verify_header(&h2).expect("h2 again").height, 2);

    let d = Delivery {
        message_id: [7; 32],
        refund: false,
        account: "bob".into(),
        asset: "A".into(),
        amount: 5,
        refchain_height: 3,
        deadline_ms: u64::MAX,
    };
    let call = a.encode_delivery(&d).expect("encodes");
    assert_eq!(call.len(), 4 + 32 * 7 + 64 * 2);
    assert!(a.applied(&d.message_id).expect("rpc").is_none());
    let r1 = a.deliver(&d).expect("delivers");
    assert!(!r1.duplicate);
    let r2 = a.deliver(&d).expect("delivers again");
    assert!(r2.duplicate && r2.reference == r1.reference);
    assert!(a.applied(&d.message_id).expect("rpc").is_some());
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("hex")
}

/// WeBank's published `getTransactionByHashWithProof` example (tx 140) goes through the
/// adapter's proof path: the RPC levels in Meridian's `Evidence.proof` encoding, decoded,
/// then `verify_v2` — exactly as `FiscoAdapter::verify_event` checks a receipt proof.
#[test]
fn real_webank_vector_verifies_through_the_adapter_proof_path() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/fisco-v2/webank-doc-merkle-proof-tx-140.json"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector")).expect("json");
    let list = |x: &serde_json::Value| -> Vec<Vec<u8>> {
        x.as_array()
            .expect("array")
            .iter()
            .map(|h| unhex(h.as_str().expect("hex string")))
            .collect()
    };
    let levels: Vec<Level> = v["proof"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| Level {
            left: list(&l["left"]),
            right: list(&l["right"]),
        })
        .collect();
    let h32 = |k: &str| -> [u8; 32] {
        unhex(v[k].as_str().expect("hash"))
            .try_into()
            .expect("32 bytes")
    };
    let index = v["index"].as_u64().expect("index");
    let (leaf, root) = (h32("leaf_hash"), h32("root"));
    let bytes = encode_proof(&levels);
    let decoded = decode_proof(&bytes).expect("decodes");
    assert_eq!(decoded, levels);
    verify_v2(FiscoHash::Keccak256, index, &leaf, &root, &decoded).expect("verifies");
    // Tampered: another index, another leaf, and every byte flip of the encoded proof.
    assert!(verify_v2(FiscoHash::Keccak256, index + 1, &leaf, &root, &decoded).is_err());
    let mut other = leaf;
    other[0] ^= 1;
    assert!(verify_v2(FiscoHash::Keccak256, index, &other, &root, &decoded).is_err());
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 1;
        let ok = decode_proof(&b)
            .map(|l| verify_v2(FiscoHash::Keccak256, index, &leaf, &root, &l).is_ok())
            .unwrap_or(false);
        assert!(!ok, "flip of proof byte {i} accepted");
    }
}

#[test]
fn a_locator_naming_another_log_of_the_receipt_is_refused() {
    use meridian_adapters::fisco::{decode_locator, encode_locator};
    let mut m = FiscoMock::new("fisco-log");
    let mut a = m.adapter().expect("adapter");
    let mut e = m.genuine();
    let (n, tx, log) = decode_locator(&e.locator).expect("locator");
    assert_eq!(log, 1);
    // Log 0 is the token's Transfer into the bridge, not the bridge's Locked event.
    e.locator = encode_locator(n, tx, 0);
    assert!(matches!(
        a.verify_event(&e),
        Err(AdapterError::Malformed {
            what: "lock event",
            ..
        })
    ));
    e.locator = encode_locator(n, tx, 2);
    assert!(matches!(
        a.verify_event(&e),
        Err(AdapterError::LocatorMismatch)
    ));
    assert!(a.restore_light_client(&[0xc0]).is_err());
}
