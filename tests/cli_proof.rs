//! `meridian proof verify` as a black box: the real binary on the committed vectors, on tampered
//! copies of them, and on malformed documents, checking stdout/stderr and the exit code (0/1/2).

use meridian::refchain::finality::{self, FinalityProof};
use meridian_proofs::test_utils::{load_vectors, tamper_all, Vector};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn meridian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_meridian"))
}

/// Run `meridian proof verify -` with `input` on stdin.
fn verify_stdin(input: &[u8]) -> Output {
    verify_stdin_with(&[], input)
}

/// Run `meridian proof verify [extra args] -` with `input` on stdin.
fn verify_stdin_with(extra: &[&str], input: &[u8]) -> Output {
    let mut child = meridian()
        .args(["proof", "verify"])
        .args(extra)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn meridian");
    // A usage error exits before reading its input: a write into the closed pipe then fails,
    // and the exit status says what happened.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("wait meridian")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn first_of_each_format(vs: &[Vector]) -> BTreeMap<String, &Vector> {
    let mut m = BTreeMap::new();
    for v in vs {
        let f = v.doc["format"].as_str().unwrap_or("?").to_string();
        m.entry(f).or_insert(v);
    }
    m
}

#[test]
fn every_valid_vector_file_is_valid() {
    let (valid, _) = load_vectors().expect("vectors");
    assert!(!valid.is_empty());
    for v in &valid {
        let o = meridian()
            .args(["proof", "verify"])
            .arg(&v.path)
            .output()
            .expect("run");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}{}",
            v.path.display(),
            stdout(&o),
            stderr(&o)
        );
        assert_eq!(
            stdout(&o).lines().next(),
            Some("valid"),
            "{}",
            v.path.display()
        );
    }
}

#[test]
fn every_false_claim_file_is_invalid() {
    let (_, invalid) = load_vectors().expect("vectors");
    for v in &invalid {
        let o = meridian()
            .args(["proof", "verify"])
            .arg(&v.path)
            .output()
            .expect("run");
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}{}",
            v.path.display(),
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stdout(&o).starts_with("invalid: "),
            "{}: {}",
            v.path.display(),
            stdout(&o)
        );
    }
}

#[test]
fn twelve_formats_are_covered() {
    let (valid, _) = load_vectors().expect("vectors");
    let formats: Vec<String> = first_of_each_format(&valid).into_keys().collect();
    for f in meridian_proofs::document::FORMATS {
        assert!(
            formats.iter().any(|x| x == f),
            "no valid vector for format {f}"
        );
    }
}

/// Through the binary: every byte of the root (or claimed hash) and of the first proof element of
/// one vector per format, flipped, gives `invalid:` and exit 1. (The in-process suite in
/// `proofs/tests/vectors.rs` covers every byte of every field of every vector.)
#[test]
fn tampered_root_and_proof_bytes_exit_1() {
    let (valid, _) = load_vectors().expect("vectors");
    let mut runs = 0;
    for (format, v) in first_of_each_format(&valid) {
        let tampered = tamper_all(&v.doc, 0x01);
        let chosen: Vec<_> = tampered
            .iter()
            .filter(|t| {
                [
                    "/root[",
                    "/hash[",
                    "/header_hash[",
                    "/new_root[",
                    "/proof/0",
                ]
                .iter()
                .any(|p| t.what.starts_with(p))
            })
            .collect();
        assert!(!chosen.is_empty(), "{format}: nothing to tamper");
        for t in chosen {
            let o = verify_stdin(t.doc.to_string().as_bytes());
            assert_eq!(
                o.status.code(),
                Some(1),
                "{format} {}: {}{}",
                t.what,
                stdout(&o),
                stderr(&o)
            );
            assert!(stdout(&o).starts_with("invalid: "), "{format} {}", t.what);
            runs += 1;
        }
    }
    assert!(runs > 100, "only {runs} tampered runs");
}

#[test]
fn malformed_documents_exit_2_on_stderr() {
    let (valid, _) = load_vectors().expect("vectors");
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("not json".into(), b"{\"format\":".to_vec()),
        ("array".into(), b"[]".to_vec()),
        ("no format".into(), b"{}".to_vec()),
        (
            "unknown format".into(),
            br#"{"format":"bitcoin-spv"}"#.to_vec(),
        ),
        ("not utf8".into(), vec![0xff, 0xfe, 0x00]),
    ];
    for (format, v) in first_of_each_format(&valid) {
        // Drop each field in turn, and corrupt each hex field into non-hex.
        if let Value::Object(map) = &v.doc {
            for k in map.keys().filter(|k| *k != "format") {
                let mut d = v.doc.clone();
                if let Some(m) = d.as_object_mut() {
                    m.remove(k);
                }
                cases.push((format!("{format} without {k}"), d.to_string().into_bytes()));
                let mut d = v.doc.clone();
                if d[k].is_string() {
                    d[k] = Value::String("0xzz".into());
                    cases.push((format!("{format} bad hex {k}"), d.to_string().into_bytes()));
                }
            }
            let mut d = v.doc.clone();
            d["surprise"] = Value::Bool(true);
            cases.push((
                format!("{format} unknown field"),
                d.to_string().into_bytes(),
            ));
        }
    }
    for (name, input) in cases {
        let o = verify_stdin(&input);
        // A removed optional field may leave a claim that is still well-formed; only
        // "valid" would be wrong there, so accept exit 1 for the `without` cases.
        let code = o.status.code();
        if name.contains(" without ") && code == Some(1) {
            continue;
        }
        assert_eq!(code, Some(2), "{name}: {}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).is_empty(), "{name}: stdout must be empty");
        assert!(stderr(&o).starts_with("error: "), "{name}: {}", stderr(&o));
    }
}

/// A `meridian-finality` document over one `Accepted` record (log of one entry, so the
/// inclusion path is empty), finalized by all four relays of a set made from `salt`.
fn finality_doc(salt: u8) -> (FinalityProof, [u8; 32]) {
    use meridian::message::{ChainId, CrossChainMessage, MessageId, SourceEvidence};
    use meridian::record::LogRecord;
    use meridian::refchain::{BlockHeader, QuorumCertificate, RelayInfo, RelayKey, RelaySet};
    let keys: Vec<RelayKey> = (0..4u8)
        .map(|i| RelayKey::from_seed(&format!("city-{i}"), [salt ^ (i + 1); 32]))
        .collect();
    let set = RelaySet {
        relays: keys
            .iter()
            .map(|k| RelayInfo {
                id: k.id.clone(),
                public_key: k.public_key(),
            })
            .collect(),
    };
    let source = ChainId::from("mock-a");
    let id = MessageId::derive(&source, b"locator");
    let record = meridian::log::encode_record(&LogRecord::Accepted {
        msg: CrossChainMessage {
            id,
            source,
            destination: ChainId::from("mock-b"),
            route_nonce: 0,
            sender: "alice".into(),
            recipient: "bob".into(),
            asset: "CNY".into(),
            amount: 5,
            timeout_secs: 600,
            evidence: SourceEvidence {
                locator: b"locator".to_vec(),
                header: vec![],
                proof: vec![],
                event: vec![],
            },
            tenant: "demo".into(),
        },
        at_ms: 1,
    })
    .expect("encode");
    let header = BlockHeader {
        height: 1,
        prev_hash: [0; 32],
        log_start: 0,
        log_end: 1,
        entries_root: [0; 32],
        log_root: meridian_proofs::rfc6962::leaf_hash(&record),
        time_ms: 2,
        relay_set_hash: set.hash(),
    };
    let qc = QuorumCertificate {
        height: header.height,
        block_hash: header.hash(),
        signatures: keys
            .iter()
            .enumerate()
            .map(|(i, k)| k.vote(i as u16, &header))
            .collect(),
    };
    let doc = FinalityProof {
        format: finality::FORMAT.into(),
        message_id: id.0.into(),
        record: record.into(),
        seq: 0,
        proof: vec![],
        header,
        qc,
        relays: set.relays.clone(),
    };
    (doc, set.hash())
}

/// `meridian proof verify [extra args] -` on a finality document.
fn verify_finality(doc: &FinalityProof, extra: &[&str]) -> Output {
    verify_stdin_with(extra, serde_json::to_string(doc).expect("json").as_bytes())
}

/// Every signature of the certificate must verify, by a relay of the set, each relay once, in
/// order: a tampered signature or relay index is refused even when a quorum of good ones
/// remains (it used to be skipped and the document called valid).
#[test]
fn finality_documents_are_checked_strictly() {
    let (doc, _) = finality_doc(0);
    let o = verify_finality(&doc, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "valid\n");
    let mut tampered: Vec<(&str, FinalityProof)> = Vec::new();
    let mut d = doc.clone();
    d.qc.signatures[3].signature[0] ^= 1;
    tampered.push(("signature byte", d));
    let mut d = doc.clone();
    d.qc.signatures[3].signature[63] ^= 0x80;
    tampered.push(("last signature byte", d));
    let mut d = doc.clone();
    d.qc.signatures[3].relay = 2;
    tampered.push(("repeated relay index", d));
    let mut d = doc.clone();
    d.qc.signatures[3].relay = 4;
    tampered.push(("relay index out of range", d));
    let mut d = doc.clone();
    let extra = d.qc.signatures[0].clone();
    d.qc.signatures.push(extra);
    tampered.push(("duplicated signature", d));
    let mut d = doc.clone();
    d.qc.signatures.swap(0, 1);
    tampered.push(("signatures out of order", d));
    for (what, d) in tampered {
        let o = verify_finality(&d, &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{what}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stdout(&o).starts_with("invalid: "),
            "{what}: {}",
            stdout(&o)
        );
    }
    // Fewer signatures, all good, still a quorum (3 of 4): valid.
    let mut d = doc.clone();
    d.qc.signatures.remove(1);
    let o = verify_finality(&d, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// The trust anchor: the verifier names the document's relay set on stderr, and
/// `--relay-set HEX` refuses any other set, such as one the document's author made up.
#[test]
fn finality_documents_can_be_pinned_to_a_relay_set() {
    let (doc, hash) = finality_doc(0);
    let (forged, forged_hash) = finality_doc(0x55);
    assert_ne!(hash, forged_hash);
    let hex_hash = hex::encode(hash);
    // Unpinned, a self-consistent document with made-up keys verifies: stderr says which set.
    for (d, h) in [(&doc, &hash), (&forged, &forged_hash)] {
        let o = verify_finality(d, &[]);
        assert_eq!(stdout(&o), "valid\n");
        assert!(stderr(&o).contains(&hex::encode(h)), "{}", stderr(&o));
    }
    for pin in [
        hex_hash.clone(),
        format!("0x{hex_hash}"),
        hex_hash.to_uppercase(),
    ] {
        let o = verify_finality(&doc, &["--relay-set", &pin]);
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
        assert_eq!(stdout(&o), "valid\n");
    }
    let o = verify_finality(&forged, &["--relay-set", &hex_hash]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("invalid: ") && stdout(&o).contains(&hex_hash),
        "{}",
        stdout(&o)
    );
    // A pin that is not a hash is a usage error.
    for bad in ["abc", "zz", &hex_hash[2..]] {
        let o = verify_finality(&doc, &["--relay-set", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stdout(&o).is_empty());
    }
    // Other formats have no relay set to pin.
    let (valid, _) = load_vectors().expect("vectors");
    let o = meridian()
        .args(["proof", "verify", "--relay-set", &hex_hash])
        .arg(&valid[0].path)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("--relay-set"), "{}", stderr(&o));
}

#[test]
fn missing_file_exit_2_and_help_works() {
    let o = meridian()
        .args(["proof", "verify", "/nonexistent/meridian-proof.json"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).starts_with("error: cannot read"));
    let o = meridian()
        .args(["proof", "verify", "--help"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("exit 1"));
}
