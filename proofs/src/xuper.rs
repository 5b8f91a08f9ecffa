//! XuperChain's transaction merkle tree (`MakeMerkleTree`): leaves padded with nil to a power
//! of two, parent `dsha256(l ‖ r)`, `dsha256(l ‖ l)` when the right is nil, nil when the left
//! is nil; the root is the last node, so one transaction is its own root.

use crate::hash::{dsha256, Hash32, HexHash};
use thiserror::Error;

/// Why a XuperChain merkle proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum XuperError {
    /// The index is not below the transaction count.
    #[error("index {index} is outside a block of {count} transactions")]
    IndexOutOfRange {
        /// Claimed index.
        index: u64,
        /// Claimed count.
        count: u64,
    },
    /// The proof's length is not the tree's height.
    #[error("proof has {got} levels, a tree of {count} transactions has {expected}")]
    ProofLength {
        /// Height of the tree.
        expected: usize,
        /// Levels given.
        got: usize,
        /// Transaction count.
        count: u64,
    },
    /// A sibling given where the tree has nil, or nil where the tree has a node.
    #[error("level {level}: sibling is {got} but the tree has {expected} there")]
    NilMismatch {
        /// Level, from the leaves.
        level: usize,
        /// "nil" or "a node".
        expected: &'static str,
        /// What the proof gives.
        got: &'static str,
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

/// Parent of two nodes.
pub fn parent(l: &Hash32, r: Option<&Hash32>) -> Hash32 {
    dsha256(&[l, r.unwrap_or(l)])
}

fn height(count: u64) -> usize {
    // Above 2^63 the next power of two is 2^64, which u64 cannot hold.
    count
        .checked_next_power_of_two()
        .map_or(64, |p| p.trailing_zeros() as usize)
}

/// Verify that `txid` is transaction `index` of `count` under `root`.
pub fn verify(
    txid: &Hash32,
    index: u64,
    count: u64,
    proof: &[Option<Hash32>],
    root: &Hash32,
) -> Result<(), XuperError> {
    if index >= count {
        return Err(XuperError::IndexOutOfRange { index, count });
    }
    let expected = height(count);
    if proof.len() != expected {
        return Err(XuperError::ProofLength {
            expected,
            got: proof.len(),
            count,
        });
    }
    let mut cur = *txid;
    for (level, sib) in proof.iter().enumerate() {
        let i = index >> level;
        let sib_first_leaf = (i ^ 1) << level;
        let nil = sib_first_leaf >= count;
        match (nil, sib) {
            (true, None) => cur = parent(&cur, None),
            (false, Some(s)) if i & 1 == 0 => cur = parent(&cur, Some(s)),
            (false, Some(s)) => cur = parent(s, Some(&cur)),
            (true, Some(_)) => {
                return Err(XuperError::NilMismatch {
                    level,
                    expected: "nil",
                    got: "a node",
                })
            }
            (false, None) => {
                return Err(XuperError::NilMismatch {
                    level,
                    expected: "a node",
                    got: "nil",
                })
            }
        }
    }
    if &cur != root {
        return Err(XuperError::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(cur),
        });
    }
    Ok(())
}

/// The tree over `txids`: levels of optional nodes, leaves first.
#[derive(Debug, Clone)]
pub struct Tree {
    levels: Vec<Vec<Option<Hash32>>>,
}

impl Tree {
    /// Build the tree.
    pub fn new(txids: &[Hash32]) -> Self {
        let width = txids.len().next_power_of_two();
        let mut leaves: Vec<Option<Hash32>> = txids.iter().copied().map(Some).collect();
        leaves.resize(width, None);
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next = levels
                .last()
                .map(|l| {
                    l.chunks(2)
                        .map(|p| p[0].as_ref().map(|left| parent(left, p[1].as_ref())))
                        .collect()
                })
                .unwrap_or_default();
            levels.push(next);
        }
        Tree { levels }
    }

    /// The merkle root (`None` for an empty block).
    pub fn root(&self) -> Option<Hash32> {
        self.levels.last()?.first().copied().flatten()
    }

    /// The siblings of transaction `index`, bottom up.
    pub fn proof(&self, index: usize) -> Option<Vec<Option<Hash32>>> {
        self.levels.first()?.get(index)?.as_ref()?;
        let mut out = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            out.push(level[i ^ 1]);
            i /= 2;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member() {
        for n in 1..=33usize {
            let ids: Vec<Hash32> = (0..n as u32)
                .map(|i| dsha256(&[&i.to_be_bytes()]))
                .collect();
            let t = Tree::new(&ids);
            let root = t.root().expect("root");
            if n == 1 {
                assert_eq!(root, ids[0]);
            }
            for (i, id) in ids.iter().enumerate() {
                let p = t.proof(i).expect("member");
                verify(id, i as u64, n as u64, &p, &root).expect("verifies");
            }
        }
    }
}
