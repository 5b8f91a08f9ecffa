//! The crate-wide error: one variant per proof family, each wrapping that family's typed error.

use thiserror::Error;

/// Why a proof was rejected. Each family's error says exactly what did not match.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// RFC 6962 inclusion or consistency proof.
    #[error("rfc6962: {0}")]
    Rfc6962(#[from] crate::rfc6962::Rfc6962Error),
    /// Ethereum header or Merkle-Patricia trie proof.
    #[error("eth: {0}")]
    Eth(#[from] crate::eth::EthError),
    /// FISCO BCOS 2.x / 3.x proof or header.
    #[error("fisco: {0}")]
    Fisco(#[from] crate::fisco::FiscoError),
    /// EOSIO legacy or Savanna merkle proof.
    #[error("eosio: {0}")]
    Eosio(#[from] crate::eosio::EosioError),
    /// XuperChain transaction merkle proof.
    #[error("xuper: {0}")]
    Xuper(#[from] crate::xuper::XuperError),
    /// Hyperledger Fabric block hashing.
    #[error("fabric: {0}")]
    Fabric(#[from] crate::fabric::FabricError),
    /// XRP Ledger family (ChainSQL) ledger header or SHAMap proof.
    #[error("xrpl: {0}")]
    Xrpl(#[from] crate::xrpl::XrplError),
}

/// Result alias for verification functions of this crate.
pub type Result<T, E = ProofError> = std::result::Result<T, E>;
