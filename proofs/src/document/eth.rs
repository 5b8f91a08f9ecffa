//! `eth-header` and `eth-mpt` documents.
use super::{Claim, Hex32, HexBytes};
use crate::eth;
use serde::{Deserialize, Serialize};

/// An Ethereum block header's RLP and its claimed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthHeaderDoc {
    /// The header's RLP.
    pub rlp: HexBytes,
    /// Claimed block hash.
    pub hash: Hex32,
}

impl Claim for EthHeaderDoc {
    const FORMAT: &'static str = "eth-header";
    fn verify(&self) -> Result<(), crate::ProofError> {
        eth::verify_header(&self.rlp.0, &self.hash.0)?;
        Ok(())
    }
}

/// A Merkle-Patricia trie proof that `key` maps to `value` (or, with `value: null`, is absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthMptDoc {
    /// Trie root.
    pub root: Hex32,
    /// The key as stored in the trie.
    pub key: HexBytes,
    /// The value, or `null` for an exclusion claim (the field itself is required).
    #[serde(deserialize_with = "Option::deserialize")]
    pub value: Option<HexBytes>,
    /// RLP nodes from the root down.
    pub proof: Vec<HexBytes>,
}

impl Claim for EthMptDoc {
    const FORMAT: &'static str = "eth-mpt";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let nodes: Vec<&[u8]> = self.proof.iter().map(|n| n.0.as_slice()).collect();
        eth::mpt::check_claim(
            &self.root.0,
            &self.key.0,
            self.value.as_ref().map(|v| v.0.as_slice()),
            &nodes,
        )?;
        Ok(())
    }
}
