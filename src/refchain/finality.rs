//! Offline finality proofs: a committed record, its RFC 6962 inclusion proof in the whole-log
//! tree of a reference-chain block, the block header, the block's quorum certificate and the
//! relay set's public keys. Anyone holding the relay-set hash they trust can check it with
//! `meridian proof verify --relay-set HASH` (document format `meridian-finality`), no hub
//! needed. Without that anchor a document only shows that *some* relay set signed it: its
//! author can make up one.

use super::{BlockHeader, QuorumCertificate, QuorumError, RelayInfo, RelaySet};
use crate::log::decode_record;
use crate::record::LogRecord;
use meridian_proofs::document::{Hex32, HexBytes};
use meridian_proofs::hash::Hash32;
use meridian_proofs::rfc6962;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The `format` value of a finality proof document.
pub const FORMAT: &str = "meridian-finality";

/// A finality proof document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalityProof {
    /// Always [`FORMAT`].
    pub format: String,
    /// The message id the record commits (its `Accepted` record).
    pub message_id: Hex32,
    /// The log record's bytes.
    pub record: HexBytes,
    /// Its log sequence number.
    pub seq: u64,
    /// RFC 6962 path of the record in the whole-log tree of `header.log_end` entries.
    pub proof: Vec<Hex32>,
    /// The block header whose `log_root` the path leads to.
    pub header: BlockHeader,
    /// The block's quorum certificate.
    pub qc: QuorumCertificate,
    /// The relay set (city ids and public keys) in relay-index order; it hashes to
    /// `header.relay_set_hash`, which is what a verifier must trust.
    pub relays: Vec<RelayInfo>,
}

/// Why a finality proof does not hold.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FinalityError {
    /// The record is not inside the block's log range.
    #[error("record {seq} is outside block {height}'s range {start}..{end}")]
    OutsideBlock {
        /// Record sequence number.
        seq: u64,
        /// Block height.
        height: u64,
        /// Range start.
        start: u64,
        /// Range end.
        end: u64,
    },
    /// The inclusion proof fails.
    #[error("inclusion: {0}")]
    Inclusion(#[from] rfc6962::Rfc6962Error),
    /// The certificate does not finalize the header under the given relay set.
    #[error("quorum certificate: {0}")]
    Quorum(#[from] QuorumError),
    /// The record is not the `Accepted` record of the claimed message.
    #[error("the record does not commit message {0}")]
    NotTheMessage(String),
    /// The document's relay set is not the one the verifier trusts.
    #[error("relay set {found} is not the trusted relay set {trusted}")]
    UntrustedRelaySet {
        /// Hash of the document's relay set.
        found: String,
        /// The hash trusted.
        trusted: String,
    },
}

impl FinalityProof {
    /// The hash of the document's relay set (what a verifier pins).
    pub fn relay_set_hash(&self) -> Hash32 {
        RelaySet {
            relays: self.relays.clone(),
        }
        .hash()
    }

    /// [`FinalityProof::verify`], and the relay set must be the one whose hash is `trusted`.
    pub fn verify_trusted(&self, trusted: &Hash32) -> Result<(), FinalityError> {
        let found = self.relay_set_hash();
        if found != *trusted {
            return Err(FinalityError::UntrustedRelaySet {
                found: hex::encode(found),
                trusted: hex::encode(trusted),
            });
        }
        self.verify()
    }

    /// Check the proof; on success the record with `message_id` is final on the reference
    /// chain signed by the relay set whose hash is `header.relay_set_hash` (which only the
    /// caller can tell is the right one: see [`FinalityProof::verify_trusted`]). The quorum
    /// certificate is held to [`QuorumCertificate::verify_strict`]: every signature in it counts.
    pub fn verify(&self) -> Result<(), FinalityError> {
        let h = &self.header;
        if self.seq < h.log_start || self.seq >= h.log_end {
            return Err(FinalityError::OutsideBlock {
                seq: self.seq,
                height: h.height,
                start: h.log_start,
                end: h.log_end,
            });
        }
        let path: Vec<_> = self.proof.iter().map(|p| p.0).collect();
        rfc6962::verify_inclusion(
            &rfc6962::leaf_hash(&self.record.0),
            self.seq,
            h.log_end,
            &path,
            &h.log_root,
        )?;
        let set = RelaySet {
            relays: self.relays.clone(),
        };
        self.qc.verify_strict(&set, h)?;
        match decode_record(&self.record.0) {
            Ok(LogRecord::Accepted { msg, .. }) if msg.id.0 == self.message_id.0 => Ok(()),
            _ => Err(FinalityError::NotTheMessage(hex::encode(self.message_id.0))),
        }
    }
}

/// Read a `meridian-finality` document; `Err(_)` for a malformed one.
pub fn parse_document(value: serde_json::Value) -> Result<FinalityProof, String> {
    let doc: FinalityProof = serde_json::from_value(value).map_err(|e| format!("{FORMAT}: {e}"))?;
    if doc.format != FORMAT {
        return Err(format!("format must be {FORMAT:?}"));
    }
    Ok(doc)
}

/// Check a `meridian-finality` document: `Ok(Ok(()))` valid, `Ok(Err(_))` a false claim,
/// `Err(_)` a malformed document.
pub fn verify_document(value: serde_json::Value) -> Result<Result<(), FinalityError>, String> {
    Ok(parse_document(value)?.verify())
}
