//! Property tests of every tree kind: build a random tree (random size, including 1, and random
//! leaves), prove a random member and check the proof verifies; then XOR a random non-zero mask
//! into one random byte of one random proof element (or of the root) and check the proof no
//! longer verifies. Formats whose proofs are bound to a position also reject the right proof
//! under another index.

use meridian_proofs::eosio;
use meridian_proofs::eth::{verify_proof, ProofOutcome, Trie};
use meridian_proofs::fabric;
use meridian_proofs::fisco::{self, FiscoHash, Level, V2Tree, V3Tree};
use meridian_proofs::hash::{sha256, Hash32};
use meridian_proofs::rfc6962::{leaf_hash, verify_consistency, verify_inclusion, MerkleTree};
use meridian_proofs::xrpl::{self, ShaMap, XrplHash};
use meridian_proofs::xuper;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use std::collections::BTreeMap;

const CASES: u32 = 256;

/// Where to tamper: which element (among the non-empty ones), which byte of it, with which mask.
#[derive(Debug, Clone)]
struct Flip {
    which: Index,
    byte: Index,
    mask: u8,
}

fn flip() -> impl Strategy<Value = Flip> {
    (any::<Index>(), any::<Index>(), 1u8..=255).prop_map(|(which, byte, mask)| Flip {
        which,
        byte,
        mask,
    })
}

impl Flip {
    /// XOR the mask into one byte of one non-empty target; returns the target's position
    /// among the non-empty ones. The caller always includes a root, so there is one.
    fn apply(&self, targets: Vec<&mut [u8]>) -> usize {
        let mut targets: Vec<&mut [u8]> = targets.into_iter().filter(|t| !t.is_empty()).collect();
        let at = self.which.index(targets.len());
        let t = &mut targets[at];
        let b = self.byte.index(t.len());
        t[b] ^= self.mask;
        at
    }
}

/// Tree sizes: 1 often, small sizes often, anything up to 300.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(1usize), 2 => 2usize..=17, 3 => 1usize..=300]
}

/// `n` random, pairwise distinct 32-byte leaves (random bytes hashed with their position, so
/// that a proof under a wrong index can never be "right" through two equal subtrees).
fn distinct_hashes(n: usize) -> impl Strategy<Value = Vec<Hash32>> {
    vec(any::<[u8; 32]>(), n).prop_map(|raw| {
        raw.iter()
            .enumerate()
            .map(|(i, r)| sha256(&[r, &(i as u64).to_be_bytes()]))
            .collect()
    })
}

/// A tree's leaves and a member's index.
fn hashes_and_member() -> impl Strategy<Value = (Vec<Hash32>, usize)> {
    size().prop_flat_map(|n| (distinct_hashes(n), 0..n))
}

fn fisco_alg() -> impl Strategy<Value = FiscoHash> {
    select(vec![FiscoHash::Keccak256, FiscoHash::Sm3])
}

fn xrpl_alg() -> impl Strategy<Value = XrplHash> {
    select(vec![XrplHash::Sha512Half, XrplHash::Sm3])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // ---------------------------------------------------------------- RFC 6962

    #[test]
    fn rfc6962_inclusion(
        (leaves, index) in size().prop_flat_map(|n| (vec(vec(any::<u8>(), 0..48), n), 0..n)),
        f in flip(),
    ) {
        // Leaf data made distinct by a 4-byte position suffix.
        let leaves: Vec<Vec<u8>> = leaves
            .into_iter()
            .enumerate()
            .map(|(i, mut l)| {
                l.extend_from_slice(&(i as u32).to_le_bytes());
                l
            })
            .collect();
        let tree = MerkleTree::from_leaves(&leaves);
        let size = leaves.len() as u64;
        let i = index as u64;
        let mut root = tree.root();
        let leaf = leaf_hash(&leaves[index]);
        prop_assert_eq!(tree.leaf(i), Some(leaf));
        let mut proof = tree.inclusion_proof(i, size).expect("member");
        prop_assert!(verify_inclusion(&leaf, i, size, &proof, &root).is_ok());
        if size > 1 {
            let other = (i + 1) % size;
            prop_assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
        }
        let targets = proof
            .iter_mut()
            .map(|h| h.as_mut_slice())
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            verify_inclusion(&leaf, i, size, &proof, &root).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    #[test]
    fn rfc6962_consistency(
        (leaves, old) in size().prop_flat_map(|n| (vec(vec(any::<u8>(), 0..16), n), 0..=n)),
        f in flip(),
    ) {
        let tree = MerkleTree::from_leaves(&leaves);
        let new = leaves.len() as u64;
        let old = old as u64;
        let mut old_root = tree.root_at(old).expect("old size");
        let mut new_root = tree.root();
        let mut proof = tree.consistency_proof(old, new).expect("sizes");
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        // From the empty tree any new root is consistent: only the old root can be wrong.
        let targets: Vec<&mut [u8]> = if old == 0 {
            vec![old_root.as_mut_slice()]
        } else {
            proof
                .iter_mut()
                .map(|h| h.as_mut_slice())
                .chain([old_root.as_mut_slice(), new_root.as_mut_slice()])
                .collect()
        };
        let at = f.apply(targets);
        prop_assert!(
            verify_consistency(old, new, &old_root, &new_root, &proof).is_err(),
            "tampered element {} accepted ({} -> {})",
            at,
            old,
            new
        );
    }

    // ---------------------------------------------------------------- Ethereum MPT

    #[test]
    fn mpt_inclusion(
        (entries, pick) in (mpt_entries(), any::<Index>()),
        f in flip(),
    ) {
        let mut trie = Trie::new();
        for (k, v) in &entries {
            trie.insert(k, v);
        }
        let mut root = trie.root();
        let (key, value) = *pick.get(&entries.iter().collect::<Vec<_>>());
        let mut proof = trie.proof(key);
        prop_assert_eq!(
            verify_proof(&root, key, &proof),
            Ok(ProofOutcome::Present(value.clone()))
        );
        let targets = proof
            .iter_mut()
            .map(Vec::as_mut_slice)
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        let r = verify_proof(&root, key, &proof);
        prop_assert!(r.is_err(), "tampered element {} accepted: {:?}", at, r);
    }

    #[test]
    fn mpt_exclusion(
        (entries, pick, how, extra) in (mpt_entries(), any::<Index>(), 0u8..4, mpt_key()),
        f in flip(),
    ) {
        let mut trie = Trie::new();
        for (k, v) in &entries {
            trie.insert(k, v);
        }
        let mut root = trie.root();
        let keys: Vec<&Vec<u8>> = entries.keys().collect();
        let near = pick.get(&keys).to_vec();
        // Keys next to members reach branch values, extensions and leaves that diverge late.
        let probe = match how {
            0 => extra,
            1 => [near.as_slice(), &extra[..extra.len().min(1)]].concat(),
            2 => near[..near.len().saturating_sub(1)].to_vec(),
            _ => {
                let mut k = near;
                if let Some(b) = k.last_mut() {
                    *b ^= 0x01;
                }
                k
            }
        };
        let expected = match entries.get(&probe) {
            Some(v) => ProofOutcome::Present(v.clone()),
            None => ProofOutcome::Absent,
        };
        let mut proof = trie.proof(&probe);
        prop_assert_eq!(verify_proof(&root, &probe, &proof), Ok(expected));
        let targets = proof
            .iter_mut()
            .map(Vec::as_mut_slice)
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        let r = verify_proof(&root, &probe, &proof);
        prop_assert!(r.is_err(), "tampered element {} accepted: {:?}", at, r);
    }

    // ---------------------------------------------------------------- FISCO BCOS

    #[test]
    fn fisco_v2(alg in fisco_alg(), (hashes, index) in hashes_and_member(), f in flip()) {
        let tree = V2Tree::new(alg, &hashes);
        let mut root = tree.root();
        let mut proof: Vec<Level> = tree.proof(index).expect("member");
        let i = index as u64;
        prop_assert!(fisco::verify_v2(alg, i, &hashes[index], &root, &proof).is_ok());
        if hashes.len() > 1 {
            let other = (i + 1) % hashes.len() as u64;
            prop_assert!(fisco::verify_v2(alg, other, &hashes[index], &root, &proof).is_err());
        }
        let targets = proof
            .iter_mut()
            .flat_map(|l| l.left.iter_mut().chain(l.right.iter_mut()))
            .map(Vec::as_mut_slice)
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            fisco::verify_v2(alg, i, &hashes[index], &root, &proof).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    #[test]
    fn fisco_v3(alg in fisco_alg(), (hashes, index) in hashes_and_member(), f in flip()) {
        let tree = V3Tree::new(alg, &hashes);
        let mut root = tree.root();
        let mut proof = tree.proof(index).expect("member");
        prop_assert!(fisco::verify_v3(alg, &hashes[index], &root, &proof).is_ok());
        let targets = proof
            .iter_mut()
            .map(Vec::as_mut_slice)
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            fisco::verify_v3(alg, &hashes[index], &root, &proof).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    // ---------------------------------------------------------------- EOSIO

    #[test]
    fn eosio_legacy((ids, index) in hashes_and_member(), f in flip()) {
        let mut root = eosio::legacy_root(&ids);
        let mut proof = eosio::legacy_proof(&ids, index).expect("member");
        prop_assert!(eosio::verify_legacy(&ids[index], &proof, &root).is_ok());
        let targets = proof
            .iter_mut()
            .map(|h| h.as_mut_slice())
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            eosio::verify_legacy(&ids[index], &proof, &root).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    #[test]
    fn eosio_savanna((ids, index) in hashes_and_member(), f in flip()) {
        let n = ids.len() as u64;
        let i = index as u64;
        let mut root = eosio::savanna_root(&ids);
        let mut proof = eosio::savanna_proof(&ids, index).expect("member");
        prop_assert!(eosio::verify_savanna(&ids[index], i, n, &proof, &root).is_ok());
        if n > 1 {
            let other = (i + 1) % n;
            prop_assert!(eosio::verify_savanna(&ids[index], other, n, &proof, &root).is_err());
        }
        let targets = proof
            .iter_mut()
            .map(|h| h.as_mut_slice())
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            eosio::verify_savanna(&ids[index], i, n, &proof, &root).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    // ---------------------------------------------------------------- XuperChain

    #[test]
    fn xuper((txids, index) in hashes_and_member(), f in flip()) {
        let n = txids.len() as u64;
        let i = index as u64;
        let tree = xuper::Tree::new(&txids);
        let mut root = tree.root().expect("non-empty block");
        let mut proof = tree.proof(index).expect("member");
        prop_assert!(xuper::verify(&txids[index], i, n, &proof, &root).is_ok());
        if n > 1 {
            let other = (i + 1) % n;
            prop_assert!(xuper::verify(&txids[index], other, n, &proof, &root).is_err());
        }
        let targets = proof
            .iter_mut()
            .flatten()
            .map(|h| h.as_mut_slice())
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            xuper::verify(&txids[index], i, n, &proof, &root).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    // ---------------------------------------------------------------- XRPL SHAMap

    #[test]
    fn xrpl_state_leaves(
        alg in xrpl_alg(),
        (items, pick) in (btree_map(xrpl_key(), vec(any::<u8>(), 0..40), 1..=300), any::<Index>()),
        f in flip(),
    ) {
        let hashed: Vec<(Hash32, Hash32)> = items
            .iter()
            .map(|(k, d)| (*k, xrpl::state_leaf_hash(alg, d, k)))
            .collect();
        let map = ShaMap::new(alg, &hashed);
        let mut root = map.root();
        let (key, leaf) = *pick.get(&hashed);
        let mut proof = map.proof(&key).expect("member");
        prop_assert!(xrpl::verify_path(alg, &key, &leaf, &proof, &root).is_ok());
        let targets = proof
            .iter_mut()
            .flat_map(|n| n.iter_mut())
            .map(|h| h.as_mut_slice())
            .chain([root.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            xrpl::verify_path(alg, &key, &leaf, &proof, &root).is_err(),
            "tampered element {} accepted",
            at
        );
    }

    #[test]
    fn xrpl_transaction_leaves(
        alg in xrpl_alg(),
        (txs, pick) in (vec((vec(any::<u8>(), 0..300), vec(any::<u8>(), 0..40)), 1..=60), any::<Index>()),
        f in flip(),
    ) {
        // Distinct transactions (position suffix), keyed by their ids.
        let leaves: Vec<(Hash32, Hash32)> = txs
            .iter()
            .enumerate()
            .map(|(i, (tx, meta))| {
                let tx = [tx.as_slice(), &(i as u32).to_be_bytes()].concat();
                let id = xrpl::txid(alg, &tx);
                (id, xrpl::tx_leaf_hash(alg, &tx, meta, &id).expect("short blobs"))
            })
            .collect();
        let map = ShaMap::new(alg, &leaves);
        let mut root = map.root();
        let (key, leaf) = *pick.get(&leaves);
        let mut proof = map.proof(&key).expect("member");
        prop_assert!(xrpl::verify_path(alg, &key, &leaf, &proof, &root).is_ok());
        let targets = proof
            .iter_mut()
            .flat_map(|n| n.iter_mut())
            .map(|h| h.as_mut_slice())
            .chain([root.as_mut_slice()])
            .collect();
        f.apply(targets);
        prop_assert!(xrpl::verify_path(alg, &key, &leaf, &proof, &root).is_err());
    }

    // ---------------------------------------------------------------- Fabric

    #[test]
    fn fabric_block(
        number in prop_oneof![0u64..1000, any::<u64>()],
        mut previous in prop_oneof![Just(Vec::new()), vec(any::<u8>(), 32), vec(any::<u8>(), 0..200)],
        mut data in size().prop_flat_map(|n| vec(vec(any::<u8>(), 0..200), n.min(50))),
        f in flip(),
    ) {
        let mut dh = fabric::data_hash(&data);
        let mut hh = fabric::header_hash(number, &previous, &dh);
        prop_assert!(fabric::verify_block(number, &previous, &data, &dh, &hh).is_ok());
        prop_assert!(
            fabric::verify_block(number.wrapping_add(1), &previous, &data, &dh, &hh).is_err()
        );
        let targets = data
            .iter_mut()
            .map(Vec::as_mut_slice)
            .chain([previous.as_mut_slice(), dh.as_mut_slice(), hh.as_mut_slice()])
            .collect();
        let at = f.apply(targets);
        prop_assert!(
            fabric::verify_block(number, &previous, &data, &dh, &hh).is_err(),
            "tampered element {} accepted",
            at
        );
    }
}

/// Trie keys: often very short (so leaves and even branches are embedded in their parent),
/// often from a tiny alphabet (so keys share prefixes, prefix one another, and make extensions).
fn mpt_key() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![any::<u8>(), select(vec![0x00u8, 0x01, 0x10, 0x11, 0xff])];
    prop_oneof![vec(byte.clone(), 0..=3), vec(byte, 0..=33)]
}

/// Trie entries: up to 200 keys; short values keep nodes under 32 bytes (embedded).
fn mpt_entries() -> impl Strategy<Value = BTreeMap<Vec<u8>, Vec<u8>>> {
    let value = prop_oneof![vec(any::<u8>(), 1..=3), vec(any::<u8>(), 1..=80)];
    btree_map(mpt_key(), value, 1..=200)
}

/// SHAMap keys: random, their first bytes often from a tiny alphabet so paths go deep.
fn xrpl_key() -> impl Strategy<Value = Hash32> {
    (
        vec(select(vec![0x00u8, 0x01, 0x10]), 0..=8),
        any::<Hash32>(),
    )
        .prop_map(|(prefix, mut k)| {
            k[..prefix.len()].copy_from_slice(&prefix);
            k
        })
}

/// A trie whose leaves and branch are all shorter than 32 bytes: the proof is the root alone,
/// and the walk continues inside it.
#[test]
fn mpt_embedded_nodes_are_walked() {
    let mut trie = Trie::new();
    trie.insert(&[0x01], &[0x02]);
    trie.insert(&[0x02], &[0x03]);
    let root = trie.root();
    for (k, v) in [(0x01u8, 0x02u8), (0x02, 0x03)] {
        let proof = trie.proof(&[k]);
        assert_eq!(
            proof.len(),
            1,
            "the branch and leaves are embedded in the root"
        );
        assert_eq!(
            verify_proof(&root, &[k], &proof),
            Ok(ProofOutcome::Present(vec![v]))
        );
    }
    let proof = trie.proof(&[0x03]);
    assert_eq!(
        verify_proof(&root, &[0x03], &proof),
        Ok(ProofOutcome::Absent)
    );
}
