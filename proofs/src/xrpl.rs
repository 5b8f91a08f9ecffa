//! XRP Ledger family (ChainSQL): the ledger header hash and SHAMap proofs, with SHA-512Half or
//! SM3 (ChainSQL's guomi mode). Hash prefixes are rippled's `HashPrefix` values.

use crate::hash::{Hash32, HexHash};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The hash algorithms an XRPL-family chain may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum XrplHash {
    /// First half of SHA-512 (the XRP Ledger, ChainSQL by default).
    #[serde(rename = "sha512half")]
    Sha512Half,
    /// SM3 (ChainSQL guomi).
    #[serde(rename = "sm3")]
    Sm3,
}

impl XrplHash {
    /// Hash the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Hash32 {
        match self {
            XrplHash::Sha512Half => crate::hash::sha512_half(parts),
            XrplHash::Sm3 => crate::hash::sm3(parts),
        }
    }
}

/// `LWR\0`: ledger header.
pub const PREFIX_LEDGER: [u8; 4] = *b"LWR\0";
/// `MIN\0`: SHAMap inner node.
pub const PREFIX_INNER: [u8; 4] = *b"MIN\0";
/// `MLN\0`: SHAMap state leaf.
pub const PREFIX_STATE: [u8; 4] = *b"MLN\0";
/// `SND\0`: SHAMap transaction-with-metadata leaf.
pub const PREFIX_TX_META: [u8; 4] = *b"SND\0";
/// `TXN\0`: transaction id.
pub const PREFIX_TXID: [u8; 4] = *b"TXN\0";

/// Why an XRPL-family header or SHAMap proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum XrplError {
    /// The header hashes to something else.
    #[error("ledger hash mismatch: claimed {claimed}, header hashes to {computed}")]
    LedgerHashMismatch {
        /// Claimed hash.
        claimed: HexHash,
        /// Hash of the header fields.
        computed: HexHash,
    },
    /// A transaction leaf whose key is not its transaction id.
    #[error("key {key} is not the transaction's id {txid}")]
    KeyNotTxid {
        /// Claimed key.
        key: HexHash,
        /// `H("TXN\0" ‖ tx)`.
        txid: HexHash,
    },
    /// A blob too long for the VL prefix.
    #[error("blob of {0} bytes is too long for a VL length prefix")]
    TooLong(usize),
    /// No inner nodes, or more than the 64 levels a 256-bit key allows.
    #[error("proof has {0} inner nodes; a SHAMap path has 1 to 64")]
    Depth(usize),
    /// The node walked up is not in the slot the key names.
    #[error("inner node at depth {depth}: slot {slot} holds {found}, expected {expected}")]
    SlotMismatch {
        /// Depth of the inner node (0 = root).
        depth: usize,
        /// Key nibble at that depth.
        slot: u8,
        /// Hash in the slot.
        found: HexHash,
        /// Hash of the node below.
        expected: HexHash,
    },
    /// The leaf's parent, below the root, has no other child: rippled would hold the leaf higher.
    #[error("the leaf's parent at depth {depth} has {children} child(ren); below the root it has at least 2")]
    SparseInner {
        /// Depth of the inner node.
        depth: usize,
        /// Its number of non-empty slots.
        children: usize,
    },
    /// The recomputed root differs from the claimed one.
    #[error("root mismatch: claimed {claimed}, proof gives {computed}")]
    RootMismatch {
        /// Root in the claim.
        claimed: HexHash,
        /// Root the proof leads to.
        computed: HexHash,
    },
}

/// The fields of a ledger header that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerHeader {
    /// Ledger sequence.
    pub seq: u32,
    /// Total drops in existence.
    pub total_coins: u64,
    /// Parent ledger hash.
    pub parent_hash: Hash32,
    /// Transaction tree root.
    pub transaction_hash: Hash32,
    /// State tree root.
    pub account_hash: Hash32,
    /// Parent close time (seconds since 2000-01-01).
    pub parent_close_time: u32,
    /// Close time.
    pub close_time: u32,
    /// Close time resolution (seconds).
    pub close_time_resolution: u8,
    /// Close flags.
    pub close_flags: u8,
}

impl LedgerHeader {
    /// The ledger hash.
    pub fn hash(&self, alg: XrplHash) -> Hash32 {
        alg.digest(&[
            &PREFIX_LEDGER,
            &self.seq.to_be_bytes(),
            &self.total_coins.to_be_bytes(),
            &self.parent_hash,
            &self.transaction_hash,
            &self.account_hash,
            &self.parent_close_time.to_be_bytes(),
            &self.close_time.to_be_bytes(),
            &[self.close_time_resolution],
            &[self.close_flags],
        ])
    }

    /// Check the header against its claimed hash.
    pub fn verify(&self, alg: XrplHash, claimed: &Hash32) -> Result<(), XrplError> {
        let computed = self.hash(alg);
        if &computed != claimed {
            return Err(XrplError::LedgerHashMismatch {
                claimed: HexHash(*claimed),
                computed: HexHash(computed),
            });
        }
        Ok(())
    }
}

/// XRPL variable-length prefix of a blob of `len` bytes.
pub fn vl_prefix(len: usize) -> Result<Vec<u8>, XrplError> {
    match len {
        0..=192 => Ok(vec![len as u8]),
        193..=12480 => {
            let l = len - 193;
            Ok(vec![193 + (l >> 8) as u8, (l & 0xff) as u8])
        }
        12481..=918744 => {
            let l = len - 12481;
            Ok(vec![
                241 + (l >> 16) as u8,
                ((l >> 8) & 0xff) as u8,
                (l & 0xff) as u8,
            ])
        }
        _ => Err(XrplError::TooLong(len)),
    }
}

/// A transaction's id: `H("TXN\0" ‖ tx)`.
pub fn txid(alg: XrplHash, tx: &[u8]) -> Hash32 {
    alg.digest(&[&PREFIX_TXID, tx])
}

/// Hash of a transaction-with-metadata leaf keyed by its id.
pub fn tx_leaf_hash(
    alg: XrplHash,
    tx: &[u8],
    meta: &[u8],
    key: &Hash32,
) -> Result<Hash32, XrplError> {
    Ok(alg.digest(&[
        &PREFIX_TX_META,
        &vl_prefix(tx.len())?,
        tx,
        &vl_prefix(meta.len())?,
        meta,
        key,
    ]))
}

/// Hash of a state leaf.
pub fn state_leaf_hash(alg: XrplHash, data: &[u8], key: &Hash32) -> Hash32 {
    alg.digest(&[&PREFIX_STATE, data, key])
}

/// Hash of an inner node from its 16 child hashes (zero = empty).
pub fn inner_hash(alg: XrplHash, children: &[Hash32; 16]) -> Hash32 {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(17);
    parts.push(&PREFIX_INNER);
    parts.extend(children.iter().map(|c| c.as_slice()));
    alg.digest(&parts)
}

fn nibble(key: &Hash32, depth: usize) -> u8 {
    let b = key[depth / 2];
    if depth.is_multiple_of(2) {
        b >> 4
    } else {
        b & 0x0f
    }
}

/// Verify that the leaf with hash `leaf_hash` under `key` is in the SHAMap with root `root`;
/// `proof` lists inner nodes from the leaf's parent up to the root.
pub fn verify_path(
    alg: XrplHash,
    key: &Hash32,
    leaf_hash: &Hash32,
    proof: &[[Hash32; 16]],
    root: &Hash32,
) -> Result<(), XrplError> {
    if proof.is_empty() || proof.len() > 64 {
        return Err(XrplError::Depth(proof.len()));
    }
    let mut cur = *leaf_hash;
    for (up, node) in proof.iter().enumerate() {
        let depth = proof.len() - 1 - up;
        let slot = nibble(key, depth);
        if node[slot as usize] != cur {
            return Err(XrplError::SlotMismatch {
                depth,
                slot,
                found: HexHash(node[slot as usize]),
                expected: HexHash(cur),
            });
        }
        // A leaf's parent below the root has a sibling, else rippled would hold the leaf higher.
        let children = node.iter().filter(|c| **c != [0u8; 32]).count();
        if up == 0 && depth > 0 && children < 2 {
            return Err(XrplError::SparseInner { depth, children });
        }
        cur = inner_hash(alg, node);
    }
    if &cur != root {
        return Err(XrplError::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(cur),
        });
    }
    Ok(())
}

/// A SHAMap built from `(key, leaf hash)` items, leaves at the shallowest depth where their
/// key is unique, as rippled lays it out.
#[derive(Debug, Clone)]
pub struct ShaMap {
    alg: XrplHash,
    items: Vec<(Hash32, Hash32)>,
}

impl ShaMap {
    /// Build over items (duplicate keys: the last one wins).
    pub fn new(alg: XrplHash, items: &[(Hash32, Hash32)]) -> Self {
        let mut items = items.to_vec();
        items.sort_by_key(|a| a.0);
        items.reverse();
        items.dedup_by(|a, b| a.0 == b.0);
        items.reverse();
        ShaMap { alg, items }
    }

    /// Root hash (the hash of an all-empty root for an empty map).
    pub fn root(&self) -> Hash32 {
        self.node(&self.items, 0)
    }

    fn node(&self, items: &[(Hash32, Hash32)], depth: usize) -> Hash32 {
        if depth > 0 && items.len() == 1 {
            return items[0].1;
        }
        inner_hash(self.alg, &self.children(items, depth))
    }

    fn children(&self, items: &[(Hash32, Hash32)], depth: usize) -> [Hash32; 16] {
        let mut out = [[0u8; 32]; 16];
        let mut start = 0;
        while start < items.len() {
            let n = nibble(&items[start].0, depth);
            let end = start
                + items[start..]
                    .iter()
                    .take_while(|(k, _)| nibble(k, depth) == n)
                    .count();
            out[n as usize] = self.node(&items[start..end], depth + 1);
            start = end;
        }
        out
    }

    /// The inner nodes on `key`'s path, the leaf's parent first, the root last.
    pub fn proof(&self, key: &Hash32) -> Option<Vec<[Hash32; 16]>> {
        let mut items: &[(Hash32, Hash32)] = &self.items;
        let mut depth = 0;
        let mut out = Vec::new();
        loop {
            if depth > 0 && items.len() == 1 {
                if &items[0].0 != key {
                    return None;
                }
                out.reverse();
                return Some(out);
            }
            if depth >= 64 {
                return None;
            }
            out.push(self.children(items, depth));
            let n = nibble(key, depth);
            let start = items.iter().position(|(k, _)| nibble(k, depth) == n)?;
            let len = items[start..]
                .iter()
                .take_while(|(k, _)| nibble(k, depth) == n)
                .count();
            items = &items[start..start + len];
            depth += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vl_boundaries() {
        assert_eq!(vl_prefix(192), Ok(vec![192]));
        assert_eq!(vl_prefix(193), Ok(vec![193, 0]));
        assert_eq!(vl_prefix(12480), Ok(vec![240, 255]));
        assert_eq!(vl_prefix(12481), Ok(vec![241, 0, 0]));
        assert!(vl_prefix(918745).is_err());
    }

    #[test]
    fn every_member_of_random_maps() {
        for alg in [XrplHash::Sha512Half, XrplHash::Sm3] {
            for n in [1usize, 2, 17, 300] {
                let items: Vec<(Hash32, Hash32)> = (0..n as u32)
                    .map(|i| {
                        let k = crate::hash::sha256(&[&i.to_be_bytes()]);
                        (k, state_leaf_hash(alg, &i.to_le_bytes(), &k))
                    })
                    .collect();
                let m = ShaMap::new(alg, &items);
                let root = m.root();
                for (k, h) in &items {
                    let p = m.proof(k).expect("member");
                    verify_path(alg, k, h, &p, &root).expect("verifies");
                }
            }
        }
    }
}
