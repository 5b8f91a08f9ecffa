//! The reference chain: blocks over ranges of the commit log, signed by a quorum of city relays.
//!
//! # Layout
//! - `header` — [`BlockHeader`] and its hash.
//! - [`finality`] — offline finality proofs (`meridian-finality` documents).
//! - `relays` — the relay set, relay keys, votes and [`QuorumCertificate`]s.

pub mod finality;
mod header;
mod relays;

pub use header::BlockHeader;
pub use relays::{
    load_or_generate_keys, rotate_key, vote_message, KeyError, QuorumCertificate, QuorumError,
    RelayInfo, RelayKey, RelaySet, RelaySets, RelaySignature,
};
