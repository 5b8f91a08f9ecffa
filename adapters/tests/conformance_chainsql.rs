//! The conformance kit on the ChainSQL adapter, and the adapter's verification functions on real
//! XRP Ledger vectors.

use meridian_adapters::chainsql::codec::{self, Validation};
use meridian_adapters::chainsql::{check_success, ChainSqlMock, Validators};
use meridian_adapters::conformance;
use meridian_adapters::proofs::xrpl::{self, LedgerHeader, XrplHash};

fn vector(path: &str) -> serde_json::Value {
    let p = format!("{}/../tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&p).expect("vector file");
    serde_json::from_str(&text).expect("vector json")
}

fn hexb(v: &serde_json::Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    hex::decode(s.trim_start_matches("0x")).expect("hex")
}

fn h32(v: &serde_json::Value) -> [u8; 32] {
    <[u8; 32]>::try_from(hexb(v).as_slice()).expect("32 bytes")
}

#[test]
fn chainsql_mock_passes_the_kit_sha512half() {
    let report = conformance::run(&mut ChainSqlMock::new(
        "chainsql-conf",
        77,
        XrplHash::Sha512Half,
    ));
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

#[test]
fn chainsql_mock_passes_the_kit_sm3() {
    let report = conformance::run(&mut ChainSqlMock::new("chainsql-gm", 78, XrplHash::Sm3));
    assert!(report.failures().is_empty(), "\n{report}");
}

#[test]
fn headers_advance_the_light_client_and_deliveries_apply_once() {
    use meridian_adapters::conformance::ConformanceChain;
    let mut chain = ChainSqlMock::new("chainsql-lc", 5, XrplHash::Sha512Half);
    let mut a = chain.adapter().expect("adapter");
    let e1 = chain.genuine();
    let e2 = chain.genuine();
    let h1 = a.verify_header(&e1.header).expect("first header");
    let h2 = a.verify_header(&e2.header).expect("next header");
    assert_eq!(h2.height, h1.height + 1);
    assert!(a.verify_header(&e1.header).is_err(), "going back is a fork");
    let state = a.light_client_state();
    let mut b = chain.adapter().expect("adapter");
    b.restore_light_client(&state).expect("restore");
    let ev = b.verify_event(&e2).expect("event");
    assert_eq!(ev.amount, 7_000_000);
    assert_eq!(ev.destination, "elsewhere");
    assert_eq!(ev.recipient, "bob");
    assert_eq!(ev.asset, "ZXC");
    assert!(ev.sender.starts_with('r'));

    let d = meridian_adapters::Delivery {
        message_id: [7; 32],
        refund: false,
        account: "bob".into(),
        asset: "ZXC".into(),
        amount: 5,
        refchain_height: 1,
        deadline_ms: u64::MAX,
    };
    assert!(a.applied(&d.message_id).expect("applied").is_none());
    let r1 = a.deliver(&d).expect("deliver");
    assert!(!r1.duplicate);
    let r2 = a.deliver(&d).expect("deliver again");
    assert!(r2.duplicate);
    assert_eq!(r1.reference, r2.reference);
    assert!(a.applied(&d.message_id).expect("applied").is_some());
    // The release transaction lands in the next ledger.
    chain.close_ledger(Validators::All).expect("close");
}

#[test]
fn real_ledger_38129_header_and_tx_proof() {
    let v = vector("xrpl-ledger-header/mainnet-38129.json");
    let header = LedgerHeader {
        seq: u32::try_from(v["seq"].as_u64().expect("seq")).expect("u32"),
        total_coins: v["total_coins"]
            .as_str()
            .expect("coins")
            .parse()
            .expect("coins number"),
        parent_hash: h32(&v["parent_hash"]),
        transaction_hash: h32(&v["transaction_hash"]),
        account_hash: h32(&v["account_hash"]),
        parent_close_time: u32::try_from(v["parent_close_time"].as_u64().expect("t")).expect("u32"),
        close_time: u32::try_from(v["close_time"].as_u64().expect("t")).expect("u32"),
        close_time_resolution: u8::try_from(v["close_time_resolution"].as_u64().expect("r"))
            .expect("u8"),
        close_flags: u8::try_from(v["close_flags"].as_u64().expect("f")).expect("u8"),
    };
    // Through the adapter's header encoding: the 118-byte preimage round-trips and hashes right.
    let enc = codec::encode_evidence_header(&header, &[]);
    let (decoded, vals) = codec::decode_evidence_header(&enc).expect("decodes");
    assert!(vals.is_empty());
    assert_eq!(decoded, header);
    assert_eq!(decoded.hash(XrplHash::Sha512Half), h32(&v["hash"]));
    let mut forged = enc.clone();
    forged[115] ^= 1;
    let (f, _) = codec::decode_evidence_header(&forged).expect("decodes");
    assert_ne!(f.hash(XrplHash::Sha512Half), h32(&v["hash"]));

    // The ledger's one transaction, proven against the header's transaction root.
    let p = vector("xrpl-shamap/mainnet-38129-tx.json");
    let tx = hexb(&p["leaf"]["tx"]);
    let meta = hexb(&p["leaf"]["meta"]);
    let key = h32(&p["key"]);
    assert_eq!(h32(&p["root"]), header.transaction_hash);
    let txid = xrpl::txid(XrplHash::Sha512Half, &tx);
    assert_eq!(txid, key);
    let proof: Vec<[[u8; 32]; 16]> = p["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|node| {
            let mut out = [[0u8; 32]; 16];
            for (i, c) in node.as_array().expect("node").iter().enumerate() {
                out[i] = h32(c);
            }
            out
        })
        .collect();
    let bytes = codec::encode_proof(&proof);
    let path = codec::decode_proof(&bytes).expect("proof decodes");
    let event = codec::encode_event(&tx, &meta);
    let (etx, emeta) = codec::decode_event(&event).expect("event decodes");
    let leaf = xrpl::tx_leaf_hash(XrplHash::Sha512Half, etx, emeta, &txid).expect("leaf");
    xrpl::verify_path(
        XrplHash::Sha512Half,
        &txid,
        &leaf,
        &path,
        &header.transaction_hash,
    )
    .expect("real proof verifies");
    // The real transaction and metadata parse with the adapter's STObject parser: a Payment,
    // tesSUCCESS.
    let fields = codec::parse_object(&tx, "tx").expect("tx parses");
    assert_eq!(
        codec::req_bytes(&fields, codec::SF_TRANSACTION_TYPE, "tx").expect("type"),
        [0, 0]
    );
    let amount = codec::req_bytes(&fields, codec::SF_AMOUNT, "tx").expect("amount");
    assert_eq!(
        codec::native_drops(amount, "tx").expect("native"),
        Some(10_000_000_000)
    );
    check_success(&meta).expect("tesSUCCESS");
    // Tampered metadata no longer proves.
    let mut bad = meta.clone();
    bad[5] ^= 1;
    let leaf = xrpl::tx_leaf_hash(XrplHash::Sha512Half, &tx, &bad, &txid).expect("leaf");
    assert!(xrpl::verify_path(
        XrplHash::Sha512Half,
        &txid,
        &leaf,
        &path,
        &header.transaction_hash
    )
    .is_err());
}

#[test]
fn validations_round_trip_and_bind_their_fields() {
    use ed25519_dalek::SigningKey;
    let k = SigningKey::from_bytes(&[9; 32]);
    let mut v = Validation {
        network_id: Some(1),
        flags: codec::VF_FULL_VALIDATION,
        ledger_seq: 38129,
        signing_time: 410424210,
        ledger_hash: [3; 32],
        signing_pub_key: vec![],
        signature: vec![],
    };
    v.sign(XrplHash::Sha512Half, &k).expect("sign");
    let bytes = v.encode().expect("encode");
    assert_eq!(bytes[0], 0x21, "sfNetworkID first in canonical order");
    let (back, h) = Validation::parse(&bytes, XrplHash::Sha512Half).expect("parse");
    assert_eq!(back, v);
    let sig = ed25519_dalek::Signature::from_slice(&back.signature).expect("sig");
    k.verifying_key().verify_strict(&h, &sig).expect("verifies");
    let mut t = bytes.clone();
    t[7] ^= 1; // a byte of sfLedgerSequence
    let (_, h2) = Validation::parse(&t, XrplHash::Sha512Half).expect("parse");
    assert!(k.verifying_key().verify_strict(&h2, &sig).is_err());
}

#[test]
fn quorum_is_four_of_five_and_duplicates_do_not_count() {
    use meridian_adapters::conformance::ConformanceChain;
    use meridian_adapters::AdapterError;
    assert_eq!(meridian_adapters::chainsql::quorum(5), 4);
    let chain = ChainSqlMock::new("chainsql-q", 9, XrplHash::Sha512Half);
    let four = chain.lock_and_close(Validators::First(4));
    let mut a = chain.adapter().expect("adapter");
    a.verify_event(&four).expect("4 of 5 is final");
    let three = chain.lock_and_close(Validators::First(3));
    assert!(matches!(
        a.verify_event(&three),
        Err(AdapterError::BelowQuorum {
            valid: 3,
            needed: 4
        })
    ));
    // One genuine validation repeated five times counts once.
    let (h, vals) = codec::decode_evidence_header(&four.header).expect("header");
    let dup = vec![vals[0].to_vec(); 5];
    let ev = meridian_adapters::Evidence {
        header: codec::encode_evidence_header(&h, &dup),
        ..four.clone()
    };
    assert!(matches!(
        a.verify_event(&ev),
        Err(AdapterError::BelowQuorum { valid: 1, .. })
    ));
    // Wrong network and impostors are named.
    let wrong = chain.lock_and_close(Validators::Network(10));
    assert!(matches!(
        a.verify_event(&wrong),
        Err(AdapterError::WrongChain { .. })
    ));
    let imp = chain.lock_and_close(Validators::Impostors);
    assert!(matches!(
        a.verify_event(&imp),
        Err(AdapterError::UnknownValidator(_))
    ));
}

#[test]
fn failed_transactions_are_not_locks() {
    let mut w = codec::StWriter::default();
    w.u32(codec::SF_TRANSACTION_INDEX, 0)
        .u8(codec::SF_TRANSACTION_RESULT, 101); // tecCLAIM
    assert!(check_success(&w.0).is_err());
    let mut ok = codec::StWriter::default();
    ok.u32(codec::SF_TRANSACTION_INDEX, 0)
        .u8(codec::SF_TRANSACTION_RESULT, 0);
    check_success(&ok.0).expect("tesSUCCESS");
}

#[test]
fn generated_sm3_tx_vector_verifies() {
    let p = vector("xrpl-shamap/gen-sm3-tx-d2-43709bc6.json");
    assert_eq!(p["hash_alg"], "sm3");
    let tx = hexb(&p["leaf"]["tx"]);
    let meta = hexb(&p["leaf"]["meta"]);
    let key = h32(&p["key"]);
    let proof: Vec<[[u8; 32]; 16]> = p["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|node| {
            let mut out = [[0u8; 32]; 16];
            for (i, c) in node.as_array().expect("node").iter().enumerate() {
                out[i] = h32(c);
            }
            out
        })
        .collect();
    let path = codec::decode_proof(&codec::encode_proof(&proof)).expect("decodes");
    let leaf = xrpl::tx_leaf_hash(XrplHash::Sm3, &tx, &meta, &key).expect("leaf");
    xrpl::verify_path(XrplHash::Sm3, &key, &leaf, &path, &h32(&p["root"])).expect("verifies");
}
