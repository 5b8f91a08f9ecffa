//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `fabric-block` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricBlockDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for FabricBlockDoc {
    const FORMAT: &'static str = "fabric-block";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::fabric::FabricError::NotImplemented.into())
    }
}
