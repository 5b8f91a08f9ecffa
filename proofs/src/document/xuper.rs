//! `xuper` documents.
use super::{Claim, Hex32};
use crate::xuper;
use serde::{Deserialize, Serialize};

/// A XuperChain transaction's inclusion in its block's merkle tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XuperDoc {
    /// The transaction id.
    pub txid: Hex32,
    /// Its position in the block.
    pub index: u64,
    /// Transactions in the block.
    pub tx_count: u64,
    /// The block's merkle root.
    pub root: Hex32,
    /// Siblings bottom up, `null` for nil.
    pub proof: Vec<Option<Hex32>>,
}

impl Claim for XuperDoc {
    const FORMAT: &'static str = "xuper";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let p: Vec<_> = self.proof.iter().map(|h| h.map(|h| h.0)).collect();
        xuper::verify(&self.txid.0, self.index, self.tx_count, &p, &self.root.0)?;
        Ok(())
    }
}
