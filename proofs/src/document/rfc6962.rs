//! `rfc6962` and `rfc6962-consistency` documents: the reference chain's proofs.
use super::{Claim, Hex32, HexBytes};
use crate::rfc6962;
use serde::{Deserialize, Serialize};

/// Inclusion of raw leaf data at `index` in the tree of `tree_size` leaves with root `root`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc6962Doc {
    /// The leaf's data (hashed as `H(0x00 ‖ leaf)`).
    pub leaf: HexBytes,
    /// The leaf's position.
    pub index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Claimed root.
    pub root: Hex32,
    /// Audit path, bottom up.
    pub proof: Vec<Hex32>,
}

impl Claim for Rfc6962Doc {
    const FORMAT: &'static str = "rfc6962";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let path: Vec<_> = self.proof.iter().map(|h| h.0).collect();
        rfc6962::verify_inclusion(
            &rfc6962::leaf_hash(&self.leaf.0),
            self.index,
            self.tree_size,
            &path,
            &self.root.0,
        )?;
        Ok(())
    }
}

/// The tree of `new_size` leaves extends the tree of `old_size` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc6962ConsistencyDoc {
    /// Size of the older tree.
    pub old_size: u64,
    /// Size of the newer tree.
    pub new_size: u64,
    /// Root of the older tree.
    pub old_root: Hex32,
    /// Root of the newer tree.
    pub new_root: Hex32,
    /// Consistency proof (RFC 6962 §2.1.2).
    pub proof: Vec<Hex32>,
}

impl Claim for Rfc6962ConsistencyDoc {
    const FORMAT: &'static str = "rfc6962-consistency";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let path: Vec<_> = self.proof.iter().map(|h| h.0).collect();
        rfc6962::verify_consistency(
            self.old_size,
            self.new_size,
            &self.old_root.0,
            &self.new_root.0,
            &path,
        )?;
        Ok(())
    }
}
