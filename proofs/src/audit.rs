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

/// The index must lie in the tree and the proof have the length its position calls for.
fn check_shape(index: u64, size: u64, proof: &[Hash32]) -> Result<(), PathError> {
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
    Ok(())
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
    check_shape(index, size, proof)?;
    Ok(walk(leaf, index, size, proof, |_, l, r| node(l, r)))
}

/// The walk of [`fold_path`] over a proof of the right shape: `step(position, left, right)`
/// gives each parent, `position` being its levels above the leaves and its index within that
/// level (one subtree of this tree for each position).
fn walk(
    leaf: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    mut step: impl FnMut((u32, u64), &Hash32, &Hash32) -> Hash32,
) -> Hash32 {
    let mut fnode = index;
    let mut snode = size - 1;
    let mut level = 0u32;
    let mut r = *leaf;
    for p in proof {
        let left_sibling = fnode & 1 == 1 || fnode == snode;
        if left_sibling {
            // A last node without a right sibling moves up unchanged until it is a right child.
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
                level += 1;
            }
        }
        fnode >>= 1;
        snode >>= 1;
        level += 1;
        r = if left_sibling {
            step((level, fnode), p, &r)
        } else {
            step((level, fnode), &r, p)
        };
    }
    r
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

/// One interior node an earlier proof computed: its two children and itself.
type Known = (Hash32, Hash32, Hash32);

/// The interior nodes of one tree (root and size) that proofs have already led to its root.
#[derive(Debug)]
struct TreeMemo {
    root: Hash32,
    size: u64,
    /// Keyed by the node's position: levels above the leaves, index within that level.
    nodes: std::collections::HashMap<(u32, u64), Known, foldhash::fast::RandomState>,
}

/// Remembers the interior nodes of recently verified audit paths, so that the proofs of
/// neighbouring leaves of one tree (which share the upper part of their paths) cost a lookup
/// instead of a hash for each shared node.
///
/// A step is skipped only when both children at that position equal the children an earlier
/// proof combined there and that proof led to the same root of the same size; the parent is
/// then the value that proof computed. So [`fold_path_memo`] accepts exactly the proofs that
/// [`fold_path`] followed by a comparison with the root accepts, every element of the proof
/// included (SHA-256 collisions aside, as for the proof itself).
#[derive(Debug)]
pub struct PathMemo {
    trees: Vec<TreeMemo>,
    max_trees: usize,
    max_nodes: usize,
}

impl PathMemo {
    /// A memo for up to `max_trees` trees at once (the oldest is dropped for a new one), each
    /// holding up to `max_nodes` nodes (emptied when full).
    pub fn new(max_trees: usize, max_nodes: usize) -> Self {
        PathMemo {
            trees: Vec::new(),
            max_trees: max_trees.max(1),
            max_nodes,
        }
    }

    /// Nodes held, over all trees.
    pub fn len(&self) -> usize {
        self.trees.iter().map(|t| t.nodes.len()).sum()
    }

    /// Whether no node is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn position(&self, root: &Hash32, size: u64) -> Option<usize> {
        self.trees
            .iter()
            .position(|t| t.size == size && &t.root == root)
    }

    fn remember(&mut self, root: &Hash32, size: u64, steps: &[((u32, u64), Known)]) {
        let i = match self.position(root, size) {
            Some(i) => i,
            None => {
                // The oldest tree's table serves the new tree, emptied but with its room: a
                // table grown anew for each block was rehashed into fresh memory as it filled.
                let mut nodes = if self.trees.len() >= self.max_trees {
                    self.trees.remove(0).nodes
                } else {
                    Default::default()
                };
                nodes.clear();
                self.trees.push(TreeMemo {
                    root: *root,
                    size,
                    nodes,
                });
                self.trees.len() - 1
            }
        };
        let t = &mut self.trees[i];
        if t.nodes.len() + steps.len() > self.max_nodes {
            t.nodes.clear();
        }
        t.nodes.extend(steps.iter().copied());
    }
}

/// [`fold_path`] and the comparison with `root` in one, using and filling `memo`: `Ok(true)`
/// when `proof` leads `leaf` to `root`, `Ok(false)` when it leads elsewhere, and the errors of
/// [`fold_path`] for a proof of the wrong shape.
pub fn fold_path_memo(
    memo: &mut PathMemo,
    leaf: &Hash32,
    index: u64,
    size: u64,
    proof: &[Hash32],
    root: &Hash32,
    node: impl Fn(&Hash32, &Hash32) -> Hash32,
) -> Result<bool, PathError> {
    check_shape(index, size, proof)?;
    let tree = memo.position(root, size).map(|i| &memo.trees[i]);
    // The steps computed here (not found in the memo), remembered if the proof holds.
    let mut fresh: Vec<((u32, u64), Known)> = Vec::new();
    let r = walk(leaf, index, size, proof, |key, left, right| {
        match tree.and_then(|t| t.nodes.get(&key)) {
            Some((l, rt, parent)) if l == left && rt == right => *parent,
            _ => {
                let parent = node(left, right);
                fresh.push((key, (*left, *right, parent)));
                parent
            }
        }
    });
    if &r != root {
        return Ok(false);
    }
    if !fresh.is_empty() {
        memo.remember(root, size, &fresh);
    }
    Ok(true)
}

#[cfg(test)]
mod memo_tests {
    use super::*;
    use crate::hash::sha256;

    fn node(l: &Hash32, r: &Hash32) -> Hash32 {
        sha256(&[&[1], l, r])
    }

    fn leaves(n: usize, salt: u8) -> Vec<Hash32> {
        (0..n as u64)
            .map(|i| sha256(&[&[0, salt], &i.to_be_bytes()]))
            .collect()
    }

    /// Plain fold and memo fold agree on every leaf of trees of many sizes, in an order that
    /// jumps about, with the memo shared across trees.
    #[test]
    fn memo_accepts_exactly_what_the_plain_fold_accepts() {
        let mut memo = PathMemo::new(3, 1 << 12);
        for size in [1usize, 2, 3, 5, 7, 8, 13, 64, 100, 257] {
            let ls = leaves(size, size as u8);
            let root = root_of(&ls, &node).expect("root");
            // 0, k, 2k, … mod size with k coprime to size, twice (second pass hits the memo).
            let k = (1..size.max(2))
                .rev()
                .find(|k| gcd(*k, size) == 1)
                .unwrap_or(1);
            for pass in 0..2 {
                let hashed = std::cell::Cell::new(0usize);
                let counting = |l: &Hash32, r: &Hash32| {
                    hashed.set(hashed.get() + 1);
                    node(l, r)
                };
                let mut plain_hashes = 0;
                for j in 0..size {
                    let i = (j * k + pass) % size;
                    let path = path_of(&ls, i, &node).expect("path");
                    let plain =
                        fold_path(&ls[i], i as u64, size as u64, &path, node).expect("fold");
                    assert_eq!(plain, root, "size {size} leaf {i}");
                    plain_hashes += path.len();
                    let ok = fold_path_memo(
                        &mut memo,
                        &ls[i],
                        i as u64,
                        size as u64,
                        &path,
                        &root,
                        counting,
                    )
                    .expect("memo fold");
                    assert!(ok, "size {size} leaf {i} pass {pass}");
                }
                // First pass: each interior node hashed once (size - 1 of them); second: none.
                let want = if pass == 0 { size - 1 } else { 0 };
                assert_eq!(
                    hashed.get(),
                    want,
                    "size {size} pass {pass} ({plain_hashes} without the memo)"
                );
            }
        }
        assert!(!memo.is_empty());
    }

    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    /// With the memo full of the tree's nodes, a proof with any one element changed, a
    /// different leaf, or the right proof against another root is still refused.
    #[test]
    fn a_warm_memo_still_refuses_every_tampered_proof() {
        let size = 100usize;
        let ls = leaves(size, 9);
        let root = root_of(&ls, &node).expect("root");
        let mut memo = PathMemo::new(4, 1 << 12);
        for i in 0..size {
            let path = path_of(&ls, i, &node).expect("path");
            assert!(
                fold_path_memo(&mut memo, &ls[i], i as u64, size as u64, &path, &root, node)
                    .expect("fold")
            );
        }
        let held = memo.len();
        for i in 0..size {
            let path = path_of(&ls, i, &node).expect("path");
            for e in 0..path.len() {
                let mut bad = path.clone();
                bad[e][31] ^= 1;
                assert!(
                    !fold_path_memo(&mut memo, &ls[i], i as u64, size as u64, &bad, &root, node)
                        .expect("fold"),
                    "leaf {i}: element {e} changed was accepted"
                );
            }
            let mut leaf = ls[i];
            leaf[0] ^= 0x80;
            assert!(
                !fold_path_memo(&mut memo, &leaf, i as u64, size as u64, &path, &root, node)
                    .expect("fold")
            );
            let other = (i + 1) % size;
            assert!(!fold_path_memo(
                &mut memo,
                &ls[other],
                i as u64,
                size as u64,
                &path,
                &root,
                node
            )
            .expect("fold"));
            let mut root2 = root;
            root2[5] ^= 1;
            assert!(!fold_path_memo(
                &mut memo,
                &ls[i],
                i as u64,
                size as u64,
                &path,
                &root2,
                node
            )
            .expect("fold"));
        }
        // Refused proofs add nothing.
        assert_eq!(memo.len(), held);
        // Shape errors are the plain fold's.
        let path = path_of(&ls, 3, &node).expect("path");
        assert_eq!(
            fold_path_memo(&mut memo, &ls[3], 3, size as u64, &path[1..], &root, node),
            Err(PathError::ProofLength {
                expected: path.len(),
                got: path.len() - 1
            })
        );
        assert_eq!(
            fold_path_memo(&mut memo, &ls[3], 100, 100, &path, &root, node),
            Err(PathError::IndexOutOfRange {
                index: 100,
                size: 100
            })
        );
    }

    /// The memo keeps to its bounds: at most `max_trees` trees and `max_nodes` nodes each.
    #[test]
    fn the_memo_stays_within_its_bounds() {
        let mut memo = PathMemo::new(2, 50);
        for t in 0..5u8 {
            let ls = leaves(64, t);
            let root = root_of(&ls, &node).expect("root");
            for i in 0..64 {
                let path = path_of(&ls, i, &node).expect("path");
                assert!(
                    fold_path_memo(&mut memo, &ls[i], i as u64, 64, &path, &root, node)
                        .expect("fold")
                );
                assert!(memo.len() <= 2 * 50, "{} nodes held", memo.len());
            }
        }
        assert!(memo.trees.len() <= 2);
    }

    /// A new tree takes over the oldest tree's table: emptied of that tree's nodes, its room
    /// kept.
    #[test]
    fn a_new_tree_reuses_the_oldest_table_emptied() {
        let mut memo = PathMemo::new(1, 1 << 12);
        let mut rooms = Vec::new();
        for t in 0..3u8 {
            let ls = leaves(256, t);
            let root = root_of(&ls, &node).expect("root");
            let path = path_of(&ls, 0, &node).expect("path");
            assert!(fold_path_memo(&mut memo, &ls[0], 0, 256, &path, &root, node).expect("fold"));
            // One proof of a 256-leaf tree: its 8 steps, none of the earlier tree's, in a
            // table that already has the room the earlier tree grew it to.
            assert_eq!(memo.len(), 8, "tree {t}");
            let room = memo.trees.iter().map(|t| t.nodes.capacity()).sum::<usize>();
            if let Some(before) = rooms.last() {
                assert_eq!(room, *before, "tree {t} got a table of its own");
            }
            for i in 1..256 {
                let path = path_of(&ls, i, &node).expect("path");
                assert!(
                    fold_path_memo(&mut memo, &ls[i], i as u64, 256, &path, &root, node)
                        .expect("fold")
                );
            }
            rooms.push(memo.trees.iter().map(|t| t.nodes.capacity()).sum::<usize>());
        }
        assert!(rooms.iter().all(|r| *r >= 255), "{rooms:?}");
    }
}
