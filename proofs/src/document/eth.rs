//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `eth-header` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthHeaderDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for EthHeaderDoc {
    const FORMAT: &'static str = "eth-header";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::eth::EthError::NotImplemented.into())
    }
}

/// `eth-mpt` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthMptDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for EthMptDoc {
    const FORMAT: &'static str = "eth-mpt";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::eth::EthError::NotImplemented.into())
    }
}
