//! The generic mock chain and its adapter, used to drive the hub's lifecycle end to end until
//! (and beside) the six chain families.

mod adapter;
mod chain;
mod conformance;
pub mod encoding;

pub use adapter::MockAdapter;
pub use chain::{
    decode_locator, decode_proof, encode_proof, locator, now_ms, vote_message, Misbehaviour,
    MockChain, MockEvent, MockHeader, SignedHeader,
};
pub use conformance::MockConformance;

use crate::{AdapterError, Delivery, Receipt};
use std::collections::HashMap;

/// The receipt a destination mock already gave for `message_id`, answered again as a duplicate:
/// every family's mock bridge applies a delivery at most once per message id.
pub fn applied_receipt<S: std::hash::BuildHasher>(
    applied: &HashMap<[u8; 32], Vec<u8>, S>,
    message_id: &[u8; 32],
) -> Option<Receipt> {
    applied.get(message_id).map(|r| Receipt {
        reference: r.clone(),
        duplicate: true,
    })
}

/// A release (not a refund) arriving after its deadline is refused, on every mock bridge.
pub fn check_deadline(d: &Delivery, now_ms: u64) -> Result<(), AdapterError> {
    if !d.refund && now_ms > d.deadline_ms {
        return Err(AdapterError::Expired {
            deadline_ms: d.deadline_ms,
            now_ms,
        });
    }
    Ok(())
}
