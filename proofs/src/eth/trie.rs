//! An in-memory Merkle-Patricia trie builder: roots and `eth_getProof`-style proofs, built the
//! way go-ethereum lays the trie out (nodes shorter than 32 bytes embedded in their parent).

use super::mpt::key_nibbles;
use crate::hash::{keccak256, Hash32};
use rlp::RlpStream;
use std::collections::BTreeMap;

/// A trie of byte keys to non-empty byte values.
#[derive(Debug, Clone, Default)]
pub struct Trie {
    items: BTreeMap<Vec<u8>, Vec<u8>>,
    built: Option<Node>,
}

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Leaf {
        path: Vec<u8>,
        value: Vec<u8>,
    },
    Extension {
        path: Vec<u8>,
        child: Box<Node>,
    },
    Branch {
        children: Box<[Option<Node>; 16]>,
        value: Option<Vec<u8>>,
    },
}

impl Trie {
    /// An empty trie.
    pub fn new() -> Self {
        Trie::default()
    }

    /// Insert or replace; an empty value deletes the key, as in go-ethereum.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) {
        self.built = None;
        if value.is_empty() {
            self.items.remove(key);
        } else {
            self.items.insert(key.to_vec(), value.to_vec());
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the trie has no keys.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn node(&mut self) -> &Node {
        if self.built.is_none() {
            let entries: Vec<(Vec<u8>, &[u8])> = self
                .items
                .iter()
                .map(|(k, v)| (key_nibbles(k), v.as_slice()))
                .collect();
            self.built = Some(build(&entries, 0));
        }
        self.built.get_or_insert(Node::Empty)
    }

    /// The root hash (`keccak256(rlp(""))` when empty).
    pub fn root(&mut self) -> Hash32 {
        keccak256(&[&encode(self.node())])
    }

    /// The proof for `key`, present or absent: every hashed node on its path, root first.
    pub fn proof(&mut self, key: &[u8]) -> Vec<Vec<u8>> {
        let nibbles = key_nibbles(key);
        let mut out = Vec::new();
        let mut node = self.node();
        let mut pos = 0usize;
        let mut hashed = true;
        loop {
            let enc = encode(node);
            if hashed || enc.len() >= 32 {
                out.push(enc);
            }
            let next = match node {
                Node::Empty | Node::Leaf { .. } => None,
                Node::Extension { path, child } => {
                    let rest = &nibbles[pos..];
                    if rest.len() >= path.len() && rest[..path.len()] == path[..] {
                        pos += path.len();
                        Some(child.as_ref())
                    } else {
                        None
                    }
                }
                Node::Branch { children, .. } => match nibbles.get(pos) {
                    Some(&n) if n < 16 => {
                        pos += 1;
                        children[n as usize].as_ref()
                    }
                    _ => None,
                },
            };
            match next {
                Some(n) => {
                    node = n;
                    hashed = false;
                }
                None => return out,
            }
        }
    }
}

/// Build the node for `entries` (sorted, unique, nibble keys with terminator) from `depth`.
fn build(entries: &[(Vec<u8>, &[u8])], depth: usize) -> Node {
    match entries {
        [] => Node::Empty,
        [(k, v)] => Node::Leaf {
            path: k[depth..].to_vec(),
            value: v.to_vec(),
        },
        [first, .., last] => {
            let common = first.0[depth..]
                .iter()
                .zip(&last.0[depth..])
                .take_while(|(a, b)| a == b)
                .count();
            if common > 0 {
                return Node::Extension {
                    path: first.0[depth..depth + common].to_vec(),
                    child: Box::new(build(entries, depth + common)),
                };
            }
            let mut children: [Option<Node>; 16] = Default::default();
            let mut value = None;
            let mut start = 0;
            while start < entries.len() {
                let nib = entries[start].0[depth];
                let end = start
                    + entries[start..]
                        .iter()
                        .take_while(|(k, _)| k[depth] == nib)
                        .count();
                if nib == 16 {
                    value = Some(entries[start].1.to_vec());
                } else {
                    children[nib as usize] = Some(build(&entries[start..end], depth + 1));
                }
                start = end;
            }
            Node::Branch {
                children: Box::new(children),
                value,
            }
        }
    }
}

/// Hex-prefix encoding of a path (a trailing terminator marks a leaf).
fn compact(path: &[u8]) -> Vec<u8> {
    let (nibbles, leaf) = match path.split_last() {
        Some((&16, rest)) => (rest, true),
        _ => (path, false),
    };
    let flag = if leaf { 2u8 } else { 0 } + (nibbles.len() % 2) as u8;
    let mut out = Vec::with_capacity(nibbles.len() / 2 + 1);
    let rest = if nibbles.len() % 2 == 1 {
        out.push((flag << 4) | nibbles[0]);
        &nibbles[1..]
    } else {
        out.push(flag << 4);
        nibbles
    };
    for pair in rest.chunks(2) {
        out.push((pair[0] << 4) | pair.get(1).copied().unwrap_or(0));
    }
    out
}

fn append_ref(s: &mut RlpStream, node: &Node) {
    let enc = encode(node);
    if enc.len() < 32 {
        s.append_raw(&enc, 1);
    } else {
        s.append(&keccak256(&[&enc]).as_slice());
    }
}

fn encode(node: &Node) -> Vec<u8> {
    let mut s = RlpStream::new();
    match node {
        Node::Empty => {
            s.append_empty_data();
        }
        Node::Leaf { path, value } => {
            s.begin_list(2);
            s.append(&compact(path));
            s.append(value);
        }
        Node::Extension { path, child } => {
            s.begin_list(2);
            s.append(&compact(path));
            append_ref(&mut s, child);
        }
        Node::Branch { children, value } => {
            s.begin_list(17);
            for c in children.iter() {
                match c {
                    Some(c) => append_ref(&mut s, c),
                    None => {
                        s.append_empty_data();
                    }
                }
            }
            match value {
                Some(v) => s.append(v),
                None => s.append_empty_data(),
            };
        }
    }
    s.out().to_vec()
}

#[cfg(test)]
mod tests {
    use super::super::mpt::{verify_proof, ProofOutcome};
    use super::*;

    #[test]
    fn empty_root() {
        assert_eq!(
            hex::encode(Trie::new().root()),
            "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
        );
    }

    /// go-ethereum trie/trie_test.go TestInsert (doe/reindeer, dog/puppy, dogglesworth/cat; and
    /// "A" → 50 × "a", also ethereum/tests trietest.json).
    #[test]
    fn geth_insert_vector() {
        let mut t = Trie::new();
        t.insert(b"doe", b"reindeer");
        t.insert(b"dog", b"puppy");
        t.insert(b"dogglesworth", b"cat");
        assert_eq!(
            hex::encode(t.root()),
            "8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3"
        );
        let mut t = Trie::new();
        t.insert(b"A", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_eq!(
            hex::encode(t.root()),
            "d23786fb4a010da3ce639d66d5e904a11dbc02746d1ce25029e53290cabf28ab"
        );
    }

    #[test]
    fn proofs_of_present_and_absent_keys() {
        let mut t = Trie::new();
        for i in 0u32..300 {
            let key = rlp::encode(&i).to_vec();
            t.insert(&key, &i.to_be_bytes());
        }
        let root = t.root();
        for i in 0u32..300 {
            let key = rlp::encode(&i).to_vec();
            let p = t.proof(&key);
            assert_eq!(
                verify_proof(&root, &key, &p),
                Ok(ProofOutcome::Present(i.to_be_bytes().to_vec()))
            );
        }
        for k in [&b"\x82\xff\xff"[..], b"\x00", b"", b"\x81\x80\x00"] {
            let p = t.proof(k);
            assert_eq!(verify_proof(&root, k, &p), Ok(ProofOutcome::Absent));
        }
    }
}
