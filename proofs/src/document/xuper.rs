//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `xuper` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XuperDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for XuperDoc {
    const FORMAT: &'static str = "xuper";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::xuper::XuperError::NotImplemented.into())
    }
}
