//! (stub: being written)
use super::{Claim, Hex32};
use serde::{Deserialize, Serialize};

/// `xrpl-ledger-header` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XrplLedgerHeaderDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for XrplLedgerHeaderDoc {
    const FORMAT: &'static str = "xrpl-ledger-header";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::xrpl::XrplError::NotImplemented.into())
    }
}

/// `xrpl-shamap` document (stub).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XrplShamapDoc {
    /// Claimed root.
    pub root: Hex32,
}

impl Claim for XrplShamapDoc {
    const FORMAT: &'static str = "xrpl-shamap";
    fn verify(&self) -> Result<(), crate::ProofError> {
        Err(crate::xrpl::XrplError::NotImplemented.into())
    }
}
pub struct XrplLeaf;
