//! FISCO BCOS: the 2.x 16-ary transaction/receipt tree (`getTransactionByHashWithProof`), the
//! 3.x binary tree (`txProof`/`receiptProof`), and the 2.x block header hash. Each chain picks
//! Keccak-256 or SM3 (guomi) at genesis.

use crate::hash::{Hash32, HexHash};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The hash algorithms a FISCO BCOS chain may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FiscoHash {
    /// Keccak-256 (standard chains).
    Keccak256,
    /// SM3 (guomi chains).
    Sm3,
}

impl FiscoHash {
    /// Hash the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Hash32 {
        match self {
            FiscoHash::Keccak256 => crate::hash::keccak256(parts),
            FiscoHash::Sm3 => crate::hash::sm3(parts),
        }
    }
}

/// Why a FISCO BCOS proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FiscoError {
    /// The recomputed root differs from the claimed one.
    #[error("root mismatch: claimed {claimed}, proof gives {computed}")]
    RootMismatch {
        /// Root in the claim.
        claimed: HexHash,
        /// Root the proof leads to.
        computed: HexHash,
    },
    /// A 2.x proof without levels, or whose last level is not the final single hash.
    #[error("2.x proof must end with the empty level of the final hash")]
    NoFinalLevel,
    /// A 2.x level with more than 16 members.
    #[error("level {level} has {members} members, the tree is 16-ary")]
    LevelTooWide {
        /// Level, from the leaves.
        level: usize,
        /// Members including the walked node.
        members: usize,
    },
    /// The sibling counts put the leaf at another index than the claimed one.
    #[error("sibling counts put the leaf at index {computed}, the claim says {claimed}")]
    IndexMismatch {
        /// Index in the claim.
        claimed: u64,
        /// Index the sibling counts give.
        computed: String,
    },
    /// A leaf-level sibling that is not `rlp(its index) ‖ 32-byte hash`.
    #[error("leaf-level sibling {position} is not rlp({index}) followed by a 32-byte hash")]
    BadLeafSibling {
        /// Position in the level (0 = leftmost).
        position: usize,
        /// The index it should carry.
        index: u64,
    },
    /// An upper-level sibling that is not a 32-byte hash.
    #[error("level {level} sibling {position} is {len} bytes, not a 32-byte hash")]
    BadSibling {
        /// Level, from the leaves.
        level: usize,
        /// Position among the level's siblings.
        position: usize,
        /// Its length.
        len: usize,
    },
    /// A 3.x flat proof list that does not parse as `count, hashes…` groups.
    #[error("3.x proof element {index}: {reason}")]
    BadGroup {
        /// Position in the flat list.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// A 3.x group that does not contain the hash being walked up.
    #[error("3.x group {group} does not contain the current hash {current}")]
    NotInGroup {
        /// Group number, from the leaves.
        group: usize,
        /// The hash that should be a member.
        current: HexHash,
    },
}

/// A 2.x proof level: the siblings left and right of the walked node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Level {
    /// Siblings on the left, leftmost first.
    pub left: Vec<Vec<u8>>,
    /// Siblings on the right, leftmost first.
    pub right: Vec<Vec<u8>>,
}

/// RLP of an unsigned integer, as FISCO BCOS encodes a transaction's index.
pub fn rlp_index(index: u64) -> Vec<u8> {
    rlp::encode(&index).to_vec()
}

/// A 2.x leaf: `rlp(index) ‖ hash`.
pub fn v2_leaf(index: u64, hash: &Hash32) -> Vec<u8> {
    let mut v = rlp_index(index);
    v.extend_from_slice(hash);
    v
}

/// Verify a 2.x proof (see PROOFS.md `fisco-v2`).
pub fn verify_v2(
    alg: FiscoHash,
    index: u64,
    leaf_hash: &Hash32,
    root: &Hash32,
    levels: &[Level],
) -> Result<(), FiscoError> {
    let Some((last, inner)) = levels.split_last() else {
        return Err(FiscoError::NoFinalLevel);
    };
    if !last.left.is_empty() || !last.right.is_empty() {
        return Err(FiscoError::NoFinalLevel);
    }
    // Position from the sibling counts: sum of left counts × 16^level, checked for overflow.
    let mut pos: u128 = 0;
    let mut weight: u128 = 1;
    for (l, level) in inner.iter().enumerate() {
        let members = level.left.len() + level.right.len() + 1;
        if members > 16 {
            return Err(FiscoError::LevelTooWide { level: l, members });
        }
        pos = pos.saturating_add((level.left.len() as u128).saturating_mul(weight));
        weight = weight.saturating_mul(16);
    }
    if pos != u128::from(index) {
        return Err(FiscoError::IndexMismatch {
            claimed: index,
            computed: pos.to_string(),
        });
    }
    let mut cur = v2_leaf(index, leaf_hash);
    for (l, level) in inner.iter().enumerate() {
        if l == 0 {
            let first = index - level.left.len() as u64;
            for (i, s) in level.left.iter().chain(&level.right).enumerate() {
                let at = if i < level.left.len() {
                    first + i as u64
                } else {
                    first + i as u64 + 1
                };
                let prefix = rlp_index(at);
                if s.len() != prefix.len() + 32 || !s.starts_with(&prefix) {
                    return Err(FiscoError::BadLeafSibling {
                        position: i,
                        index: at,
                    });
                }
            }
        } else {
            for (i, s) in level.left.iter().chain(&level.right).enumerate() {
                if s.len() != 32 {
                    return Err(FiscoError::BadSibling {
                        level: l,
                        position: i,
                        len: s.len(),
                    });
                }
            }
        }
        let mut parts: Vec<&[u8]> = level.left.iter().map(Vec::as_slice).collect();
        parts.push(&cur);
        parts.extend(level.right.iter().map(Vec::as_slice));
        cur = alg.digest(&parts).to_vec();
    }
    let computed = alg.digest(&[&cur]);
    if &computed != root {
        return Err(FiscoError::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(computed),
        });
    }
    Ok(())
}

/// The 2.x tree over `hashes` (transaction or receipt hashes in block order): its root and
/// the proof of any member, as FISCO BCOS 2.x computes `transactionsRoot`/`receiptsRoot`.
#[derive(Debug, Clone)]
pub struct V2Tree {
    alg: FiscoHash,
    /// `levels[0]` are the leaves `rlp(i) ‖ hash`; each next level is the hashes of 16-groups.
    levels: Vec<Vec<Vec<u8>>>,
}

impl V2Tree {
    /// Build the tree.
    pub fn new(alg: FiscoHash, hashes: &[Hash32]) -> Self {
        let leaves: Vec<Vec<u8>> = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| v2_leaf(i as u64, h))
            .collect();
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next = levels
                .last()
                .map(|l| {
                    l.chunks(16)
                        .map(|g| {
                            let parts: Vec<&[u8]> = g.iter().map(Vec::as_slice).collect();
                            alg.digest(&parts).to_vec()
                        })
                        .collect()
                })
                .unwrap_or_default();
            levels.push(next);
        }
        V2Tree { alg, levels }
    }

    /// The root: the hash of the single top node (of nothing, for an empty block).
    pub fn root(&self) -> Hash32 {
        match self.levels.last().and_then(|l| l.first()) {
            Some(top) => self.alg.digest(&[top]),
            None => self.alg.digest(&[]),
        }
    }

    /// The proof levels of leaf `index`, ending with the empty final level.
    pub fn proof(&self, index: usize) -> Option<Vec<Level>> {
        if index >= self.levels.first()?.len() {
            return None;
        }
        let mut out = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let start = i / 16 * 16;
            let end = (start + 16).min(level.len());
            out.push(Level {
                left: level[start..i].to_vec(),
                right: level[i + 1..end].to_vec(),
            });
            i /= 16;
        }
        out.push(Level::default());
        Some(out)
    }
}

/// A 3.x group count as the RPC sends it: an `h256` whose first 4 bytes are the count (BE) and
/// the other 28 are zero (`setNumberToHash` in bcos-crypto's `Merkle.h`).
pub fn v3_count(count: u32) -> Vec<u8> {
    let mut v = vec![0u8; 32];
    v[..4].copy_from_slice(&count.to_be_bytes());
    v
}

/// Verify a 3.x proof: the flat RPC list of `count, hashes…` groups, leaf group first. A block
/// of one transaction has the proof `[leaf]` and the root `leaf`.
pub fn verify_v3(
    alg: FiscoHash,
    leaf_hash: &Hash32,
    root: &Hash32,
    proof: &[Vec<u8>],
) -> Result<(), FiscoError> {
    let mut cur = *leaf_hash;
    match proof {
        [] => {
            return Err(FiscoError::BadGroup {
                index: 0,
                reason: "empty proof (a lone transaction's proof is [leaf])".into(),
            })
        }
        [only] => {
            if only.as_slice() != leaf_hash {
                return Err(FiscoError::NotInGroup {
                    group: 0,
                    current: HexHash(cur),
                });
            }
        }
        _ => {
            let mut i = 0usize;
            let mut group = 0usize;
            while i < proof.len() {
                let c = &proof[i];
                let count = if c.len() == 32 && c[4..].iter().all(|b| *b == 0) {
                    u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize
                } else {
                    return Err(FiscoError::BadGroup {
                        index: i,
                        reason: "a group count is 32 bytes: 4-byte big-endian count, 28 zero bytes"
                            .into(),
                    });
                };
                if !(1..=2).contains(&count) || count > proof.len() - i - 1 {
                    return Err(FiscoError::BadGroup {
                        index: i,
                        reason: format!("group count {count} is not 1 or 2 within the list"),
                    });
                }
                let members = &proof[i + 1..i + 1 + count];
                for (k, m) in members.iter().enumerate() {
                    if m.len() != 32 {
                        return Err(FiscoError::BadGroup {
                            index: i + 1 + k,
                            reason: format!("member is {} bytes, expected 32", m.len()),
                        });
                    }
                }
                if !members.iter().any(|m| m.as_slice() == cur) {
                    return Err(FiscoError::NotInGroup {
                        group,
                        current: HexHash(cur),
                    });
                }
                let parts: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
                cur = alg.digest(&parts);
                i += 1 + count;
                group += 1;
            }
        }
    }
    if &cur != root {
        return Err(FiscoError::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(cur),
        });
    }
    Ok(())
}

/// The 3.x binary tree: pairs hashed level by level, a lone last node hashed alone.
#[derive(Debug, Clone)]
pub struct V3Tree {
    levels: Vec<Vec<Hash32>>,
}

impl V3Tree {
    /// Build the tree over `hashes`.
    pub fn new(alg: FiscoHash, hashes: &[Hash32]) -> Self {
        let mut levels = vec![hashes.to_vec()];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next = levels
                .last()
                .map(|l| {
                    l.chunks(2)
                        .map(|g| {
                            let parts: Vec<&[u8]> = g.iter().map(|h| h.as_slice()).collect();
                            alg.digest(&parts)
                        })
                        .collect()
                })
                .unwrap_or_default();
            levels.push(next);
        }
        V3Tree { levels }
    }

    /// The root (the leaf itself for one leaf; 32 zero bytes when empty).
    pub fn root(&self) -> Hash32 {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or([0; 32])
    }

    /// The flat proof list of leaf `index`.
    pub fn proof(&self, index: usize) -> Option<Vec<Vec<u8>>> {
        if index >= self.levels.first()?.len() {
            return None;
        }
        if self.levels.len() == 1 {
            return Some(vec![self.levels[0][index].to_vec()]);
        }
        let mut out = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let start = i / 2 * 2;
            let end = (start + 2).min(level.len());
            out.push(v3_count((end - start) as u32));
            out.extend(level[start..end].iter().map(|h| h.to_vec()));
            i /= 2;
        }
        Some(out)
    }
}

/// A FISCO BCOS 2.x block header, hashed as `H(rlp([...13 fields]))`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderV2 {
    /// Parent block hash.
    pub parent_hash: Hash32,
    /// State root.
    pub state_root: Hash32,
    /// Transaction tree root.
    pub transactions_root: Hash32,
    /// Receipt tree root.
    pub receipts_root: Hash32,
    /// Storage database hash.
    pub db_hash: Hash32,
    /// Log bloom (256 bytes).
    pub logs_bloom: Vec<u8>,
    /// Block number.
    pub number: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Milliseconds since the epoch.
    pub timestamp: u64,
    /// Extra data items.
    pub extra_data: Vec<Vec<u8>>,
    /// Index of the sealer in the sealer list.
    pub sealer: u64,
    /// Sealer node ids (64-byte public keys).
    pub sealer_list: Vec<Vec<u8>>,
}

impl HeaderV2 {
    /// The header's RLP.
    pub fn rlp(&self) -> Vec<u8> {
        let mut s = rlp::RlpStream::new_list(13);
        s.append(&self.parent_hash.as_slice());
        s.append(&self.state_root.as_slice());
        s.append(&self.transactions_root.as_slice());
        s.append(&self.receipts_root.as_slice());
        s.append(&self.db_hash.as_slice());
        s.append(&self.logs_bloom);
        s.append(&self.number);
        s.append(&self.gas_limit);
        s.append(&self.gas_used);
        s.append(&self.timestamp);
        s.begin_list(self.extra_data.len());
        for e in &self.extra_data {
            s.append(e);
        }
        s.append(&self.sealer);
        s.begin_list(self.sealer_list.len());
        for n in &self.sealer_list {
            s.append(n);
        }
        s.out().to_vec()
    }

    /// The block hash.
    pub fn hash(&self, alg: FiscoHash) -> Hash32 {
        alg.digest(&[&self.rlp()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: usize) -> Vec<Hash32> {
        (0..n as u32)
            .map(|i| crate::hash::sha256(&[&i.to_be_bytes()]))
            .collect()
    }

    #[test]
    fn v2_every_member_of_trees_around_16() {
        for alg in [FiscoHash::Keccak256, FiscoHash::Sm3] {
            for n in [1usize, 2, 15, 16, 17, 255, 256, 257] {
                let hs = hashes(n);
                let t = V2Tree::new(alg, &hs);
                let root = t.root();
                for (i, h) in hs.iter().enumerate() {
                    let p = t.proof(i).expect("member");
                    verify_v2(alg, i as u64, h, &root, &p).expect("verifies");
                    if n > 1 {
                        let other = (i + 1) % n;
                        assert!(verify_v2(alg, other as u64, h, &root, &p).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn v3_every_member() {
        for n in [1usize, 2, 3, 7, 64, 65] {
            let hs = hashes(n);
            let t = V3Tree::new(FiscoHash::Sm3, &hs);
            let root = t.root();
            for (i, h) in hs.iter().enumerate() {
                let p = t.proof(i).expect("member");
                verify_v3(FiscoHash::Sm3, h, &root, &p).expect("verifies");
                assert!(verify_v3(FiscoHash::Keccak256, h, &root, &p).is_err() || n == 1);
            }
        }
    }
}
