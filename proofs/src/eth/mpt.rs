//! Merkle-Patricia trie proof verification, with go-ethereum's `trie.VerifyProof` semantics,
//! made strict about the proof list: it must be exactly the hashed nodes of the path, in order
//! from the root, so no proof byte can be changed without the proof failing.

use super::{rlp_item, EthError};
use crate::hash::{keccak256, Hash32, HexHash};

/// What a valid proof shows about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofOutcome {
    /// The key maps to this value.
    Present(Vec<u8>),
    /// The key is not in the trie.
    Absent,
}

/// Root of the empty trie: `keccak256(rlp(""))`.
pub const EMPTY_TRIE_ROOT: Hash32 = [
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
];

/// The terminator nibble go-ethereum appends to a full key.
const TERM: u8 = 16;

/// Nibbles of `key`, high first, followed by the terminator.
pub(crate) fn key_nibbles(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() * 2 + 1);
    for b in key {
        out.push(b >> 4);
        out.push(b & 0x0f);
    }
    out.push(TERM);
    out
}

/// Decode a hex-prefix (compact) path: its nibbles (with the terminator for a leaf).
fn compact_to_nibbles(compact: &[u8]) -> Result<Vec<u8>, String> {
    let Some(&first) = compact.first() else {
        return Err("empty hex-prefix path".into());
    };
    let flag = first >> 4;
    if flag > 3 {
        return Err(format!("hex-prefix flag {flag} is not 0..3"));
    }
    let mut out = Vec::with_capacity(compact.len() * 2);
    if flag & 1 == 1 {
        out.push(first & 0x0f);
    } else if first & 0x0f != 0 {
        return Err("even hex-prefix path with a non-zero pad nibble".into());
    }
    for b in &compact[1..] {
        out.push(b >> 4);
        out.push(b & 0x0f);
    }
    if flag >= 2 {
        out.push(TERM);
    }
    Ok(out)
}

/// A reference to a child: nothing, a hash, or an embedded node's raw RLP.
enum Ref<'a> {
    Empty,
    Hash(Hash32),
    Embedded(&'a [u8]),
}

fn decode_ref<'a>(item: &rlp::Rlp<'a>) -> Result<Ref<'a>, String> {
    if item.is_list() {
        let raw = item.as_raw();
        if raw.len() > 32 {
            return Err(format!(
                "oversized embedded node ({} bytes, embedded nodes are shorter than 32)",
                raw.len()
            ));
        }
        return Ok(Ref::Embedded(raw));
    }
    let data = item.data().map_err(|e| e.to_string())?;
    match data.len() {
        0 => Ok(Ref::Empty),
        32 => {
            let mut h = [0u8; 32];
            h.copy_from_slice(data);
            Ok(Ref::Hash(h))
        }
        n => Err(format!("child reference of {n} bytes (want 0 or 32)")),
    }
}

/// One step inside a node: where the walk goes next.
enum Step<'a> {
    Done(ProofOutcome),
    Follow(Ref<'a>),
}

fn step<'a>(node: &'a [u8], key: &[u8], pos: &mut usize) -> Result<Step<'a>, String> {
    let r = rlp::Rlp::new(node);
    if !r.is_list() {
        return Err("node is not an RLP list".into());
    }
    let n = r.item_count().map_err(|e| e.to_string())?;
    match n {
        17 => {
            let nib = key[*pos];
            if nib == TERM {
                let v = r.at(16).map_err(|e| e.to_string())?;
                if v.is_list() {
                    return Err("branch value is a list".into());
                }
                let data = v.data().map_err(|e| e.to_string())?;
                return Ok(Step::Done(if data.is_empty() {
                    ProofOutcome::Absent
                } else {
                    ProofOutcome::Present(data.to_vec())
                }));
            }
            // Every slot must decode, so malformed siblings are not silently carried along.
            for i in 0..16 {
                decode_ref(&r.at(i).map_err(|e| e.to_string())?)?;
            }
            let child = r.at(nib as usize).map_err(|e| e.to_string())?;
            *pos += 1;
            Ok(Step::Follow(decode_ref(&child)?))
        }
        2 => {
            let k = r.at(0).map_err(|e| e.to_string())?;
            if k.is_list() {
                return Err("short node path is a list".into());
            }
            let path = compact_to_nibbles(k.data().map_err(|e| e.to_string())?)?;
            let leaf = path.last() == Some(&TERM);
            let val = r.at(1).map_err(|e| e.to_string())?;
            let rest = &key[*pos..];
            let matches = rest.len() >= path.len() && rest[..path.len()] == path[..];
            if leaf {
                if val.is_list() {
                    return Err("leaf value is a list".into());
                }
                let data = val.data().map_err(|e| e.to_string())?;
                if !matches {
                    return Ok(Step::Done(ProofOutcome::Absent));
                }
                return Ok(Step::Done(ProofOutcome::Present(data.to_vec())));
            }
            if path.is_empty() {
                return Err("extension with an empty path".into());
            }
            let child = decode_ref(&val)?;
            if matches!(child, Ref::Empty) {
                return Err("extension without a child".into());
            }
            if !matches {
                return Ok(Step::Done(ProofOutcome::Absent));
            }
            *pos += path.len();
            Ok(Step::Follow(child))
        }
        n => Err(format!("node has {n} items (want 2 or 17)")),
    }
}

/// Walk `proof` from `root` along `key`; returns whether and with which value the key is in
/// the trie. Errors mean the proof itself is broken (a node missing, not matching its
/// reference, malformed, or left over).
pub fn verify_proof<P: AsRef<[u8]>>(
    root: &Hash32,
    key: &[u8],
    proof: &[P],
) -> Result<ProofOutcome, EthError> {
    // An empty trie (e.g. an account without storage): eth_getProof returns no nodes.
    if proof.is_empty() && root == &EMPTY_TRIE_ROOT {
        return Ok(ProofOutcome::Absent);
    }
    let nibbles = key_nibbles(key);
    let mut pos = 0usize;
    let mut wanted = *root;
    let mut index = 0usize;
    loop {
        let Some(bytes) = proof.get(index) else {
            return Err(EthError::MissingNode {
                depth: index,
                wanted: HexHash(wanted),
            });
        };
        let bytes = bytes.as_ref();
        let got = keccak256(&[bytes]);
        if got != wanted {
            return Err(EthError::NodeHashMismatch {
                index,
                got: HexHash(got),
                wanted: HexHash(wanted),
            });
        }
        let bad = |reason: String| EthError::BadNode { index, reason };
        rlp_item(bytes, "trie node").map_err(|e| bad(e.to_string()))?;
        let mut node = bytes;
        let outcome = loop {
            match step(node, &nibbles, &mut pos).map_err(bad)? {
                Step::Done(o) => break Some(o),
                Step::Follow(Ref::Empty) => break Some(ProofOutcome::Absent),
                Step::Follow(Ref::Embedded(raw)) => node = raw,
                Step::Follow(Ref::Hash(h)) => {
                    wanted = h;
                    break None;
                }
            }
        };
        index += 1;
        if let Some(o) = outcome {
            if index < proof.len() {
                return Err(EthError::UnusedNodes(proof.len() - index));
            }
            return Ok(o);
        }
    }
}

/// Check a claim: `value` present under `key` (or absent when `None`).
pub(crate) fn check_claim<P: AsRef<[u8]>>(
    root: &Hash32,
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[P],
) -> Result<(), EthError> {
    match (verify_proof(root, key, proof)?, value) {
        (ProofOutcome::Absent, None) => Ok(()),
        (ProofOutcome::Absent, Some(_)) => Err(EthError::Absent),
        (ProofOutcome::Present(found), None) => Err(EthError::Present(hex::encode(found))),
        (ProofOutcome::Present(found), Some(v)) if found == v => Ok(()),
        (ProofOutcome::Present(found), Some(v)) => Err(EthError::ValueMismatch {
            claimed: hex::encode(v),
            found: hex::encode(found),
        }),
    }
}
