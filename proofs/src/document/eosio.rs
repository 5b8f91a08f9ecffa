//! `eosio-legacy` and `eosio-savanna` documents.
use super::{Claim, Hex32};
use crate::eosio;
use serde::{Deserialize, Serialize};

/// A legacy EOSIO merkle proof (side in each sibling's bit 0x80).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EosioLegacyDoc {
    /// The leaf digest (action receipt digest or transaction id).
    pub leaf: Hex32,
    /// Claimed root (`action_mroot` / `transaction_mroot`).
    pub root: Hex32,
    /// Canonicalised siblings, bottom up.
    pub proof: Vec<Hex32>,
}

impl Claim for EosioLegacyDoc {
    const FORMAT: &'static str = "eosio-legacy";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let p: Vec<_> = self.proof.iter().map(|h| h.0).collect();
        eosio::verify_legacy(&self.leaf.0, &p, &self.root.0)?;
        Ok(())
    }
}

/// A Savanna merkle proof of the leaf at `index` among `count`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EosioSavannaDoc {
    /// The leaf digest.
    pub leaf: Hex32,
    /// Position of the leaf.
    pub index: u64,
    /// Number of leaves.
    pub count: u64,
    /// Claimed root.
    pub root: Hex32,
    /// Siblings, bottom up.
    pub proof: Vec<Hex32>,
}

impl Claim for EosioSavannaDoc {
    const FORMAT: &'static str = "eosio-savanna";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let p: Vec<_> = self.proof.iter().map(|h| h.0).collect();
        eosio::verify_savanna(&self.leaf.0, self.index, self.count, &p, &self.root.0)?;
        Ok(())
    }
}
