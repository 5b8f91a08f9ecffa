//! `fisco-v2` and `fisco-v3` documents.
use super::{Claim, Hex32, HexBytes};
use crate::fisco::{self, FiscoHash, Level};
use serde::{Deserialize, Serialize};

/// A FISCO BCOS 2.x proof as `getTransactionByHashWithProof` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoV2Doc {
    /// `keccak256` or `sm3`.
    pub hash_alg: FiscoHash,
    /// The transaction's index in its block.
    pub index: u64,
    /// The transaction (or receipt) hash.
    pub leaf_hash: Hex32,
    /// `transactionsRoot` (or `receiptsRoot`).
    pub root: Hex32,
    /// Levels from the leaves up, the last one empty.
    pub proof: Vec<FiscoV2Level>,
}

/// One level of a 2.x proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoV2Level {
    /// Siblings to the left.
    pub left: Vec<HexBytes>,
    /// Siblings to the right.
    pub right: Vec<HexBytes>,
}

impl Claim for FiscoV2Doc {
    const FORMAT: &'static str = "fisco-v2";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let levels: Vec<Level> = self
            .proof
            .iter()
            .map(|l| Level {
                left: l.left.iter().map(|h| h.0.clone()).collect(),
                right: l.right.iter().map(|h| h.0.clone()).collect(),
            })
            .collect();
        fisco::verify_v2(
            self.hash_alg,
            self.index,
            &self.leaf_hash.0,
            &self.root.0,
            &levels,
        )?;
        Ok(())
    }
}

/// A FISCO BCOS 3.x proof (`txProof`/`receiptProof`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiscoV3Doc {
    /// `keccak256` or `sm3`.
    pub hash_alg: FiscoHash,
    /// The transaction (or receipt) hash.
    pub leaf_hash: Hex32,
    /// The block's transaction (or receipt) root.
    pub root: Hex32,
    /// The flat list: count, hashes…, count, hashes… (a count is 32 bytes: 4-byte BE, 28 zeros).
    pub proof: Vec<HexBytes>,
}

impl Claim for FiscoV3Doc {
    const FORMAT: &'static str = "fisco-v3";
    fn verify(&self) -> Result<(), crate::ProofError> {
        let flat: Vec<Vec<u8>> = self.proof.iter().map(|h| h.0.clone()).collect();
        fisco::verify_v3(self.hash_alg, &self.leaf_hash.0, &self.root.0, &flat)?;
        Ok(())
    }
}
