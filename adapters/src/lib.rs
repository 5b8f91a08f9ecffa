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

/// An RLP item's bytes, refused when it is a list: `rlp::Rlp::data` gives a list's payload as
/// well, so a byte string re-tagged as a list (`b8…` → `f8…`) decoded the same and evidence
/// bytes could change without the verification noticing.
pub(crate) trait RlpStrict<'a> {
    /// The payload of this byte string (`RlpExpectedToBeData` for a list).
    fn strict_data(&self) -> Result<&'a [u8], rlp::DecoderError>;
}

impl<'a> RlpStrict<'a> for rlp::Rlp<'a> {
    fn strict_data(&self) -> Result<&'a [u8], rlp::DecoderError> {
        if self.is_list() {
            return Err(rlp::DecoderError::RlpExpectedToBeData);
        }
        self.data()
    }
}

pub use adapter::{
    AdapterError, ChainAdapter, Delivery, Evidence, HeaderInfo, LockEvent, Receipt, Settlement,
};
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

impl Family {
    /// The family named as in a chain's configuration (`family = "eos"`).
    pub fn parse(name: &str) -> Option<Family> {
        Some(match name {
            "mock" => Family::Mock,
            "ethereum" => Family::Ethereum,
            "xuper" => Family::Xuper,
            "eos" => Family::Eos,
            "fabric" => Family::Fabric,
            "fisco" => Family::Fisco,
            "chainsql" => Family::ChainSql,
            _ => None?,
        })
    }

    /// What identifies the event `ev` claims, on its chain, by what its proof binds: the bytes
    /// the hub derives a message's id from, so two pieces of evidence of one event, however
    /// they differ elsewhere, are one message (the hub's replay protection across restarts).
    /// The locator where every byte of it is checked against the proven event; EOS: the
    /// action receipt's chain-unique `global_sequence` (an EOS locator's action count is bound
    /// only as far as it shapes the proof, so locators differing in it verified alike); Xuper:
    /// the transaction id (a Xuper block id commits to no height, so the locator's height is
    /// not bound by the evidence); Fabric: the channel `tx_id` (a block's data hash is of its
    /// envelopes' concatenation, which fixes no boundaries between them, so the locator's
    /// transaction index is not bound either). Evidence that does not decode gets its locator (it fails
    /// verification; the key only finds a message whose record holds the same bytes).
    pub fn event_key(self, ev: &Evidence) -> Vec<u8> {
        let key = match self {
            Family::Eos => eos::event_key(ev),
            Family::Xuper => Some(xuper::event_key(ev)),
            Family::Fabric => fabric::event_key(ev),
            _ => None,
        };
        key.unwrap_or_else(|| ev.locator.clone())
    }
}
