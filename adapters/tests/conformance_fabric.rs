//! The conformance kit on the Hyperledger Fabric adapter, endorsement checks, and the real
//! Fabric blocks of tests/vectors/fabric-block through the adapter's header/data hashing.

use meridian_adapters::conformance::{self, ConformanceChain};
use meridian_adapters::fabric::{
    decode_release, Block, BlockHeader, ChannelHeader, EndorsedAction, Envelope, FabricChain,
    FabricMock, Identity, Metadata, Misbehaviour, ResponsePayload, SignatureHeader,
};
use meridian_adapters::{AdapterError, ChainAdapter, Delivery};

#[test]
fn fabric_adapter_passes_the_kit() {
    let report = conformance::run(&mut FabricMock::new("fabric-conf"));
    assert!(report.failures().is_empty(), "\n{report}");
    assert!(report.checks.len() >= 11, "\n{report}");
}

#[test]
fn rejections_name_the_reason() {
    let mut m = FabricMock::new("fabric-why");
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    let ev = a.verify_event(&e).expect("genuine");
    assert_eq!(ev.destination, "elsewhere");
    assert_eq!(ev.sender, "x509::CN=alice::CN=ca.org1");
    assert_eq!(
        (ev.recipient.as_str(), ev.asset.as_str(), ev.amount),
        ("bob", "USDT", 7)
    );
    assert!(matches!(
        a.verify_event(&m.below_quorum()),
        Err(AdapterError::BelowQuorum {
            valid: 1,
            needed: 2
        })
    ));
    assert!(matches!(
        a.verify_event(&m.unknown_validator()),
        Err(AdapterError::UnknownValidator(_))
    ));
    let wrong = m.wrong_chain();
    assert!(matches!(
        a.verify_event(&wrong),
        Err(AdapterError::WrongChain { .. })
    ));
    assert!(matches!(
        a.verify_event(&m.non_final()),
        Err(AdapterError::NotFinal { .. })
    ));
    assert!(matches!(
        a.verify_event(&m.forged_header()),
        Err(AdapterError::BelowQuorum { valid: 0, .. })
    ));
}

#[test]
fn an_endorsement_less_transaction_is_rejected_despite_its_valid_flag() {
    let mut m = FabricMock::new("fabric-endorse");
    let mut a = m.adapter().expect("adapter");
    let e = m.unendorsed();
    // The block is final and the (unsigned) validity flag of the transaction says VALID.
    let b = Block::decode(&e.header).expect("block");
    assert!(b.metadata[2].iter().all(|f| *f == 0));
    let env = Envelope::decode(&e.event).expect("envelope");
    let actions = EndorsedAction::decode_transaction(&env.data).expect("tx");
    assert!(actions[0].endorsements.is_empty());
    assert!(matches!(
        a.verify_event(&e),
        Err(AdapterError::Malformed {
            what: "endorsements",
            ..
        })
    ));
    // One peer org is below the 2-of-3 endorsement policy too.
    m.chain.set_misbehaviour(Misbehaviour {
        endorsers: Some(1),
        ..Misbehaviour::default()
    });
    let one = FabricMock::lock_on(&m.chain);
    assert!(matches!(
        a.verify_event(&one),
        Err(AdapterError::Malformed {
            what: "endorsements",
            ..
        })
    ));
}

#[test]
fn a_flag_set_to_invalid_is_refused_and_duplicate_orderer_signatures_count_once() {
    let mut m = FabricMock::new("fabric-flags");
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    let mut b = Block::decode(&e.header).expect("block");
    let i = usize::try_from(u64::from_be_bytes(
        e.locator[8..].try_into().expect("8 bytes"),
    ))
    .expect("index");
    b.metadata[2][i] = 11; // MVCC_READ_CONFLICT
    let mut flagged = e.clone();
    flagged.header = b.encode();
    assert!(a.verify_event(&flagged).is_err());

    let mut b = Block::decode(&e.header).expect("block");
    let mut md = Metadata::decode(&b.metadata[0]).expect("metadata");
    let first = md.signatures[0].clone();
    md.signatures = vec![first.clone(), first.clone(), first];
    b.metadata[0] = md.encode();
    let mut dup = e.clone();
    dup.header = b.encode();
    assert!(matches!(
        a.verify_event(&dup),
        Err(AdapterError::BelowQuorum {
            valid: 1,
            needed: 2
        })
    ));
    a.verify_event(&e).expect("the original still verifies");
}

#[test]
fn header_chain_deliveries_and_state() {
    let chain = FabricChain::new("fabric-hdr", b"orderer", b"peer");
    let mut a = chain.adapter().expect("adapter");
    chain.lock("dest", "alice", "r", "A", 5);
    let l1 = chain.produce_block();
    chain.lock("dest", "alice", "r", "A", 6);
    let l2 = chain.produce_block();
    let h1 = chain.evidence(&l1[0]).expect("ev").header;
    let h2 = chain.evidence(&l2[0]).expect("ev").header;
    assert!(matches!(
        a.verify_header(&h2),
        Err(AdapterError::Fork { .. })
    ));
    assert_eq!(a.verify_header(&h1).expect("h1").height, 1);
    let state = a.light_client_state();
    let info = a.verify_header(&h2).expect("h2");
    assert_eq!(info.height, 2);
    assert_eq!(
        info.hash,
        Block::decode(&h2).expect("block").header.hash().to_vec()
    );
    a.restore_light_client(&state).expect("restore");
    assert_eq!(a.verify_header(&h2).expect("h2 again").height, 2);
    assert!(a.restore_light_client(&[1, 2]).is_err());

    let d = Delivery {
        message_id: [7; 32],
        refund: false,
        account: "bob".into(),
        asset: "A".into(),
        amount: 5,
        refchain_height: 3,
        deadline_ms: u64::MAX,
    };
    let payload = a.encode_delivery(&d).expect("encodes");
    let (name, args) = decode_release(&payload).expect("decodes");
    assert_eq!(name, "bridge");
    assert_eq!(args[0], b"release");
    assert_eq!(args[1], hex::encode([7u8; 32]).into_bytes());
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

#[test]
fn a_relayed_transaction_is_a_replay_at_any_locator() {
    let mut m = FabricMock::new("fabric-replay");
    let mut a = m.adapter().expect("adapter");
    let e = m.genuine();
    a.verify_event(&e).expect("genuine");
    a.mark_relayed(&e.locator);
    assert!(matches!(a.verify_event(&e), Err(AdapterError::Replay(_))));
}

// ---- Real Fabric blocks ------------------------------------------------------------------

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("hex")
}

struct Vector {
    name: String,
    number: u64,
    previous_hash: Vec<u8>,
    data: Vec<Vec<u8>>,
    data_hash: Vec<u8>,
    header_hash: Vec<u8>,
}

fn vectors(sub: &str) -> Vec<Vector> {
    let dir = format!(
        "{}/../tests/vectors/fabric-block/{sub}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("vector dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).expect("vector");
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(v["format"], "fabric-block", "{name}");
            let s = |k: &str| unhex(v[k].as_str().expect("hex string"));
            Vector {
                number: v["number"].as_u64().expect("number"),
                previous_hash: s("previous_hash"),
                data: v["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .map(|d| unhex(d.as_str().expect("hex")))
                    .collect(),
                data_hash: s("data_hash"),
                header_hash: s("header_hash"),
                name,
            }
        })
        .collect()
}

/// The adapter's own checks: `BlockHeader::hash` (DER, `header_hash`) and the data hash
/// (`meridian_proofs::fabric::data_hash`), exactly what `FabricAdapter` computes.
fn adapter_accepts(v: &Vector) -> bool {
    let header = BlockHeader {
        number: v.number,
        previous_hash: v.previous_hash.clone(),
        data_hash: v.data_hash.clone(),
    };
    let dh = meridian_adapters::proofs::fabric::data_hash(&v.data);
    let via_proofs = match (
        v.data_hash.as_slice().try_into(),
        v.header_hash.as_slice().try_into(),
    ) {
        (Ok(d), Ok(h)) => meridian_adapters::proofs::fabric::verify_block(
            v.number,
            &v.previous_hash,
            &v.data,
            &d,
            &h,
        )
        .is_ok(),
        _ => false,
    };
    let via_adapter = dh.as_slice() == v.data_hash && header.hash().as_slice() == v.header_hash;
    assert_eq!(via_adapter, via_proofs, "{}", v.name);
    via_adapter
}

#[test]
fn real_fabric_blocks_verify_with_the_adapters_hashing() {
    let all = vectors("");
    let real: Vec<&Vector> = all
        .iter()
        .filter(|v| v.name.starts_with("sample-prod-"))
        .collect();
    assert_eq!(real.len(), 7);
    for v in &all {
        assert!(adapter_accepts(v), "{} rejected", v.name);
    }
    // The real blocks 1..7 chain: each previous_hash is the DER hash of the block before.
    for w in real.windows(2) {
        assert_eq!(w[1].number, w[0].number + 1);
        assert_eq!(w[1].previous_hash, w[0].header_hash, "{}", w[1].name);
    }
    // Block 0's header hash (SOURCES.md) is block 1's previous hash.
    assert_eq!(
        hex::encode(&real[0].previous_hash),
        "c4a1491ab9a62e9125b3cbab3a782ea1f56e24c608620d85bb940585d059a2a1"
    );
    let invalid = vectors("invalid");
    assert!(invalid.len() >= 10);
    for v in &invalid {
        assert!(!adapter_accepts(v), "{} accepted", v.name);
    }
}

/// The real envelopes decode with the adapter's protobuf field numbers, and their endorsed
/// proposal hash is `sha256(channel_header ‖ signature_header ‖ chaincode_proposal_payload)`
/// and their tx id `hex(sha256(nonce ‖ creator))`, as the adapter requires.
#[test]
fn real_envelopes_decode_with_the_adapters_field_numbers() {
    let mut endorsed = 0;
    for v in vectors("")
        .iter()
        .filter(|v| v.name.starts_with("sample-prod-"))
    {
        for d in &v.data {
            let env = Envelope::decode(d).expect("envelope");
            assert_eq!(env.encode(), *d, "{}: canonical re-encoding", v.name);
            let ch = ChannelHeader::decode(&env.channel_header).expect("channel header");
            assert_eq!(ch.channel_id, "mychannel", "{}", v.name);
            let sh = SignatureHeader::decode(&env.signature_header).expect("sig header");
            let creator = Identity::decode(&sh.creator).expect("creator");
            assert!(!creator.mspid.is_empty());
            if ch.typ != 3 {
                continue;
            }
            assert_eq!(
                ch.tx_id,
                meridian_adapters::fabric::compute_tx_id(&sh.nonce, &sh.creator),
                "{}",
                v.name
            );
            let actions = EndorsedAction::decode_transaction(&env.data).expect("transaction");
            assert_eq!(actions.len(), 1, "{}", v.name);
            let a = &actions[0];
            let rp = ResponsePayload::decode(&a.proposal_response_payload).expect("prp");
            let h = meridian_adapters::proofs::hash::sha256(&[
                &env.channel_header,
                &env.signature_header,
                &a.proposal_payload,
            ]);
            assert_eq!(rp.proposal_hash, h.to_vec(), "{}", v.name);
            assert!(!a.endorsements.is_empty(), "{}", v.name);
            for e in &a.endorsements {
                let id = Identity::decode(&e.endorser).expect("endorser");
                assert!(!id.mspid.is_empty());
                // Real identities carry a PEM certificate (Meridian's mock: a SEC1 key).
                assert!(id.id_bytes.starts_with(b"-----BEGIN"), "{}", v.name);
                assert!(e.signature.first() == Some(&0x30), "DER signature");
            }
            endorsed += 1;
        }
    }
    assert!(
        endorsed > 0,
        "no endorser transaction among the real blocks"
    );
}
