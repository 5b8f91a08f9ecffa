//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `eosio-legacy` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EosioLegacyDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for EosioLegacyDoc {
    const FORMAT: &'static str = "eosio-legacy";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::eosio::EosioError::NotImplemented.into())
    }
}

/// `eosio-savanna` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EosioSavannaDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for EosioSavannaDoc {
    const FORMAT: &'static str = "eosio-savanna";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::eosio::EosioError::NotImplemented.into())
    }
}
