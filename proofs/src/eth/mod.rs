//! Ethereum: block header hashing and Merkle-Patricia trie proofs (go-ethereum semantics),
//! and a trie builder that yields roots and proofs.

mod header;
pub(crate) mod mpt;
mod trie;

pub use header::{header_hash, parse_header, verify_header, EthHeader};
pub use mpt::{verify_proof, ProofOutcome, EMPTY_TRIE_ROOT};
pub use trie::Trie;

use crate::hash::HexHash;
use thiserror::Error;

/// Why an Ethereum header or trie proof was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EthError {
    /// Bytes that are not the RLP they should be.
    #[error("{what}: bad RLP: {reason}")]
    Rlp {
        /// Which structure was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// A header list with a number of fields no fork defines.
    #[error("header has {0} fields; a header has 15 to 21")]
    HeaderFieldCount(usize),
    /// A header field of the wrong kind or size.
    #[error("header field {field}: {reason}")]
    HeaderField {
        /// The field's name.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// keccak256 of the header differs from the claimed hash.
    #[error("header hash mismatch: claimed {claimed}, keccak256(rlp) is {computed}")]
    HeaderHashMismatch {
        /// Hash in the claim.
        claimed: HexHash,
        /// Hash of the bytes.
        computed: HexHash,
    },
    /// The proof ran out before the walk reached the key.
    #[error("proof ends at node {depth} but the walk needs node {wanted}")]
    MissingNode {
        /// Number of proof nodes consumed.
        depth: usize,
        /// Hash of the node the walk needs.
        wanted: HexHash,
    },
    /// A proof node is not the node the walk references.
    #[error("proof node {index} hashes to {got}, the walk references {wanted}")]
    NodeHashMismatch {
        /// Position in the proof list.
        index: usize,
        /// keccak256 of that node.
        got: HexHash,
        /// Hash the parent (or the root) names.
        wanted: HexHash,
    },
    /// A proof node that does not decode as a trie node.
    #[error("proof node {index}: {reason}")]
    BadNode {
        /// Position in the proof list.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// Proof nodes left over after the walk ended.
    #[error("{0} proof node(s) left over after the walk ended")]
    UnusedNodes(usize),
    /// The claim gives a value, the proof shows the key absent.
    #[error("key is absent from the trie, the claim gives a value")]
    Absent,
    /// The claim says absent, the proof shows a value.
    #[error("claim says absent but the trie holds value 0x{0}")]
    Present(String),
    /// The proof shows a different value.
    #[error("value mismatch: claimed 0x{claimed}, trie holds 0x{found}")]
    ValueMismatch {
        /// Value in the claim.
        claimed: String,
        /// Value the proof leads to.
        found: String,
    },
}

fn rlp_err(what: &'static str) -> impl Fn(rlp::DecoderError) -> EthError {
    move |e| EthError::Rlp {
        what,
        reason: e.to_string(),
    }
}

/// Parse `bytes` as exactly one RLP item (no trailing bytes).
fn rlp_item<'a>(bytes: &'a [u8], what: &'static str) -> Result<rlp::Rlp<'a>, EthError> {
    let r = rlp::Rlp::new(bytes);
    let info = r.payload_info().map_err(rlp_err(what))?;
    if info.total() != bytes.len() {
        return Err(EthError::Rlp {
            what,
            reason: format!(
                "item is {} bytes but {} were given",
                info.total(),
                bytes.len()
            ),
        });
    }
    Ok(r)
}
