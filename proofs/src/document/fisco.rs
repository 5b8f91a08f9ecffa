//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `fisco-v2` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoV2Doc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for FiscoV2Doc {
    const FORMAT: &'static str = "fisco-v2";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::fisco::FiscoError::NotImplemented.into())
    }
}

/// `fisco-v3` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoV3Doc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for FiscoV3Doc {
    const FORMAT: &'static str = "fisco-v3";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::fisco::FiscoError::NotImplemented.into())
    }
}
pub struct FiscoV2Level;
