//! RFC 6962 (Certificate Transparency) Merkle trees over SHA-256: the reference chain's tree.
//!
//! Leaf hash `H(0x00 ‖ d)`, node hash `H(0x01 ‖ l ‖ r)`; a tree of `n` leaves splits at the
//! largest power of two strictly below `n` (no padding, no duplication). Verification follows
//! RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), which check the proof's length
//! exactly, so a proof with an extra or missing element is rejected.

use crate::audit::{split, PathError};
use crate::hash::{sha256, Hash32, HexHash};
use thiserror::Error;

/// Why an RFC 6962 proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Rfc6962Error {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed index.
        index: u64,
        /// Claimed tree size.
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
    /// The recomputed root differs from the claimed one.
    #[error("root mismatch: claimed {claimed}, proof gives {computed}")]
    RootMismatch {
        /// Root in the claim.
        claimed: HexHash,
        /// Root the proof leads to.
        computed: HexHash,
    },
    /// The old root of a consistency claim is not what the proof gives.
    #[error("old root mismatch: claimed {claimed}, proof gives {computed}")]
    OldRootMismatch {
        /// Old root in the claim.
        claimed: HexHash,
        /// Old root the proof leads to.
        computed: HexHash,
    },
    /// A consistency claim whose old size exceeds the new one.
    #[error("old size {old} is larger than new size {new}")]
    SizeOrder {
        /// Old size.
        old: u64,
        /// New size.
        new: u64,
    },
    /// A proof was asked of a tree that does not have that many leaves.
    #[error("tree has {have} leaves, asked for size {asked}")]
    SizeBeyondTree {
        /// Leaves in the tree.
        have: u64,
        /// Size asked for.
        asked: u64,
    },
}

/// Hash of a leaf: `SHA-256(0x00 ‖ data)`.
#[inline]
pub fn leaf_hash(data: &[u8]) -> Hash32 {
    sha256(&[&[0x00], data])
}

/// Hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
#[inline]
pub fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    sha256(&[&[0x01], left, right])
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash32 {
    sha256(&[])
}

/// Number of elements in an inclusion proof for `index` in a tree of `size` (index < size).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    crate::audit::path_len(index, size)
}

/// Verify that `leaf_hash` sits at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    root: &Hash32,
) -> Result<(), Rfc6962Error> {
    let computed = root_from_inclusion(leaf_hash, index, size, proof)?;
    if &computed != root {
        return Err(Rfc6962Error::RootMismatch {
            claimed: HexHash(*root),
            computed: HexHash(computed),
        });
    }
    Ok(())
}

/// [`verify_inclusion`] with a [`PathMemo`](crate::audit::PathMemo) of the nodes earlier proofs
/// of the same tree led to: the same answer, with one lookup instead of one hash for each node
/// an earlier proof already combined from the same children.
pub fn verify_inclusion_memo(
    memo: &mut crate::audit::PathMemo,
    leaf_hash: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    root: &Hash32,
) -> Result<(), Rfc6962Error> {
    let ok = crate::audit::fold_path_memo(memo, leaf_hash, index, size, proof, root, node_hash)
        .map_err(shape_error)?;
    if ok {
        return Ok(());
    }
    // Refused: the plain check names the root it leads to.
    verify_inclusion(leaf_hash, index, size, proof, root)
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), after checking its length.
pub fn root_from_inclusion(
    leaf_hash: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
) -> Result<Hash32, Rfc6962Error> {
    crate::audit::fold_path(leaf_hash, index, size, proof, node_hash).map_err(shape_error)
}

fn shape_error(e: PathError) -> Rfc6962Error {
    match e {
        PathError::IndexOutOfRange { index, size } => Rfc6962Error::IndexOutOfRange { index, size },
        PathError::ProofLength { expected, got } => Rfc6962Error::ProofLength { expected, got },
    }
}

/// Verify that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash32,
    new_root: &Hash32,
    proof: &[Hash32],
) -> Result<(), Rfc6962Error> {
    if old_size > new_size {
        return Err(Rfc6962Error::SizeOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(Rfc6962Error::ProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        let expected_old = if old_size == 0 {
            empty_root()
        } else {
            *new_root
        };
        if old_root != &expected_old {
            return Err(Rfc6962Error::OldRootMismatch {
                claimed: HexHash(*old_root),
                computed: HexHash(expected_old),
            });
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old_size, new_size);
    if proof.len() != expected {
        return Err(Rfc6962Error::ProofLength {
            expected,
            got: proof.len(),
        });
    }
    let mut fnode = old_size - 1;
    let mut snode = new_size - 1;
    let mut rest = proof;
    let seed = if old_size.is_power_of_two() {
        *old_root
    } else {
        // Non-empty: the expected length of a non-power-of-two old size is at least 1.
        let Some((first, tail)) = proof.split_first() else {
            return Err(Rfc6962Error::ProofLength { expected, got: 0 });
        };
        rest = tail;
        *first
    };
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = seed;
    let mut sr = seed;
    for c in rest {
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if &fr != old_root {
        return Err(Rfc6962Error::OldRootMismatch {
            claimed: HexHash(*old_root),
            computed: HexHash(fr),
        });
    }
    if &sr != new_root {
        return Err(Rfc6962Error::RootMismatch {
            claimed: HexHash(*new_root),
            computed: HexHash(sr),
        });
    }
    Ok(())
}

/// Number of elements in a consistency proof from `old` to `new` leaves (0 < old < new).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    // Decomposition as in RFC 9162: the path of leaf old-1 in the new tree, minus the levels
    // shared by the old tree's completed left part, plus the old subtree root unless old is a
    // power of two.
    let index = old - 1;
    let inner = 64 - (index ^ (new - 1)).leading_zeros();
    let shift = index.trailing_ones() as usize;
    // `inner` is 64 when the two differ in the top bit: then nothing is left above it.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones() as usize;
    let inner = inner as usize;
    let base = inner - shift.min(inner) + border;
    if old.is_power_of_two() {
        base
    } else {
        base + 1
    }
}

/// An append-only RFC 6962 tree that keeps every complete subtree's hash, so roots and proofs
/// for any size up to the current one cost O(log n) hashes.
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    /// `levels[k][i]` is the hash of the complete subtree of `2^k` leaves starting at `i·2^k`.
    levels: Vec<Vec<Hash32>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        MerkleTree { levels: Vec::new() }
    }

    /// A tree of the given leaves' data.
    pub fn from_leaves<I, T>(leaves: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut t = MerkleTree::new();
        for l in leaves {
            t.push(l.as_ref());
        }
        t
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append a leaf's data; returns its index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_hash(leaf_hash(data))
    }

    /// Append an already-hashed leaf; returns its index.
    pub fn push_hash(&mut self, leaf: Hash32) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let index = self.len();
        let mut h = leaf;
        let mut level = 0;
        loop {
            self.levels[level].push(h);
            let n = self.levels[level].len();
            if n % 2 == 1 {
                break;
            }
            h = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            level += 1;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
        }
        index
    }

    /// The hash of leaf `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash32> {
        self.levels.first()?.get(index as usize).copied()
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash32 {
        self.subtree(0, self.len())
    }

    /// Root of the tree made of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash32, Rfc6962Error> {
        self.check_size(size)?;
        Ok(self.subtree(0, size))
    }

    fn check_size(&self, size: u64) -> Result<(), Rfc6962Error> {
        if size > self.len() {
            return Err(Rfc6962Error::SizeBeyondTree {
                have: self.len(),
                asked: size,
            });
        }
        Ok(())
    }

    /// MTH(D[start .. start+n]); `start` is a multiple of the largest power of two ≤ n, as
    /// every subtree the RFC's recursion visits is.
    fn subtree(&self, start: u64, n: u64) -> Hash32 {
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() {
            let k = n.trailing_zeros() as usize;
            return self.levels[k][(start >> k) as usize];
        }
        let k = split(n);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, n - k))
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 §2.1.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash32>, Rfc6962Error> {
        self.check_size(size)?;
        if index >= size {
            return Err(Rfc6962Error::IndexOutOfRange { index, size });
        }
        let mut out = Vec::with_capacity(inclusion_proof_len(index, size));
        self.path(index, 0, size, &mut out);
        Ok(out)
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash32>) {
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    /// The consistency proof between the first `old` and the first `new` leaves (§2.1.2).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash32>, Rfc6962Error> {
        self.check_size(new)?;
        if old > new {
            return Err(Rfc6962Error::SizeOrder { old, new });
        }
        let mut out = Vec::new();
        if old == 0 || old == new {
            return Ok(out);
        }
        self.subproof(old, 0, new, true, &mut out);
        Ok(out)
    }

    fn subproof(&self, m: u64, start: u64, n: u64, complete: bool, out: &mut Vec<Hash32>) {
        if m == n {
            if !complete {
                out.push(self.subtree(start, n));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, complete, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Roots of the CT test tree for sizes 1..=8 (certificate-transparency merkle_tree_test.cc).
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn ct_tree() -> MerkleTree {
        MerkleTree::from_leaves(CT_LEAVES.iter().map(|h| hex::decode(h).unwrap_or_default()))
    }

    #[test]
    fn ct_roots() {
        let t = ct_tree();
        for (i, want) in CT_ROOTS.iter().enumerate() {
            let root = t.root_at(i as u64 + 1).expect("size");
            assert_eq!(hex::encode(root), *want, "size {}", i + 1);
        }
        assert_eq!(
            hex::encode(MerkleTree::new().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_inclusion_and_consistency_proof_of_small_trees() {
        let t = MerkleTree::from_leaves((0..40u32).map(|i| i.to_be_bytes()));
        for size in 1..=40u64 {
            let root = t.root_at(size).expect("size");
            for index in 0..size {
                let p = t.inclusion_proof(index, size).expect("proof");
                assert_eq!(p.len(), inclusion_proof_len(index, size));
                let leaf = t.leaf(index).expect("leaf");
                verify_inclusion(&leaf, index, size, &p, &root).expect("verifies");
                if size > 1 {
                    let wrong = (index + 1) % size;
                    assert!(verify_inclusion(&leaf, wrong, size, &p, &root).is_err());
                }
            }
            for old in 1..=size {
                let p = t.consistency_proof(old, size).expect("proof");
                if old < size {
                    assert_eq!(p.len(), consistency_proof_len(old, size), "{old}->{size}");
                }
                let old_root = t.root_at(old).expect("old");
                verify_consistency(old, size, &old_root, &root, &p).expect("consistent");
                if old < size {
                    let other = t.root_at(old - 1).unwrap_or_default();
                    assert!(verify_consistency(old, size, &other, &root, &p).is_err());
                }
            }
        }
    }

    /// The memo gives the plain check's answer and error for every proof of small trees
    /// (one memo for all of them), the wrong leaf position included.
    #[test]
    fn the_memo_answers_as_the_plain_check() {
        let t = MerkleTree::from_leaves((0..40u32).map(|i| i.to_be_bytes()));
        let mut memo = crate::audit::PathMemo::new(4, 1 << 10);
        for size in 1..=40u64 {
            let root = t.root_at(size).expect("size");
            for pass in 0..2 {
                for index in 0..size {
                    let p = t.inclusion_proof(index, size).expect("proof");
                    let leaf = t.leaf(index).expect("leaf");
                    let ok = verify_inclusion_memo(&mut memo, &leaf, index, size, &p, &root);
                    assert_eq!(ok, Ok(()), "size {size} index {index} pass {pass}");
                    let wrong = (index + 1) % size;
                    assert_eq!(
                        verify_inclusion_memo(&mut memo, &leaf, wrong, size, &p, &root),
                        verify_inclusion(&leaf, wrong, size, &p, &root),
                        "size {size} index {index} as {wrong}"
                    );
                }
            }
        }
    }

    #[test]
    fn lengths_are_enforced() {
        let t = ct_tree();
        let root = t.root();
        let mut p = t.inclusion_proof(2, 8).expect("proof");
        let leaf = t.leaf(2).expect("leaf");
        p.push([0; 32]);
        assert!(matches!(
            verify_inclusion(&leaf, 2, 8, &p, &root),
            Err(Rfc6962Error::ProofLength { .. })
        ));
        assert!(matches!(
            verify_inclusion(&leaf, 8, 8, &[], &root),
            Err(Rfc6962Error::IndexOutOfRange { .. })
        ));
        assert!(t.inclusion_proof(0, 9).is_err());
        assert!(verify_consistency(5, 3, &root, &root, &[]).is_err());
    }
}
