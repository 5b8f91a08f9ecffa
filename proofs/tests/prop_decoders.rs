//! Property tests of every decoder on hostile input: arbitrary text, arbitrary JSON, documents
//! built from each format's field names with random (often well-typed) values, random RLP
//! headers and trie nodes, random FISCO proof lists and random SHAMap paths. Nothing may panic;
//! random claims never verify; documents whose every field is well-typed are never reported
//! malformed; and paths built by the spec's rules do verify.

use meridian_proofs::document::{verify_document, DocumentError, Verdict, FORMATS};
use meridian_proofs::eth::{self, verify_proof, ProofOutcome, Trie};
use meridian_proofs::fisco::{self, FiscoHash, Level};
use meridian_proofs::hash::{keccak256, Hash32};
use meridian_proofs::xrpl::{self, XrplHash};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};
use std::cell::Cell;

const CASES: u32 = 512;

/// Random documents per format in `structured_documents_of_every_format`.
const DOC_CASES: u32 = 256;

// ------------------------------------------------------------------ JSON values

/// Any JSON value: scalars of every kind (including hex-looking strings), nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|x| json!(x)),
        any::<String>().prop_map(Value::String),
        "(0x)?[0-9a-fA-F]{0,70}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Bytes as a document writes them: `0x`, `0X` or no prefix, lower or upper case.
fn hex_of(bytes: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Value> {
    (bytes, 0u8..3, any::<bool>()).prop_map(|(b, prefix, upper)| {
        let body = if upper {
            hex::encode_upper(&b)
        } else {
            hex::encode(&b)
        };
        let prefix = ["0x", "0X", ""][usize::from(prefix)];
        Value::String(format!("{prefix}{body}"))
    })
}

fn h32() -> BoxedStrategy<Value> {
    hex_of(any::<[u8; 32]>().prop_map(|h| h.to_vec())).boxed()
}

fn bytes() -> BoxedStrategy<Value> {
    hex_of(prop_oneof![vec(any::<u8>(), 0..80), vec(any::<u8>(), 32)]).boxed()
}

/// Numbers that are mostly small (so sizes and indices line up with short proofs).
fn u64_value() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => (0u64..300).prop_map(|n| json!(n)),
        1 => any::<u64>().prop_map(|n| json!(n)),
        1 => Just(json!(u64::MAX)),
    ]
    .boxed()
}

/// A FISCO 2.x sibling: a 32-byte hash, `rlp(i) ‖ hash`, or anything.
fn fisco_sibling() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 32),
        (0u64..300, any::<[u8; 32]>()).prop_map(|(i, h)| fisco::v2_leaf(i, &h)),
        vec(any::<u8>(), 0..40),
    ]
}

/// A FISCO 3.x flat-list element: a count (usually 1 or 2), a hash, or anything.
fn fisco_v3_element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (0u32..4).prop_map(fisco::v3_count),
        1 => any::<u32>().prop_map(fisco::v3_count),
        4 => vec(any::<u8>(), 32),
        1 => vec(any::<u8>(), 0..40),
    ]
}

/// A SHAMap child: mostly the zero (empty) hash.
fn xrpl_child() -> impl Strategy<Value = Hash32> {
    prop_oneof![3 => Just([0u8; 32]), 1 => any::<Hash32>()]
}

/// What a field holds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    H32,
    Bytes,
    NullableBytes,
    U64,
    U32,
    U8,
    FiscoAlg,
    XrplAlg,
    Decimal,
    VecH32,
    VecOptH32,
    VecBytes,
    FiscoV3List,
    FiscoLevels,
    EthHeaderRlp,
    XrplLeaf,
    XrplNodes,
}

/// A well-typed value of `kind`: it always deserialises, whatever it claims.
fn good(kind: Kind) -> BoxedStrategy<Value> {
    match kind {
        Kind::H32 => h32(),
        Kind::Bytes => bytes(),
        Kind::NullableBytes => prop_oneof![Just(Value::Null), bytes()].boxed(),
        Kind::U64 => u64_value(),
        Kind::U32 => any::<u32>().prop_map(|n| json!(n)).boxed(),
        Kind::U8 => any::<u8>().prop_map(|n| json!(n)).boxed(),
        Kind::FiscoAlg => select(vec![json!("keccak256"), json!("sm3")]).boxed(),
        Kind::XrplAlg => select(vec![json!("sha512half"), json!("sm3")]).boxed(),
        Kind::Decimal => any::<u64>().prop_map(|n| json!(n.to_string())).boxed(),
        Kind::VecH32 => vec(h32(), 0..20).prop_map(Value::Array).boxed(),
        Kind::VecOptH32 => vec(prop_oneof![Just(Value::Null), h32()], 0..12)
            .prop_map(Value::Array)
            .boxed(),
        Kind::VecBytes => vec(bytes(), 0..10).prop_map(Value::Array).boxed(),
        Kind::FiscoV3List => vec(hex_of(fisco_v3_element()), 0..16)
            .prop_map(Value::Array)
            .boxed(),
        Kind::FiscoLevels => vec(
            (
                vec(hex_of(fisco_sibling()), 0..17),
                vec(hex_of(fisco_sibling()), 0..17),
            )
                .prop_map(|(l, r)| json!({"left": l, "right": r})),
            0..6,
        )
        .prop_map(Value::Array)
        .boxed(),
        Kind::EthHeaderRlp => hex_of(prop_oneof![vec(any::<u8>(), 0..600), header_rlp()]).boxed(),
        Kind::XrplLeaf => prop_oneof![
            bytes().prop_map(|d| json!({ "data": d })),
            (bytes(), bytes()).prop_map(|(t, m)| json!({ "tx": t, "meta": m })),
        ]
        .boxed(),
        Kind::XrplNodes => vec(
            vec(hex_of(xrpl_child().prop_map(|h| h.to_vec())), 16).prop_map(Value::Array),
            0..5,
        )
        .prop_map(Value::Array)
        .boxed(),
    }
}

/// Each format's fields, in document order.
fn fields(format: &str) -> Vec<(&'static str, Kind)> {
    use Kind::*;
    match format {
        "rfc6962" => vec![
            ("leaf", Bytes),
            ("index", U64),
            ("tree_size", U64),
            ("root", H32),
            ("proof", VecH32),
        ],
        "rfc6962-consistency" => vec![
            ("old_size", U64),
            ("new_size", U64),
            ("old_root", H32),
            ("new_root", H32),
            ("proof", VecH32),
        ],
        "eth-header" => vec![("rlp", EthHeaderRlp), ("hash", H32)],
        "eth-mpt" => vec![
            ("root", H32),
            ("key", Bytes),
            ("value", NullableBytes),
            ("proof", VecBytes),
        ],
        "fisco-v2" => vec![
            ("hash_alg", FiscoAlg),
            ("index", U64),
            ("leaf_hash", H32),
            ("root", H32),
            ("proof", FiscoLevels),
        ],
        "fisco-v3" => vec![
            ("hash_alg", FiscoAlg),
            ("leaf_hash", H32),
            ("root", H32),
            ("proof", FiscoV3List),
        ],
        "eosio-legacy" => vec![("leaf", H32), ("root", H32), ("proof", VecH32)],
        "eosio-savanna" => vec![
            ("leaf", H32),
            ("index", U64),
            ("count", U64),
            ("root", H32),
            ("proof", VecH32),
        ],
        "xuper" => vec![
            ("txid", H32),
            ("index", U64),
            ("tx_count", U64),
            ("root", H32),
            ("proof", VecOptH32),
        ],
        "fabric-block" => vec![
            ("number", U64),
            ("previous_hash", Bytes),
            ("data", VecBytes),
            ("data_hash", H32),
            ("header_hash", H32),
        ],
        "xrpl-ledger-header" => vec![
            ("hash_alg", XrplAlg),
            ("seq", U32),
            ("total_coins", Decimal),
            ("parent_hash", H32),
            ("transaction_hash", H32),
            ("account_hash", H32),
            ("parent_close_time", U32),
            ("close_time", U32),
            ("close_time_resolution", U8),
            ("close_flags", U8),
            ("hash", H32),
        ],
        "xrpl-shamap" => vec![
            ("hash_alg", XrplAlg),
            ("key", H32),
            ("leaf", XrplLeaf),
            ("root", H32),
            ("proof", XrplNodes),
        ],
        _ => Vec::new(),
    }
}

/// A document of `format`: `(strict, doc)`. A strict document has every field, well-typed, and
/// nothing else. Otherwise each field is well-typed, replaced by any JSON, or left out, and an
/// unknown field may be added.
fn document(format: &'static str) -> impl Strategy<Value = (bool, Value)> {
    let specs = fields(format);
    let goods: Vec<BoxedStrategy<Value>> = specs.iter().map(|(_, k)| good(*k)).collect();
    let noise: Vec<BoxedStrategy<Option<Value>>> = specs
        .iter()
        .map(|(_, k)| {
            prop_oneof![
                6 => good(*k).prop_map(Some),
                1 => any_json().prop_map(Some),
                1 => Just(None),
            ]
            .boxed()
        })
        .collect();
    let names: Vec<&'static str> = specs.iter().map(|(n, _)| *n).collect();
    (
        any::<bool>(),
        goods,
        noise,
        proptest::option::weighted(0.1, ("[a-z_]{1,10}", any_json())),
    )
        .prop_map(move |(strict, goods, noise, extra)| {
            let mut m = Map::new();
            m.insert("format".into(), json!(format));
            if strict {
                for (n, v) in names.iter().zip(goods) {
                    m.insert((*n).into(), v);
                }
            } else {
                for (n, v) in names.iter().zip(noise) {
                    if let Some(v) = v {
                        m.insert((*n).into(), v);
                    }
                }
                if let Some((k, v)) = extra {
                    m.insert(k, v);
                }
            }
            (strict, Value::Object(m))
        })
}

// ------------------------------------------------------------------ RLP

/// An RLP item tree.
#[derive(Debug, Clone)]
enum Item {
    Bytes(Vec<u8>),
    List(Vec<Item>),
}

fn append(s: &mut rlp::RlpStream, item: &Item) {
    match item {
        Item::Bytes(b) => {
            s.append(b);
        }
        Item::List(items) => {
            s.begin_list(items.len());
            for i in items {
                append(s, i);
            }
        }
    }
}

fn encode(item: &Item) -> Vec<u8> {
    let mut s = rlp::RlpStream::new();
    append(&mut s, item);
    s.out().to_vec()
}

/// Random RLP shaped like trie nodes: 2- and 17-item lists of hashes, hex-prefix paths (any
/// flag), short values and embedded lists.
fn trie_like_item() -> impl Strategy<Value = Item> {
    let leaf = prop_oneof![
        vec(any::<u8>(), 0..40).prop_map(Item::Bytes),
        any::<[u8; 32]>().prop_map(|h| Item::Bytes(h.to_vec())),
        Just(Item::Bytes(Vec::new())),
        (0u8..0x50, vec(any::<u8>(), 0..6))
            .prop_map(|(first, rest)| { Item::Bytes([vec![first], rest].concat()) }),
    ];
    leaf.prop_recursive(3, 60, 17, |inner| {
        prop_oneof![
            vec(inner.clone(), 2).prop_map(Item::List),
            vec(inner.clone(), 17).prop_map(Item::List),
            vec(inner, 0..20).prop_map(Item::List),
        ]
    })
}

/// A header's RLP: 13 to 23 fields, each mostly of its right size, sometimes not.
fn header_rlp() -> impl Strategy<Value = Vec<u8>> {
    const SIZES: [usize; 23] = [
        32, 32, 20, 32, 32, 32, 256, 8, 8, 8, 8, 8, 40, 32, 8, 8, 32, 8, 8, 32, 32, 32, 32,
    ];
    (13usize..=23)
        .prop_flat_map(|n| {
            let fields: Vec<BoxedStrategy<Item>> = SIZES[..n]
                .iter()
                .map(|&len| {
                    prop_oneof![
                        8 => vec(any::<u8>(), len).prop_map(Item::Bytes),
                        1 => vec(any::<u8>(), 0..=len + 2).prop_map(Item::Bytes),
                        1 => Just(Item::List(Vec::new())),
                    ]
                    .boxed()
                })
                .collect();
            fields
        })
        .prop_map(|fields| encode(&Item::List(fields)))
}

/// A canonical big-endian integer of at most 8 bytes.
fn int_bytes(n: u64) -> Vec<u8> {
    let be = n.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    be[skip..].to_vec()
}

// ------------------------------------------------------------------ properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn documents_from_arbitrary_text(text in any::<String>()) {
        let r = verify_document(&text);
        prop_assert!(!matches!(r, Ok(Verdict::Valid)), "{:?}", r);
    }

    #[test]
    fn documents_from_json_like_text(text in r#"[{}\[\]",:0-9a-fxX_ -]{0,200}"#) {
        let r = verify_document(&text);
        prop_assert!(!matches!(r, Ok(Verdict::Valid)), "{:?}", r);
    }

    #[test]
    fn documents_from_arbitrary_json(
        v in any_json(),
        format in prop_oneof![select(FORMATS.to_vec()).prop_map(String::from), "[a-z0-9-]{0,20}"],
    ) {
        let mut v = v;
        if let Value::Object(m) = &mut v {
            m.insert("format".into(), json!(format));
        }
        let r = verify_document(&v.to_string());
        prop_assert!(!matches!(r, Ok(Verdict::Valid)), "{:?}", r);
    }

    #[test]
    fn parse_header_on_random_bytes(b in vec(any::<u8>(), 0..700)) {
        if let Ok(h) = eth::parse_header(&b) {
            prop_assert!((15..=21).contains(&h.field_count));
        }
    }

    #[test]
    fn parse_header_on_random_rlp(b in prop_oneof![header_rlp(), trie_like_item().prop_map(|i| encode(&i))]) {
        if let Ok(h) = eth::parse_header(&b) {
            prop_assert!((15..=21).contains(&h.field_count));
            prop_assert_eq!(h.hash, keccak256(&[&b]));
        }
        // A header hash never matches a random claim.
        prop_assert!(eth::verify_header(&b, &[0x5a; 32]).is_err());
    }

    /// A header of the right shape for its fork parses, and its fields read back.
    #[test]
    fn well_formed_headers_parse(
        n in 15usize..=21,
        fixed in vec(any::<u8>(), 32 * 9 + 20 + 256 + 8),
        ints in vec(any::<u64>(), 7),
        extra in vec(any::<u8>(), 0..97),
    ) {
        let mut fixed = fixed.into_iter();
        let mut take = |len: usize| -> Vec<u8> { fixed.by_ref().take(len).collect() };
        let mut s = rlp::RlpStream::new_list(n);
        let parent = take(32);
        s.append(&parent);
        s.append(&take(32));
        let coinbase = take(20);
        s.append(&coinbase);
        let state = take(32);
        s.append(&state);
        s.append(&take(32));
        s.append(&take(32));
        s.append(&take(256));
        for v in &ints[..5] {
            s.append(&int_bytes(*v));
        }
        s.append(&extra);
        s.append(&take(32));
        s.append(&take(8));
        let optional: [Vec<u8>; 6] = [
            int_bytes(ints[5]),
            take(32),
            int_bytes(ints[6]),
            int_bytes(ints[0]),
            take(32),
            take(32),
        ];
        for f in optional.iter().take(n - 15) {
            s.append(f);
        }
        let b = s.out().to_vec();
        let h = eth::parse_header(&b).expect("well-formed header");
        prop_assert_eq!(h.field_count, n);
        prop_assert_eq!(h.parent_hash.to_vec(), parent);
        prop_assert_eq!(h.coinbase.to_vec(), coinbase);
        prop_assert_eq!(h.state_root.to_vec(), state);
        prop_assert_eq!(h.number, ints[1]);
        prop_assert_eq!(h.timestamp, ints[4]);
        prop_assert_eq!(h.extra_data, extra);
        prop_assert!(eth::verify_header(&b, &keccak256(&[&b])).is_ok());
    }

    /// Random nodes under a random root: the first hash check fails.
    #[test]
    fn mpt_random_nodes_random_root(
        root in any::<Hash32>(),
        key in vec(any::<u8>(), 0..40),
        nodes in vec(vec(any::<u8>(), 0..200), 0..6),
    ) {
        prop_assert!(verify_proof(&root, &key, &nodes).is_err());
    }

    /// Random bytes or random trie-like RLP under the root that names them: the decoder
    /// reads them, and must not panic.
    #[test]
    fn mpt_random_nodes_under_their_root(
        first in prop_oneof![
            vec(any::<u8>(), 0..200),
            trie_like_item().prop_map(|i| encode(&i)),
        ],
        rest in vec(trie_like_item().prop_map(|i| encode(&i)), 0..3),
        key in prop_oneof![vec(any::<u8>(), 0..4), vec(any::<u8>(), 0..40)],
    ) {
        let root = keccak256(&[&first]);
        let nodes: Vec<Vec<u8>> = std::iter::once(first).chain(rest).collect();
        let _ = verify_proof(&root, &key, &nodes);
    }

    /// A real proof with one node corrupted (a byte changed, bytes cut or added) and every
    /// reference above it re-pointed at the corrupted node, so the walk reaches it.
    #[test]
    fn mpt_corrupted_nodes_relinked(
        entries in btree_map(
            prop_oneof![vec(any::<u8>(), 0..4), vec(any::<u8>(), 0..34)],
            prop_oneof![vec(any::<u8>(), 1..4), vec(any::<u8>(), 1..60)],
            1..100,
        ),
        pick in any::<Index>(),
        probe in prop_oneof![Just(None), vec(any::<u8>(), 0..34).prop_map(Some)],
        which in any::<Index>(),
        at in any::<Index>(),
        how in 0u8..4,
        junk in vec(any::<u8>(), 1..40),
    ) {
        let mut trie = Trie::new();
        for (k, v) in &entries {
            trie.insert(k, v);
        }
        let keys: Vec<&Vec<u8>> = entries.keys().collect();
        let key = probe.unwrap_or_else(|| pick.get(&keys).to_vec());
        let mut proof = trie.proof(&key);
        let j = which.index(proof.len());
        let old: Vec<Hash32> = proof.iter().map(|n| keccak256(&[n])).collect();
        let node = &mut proof[j];
        let p = at.index(node.len());
        match how {
            0 => node[p] ^= junk[0] | 1,
            1 => node.truncate(p),
            2 => node.splice(p..p, junk.iter().copied()).for_each(drop),
            _ => node[p] = junk[0],
        }
        // Re-point each parent's reference (a 32-byte hash) at its changed child.
        for i in (0..j).rev() {
            let (from, to) = (old[i + 1], keccak256(&[&proof[i + 1]]));
            let parent = &mut proof[i];
            if let Some(pos) = parent.windows(32).position(|w| w == from) {
                parent[pos..pos + 32].copy_from_slice(&to);
            }
        }
        let root = keccak256(&[&proof[0]]);
        let _ = verify_proof(&root, &key, &proof);
    }

    #[test]
    fn fisco_v3_random_lists(
        alg in select(vec![FiscoHash::Keccak256, FiscoHash::Sm3]),
        leaf in any::<Hash32>(),
        root in any::<Hash32>(),
        list in vec(prop_oneof![4 => fisco_v3_element(), 1 => Just(Vec::new())], 0..24),
        put_leaf in any::<Index>(),
    ) {
        prop_assert!(fisco::verify_v3(alg, &leaf, &root, &list).is_err());
        // With the leaf in the list, the walk gets past the first group more often.
        let mut list = list;
        if !list.is_empty() {
            let i = put_leaf.index(list.len());
            list[i] = leaf.to_vec();
        }
        prop_assert!(fisco::verify_v3(alg, &leaf, &root, &list).is_err());
    }

    #[test]
    fn fisco_v2_random_levels(
        alg in select(vec![FiscoHash::Keccak256, FiscoHash::Sm3]),
        leaf in any::<Hash32>(),
        root in any::<Hash32>(),
        levels in vec(
            (vec(fisco_sibling(), 0..17), vec(fisco_sibling(), 0..17))
                .prop_map(|(left, right)| Level { left, right }),
            0..20,
        ),
        index in prop_oneof![0u64..300, any::<u64>(), Just(u64::MAX)],
        final_level in any::<bool>(),
        derive_index in any::<bool>(),
    ) {
        let mut levels = levels;
        if final_level {
            levels.push(Level::default());
        }
        // The index the sibling counts give (when it fits), so the walk gets to the hashing.
        let index = if derive_index {
            levels
                .iter()
                .take(levels.len().saturating_sub(1))
                .rev()
                .try_fold(0u64, |acc, l| acc.checked_mul(16)?.checked_add(l.left.len() as u64))
                .unwrap_or(index)
        } else {
            index
        };
        prop_assert!(fisco::verify_v2(alg, index, &leaf, &root, &levels).is_err());
    }

    /// Random inner nodes along a random key: never valid under a random root, never a panic.
    #[test]
    fn xrpl_random_paths(
        alg in select(vec![XrplHash::Sha512Half, XrplHash::Sm3]),
        key in any::<Hash32>(),
        leaf in any::<Hash32>(),
        root in any::<Hash32>(),
        nodes in vec(vec(xrpl_child(), 16), 0..70),
    ) {
        let nodes: Vec<[Hash32; 16]> = nodes
            .into_iter()
            .map(|n| n.try_into().unwrap_or([[0u8; 32]; 16]))
            .collect();
        prop_assert!(xrpl::verify_path(alg, &key, &leaf, &nodes, &root).is_err());
    }

    /// A path built by the spec's rules (the walked hash in the key's slot at each depth, the
    /// leaf's parent below the root with a second child) verifies at every depth from 1 to 64,
    /// is refused at depth 65, and with any slot off the key's nibble.
    #[test]
    fn xrpl_spec_built_paths(
        alg in select(vec![XrplHash::Sha512Half, XrplHash::Sm3]),
        key in any::<Hash32>(),
        leaf in any::<Hash32>(),
        depth in 1usize..=65,
        siblings in vec(vec(xrpl_child(), 16), 65),
        other in any::<Hash32>(),
        wrong in any::<Index>(),
    ) {
        let nibble = |d: usize| -> usize {
            let b = key[d / 2];
            usize::from(if d.is_multiple_of(2) { b >> 4 } else { b & 0x0f })
        };
        let mut cur = leaf;
        let mut nodes: Vec<[Hash32; 16]> = Vec::new();
        // A 256-bit key has 64 nibbles: a 65th node sits above the root's depth 0.
        let levels = depth.min(64);
        for (up, sibs) in siblings.iter().enumerate().take(levels) {
            let d = levels - 1 - up;
            let mut node: [Hash32; 16] = sibs.clone().try_into().unwrap_or([[0u8; 32]; 16]);
            let slot = nibble(d);
            node[slot] = cur;
            if up == 0 && d > 0 {
                let mut o = other;
                o[0] |= 1;
                node[slot ^ 1] = o;
            }
            cur = xrpl::inner_hash(alg, &node);
            nodes.push(node);
        }
        if depth > 64 {
            let mut node = [[0u8; 32]; 16];
            node[0] = cur;
            cur = xrpl::inner_hash(alg, &node);
            nodes.push(node);
        }
        let r = xrpl::verify_path(alg, &key, &leaf, &nodes, &cur);
        if depth <= 64 {
            prop_assert!(r.is_ok(), "{:?}", r);
            // The same path, read for a key whose nibble differs at some depth, is refused.
            let d = wrong.index(depth);
            let mut k2 = key;
            k2[d / 2] ^= if d % 2 == 0 { 0x10 } else { 0x01 };
            prop_assert!(xrpl::verify_path(alg, &k2, &leaf, &nodes, &cur).is_err());
        } else {
            prop_assert!(r.is_err());
        }
    }
}

/// Runs [`DOC_CASES`] random documents of every format, checking that none verifies, that strict
/// (every field well-typed) documents are never malformed, and that each format's verifier is
/// actually reached.
#[test]
fn structured_documents_of_every_format() {
    for format in FORMATS {
        let reached = Cell::new(0usize);
        let mut runner = TestRunner::new(Config {
            cases: DOC_CASES,
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&document(format), |(strict, doc)| {
            let r = verify_document(&doc.to_string());
            prop_assert!(
                !matches!(r, Ok(Verdict::Valid)),
                "{}: valid: {}",
                format,
                doc
            );
            if strict {
                prop_assert!(
                    !matches!(
                        r,
                        Err(DocumentError::Fields { .. } | DocumentError::Json(_))
                    ),
                    "{}: well-typed document reported malformed: {:?}\n{}",
                    format,
                    r,
                    doc
                );
            }
            if matches!(r, Ok(Verdict::Invalid(_))) {
                reached.set(reached.get() + 1);
            }
            Ok(())
        });
        assert!(result.is_ok(), "{format}: {result:?}");
        assert!(
            reached.get() >= DOC_CASES as usize / 5,
            "{format}: only {} of {DOC_CASES} documents reached the verifier",
            reached.get()
        );
    }
}

/// Every format is covered by [`fields`], so a format added later without fields fails here.
#[test]
fn every_format_has_fields() {
    for format in FORMATS {
        assert!(!fields(format).is_empty(), "{format}");
    }
}

/// A claim of absence is never confused with presence for random keys of a real trie.
#[test]
fn mpt_present_and_absent_keys_of_a_small_trie() {
    let mut trie = Trie::new();
    for k in 0u8..40 {
        trie.insert(&[k, k], &[k + 1]);
    }
    let root = trie.root();
    for k in 0u8..=255 {
        for key in [vec![k], vec![k, k], vec![k, k, k]] {
            let proof = trie.proof(&key);
            let want = if key.len() == 2 && k < 40 {
                ProofOutcome::Present(vec![k + 1])
            } else {
                ProofOutcome::Absent
            };
            assert_eq!(verify_proof(&root, &key, &proof), Ok(want), "{key:?}");
        }
    }
}

// ------------------------------------------------------------------ regressions

/// Regression: a tree size above 2^63 made the audit-path length `index >> 64` (a shift
/// overflow panic in debug builds, a wrong length in release builds) for every leaf in the left
/// half. Found by `structured_documents_of_every_format` (rfc6962, eosio-savanna).
#[test]
fn audit_paths_of_trees_above_2_pow_63() {
    use meridian_proofs::rfc6962::{self, leaf_hash, node_hash};
    let size = (1u64 << 63) + 1;
    let leaf = leaf_hash(b"first");
    let proof: Vec<Hash32> = (0u8..64).map(|i| [i; 32]).collect();
    // Leaf 0: 63 right siblings inside the left 2^63, then the lone last leaf.
    let root = proof.iter().fold(leaf, |r, p| node_hash(&r, p));
    assert_eq!(rfc6962::inclusion_proof_len(0, size), 64);
    assert_eq!(
        rfc6962::verify_inclusion(&leaf, 0, size, &proof, &root),
        Ok(())
    );
    assert!(rfc6962::verify_inclusion(&leaf, 0, size, &proof[..63], &root).is_err());
    assert!(rfc6962::verify_inclusion(&leaf, 0, u64::MAX, &[], &root).is_err());
    assert!(rfc6962::verify_inclusion(&leaf, 1 << 62, u64::MAX, &[], &root).is_err());
    // Consistency from size 1: the same 64 subtree roots.
    assert_eq!(rfc6962::consistency_proof_len(1, size), 64);
    assert_eq!(
        rfc6962::verify_consistency(1, size, &leaf, &root, &proof),
        Ok(())
    );
    // The last element is the root of the right part, whatever its size: the same proof
    // holds up to 2^64 - 1 leaves.
    assert_eq!(
        rfc6962::verify_consistency(1, u64::MAX, &leaf, &root, &proof),
        Ok(())
    );
    assert_eq!(
        rfc6962::verify_inclusion(&leaf, 0, u64::MAX, &proof, &root),
        Ok(())
    );
    assert!(rfc6962::verify_consistency(3, u64::MAX, &leaf, &root, &proof).is_err());
    // Savanna shares the walk.
    let savanna_root = proof
        .iter()
        .fold(leaf, |r, p| meridian_proofs::eosio::savanna_parent(&r, p));
    assert_eq!(
        meridian_proofs::eosio::verify_savanna(&leaf, 0, size, &proof, &savanna_root),
        Ok(())
    );
    for doc in [
        json!({"format": "rfc6962", "leaf": "00", "index": 0, "tree_size": u64::MAX,
               "root": hex::encode([0u8; 32]), "proof": []}),
        json!({"format": "rfc6962-consistency", "old_size": 1, "new_size": u64::MAX,
               "old_root": hex::encode([0u8; 32]), "new_root": hex::encode([0u8; 32]), "proof": []}),
        json!({"format": "eosio-savanna", "leaf": hex::encode([0u8; 32]), "index": 0,
               "count": u64::MAX, "root": hex::encode([0u8; 32]), "proof": []}),
    ] {
        assert!(matches!(
            verify_document(&doc.to_string()),
            Ok(Verdict::Invalid(_))
        ));
    }
}

/// Regression: a XuperChain transaction count above 2^63 overflowed `next_power_of_two` (a
/// panic in debug builds; 0, so height 64 → 0, in release builds). Found by
/// `structured_documents_of_every_format` (xuper).
#[test]
fn xuper_counts_above_2_pow_63() {
    use meridian_proofs::xuper;
    let txid = [7u8; 32];
    for count in [(1u64 << 63) + 1, u64::MAX] {
        let r = xuper::verify(&txid, 0, count, &[], &txid);
        assert!(
            matches!(r, Err(xuper::XuperError::ProofLength { expected: 64, .. })),
            "{r:?}"
        );
    }
    let doc = json!({"format": "xuper", "txid": hex::encode(txid), "index": 0,
                     "tx_count": u64::MAX, "root": hex::encode(txid), "proof": []});
    assert!(matches!(
        verify_document(&doc.to_string()),
        Ok(Verdict::Invalid(_))
    ));
}
