//! # meridian-adapters
//!
//! The only door between the hub and a chain: one [`ChainAdapter`] trait, one module per chain
//! family, a mock chain per family and the conformance kit. The six chain families arrive in
//! their own issue; today this crate has the trait and the generic mock chain the hub's
//! lifecycle runs on.
//!
//! # Layout
//! - `adapter` — [`ChainAdapter`], [`Evidence`], [`LockEvent`], [`Delivery`], [`AdapterError`].
//! - [`conformance`] — the conformance kit every adapter must pass (one call: `conformance::run`).
//! - [`mock`] — a generic mock chain (ed25519 validators, RFC 6962 event proofs) and its adapter.

#![forbid(unsafe_code)]

mod adapter;
pub mod chainsql;
pub mod conformance;
pub mod demo;
pub mod eos;
pub mod ethereum;
pub mod fabric;
pub mod fisco;
pub mod mock;
pub mod xuper;

pub use adapter::{AdapterError, ChainAdapter, Delivery, Evidence, HeaderInfo, LockEvent, Receipt};
pub use meridian_proofs as proofs;

/// The chain families Meridian links, each with its own native proof format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// The generic mock chain (tests and the built-in demo network).
    Mock,
    /// Ethereum and permissioned Ethereum networks (clique PoA, or node-confirmed finality).
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
