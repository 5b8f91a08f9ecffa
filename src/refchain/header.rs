//! Reference-chain block headers and their hash.

use meridian_proofs::hash::{sha256, Hash32};
use serde::{Deserialize, Serialize};

/// Domain tag of the header hash, so a header hash is never a valid hash of anything else.
const HEADER_TAG: &[u8] = b"meridian.block.v1";

/// The header of a reference-chain block: it commits to a contiguous range of the commit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// 0 for the first block.
    pub height: u64,
    /// Hash of the previous header; all zero for height 0.
    #[serde(with = "crate::hexser")]
    pub prev_hash: Hash32,
    /// First log sequence number covered (inclusive).
    pub log_start: u64,
    /// One past the last log sequence number covered.
    pub log_end: u64,
    /// RFC 6962 root over the log entries `log_start..log_end`, in order.
    #[serde(with = "crate::hexser")]
    pub entries_root: Hash32,
    /// RFC 6962 root over the whole log `0..log_end`: any record's inclusion and the
    /// consistency of any two heights are proven against it.
    #[serde(with = "crate::hexser")]
    pub log_root: Hash32,
    /// Seal time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Hash of the city-relay set that must sign this block.
    #[serde(with = "crate::hexser")]
    pub relay_set_hash: Hash32,
}

impl BlockHeader {
    /// The canonical byte encoding that is hashed and signed (fixed width, big-endian).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_TAG.len() + 8 * 4 + 32 * 4);
        out.extend_from_slice(HEADER_TAG);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.log_start.to_be_bytes());
        out.extend_from_slice(&self.log_end.to_be_bytes());
        out.extend_from_slice(&self.entries_root);
        out.extend_from_slice(&self.log_root);
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(&self.relay_set_hash);
        out
    }

    /// `SHA-256(encode())`.
    pub fn hash(&self) -> Hash32 {
        sha256(&[&self.encode()])
    }

    /// Number of log entries in the block.
    pub fn len(&self) -> u64 {
        self.log_end.saturating_sub(self.log_start)
    }

    /// Whether the block covers no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_committed() {
        let h = BlockHeader {
            height: 1,
            prev_hash: [1; 32],
            log_start: 2,
            log_end: 3,
            entries_root: [4; 32],
            log_root: [7; 32],
            time_ms: 5,
            relay_set_hash: [6; 32],
        };
        let base = h.hash();
        let variants = [
            BlockHeader {
                height: 9,
                ..h.clone()
            },
            BlockHeader {
                prev_hash: [9; 32],
                ..h.clone()
            },
            BlockHeader {
                log_start: 9,
                ..h.clone()
            },
            BlockHeader {
                log_end: 9,
                ..h.clone()
            },
            BlockHeader {
                entries_root: [9; 32],
                ..h.clone()
            },
            BlockHeader {
                log_root: [9; 32],
                ..h.clone()
            },
            BlockHeader {
                time_ms: 9,
                ..h.clone()
            },
            BlockHeader {
                relay_set_hash: [9; 32],
                ..h.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.hash(), base, "{v:?}");
        }
    }
}
