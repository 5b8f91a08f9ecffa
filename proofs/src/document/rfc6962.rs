//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `rfc6962` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc6962Doc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for Rfc6962Doc {
    const FORMAT: &'static str = "rfc6962";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::rfc6962::Rfc6962Error::NotImplemented.into())
    }
}

/// `rfc6962-consistency` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc6962ConsistencyDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for Rfc6962ConsistencyDoc {
    const FORMAT: &'static str = "rfc6962-consistency";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::rfc6962::Rfc6962Error::NotImplemented.into())
    }
}
