//! `xrpl-ledger-header` and `xrpl-shamap` documents.
use super::{Claim, Hex32, HexBytes};
use crate::xrpl::{self, LedgerHeader, XrplHash};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An XRPL-family ledger header and its claimed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XrplLedgerHeaderDoc {
    /// `sha512half` or `sm3`.
    pub hash_alg: XrplHash,
    /// Ledger sequence.
    pub seq: u32,
    /// Total drops, as a decimal string (it exceeds 2^53).
    #[serde(serialize_with = "ser_u64_str", deserialize_with = "de_u64_str")]
    pub total_coins: u64,
    /// Parent ledger hash.
    pub parent_hash: Hex32,
    /// Transaction tree root.
    pub transaction_hash: Hex32,
    /// State tree root.
    pub account_hash: Hex32,
    /// Parent close time.
    pub parent_close_time: u32,
    /// Close time.
    pub close_time: u32,
    /// Close time resolution.
    pub close_time_resolution: u8,
    /// Close flags.
    pub close_flags: u8,
    /// Claimed ledger hash.
    pub hash: Hex32,
}

fn ser_u64_str<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

fn de_u64_str<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    s.parse()
        .map_err(|_| serde::de::Error::custom(format!("total_coins {s:?} is not a decimal u64")))
}

impl Claim for XrplLedgerHeaderDoc {
    const FORMAT: &'static str = "xrpl-ledger-header";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let h = LedgerHeader {
            seq: self.seq,
            total_coins: self.total_coins,
            parent_hash: self.parent_hash.0,
            transaction_hash: self.transaction_hash.0,
            account_hash: self.account_hash.0,
            parent_close_time: self.parent_close_time,
            close_time: self.close_time,
            close_time_resolution: self.close_time_resolution,
            close_flags: self.close_flags,
        };
        h.verify(self.hash_alg, &self.hash.0)?;
        Ok(())
    }
}

/// The leaf of a SHAMap claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum XrplLeaf {
    /// A transaction with its metadata (transaction tree).
    Tx {
        /// Serialized transaction.
        tx: HexBytes,
        /// Serialized metadata.
        meta: HexBytes,
    },
    /// A state entry (account state tree).
    State {
        /// Serialized ledger entry.
        data: HexBytes,
    },
}

/// A SHAMap inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XrplShamapDoc {
    /// `sha512half` or `sm3`.
    pub hash_alg: XrplHash,
    /// The item's key (the txid for a transaction).
    pub key: Hex32,
    /// The item.
    pub leaf: XrplLeaf,
    /// Claimed tree root.
    pub root: Hex32,
    /// Inner nodes, the leaf's parent first, each as 16 child hashes.
    pub proof: Vec<[Hex32; 16]>,
}

impl Claim for XrplShamapDoc {
    const FORMAT: &'static str = "xrpl-shamap";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let alg = self.hash_alg;
        let key = self.key.0;
        let leaf_hash = match &self.leaf {
            XrplLeaf::Tx { tx, meta } => {
                let id = xrpl::txid(alg, &tx.0);
                if id != key {
                    return Err(xrpl::XrplError::KeyNotTxid {
                        key: key.into(),
                        txid: id.into(),
                    }
                    .into());
                }
                xrpl::tx_leaf_hash(alg, &tx.0, &meta.0, &key)?
            }
            XrplLeaf::State { data } => xrpl::state_leaf_hash(alg, &data.0, &key),
        };
        let nodes: Vec<[crate::Hash32; 16]> = self.proof.iter().map(|n| n.map(|h| h.0)).collect();
        xrpl::verify_path(alg, &key, &leaf_hash, &nodes, &self.root.0)?;
        Ok(())
    }
}
