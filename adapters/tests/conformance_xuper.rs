//! The conformance kit on the XuperChain adapter, and the committed xuper merkle vectors
//! through the adapter's proof path.

use meridian_adapters::conformance::{self, ConformanceChain};
use meridian_adapters::proofs::xuper::verify;
use meridian_adapters::xuper::{
    decode_proof, parse_pubkey, pubkey_json, XuperChain, XuperMock, XuperProof,
};
use meridian_adapters::{AdapterError, ChainAdapter, Delivery};

#[test]
fn xuper_adapter_passes_the_kit() {
    let report = conformance::run(&mut XuperMock::new("xuper"));
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

#[test]
fn rejections_name_the_reason() {
    let mut m = XuperMock::new("xuper");
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    let ev = a.verify_event(&e).expect("genuine");
    assert_eq!(ev.destination, "elsewhere");
    assert_eq!(
        (ev.recipient.as_str(), ev.asset.as_str(), ev.amount),
        ("bob", "XUPER", 7)
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
    assert!(matches!(
        a.verify_event(&m.forged_header()),
        Err(AdapterError::Malformed { what: "header", .. })
    ));
}

#[test]
fn a_relayed_transaction_is_refused_under_another_locator() {
    let mut m = XuperMock::new("xuper");
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    a.verify_event(&e).expect("genuine");
    a.mark_relayed(&e.locator);
    assert!(matches!(a.verify_event(&e), Err(AdapterError::Replay(_))));
}

#[test]
fn pubkey_json_round_trips() {
    let cfg = XuperChain::new("xuper", b"k", 4).config();
    for k in &cfg.validators {
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(k).expect("key");
        let s = pubkey_json(&vk);
        assert!(s.starts_with(r#"{"Curvname":"P-256","X":"#));
        assert_eq!(parse_pubkey(&s).expect("parses"), vk);
    }
}

#[test]
fn header_chain_deliveries_and_state() {
    let chain = XuperChain::new("xuper", b"validator", 4);
    let mut a = chain.adapter().expect("adapter");
    for t in 1..=5 {
        chain.produce_block(1_700_000_000_000_000_000 + t);
    }
    let h1 = chain.header(1, 2).expect("h1");
    let h2 = chain.header(2, 2).expect("h2");
    assert!(matches!(
        a.verify_header(&h2),
        Err(AdapterError::Fork { .. })
    ));
    assert!(matches!(
        a.verify_header(&chain.header(1, 0).expect("h1 alone")),
        Err(AdapterError::NotFinal { .. })
    ));
    assert_eq!(a.verify_header(&h1).expect("h1").height, 1);
    let state = a.light_client_state();
    assert_eq!(a.verify_header(&h2).expect("h2").height, 2);
    a.restore_light_client(&state).expect("restore");
    assert_eq!(a.verify_header(&h2).expect("h2 again").height, 2);
    assert!(a.restore_light_client(b"{}").is_err());

    let d = Delivery {
        message_id: [7; 32],
        refund: false,
        account: "bob".into(),
        asset: "XUPER".into(),
        amount: 5,
        refchain_height: 3,
        deadline_ms: u64::MAX,
    };
    let call: serde_json::Value =
        serde_json::from_slice(&a.encode_delivery(&d).expect("encodes")).expect("json");
    assert_eq!(call["method_name"], "release");
    assert!(a.applied(&d.message_id).expect("rpc").is_none());
    let r1 = a.deliver(&d).expect("delivers");
    assert!(!r1.duplicate);
    let r2 = a.deliver(&d).expect("delivers again");
    assert!(r2.duplicate && r2.reference == r1.reference);
    assert!(a.applied(&d.message_id).expect("rpc").is_some());
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

fn vector_dir(sub: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors/xuper")
        .join(sub)
}

/// A committed vector in the adapter's `Evidence.proof` encoding, decoded with the adapter's
/// `decode_proof`, then checked with `verify` exactly as `XuperAdapter::verify_event` does.
fn through_adapter_path(v: &serde_json::Value) -> Result<(), String> {
    let strip = |s: &str| s.trim_start_matches("0x").to_string();
    let txid: [u8; 32] = hex::decode(strip(v["txid"].as_str().ok_or("txid")?))
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "txid length")?;
    let root: [u8; 32] = hex::decode(strip(v["root"].as_str().ok_or("root")?))
        .map_err(|e| e.to_string())?
        .try_into()
        .map_err(|_| "root length")?;
    let proof = XuperProof {
        index: v["index"].as_u64().ok_or("index")?,
        tx_count: v["tx_count"].as_u64().ok_or("tx_count")?,
        proof: v["proof"]
            .as_array()
            .ok_or("proof")?
            .iter()
            .map(|p| p.as_str().map(strip))
            .collect(),
    };
    let bytes = serde_json::to_vec(&proof).map_err(|e| e.to_string())?;
    let (index, count, sibs) = decode_proof(&bytes).map_err(|e| e.to_string())?;
    verify(&txid, index, count, &sibs, &root).map_err(|e| e.to_string())
}

#[test]
fn committed_vectors_verify_through_the_adapter_proof_path() {
    let mut valid = 0;
    for entry in std::fs::read_dir(vector_dir("")).expect("vector dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(v["format"], "xuper");
        assert!(
            through_adapter_path(&v).is_ok(),
            "{}: {:?}",
            path.display(),
            through_adapter_path(&v)
        );
        valid += 1;
    }
    assert!(valid >= 20, "only {valid} vectors");
    let mut invalid = 0;
    for entry in std::fs::read_dir(vector_dir("invalid")).expect("invalid dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert!(
            through_adapter_path(&v).is_err(),
            "{} accepted",
            path.display()
        );
        invalid += 1;
    }
    assert!(invalid >= 10, "only {invalid} invalid vectors");
}

#[test]
fn base58_matches_the_bitcoin_alphabet() {
    use meridian_adapters::xuper::base58;
    assert_eq!(base58(b"hello world"), "StV1DL6CwTryKyV");
    assert_eq!(base58(&[0, 0, 1]), "112");
    assert_eq!(base58(&[]), "");
}

#[test]
fn mock_blocks_hold_several_transactions_and_nil_siblings() {
    let mut m = XuperMock::new("xuper");
    let mut a = m.adapter().expect("adapter");
    let mut nil_seen = false;
    for _ in 0..8 {
        let e = m.genuine();
        let (_, count, sibs) = decode_proof(&e.proof).expect("proof");
        assert!(count >= 2, "a lock block holds fillers too");
        nil_seen |= sibs.iter().any(Option::is_none);
        a.verify_event(&e).expect("genuine");
    }
    assert!(nil_seen, "no proof with a nil sibling");
}

/// XuperChain's well-known test account (`data/keys` of xuperchain/xupercore test suites):
/// its JSON public key parses, re-encodes byte for byte and derives its published address.
#[test]
fn xuperchain_test_account_address() {
    use meridian_adapters::xuper::address;
    let pk = r#"{"Curvname":"P-256","X":74695617477160058757747208220371236837474210247114418775262229497812962582435,"Y":51348715319124770392993866417088542497927816017012182211244120852620959209571}"#;
    let key = parse_pubkey(pk).expect("parses");
    assert_eq!(pubkey_json(&key), pk);
    assert_eq!(address(&key), "dpzuVdosQrF2kmzumhVeFQZa1aYcdgFpN");
}
