//! Evidence for the README's dependency decision on `merkle_light` (named by the design card):
//! with SHA-256 and its own 0x00/0x01 prefixes it matches RFC 6962 only for balanced trees. For
//! any other size it duplicates the last node of odd levels (Bitcoin style), so its roots are
//! not RFC 6962 roots; it cannot build a one-leaf tree (it asserts), and its leaves must be
//! fixed-size hashes, not arbitrary data. The reference chain therefore uses our own
//! `rfc6962::MerkleTree`.

use meridian_proofs::rfc6962::MerkleTree;
use merkle_light::hash::Algorithm;
use merkle_light::merkle::MerkleTree as LightTree;
use sha2::{Digest, Sha256};
use std::hash::Hasher;

#[derive(Default, Clone)]
struct Sha256Alg(Sha256);

impl Hasher for Sha256Alg {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        0
    }
}

impl Algorithm<[u8; 32]> for Sha256Alg {
    fn hash(&mut self) -> [u8; 32] {
        self.0.clone().finalize().into()
    }
}

fn leaves(n: u8) -> Vec<[u8; 32]> {
    (0..n).map(|i| [i; 32]).collect()
}

fn light_root(n: u8) -> [u8; 32] {
    let t: LightTree<[u8; 32], Sha256Alg> = LightTree::new(leaves(n));
    t.root()
}

fn rfc_root(n: u8) -> [u8; 32] {
    MerkleTree::from_leaves(leaves(n)).root()
}

#[test]
fn merkle_light_agrees_with_rfc6962_only_on_balanced_trees() {
    for n in [2u8, 4, 8, 16, 32] {
        assert_eq!(light_root(n), rfc_root(n), "size {n}");
    }
    for n in [3u8, 5, 6, 7, 9, 10, 13, 31] {
        assert_ne!(light_root(n), rfc_root(n), "size {n}");
    }
}

#[test]
fn merkle_light_cannot_build_a_one_leaf_tree() {
    let r = std::panic::catch_unwind(|| light_root(1));
    assert!(r.is_err(), "merkle_light 0.4 asserts leafs > 1");
}
