//! # meridian-proofs
//!
//! Pure, byte-exact verification of the native Merkle proofs of every chain Meridian links,
//! and the tree builders that produce them. No I/O, no async: every function takes bytes and
//! returns a value or a typed error, and none panics on any input.
//!
//! # Layout
//! - [`hash`] — SHA-256, double SHA-256, Keccak-256, SM3, SHA-512Half behind one API.
//! - [`rfc6962`] — the reference chain's RFC 6962 tree: roots, inclusion and consistency proofs.
//! - [`eth`] — Ethereum header hashing (RLP) and Merkle-Patricia trie proofs and builder.
//! - [`fisco`] — FISCO BCOS 2.x (16-ary) and 3.x (binary) transaction/receipt proofs, 2.x header hash.
//! - [`eosio`] — EOSIO legacy and Savanna action/transaction merkle trees, block ids.
//! - [`xuper`] — XuperChain's double-SHA-256 transaction merkle tree.
//! - [`fabric`] — Hyperledger Fabric block data hash and DER header hash chain.
//! - [`xrpl`] — XRP Ledger family (ChainSQL) ledger header hash and SHAMap proofs.
//! - [`document`] — the JSON proof documents of `meridian proof verify`.
//! - [`error`] — [`ProofError`], wrapping each family's typed error.

#![forbid(unsafe_code)]

pub mod audit;
pub mod document;
pub mod eosio;
pub mod error;
pub mod eth;
pub mod fabric;
pub mod fisco;
pub mod hash;
pub mod rfc6962;
pub mod xrpl;
pub mod xuper;

#[cfg(any(test, feature = "test-utils"))]
pub mod test_utils;

pub use document::{verify_document, DocumentError, Verdict};
pub use error::{ProofError, Result};
pub use hash::{Hash32, HashAlg, HexHash};
