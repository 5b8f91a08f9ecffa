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
