//! The cross-chain message and its lifecycle states.
//!
//! A message's id is derived from its source evidence (source chain id + the chain-native
//! locator of the lock event), never from anything the submitter can vary freely, so the same
//! evidence submitted twice is one message.

use meridian_proofs::hash::{sha256, Hash32};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The identifier of a connected chain, as configured (`config/chains/*.toml` `id`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChainId(pub String);

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ChainId {
    fn from(s: &str) -> Self {
        ChainId(s.to_string())
    }
}

/// A hash map keyed by message id. Ids are SHA-256 outputs of on-chain evidence, so a fast
/// seeded hasher (foldhash) serves; std's SipHash was ~1.5% of the hub's CPU under load.
pub type IdMap<V> = std::collections::HashMap<MessageId, V, foldhash::fast::RandomState>;

/// A hash set of message ids (see [`IdMap`]).
pub type IdSet = std::collections::HashSet<MessageId, foldhash::fast::RandomState>;

/// A hash map keyed by route (source, destination), looked up for every submission and
/// accepted record: the same seeded hasher, not SipHash.
pub type RouteMap<V> =
    std::collections::HashMap<(ChainId, ChainId), V, foldhash::fast::RandomState>;

/// A message id: `SHA-256("meridian.msg.v1" ‖ len ‖ source chain ‖ len ‖ key)`, the key being
/// what identifies the event on its chain as its proof binds it
/// ([`meridian_adapters::Family::event_key`]: the locator for most families).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub Hash32);

impl MessageId {
    /// Derive the id of the message whose event on `source` has this key.
    pub fn derive(source: &ChainId, locator: &[u8]) -> Self {
        let chain = source.0.as_bytes();
        let cl = (chain.len() as u64).to_be_bytes();
        let ll = (locator.len() as u64).to_be_bytes();
        MessageId(sha256(&[b"meridian.msg.v1", &cl, chain, &ll, locator]))
    }

    /// Lowercase hex with `0x`.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(66);
        s.push_str("0x");
        s.push_str(&faster_hex::hex_string(&self.0));
        s
    }

    /// Parse hex (optional `0x`).
    pub fn from_hex(s: &str) -> Option<Self> {
        let v = meridian_proofs::document::parse_hex(s).ok()?;
        Some(MessageId(v.as_slice().try_into().ok()?))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

/// What the source chain proves: the lock (or burn) event and where to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEvidence {
    /// Chain-native locator of the event (e.g. block height ‖ tx index ‖ log index).
    #[serde(with = "serde_bytes")]
    pub locator: Vec<u8>,
    /// The source chain's header(s) as the adapter defines them.
    #[serde(with = "serde_bytes")]
    pub header: Vec<u8>,
    /// The native inclusion proof of the event in that header.
    #[serde(with = "serde_bytes")]
    pub proof: Vec<u8>,
    /// The event itself in the chain's native encoding.
    #[serde(with = "serde_bytes")]
    pub event: Vec<u8>,
}

/// A verified cross-chain transfer, as ordered in the commit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossChainMessage {
    /// Derived from `source` and the event's key (`evidence.locator` for most families).
    pub id: MessageId,
    /// Chain the asset was locked on.
    pub source: ChainId,
    /// Chain the asset is released on.
    pub destination: ChainId,
    /// Position of this message on its route (source → destination), from 0, gap-free.
    pub route_nonce: u64,
    /// Account on the source chain, in that chain's notation.
    pub sender: String,
    /// Account on the destination chain, in that chain's notation.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount in the asset's smallest unit.
    pub amount: u128,
    /// Seconds after commit within which delivery must happen, else the transfer is refunded.
    pub timeout_secs: u64,
    /// The source-chain evidence it was verified from.
    pub evidence: SourceEvidence,
    /// The DApp tenant that submitted it (empty when submitted in process).
    pub tenant: String,
}

/// Where a message is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MessageState {
    /// Received by a city relay, not yet verified.
    Submitted,
    /// The source chain's header finality and inclusion proof checked out.
    Verified,
    /// Durable in the commit log.
    Committed,
    /// In a reference-chain block signed by a quorum of city relays.
    Finalized,
    /// The destination chain acknowledged the release.
    Delivered,
    /// Evidence did not verify; never committed.
    Rejected,
    /// Not delivered before its timeout.
    TimedOut,
    /// Returned to the sender on the source chain after a timeout.
    Refunded,
}

impl MessageState {
    /// Every state, in lifecycle order.
    pub const ALL: [MessageState; 8] = [
        MessageState::Submitted,
        MessageState::Verified,
        MessageState::Committed,
        MessageState::Finalized,
        MessageState::Delivered,
        MessageState::Rejected,
        MessageState::TimedOut,
        MessageState::Refunded,
    ];

    /// Whether no further transition can happen.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            MessageState::Delivered | MessageState::Rejected | MessageState::Refunded
        )
    }

    /// Lowercase name used in the API and CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Submitted => "submitted",
            MessageState::Verified => "verified",
            MessageState::Committed => "committed",
            MessageState::Finalized => "finalized",
            MessageState::Delivered => "delivered",
            MessageState::Rejected => "rejected",
            MessageState::TimedOut => "timed_out",
            MessageState::Refunded => "refunded",
        }
    }
}

impl fmt::Display for MessageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_depends_on_chain_and_locator_only() {
        let a = MessageId::derive(&"eth".into(), b"\x01\x02");
        assert_eq!(a, MessageId::derive(&"eth".into(), b"\x01\x02"));
        assert_ne!(a, MessageId::derive(&"eos".into(), b"\x01\x02"));
        assert_ne!(a, MessageId::derive(&"eth".into(), b"\x01\x03"));
        // Length prefixes keep ("ab","c") and ("a","bc") apart.
        assert_ne!(
            MessageId::derive(&"ab".into(), b"c"),
            MessageId::derive(&"a".into(), b"bc")
        );
        assert_eq!(MessageId::from_hex(&a.to_hex()), Some(a));
    }
}
