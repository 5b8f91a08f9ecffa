//! The Ethereum adapter in node-finality mode (`Finality::Node`), with the mock network as the
//! hub's node: the node decides finality, everything else is still checked from the evidence.

use meridian_adapters::conformance::ConformanceChain;
use meridian_adapters::ethereum::{
    account, decode_locator, EthereumAdapter, EthereumConfig, EthereumMock, EthereumNode,
};
use meridian_adapters::proofs::hash::Hash32;
use meridian_adapters::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};

/// Lock on `chain` and seal its block plus `children` more; the lock's evidence with those
/// children in the header list.
fn lock(chain: &EthereumMock, children: usize) -> Evidence {
    chain.lock("mock-b", account("alice"), "bob", "CNY", 42);
    let (_, locs) = chain.produce_block().expect("block");
    for _ in 0..children {
        chain.produce_block().expect("block");
    }
    chain
        .evidence_with_children(&locs[0], children)
        .expect("evidence")
}

#[test]
fn a_buried_block_on_the_node_is_final_without_seals_or_children() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let mut a = chain.node_adapter(2);
    let ev = lock(&chain, 2);
    let bare = chain
        .evidence_with_children(&ev.locator, 0)
        .expect("evidence");
    for e in [&ev, &bare] {
        let lock = a.verify_event(e).expect("final on the node");
        assert_eq!(lock.destination, "mock-b");
        assert_eq!(lock.amount, 42);
        assert_eq!(lock.height, decode_locator(&e.locator).expect("locator").0);
    }
}

#[test]
fn not_deep_enough_is_not_final_until_the_node_has_the_blocks() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let mut a = chain.node_adapter(2);
    let ev = lock(&chain, 1);
    assert_eq!(
        a.verify_event(&ev),
        Err(AdapterError::NotFinal {
            height: 1,
            final_height: 0
        })
    );
    chain.produce_block().expect("block");
    // The same evidence (one child) is final once the node's head is two blocks on.
    assert!(a.verify_event(&ev).is_ok());
}

#[test]
fn a_block_the_node_does_not_have_is_a_fork() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let mut a = chain.node_adapter(0);
    lock(&chain, 2);
    // Another network's block 1 (same bridge, same chain id, other signers): well-formed,
    // correctly proven, but not the node's block 1.
    let other = EthereumMock::with_signer_salt("eth-node", 1337, 4, b"other");
    let ev = lock(&other, 0);
    assert!(matches!(
        a.verify_event(&ev),
        Err(AdapterError::Fork { .. })
    ));
    // A header changed after sealing hashes differently (the hash is recomputed, never read).
    let mut forged = chain.clone();
    let f = forged.forged_header();
    assert!(matches!(a.verify_event(&f), Err(AdapterError::Fork { .. })));
    // Headers above the node's head.
    let ahead = EthereumMock::new("eth-node", 1337, 4);
    let ev = lock(&ahead, 6);
    assert!(matches!(
        a.verify_event(&ev),
        Err(AdapterError::Fork { .. })
    ));
}

#[test]
fn the_proof_the_bridge_and_the_chain_id_are_still_checked() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let mut a = chain.node_adapter(0);
    let ev = lock(&chain, 0);
    for i in 0..ev.proof.len() {
        let mut t = ev.clone();
        t.proof[i] ^= 0x01;
        assert!(a.verify_event(&t).is_err(), "proof byte {i} flipped");
    }
    for i in 0..ev.event.len() {
        let mut t = ev.clone();
        t.event[i] ^= 0x01;
        assert!(a.verify_event(&t).is_err(), "event byte {i} flipped");
    }
    let mut t = ev.clone();
    t.locator = meridian_adapters::ethereum::locator(1, 0, 0);
    assert!(a.verify_event(&t).is_err(), "another receipt's position");
    // Same network, but the adapter expects another EIP-155 chain id.
    let cfg = a.config().clone();
    let mut other_id = EthereumAdapter::new(
        EthereumConfig {
            eip155_chain_id: 1,
            ..cfg.clone()
        },
        Some(Box::new(chain.clone())),
    );
    assert!(matches!(
        other_id.verify_event(&ev),
        Err(AdapterError::WrongChain { .. })
    ));
    // Another bridge address.
    let mut other_bridge = EthereumAdapter::new(
        EthereumConfig {
            bridge: [7; 20],
            ..cfg
        },
        Some(Box::new(chain.clone())),
    );
    assert!(matches!(
        other_bridge.verify_event(&ev),
        Err(AdapterError::Malformed { what: "event", .. })
    ));
    assert!(a.verify_event(&ev).is_ok());
    a.mark_relayed(&ev.locator);
    assert!(matches!(a.verify_event(&ev), Err(AdapterError::Replay(_))));
}

#[test]
fn a_node_of_another_genesis_is_the_wrong_chain() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let ev = lock(&chain, 0);
    let cfg = EthereumConfig {
        genesis_hash: [1; 32],
        ..chain.node_adapter(0).config().clone()
    };
    let mut a = EthereumAdapter::new(cfg, Some(Box::new(chain.clone())));
    assert!(matches!(
        a.verify_event(&ev),
        Err(AdapterError::WrongChain { .. })
    ));
}

/// A node that cannot be reached.
#[derive(Debug)]
struct Down;

impl EthereumNode for Down {
    fn submit(&self, _: &Delivery, _: &[u8], _: u64) -> Result<Receipt, AdapterError> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    fn applied(&self, _: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    fn head(&self) -> Result<u64, AdapterError> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
    fn canonical_hash(&self, _: u64) -> Result<Option<Hash32>, AdapterError> {
        Err(AdapterError::Unavailable("connection refused".into()))
    }
}

#[test]
fn an_unreachable_node_is_unavailable() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let ev = lock(&chain, 0);
    let cfg = chain.node_adapter(0).config().clone();
    let mut down = EthereumAdapter::new(cfg.clone(), Some(Box::new(Down)));
    assert!(matches!(
        down.verify_event(&ev),
        Err(AdapterError::Unavailable(_))
    ));
    let mut none = EthereumAdapter::new(cfg, None);
    assert!(matches!(
        none.verify_event(&ev),
        Err(AdapterError::Unavailable(_))
    ));
    assert!(matches!(
        none.verify_header(&ev.header),
        Err(AdapterError::Unavailable(_))
    ));
}

#[test]
fn the_light_client_advances_to_the_node_confirmed_header() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let mut a = chain.node_adapter(2);
    let ev = lock(&chain, 3); // blocks 1..=4, head 4
                              // Blocks 1..=4: with two confirmations, block 2 is the deepest final one.
    let info = a.verify_header(&ev.header).expect("advances");
    assert_eq!(info.height, 2);
    assert_eq!(
        chain.canonical_hash(2).expect("node").map(|h| h.to_vec()),
        Some(info.hash.clone())
    );
    // Nothing deeper: the same list does not advance the head again.
    assert!(matches!(
        a.verify_header(&ev.header),
        Err(AdapterError::Fork { .. })
    ));
    // Only block 4 (height 4 is not final with head 4): not final.
    let tip = chain.evidence_with_children(&ev.locator, 3).expect("ev");
    let list = rlp::Rlp::new(&tip.header);
    let mut s = rlp::RlpStream::new_list(1);
    s.append_raw(list.at(3).expect("block 4").as_raw(), 1);
    let only4 = s.out().to_vec();
    assert!(matches!(
        a.verify_header(&only4),
        Err(AdapterError::NotFinal { .. })
    ));
    chain.produce_block().expect("block");
    chain.produce_block().expect("block");
    assert_eq!(a.verify_header(&only4).expect("final now").height, 4);

    // State round trip: no signers in node mode; a clique state does not restore into it.
    let state = a.light_client_state();
    let mut b = chain.node_adapter(2);
    b.restore_light_client(&state).expect("restore");
    assert_eq!(b.light_client_state(), state);
    let clique = chain
        .adapter()
        .expect("clique adapter")
        .light_client_state();
    assert!(b.restore_light_client(&clique).is_err());
    assert!(chain
        .adapter()
        .expect("clique adapter")
        .restore_light_client(&state)
        .is_err());
}

#[test]
fn a_first_header_after_the_trusted_head_must_link_to_it() {
    let chain = EthereumMock::new("eth-node", 1337, 4);
    let ev = lock(&chain, 2);
    let cfg = EthereumConfig {
        genesis_hash: [3; 32],
        ..chain.node_adapter(0).config().clone()
    };
    // Trusting another genesis: block 1 does not link to it (and the node is another chain).
    let mut a = EthereumAdapter::new(cfg, Some(Box::new(chain.clone())));
    assert!(a.verify_header(&ev.header).is_err());
}
