//! The Ethereum family: permissioned Ethereum networks with clique proof-of-authority
//! finality (EIP-225), and its mock chain.
//!
//! # Evidence
//! - `header`: the RLP list `[block, child1, child2, …]` of go-ethereum-encoded headers (each
//!   embedded as the RLP list it is, 15 fields or 16 with `baseFeePerGas`), forming a hash chain
//!   through `parentHash`.
//! - `proof`: the RLP list of the receipts-trie nodes (as byte strings, root first, exactly
//!   `eth_getProof`-style) proving the receipt at key `rlp(txIndex)` under the block's
//!   `receiptsRoot`.
//! - `event`: the log's RLP `[address, [topics], data]`, byte-identical to the proven receipt's
//!   log at `logIndex`.
//! - `locator`: `rlp([blockNumber, txIndex, logIndex])`; `logIndex` counts the logs of that
//!   receipt (not the block-wide log index).
//!
//! # Finality rule
//! Every header must carry a clique seal recovering to an authorized signer, the headers must
//! link by `parentHash` and consecutive numbers, the block must be buried under at least
//! `confirmations` headers (default: half the signer set, rounded down), and the headers must
//! have been sealed by more than half of the signer set (distinct signers). Clique lets a signer
//! seal at most one of any `n/2 + 1` consecutive blocks, so an honest chain meets this with
//! `n/2` confirmations.
//!
//! # Chain identity
//! Clique headers carry no chain id. The adapter trusts, per chain, a genesis hash and the
//! signer set of that genesis (`EthereumConfig::from_genesis` reads it from the genesis
//! header's `extraData`), the bridge contract's address, and the EIP-155 chain id; the bridge
//! puts `block.chainid` into every `Lock` event (see [`abi`]), and the adapter refuses an event
//! whose chain id is not its own ([`AdapterError::WrongChain`]) even when the same signers run
//! another network with the same bridge address.

pub mod abi;
pub mod clique;
mod mock;
pub mod receipt;

pub use clique::Address;
pub use mock::{account, EthMisbehaviour, EthereumMock};

use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use abi::{LockData, Token};
use meridian_proofs::eth::{self, EthHeader, ProofOutcome};
use meridian_proofs::hash::Hash32;
use meridian_proofs::ProofError;
use receipt::{receipt_logs, rlp_exact, Log};
use rlp::RlpStream;
use std::collections::{BTreeSet, HashSet};

/// Most headers accepted in one evidence or header batch.
pub const MAX_HEADERS: usize = 1024;
/// Most trie nodes accepted in one proof.
pub const MAX_PROOF_NODES: usize = 64;

/// What an [`EthereumAdapter`] trusts about its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthereumConfig {
    /// Meridian's id of the chain.
    pub chain_id: String,
    /// The EIP-155 chain id the bridge contract reports.
    pub eip155_chain_id: u64,
    /// keccak256 of the genesis header: the light client's first trusted head.
    pub genesis_hash: Hash32,
    /// Authorized clique signers.
    pub signers: Vec<Address>,
    /// The bridge contract emitting `Lock` events.
    pub bridge: Address,
    /// Headers needed on top of an event's block.
    pub confirmations: usize,
}

impl EthereumConfig {
    /// A config trusting `genesis_rlp` (a clique genesis: `extraData` = 32 bytes vanity, the
    /// signer addresses, 65 zero bytes) and its signer set; `confirmations` = signers / 2.
    pub fn from_genesis(
        chain_id: &str,
        eip155_chain_id: u64,
        genesis_rlp: &[u8],
        bridge: Address,
    ) -> Result<Self, AdapterError> {
        let g = eth::parse_header(genesis_rlp).map_err(|e| malformed("genesis", e))?;
        if g.number != 0 {
            return Err(malformed("genesis", "number is not 0"));
        }
        let list = g
            .extra_data
            .get(clique::VANITY..g.extra_data.len().saturating_sub(clique::SEAL))
            .filter(|l| !l.is_empty() && l.len() % 20 == 0)
            .ok_or_else(|| malformed("genesis", "extraData holds no clique signer list"))?;
        let signers: Vec<Address> = list
            .chunks(20)
            .map(|c| {
                let mut a = [0u8; 20];
                a.copy_from_slice(c);
                a
            })
            .collect();
        Ok(EthereumConfig {
            chain_id: chain_id.to_string(),
            eip155_chain_id,
            genesis_hash: g.hash,
            confirmations: signers.len() / 2,
            signers,
            bridge,
        })
    }

    /// Distinct signers needed: more than half of the set.
    pub fn quorum(&self) -> usize {
        self.signers.len() / 2 + 1
    }
}

/// Where deliveries go: an Ethereum node (the mock chain in tests).
pub trait EthereumNode: Send + std::fmt::Debug {
    /// Send the `release` call `calldata` for `delivery` and wait for its receipt.
    fn submit(&self, delivery: &Delivery, calldata: &[u8]) -> Result<Receipt, AdapterError>;
    /// The receipt of `message_id` if the bridge applied it.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;
}

fn malformed(what: &'static str, reason: impl std::fmt::Display) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// `rlp([number, txIndex, logIndex])`.
pub fn locator(number: u64, tx_index: u64, log_index: u64) -> Vec<u8> {
    let mut s = RlpStream::new_list(3);
    s.append(&number).append(&tx_index).append(&log_index);
    s.out().to_vec()
}

/// Decode a locator; only the canonical encoding is accepted.
pub fn decode_locator(bytes: &[u8]) -> Result<(u64, u64, u64), AdapterError> {
    let r = rlp_exact(bytes, "locator")?;
    if !r.is_list() || r.item_count().map_err(|e| malformed("locator", e))? != 3 {
        return Err(malformed("locator", "not a 3-item list"));
    }
    let v = |i| r.val_at::<u64>(i).map_err(|e| malformed("locator", e));
    let (n, t, l) = (v(0)?, v(1)?, v(2)?);
    if locator(n, t, l) != bytes {
        return Err(malformed("locator", "not canonical"));
    }
    Ok((n, t, l))
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// Adapter for a clique-PoA Ethereum network.
#[derive(Debug)]
pub struct EthereumAdapter {
    config: EthereumConfig,
    trusted_height: u64,
    trusted_hash: Hash32,
    node: Option<Box<dyn EthereumNode>>,
    relayed: HashSet<Vec<u8>>,
}

impl EthereumAdapter {
    /// An adapter trusting `config`, its light client at genesis, delivering through `node`.
    pub fn new(config: EthereumConfig, node: Option<Box<dyn EthereumNode>>) -> Self {
        EthereumAdapter {
            trusted_height: 0,
            trusted_hash: config.genesis_hash,
            config,
            node,
            relayed: HashSet::new(),
        }
    }

    /// The trusted configuration.
    pub fn config(&self) -> &EthereumConfig {
        &self.config
    }

    /// Decode and check a header list `[block, child…]`: every seal by an authorized signer,
    /// the hash chain, the confirmations and the distinct-signer quorum.
    pub fn verify_chain(&self, bytes: &[u8]) -> Result<Vec<EthHeader>, AdapterError> {
        let r = rlp_exact(bytes, "header")?;
        if !r.is_list() {
            return Err(malformed("header", "not a list of headers"));
        }
        let n = r.item_count().map_err(|e| malformed("header", e))?;
        if n == 0 || n > MAX_HEADERS {
            return Err(malformed("header", format!("{n} headers")));
        }
        let mut headers: Vec<EthHeader> = Vec::with_capacity(n);
        let mut signers = BTreeSet::new();
        for item in r.iter() {
            let raw = item.as_raw();
            let h = eth::parse_header(raw).map_err(|e| malformed("header", e))?;
            let signer = clique::recover_signer(raw, &h.extra_data)?;
            if !self.config.signers.contains(&signer) {
                return Err(AdapterError::UnknownValidator(hex0x(&signer)));
            }
            if let Some(prev) = headers.last() {
                if h.parent_hash != prev.hash || Some(h.number) != prev.number.checked_add(1) {
                    return Err(AdapterError::Fork {
                        height: h.number,
                        reason: format!(
                            "parent {} is not block {} ({})",
                            hex0x(&h.parent_hash),
                            prev.number,
                            hex0x(&prev.hash)
                        ),
                    });
                }
            }
            signers.insert(signer);
            headers.push(h);
        }
        let first = headers[0].number;
        let last = headers[headers.len() - 1].number;
        if headers.len() - 1 < self.config.confirmations {
            return Err(AdapterError::NotFinal {
                height: first,
                final_height: last.saturating_sub(self.config.confirmations as u64),
            });
        }
        if signers.len() < self.config.quorum() {
            return Err(AdapterError::BelowQuorum {
                valid: signers.len(),
                needed: self.config.quorum(),
            });
        }
        Ok(headers)
    }
}

impl ChainAdapter for EthereumAdapter {
    fn chain_id(&self) -> &str {
        &self.config.chain_id
    }

    fn family(&self) -> Family {
        Family::Ethereum
    }

    /// `header` is a header list as in evidence; its first header must extend the trusted
    /// head. The light client advances to the deepest header that the list finalizes.
    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let headers = self.verify_chain(header)?;
        let first = &headers[0];
        if first.parent_hash != self.trusted_hash
            || Some(first.number) != self.trusted_height.checked_add(1)
        {
            return Err(AdapterError::Fork {
                height: first.number,
                reason: format!(
                    "trusted head is {} ({}), header's parent is {}",
                    self.trusted_height,
                    hex0x(&self.trusted_hash),
                    hex0x(&first.parent_hash)
                ),
            });
        }
        let fin = &headers[headers.len() - 1 - self.config.confirmations];
        self.trusted_height = fin.number;
        self.trusted_hash = fin.hash;
        Ok(HeaderInfo {
            height: fin.number,
            hash: fin.hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        if self.relayed.contains(&ev.locator) {
            return Err(AdapterError::Replay(hex::encode(&ev.locator)));
        }
        let (number, tx_index, log_index) = decode_locator(&ev.locator)?;
        let headers = self.verify_chain(&ev.header)?;
        let block = &headers[0];
        if block.number != number {
            return Err(AdapterError::LocatorMismatch);
        }
        let pr = rlp_exact(&ev.proof, "proof")?;
        if !pr.is_list() {
            return Err(malformed("proof", "not a list of trie nodes"));
        }
        let nodes = pr
            .iter()
            .map(|n| n.data().map_err(|e| malformed("proof", e)))
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.len() > MAX_PROOF_NODES {
            return Err(malformed("proof", "too many nodes"));
        }
        let key = rlp::encode(&tx_index);
        let value = match eth::verify_proof(&block.receipts_root, &key, &nodes)
            .map_err(ProofError::from)?
        {
            ProofOutcome::Present(v) => v,
            ProofOutcome::Absent => return Err(AdapterError::LocatorMismatch),
        };
        let logs = receipt_logs(&value)?;
        let proven = usize::try_from(log_index)
            .ok()
            .and_then(|i| logs.get(i))
            .ok_or(AdapterError::LocatorMismatch)?;
        if proven != &ev.event {
            return Err(malformed("event", "is not the proven log"));
        }
        let log = Log::decode(&ev.event)?;
        if log.address != self.config.bridge {
            return Err(malformed(
                "event",
                format!("log of {}, not the bridge", hex0x(&log.address)),
            ));
        }
        if log.topics != [abi::lock_topic()] {
            return Err(malformed("event", "not a Lock event"));
        }
        let lock = LockData::decode(&log.data)?;
        if lock.chain_id != u128::from(self.config.eip155_chain_id) {
            return Err(AdapterError::WrongChain {
                expected: self.config.eip155_chain_id.to_string(),
                found: lock.chain_id.to_string(),
            });
        }
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height: number,
            destination: lock.destination,
            sender: hex0x(&lock.sender),
            recipient: lock.recipient,
            asset: lock.asset,
            amount: lock.amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        self.relayed.insert(locator.to_vec());
    }

    /// `release(bytes32 id, bool refund, string account, string asset, uint256 amount,
    /// uint256 refchainHeight, uint256 deadlineMs)` calldata.
    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        let args = abi::encode(&[
            Token::Bytes32(d.message_id),
            Token::Bool(d.refund),
            Token::Str(d.account.clone()),
            Token::Str(d.asset.clone()),
            Token::Uint(d.amount),
            Token::Uint(u128::from(d.refchain_height)),
            Token::Uint(u128::from(d.deadline_ms)),
        ]);
        Ok([&abi::release_selector()[..], &args].concat())
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        let calldata = self.encode_delivery(d)?;
        match &self.node {
            Some(n) => n.submit(d, &calldata),
            None => Err(AdapterError::Unavailable(
                "no Ethereum node configured".into(),
            )),
        }
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        match &self.node {
            Some(n) => n.applied(message_id),
            None => Err(AdapterError::Unavailable(
                "no Ethereum node configured".into(),
            )),
        }
    }

    /// `rlp([height, hash, [signer…]])`.
    fn light_client_state(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(3);
        s.append(&self.trusted_height);
        s.append(&self.trusted_hash.as_slice());
        s.begin_list(self.config.signers.len());
        for a in &self.config.signers {
            s.append(&a.as_slice());
        }
        s.out().to_vec()
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        let what = "light-client state";
        let r = rlp_exact(state, what)?;
        if !r.is_list() || r.item_count().map_err(|e| malformed(what, e))? != 3 {
            return Err(malformed(what, "not a 3-item list"));
        }
        let height: u64 = r.val_at(0).map_err(|e| malformed(what, e))?;
        let hash = r
            .at(1)
            .and_then(|h| h.data())
            .map_err(|e| malformed(what, e))?;
        let hash: Hash32 = hash
            .try_into()
            .map_err(|_| malformed(what, "hash is not 32 bytes"))?;
        let list = r.at(2).map_err(|e| malformed(what, e))?;
        let signers = list
            .iter()
            .map(|a| {
                a.data()
                    .ok()
                    .and_then(|d| <Address>::try_from(d).ok())
                    .ok_or_else(|| malformed(what, "signer is not 20 bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if signers.is_empty() {
            return Err(malformed(what, "empty signer set"));
        }
        self.trusted_height = height;
        self.trusted_hash = hash;
        self.config.signers = signers;
        Ok(())
    }
}
