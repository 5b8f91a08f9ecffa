//! `fabric-block` documents.
use super::{Claim, Hex32, HexBytes};
use crate::fabric;
use serde::{Deserialize, Serialize};

/// A Fabric block's header fields and data, with its claimed data and header hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FabricBlockDoc {
    /// Block number.
    pub number: u64,
    /// Previous header hash (empty for the genesis block).
    pub previous_hash: HexBytes,
    /// The envelopes, in order.
    pub data: Vec<HexBytes>,
    /// Claimed data hash.
    pub data_hash: Hex32,
    /// Claimed header hash.
    pub header_hash: Hex32,
}

impl Claim for FabricBlockDoc {
    const FORMAT: &'static str = "fabric-block";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let data: Vec<&[u8]> = self.data.iter().map(|d| d.0.as_slice()).collect();
        fabric::verify_block(
            self.number,
            &self.previous_hash.0,
            &data,
            &self.data_hash.0,
            &self.header_hash.0,
        )?;
        Ok(())
    }
}
