//! The audit-path walk shared by the trees that split at the largest power of two below their
//! size (RFC 6962, EOSIO Savanna): the leaf's position and the tree size fix, at each level,
//! whether the sibling is on the left or the right, and how many siblings the proof must have.

use crate::hash::Hash32;
use thiserror::Error;

/// A proof whose shape does not fit its claimed position.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PathError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed index.
        index: u64,
        /// Claimed size.
        size: u64,
    },
    /// The proof has the wrong number of elements for this position and size.
    #[error("proof has {got} elements, a proof for this position and size has {expected}")]
    ProofLength {
        /// Elements the position and size call for.
        expected: usize,
        /// Elements given.
        got: usize,
    },
}

/// Number of siblings on the path of leaf `index` in a tree of `size` leaves (index < size).
pub fn path_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // `inner` is 64 when the two differ in the top bit: then nothing is left above it.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones() as usize;
    inner as usize + border
}

/// Fold `proof` into `leaf` along the path of `index` in a tree of `size` leaves
/// (RFC 9162 §2.1.3.2), combining with `node(left, right)`; returns the root it leads to.
pub fn fold_path(
    leaf: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    node: impl Fn(&Hash32, &Hash32) -> Hash32,
) -> Result<Hash32, PathError> {
    if index >= size {
        return Err(PathError::IndexOutOfRange { index, size });
    }
    let expected = path_len(index, size);
    if proof.len() != expected {
        return Err(PathError::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    let mut fnode = index;
    let mut snode = size - 1;
    let mut r = *leaf;
    for p in proof {
        if fnode & 1 == 1 || fnode == snode {
            r = node(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    Ok(r)
}

/// The largest power of two strictly below `n` (n ≥ 2): where these trees split.
pub fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Root and audit paths of such a tree built over `leaves` with `node(left, right)`; a tree of
/// one leaf has that leaf as its root. Used by builders of formats that have no prefix bytes.
pub fn root_of(leaves: &[Hash32], node: &impl Fn(&Hash32, &Hash32) -> Hash32) -> Option<Hash32> {
    match leaves.len() {
        0 => None,
        1 => Some(leaves[0]),
        n => {
            let k = split(n as u64) as usize;
            let l = root_of(&leaves[..k], node)?;
            let r = root_of(&leaves[k..], node)?;
            Some(node(&l, &r))
        }
    }
}

/// The audit path of `index` in the tree over `leaves` (see [`root_of`]).
pub fn path_of(
    leaves: &[Hash32],
    index: usize,
    node: &impl Fn(&Hash32, &Hash32) -> Hash32,
) -> Option<Vec<Hash32>> {
    if index >= leaves.len() {
        return None;
    }
    let mut out = Vec::new();
    collect(leaves, index, node, &mut out)?;
    Some(out)
}

fn collect(
    leaves: &[Hash32],
    m: usize,
    node: &impl Fn(&Hash32, &Hash32) -> Hash32,
    out: &mut Vec<Hash32>,
) -> Option<()> {
    if leaves.len() <= 1 {
        return Some(());
    }
    let k = split(leaves.len() as u64) as usize;
    if m < k {
        collect(&leaves[..k], m, node, out)?;
        out.push(root_of(&leaves[k..], node)?);
    } else {
        collect(&leaves[k..], m - k, node, out)?;
        out.push(root_of(&leaves[..k], node)?);
    }
    Some(())
}
