//! Batched deliveries on the generic mock chain: `deliver_batch` means exactly what one
//! `deliver` per item would (apply once, duplicates answered as such, deadlines enforced), and
//! what it applied is in the journal when it returns (a reopened chain knows it).

use meridian_adapters::mock::{MockAdapter, MockChain};
use meridian_adapters::{AdapterError, ChainAdapter, Delivery};

fn delivery(id: u8, deadline_ms: u64) -> Delivery {
    Delivery {
        message_id: [id; 32],
        refund: false,
        account: format!("bob{id}"),
        asset: "USDT".into(),
        amount: 5,
        refchain_height: 1,
        deadline_ms,
    }
}

#[test]
fn deliver_batch_applies_once_and_is_journaled() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("b.journal");
    let far = u64::MAX;
    {
        let chain = MockChain::open("chain-b", 4, &path).expect("open");
        let mut adapter =
            MockAdapter::new(chain.clone(), &chain.validator_keys()).expect("adapter");
        let out = adapter.deliver_batch(&[
            delivery(1, far),
            delivery(1, far),
            delivery(2, 1), // deadline long past
            delivery(3, far),
        ]);
        assert_eq!(out.len(), 4);
        let r1 = out[0].as_ref().expect("first applied");
        assert!(!r1.duplicate);
        let r1b = out[1].as_ref().expect("repeat answered");
        assert!(r1b.duplicate, "the same id in one batch applies once");
        assert_eq!(r1b.reference, r1.reference);
        assert!(
            matches!(out[2], Err(AdapterError::Expired { .. })),
            "{:?}",
            out[2]
        );
        assert!(!out[3].as_ref().expect("third applied").duplicate);
        // One by one agrees with the batch.
        let again = adapter.deliver(&delivery(3, far)).expect("repeat");
        assert!(again.duplicate);
        assert_eq!(chain.credits().len(), 2);
    }
    let reopened = MockChain::open("chain-b", 4, &path).expect("reopen");
    let ids: Vec<[u8; 32]> = reopened.credits().iter().map(|d| d.message_id).collect();
    assert_eq!(
        ids,
        vec![[1; 32], [3; 32]],
        "applied deliveries survive a restart"
    );
    assert!(reopened.applied(&[2; 32]).is_none());
}

#[test]
fn credits_keep_their_order_across_chunks_and_restarts() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("b.journal");
    // More than one storage chunk (4096) of applied deliveries.
    let ids: Vec<[u8; 32]> = (0u32..5000)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&i.to_be_bytes());
            id
        })
        .collect();
    {
        let chain = MockChain::open("chain-b", 4, &path).expect("open");
        let batch: Vec<Delivery> = ids
            .iter()
            .map(|id| Delivery {
                message_id: *id,
                ..delivery(0, u64::MAX)
            })
            .collect();
        assert!(chain.apply_deliveries(&batch).iter().all(Result::is_ok));
        let got: Vec<[u8; 32]> = chain.credits().iter().map(|d| d.message_id).collect();
        assert_eq!(got, ids);
    }
    let reopened = MockChain::open("chain-b", 4, &path).expect("reopen");
    let got: Vec<[u8; 32]> = reopened.credits().iter().map(|d| d.message_id).collect();
    assert_eq!(got, ids, "in order after a restart too");
}

#[test]
fn a_torn_block_line_in_the_journal_is_skipped() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("a.journal");
    {
        let chain = MockChain::open("chain-a", 4, &path).expect("open");
        chain.produce_block(1);
        chain.produce_block(2);
        assert_eq!(chain.head(), 2);
    }
    // A crash mid-line: a block record whose hash is cut short.
    let mut text = std::fs::read_to_string(&path).expect("journal");
    text.push_str("B 7 abcd\n");
    std::fs::write(&path, text).expect("write");
    let reopened = MockChain::open("chain-a", 4, &path).expect("reopen, no panic");
    assert_eq!(reopened.head(), 2, "the torn line is not a block");
}
