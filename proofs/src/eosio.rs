//! EOSIO: the legacy (Leap 4 and earlier) action/transaction merkle with side flags in bit 0x80,
//! the Savanna (Spring 1.0+) merkle that splits at the largest power of two, and block ids.

use crate::audit::{fold_path, path_of, root_of, PathError};
use crate::hash::{sha256, Hash32, HexHash};
use thiserror::Error;

/// Why an EOSIO merkle proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EosioError {
    /// The recomputed root differs from the claimed one.
    #[error("root mismatch: claimed {claimed}, proof gives {computed}")]
    RootMismatch {
        /// Root in the claim.
        claimed: HexHash,
        /// Root the proof leads to.
        computed: HexHash,
    },
    /// A Savanna proof that does not fit its claimed position.
    #[error(transparent)]
    Path(#[from] PathError),
}

/// `canonL`: clear bit 0x80 of byte 0 (this node is a left child).
pub fn canonical_left(h: &Hash32) -> Hash32 {
    let mut out = *h;
    out[0] &= 0x7f;
    out
}

/// `canonR`: set bit 0x80 of byte 0 (this node is a right child).
pub fn canonical_right(h: &Hash32) -> Hash32 {
    let mut out = *h;
    out[0] |= 0x80;
    out
}

/// Legacy parent: `sha256(canonL(l) ‖ canonR(r))`.
pub fn legacy_parent(l: &Hash32, r: &Hash32) -> Hash32 {
    sha256(&[&canonical_left(l), &canonical_right(r)])
}

/// Legacy root of `ids` (`eosio::chain::merkle`): odd levels duplicate their last node.
pub fn legacy_root(ids: &[Hash32]) -> Hash32 {
    if ids.is_empty() {
        return [0; 32];
    }
    let mut level = ids.to_vec();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            let last = level[level.len() - 1];
            level.push(last);
        }
        level = level
            .chunks(2)
            .map(|p| legacy_parent(&p[0], &p[1]))
            .collect();
    }
    level[0]
}

/// Legacy proof of `ids[index]`: each sibling canonicalised, its top bit naming its side.
pub fn legacy_proof(ids: &[Hash32], index: usize) -> Option<Vec<Hash32>> {
    if index >= ids.len() {
        return None;
    }
    let mut out = Vec::new();
    let mut level = ids.to_vec();
    let mut i = index;
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            let last = level[level.len() - 1];
            level.push(last);
        }
        out.push(if i.is_multiple_of(2) {
            canonical_right(&level[i + 1])
        } else {
            canonical_left(&level[i - 1])
        });
        level = level
            .chunks(2)
            .map(|p| legacy_parent(&p[0], &p[1]))
            .collect();
        i /= 2;
    }
    Some(out)
}

/// Verify a legacy proof: a sibling with bit 0x80 set is the right one.
pub fn verify_legacy(leaf: &Hash32, proof: &[Hash32], root: &Hash32) -> Result<(), EosioError> {
    let mut cur = *leaf;
    for p in proof {
        cur = if p[0] & 0x80 != 0 {
            legacy_parent(&cur, p)
        } else {
            legacy_parent(p, &cur)
        };
    }
    if &cur != root {
        return Err(EosioError::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(cur),
        });
    }
    Ok(())
}

/// Savanna parent: `sha256(l ‖ r)`.
pub fn savanna_parent(l: &Hash32, r: &Hash32) -> Hash32 {
    sha256(&[l, r])
}

/// Savanna root (`calculate_merkle`): empty → zero digest, one → itself.
pub fn savanna_root(ids: &[Hash32]) -> Hash32 {
    root_of(ids, &savanna_parent).unwrap_or([0; 32])
}

/// Savanna proof of `ids[index]`, bottom up.
pub fn savanna_proof(ids: &[Hash32], index: usize) -> Option<Vec<Hash32>> {
    path_of(ids, index, &savanna_parent)
}

/// Verify a Savanna proof of the leaf at `index` among `count`.
pub fn verify_savanna(
    leaf: &Hash32,
    index: u64,
    count: u64,
    proof: &[Hash32],
    root: &Hash32,
) -> Result<(), EosioError> {
    let computed = fold_path(leaf, index, count, proof, savanna_parent)?;
    if &computed != root {
        return Err(EosioError::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(computed),
        });
    }
    Ok(())
}

/// A block id: `sha256(header)` with its first 4 bytes replaced by the block number (BE).
pub fn block_id(header_digest: &Hash32, block_num: u32) -> Hash32 {
    let mut id = *header_digest;
    id[..4].copy_from_slice(&block_num.to_be_bytes());
    id
}

/// The block number carried in a block id.
pub fn block_num(id: &Hash32) -> u32 {
    u32::from_be_bytes([id[0], id[1], id[2], id[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<Hash32> {
        (0..n as u32).map(|i| sha256(&[&i.to_le_bytes()])).collect()
    }

    #[test]
    fn every_member_both_merkles() {
        for n in 1..=20 {
            let v = ids(n);
            let lr = legacy_root(&v);
            let sr = savanna_root(&v);
            for i in 0..n {
                let p = legacy_proof(&v, i).expect("member");
                verify_legacy(&v[i], &p, &lr).expect("legacy");
                let p = savanna_proof(&v, i).expect("member");
                verify_savanna(&v[i], i as u64, n as u64, &p, &sr).expect("savanna");
                if n > 1 {
                    assert!(
                        verify_savanna(&v[i], ((i + 1) % n) as u64, n as u64, &p, &sr).is_err()
                    );
                }
            }
        }
    }

    #[test]
    fn block_ids_carry_their_number() {
        let id = block_id(&[0xff; 32], 0x0102_0304);
        assert_eq!(&id[..4], &[1, 2, 3, 4]);
        assert_eq!(block_num(&id), 0x0102_0304);
    }
}
