//! # meridian-adapters
//!
//! The only door between the hub and a chain: one `ChainAdapter` trait, one module per chain
//! family, a mock chain per family and the conformance kit. This crate grows in its own issue;
//! for now it only re-exports the proof layer it is built on.
//!
//! # Layout
//! - `family` — the chain families Meridian links.

#![forbid(unsafe_code)]

pub use meridian_proofs as proofs;

/// The chain families Meridian links, each with its own native proof format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Ethereum and permissioned Ethereum (clique PoA) networks.
    Ethereum,
    /// Baidu XuperChain.
    Xuper,
    /// EOSIO / Antelope.
    Eos,
    /// Hyperledger Fabric.
    Fabric,
    /// WeBank FISCO BCOS.
    Fisco,
    /// ChainSQL (XRP Ledger family).
    ChainSql,
}
