//! Every committed vector under `tests/vectors/`: valid documents verify, false claims are
//! rejected, and every single-byte change to any hash, node or leaf of a valid document is
//! rejected as an invalid claim (never accepted, never reported as malformed).

use meridian_proofs::test_utils::{load_malformed, load_vectors, tamper_all};
use meridian_proofs::{document::verify_value, Verdict};

#[test]
fn valid_vectors_verify() {
    let (valid, _) = load_vectors().expect("vectors load");
    assert!(!valid.is_empty(), "no vectors found");
    for v in &valid {
        let r = verify_value(v.doc.clone());
        assert_eq!(r, Ok(Verdict::Valid), "{}", v.path.display());
    }
}

#[test]
fn false_claims_are_invalid() {
    let (_, invalid) = load_vectors().expect("vectors load");
    for v in &invalid {
        let r = verify_value(v.doc.clone());
        assert!(
            matches!(r, Ok(Verdict::Invalid(_))),
            "{}: {r:?}",
            v.path.display()
        );
    }
}

#[test]
fn malformed_documents_are_errors_not_verdicts() {
    for v in load_malformed().expect("vectors load") {
        let r = verify_value(v.doc.clone());
        assert!(r.is_err(), "{}: {r:?}", v.path.display());
    }
}

#[test]
fn every_single_byte_change_is_rejected() {
    let (valid, _) = load_vectors().expect("vectors load");
    let mut checked = 0usize;
    for v in &valid {
        for mask in [0x01u8, 0x80] {
            for t in tamper_all(&v.doc, mask) {
                // EOSIO's legacy merkle overwrites bit 0x80 of byte 0 of every node with its side
                // flag, so the leaf's own top bit never reaches the root: a property of the chain.
                if v.doc["format"] == "eosio-legacy" && t.what == "/leaf[0]" && mask == 0x80 {
                    continue;
                }
                let r = verify_value(t.doc);
                assert!(
                    matches!(r, Ok(Verdict::Invalid(_))),
                    "{} {} ^{mask:#04x}: {r:?}",
                    v.path.display(),
                    t.what
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0);
}
