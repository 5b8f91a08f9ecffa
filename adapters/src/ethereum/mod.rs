//! The Ethereum family: permissioned Ethereum networks with clique proof-of-authority
//! finality (EIP-225) or, for nodes the operator runs itself, node-confirmed finality; the
//! bridge contract, a JSON-RPC node client, and the mock chain.
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
//! # Finality rules
//! [`Finality::Clique`]: every header must carry a clique seal recovering to an authorized signer, the headers must
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
pub mod bridge;
pub mod clique;
mod mock;
pub mod node;
pub mod receipt;
pub mod rpc;

pub use clique::Address;
pub use mock::{account, EthMisbehaviour, EthereumMock};
pub use node::{RpcChain, RpcChainConfig, RpcNode};

use crate::RlpStrict;
use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
    Settlement,
};
use abi::{LockData, Token};
use meridian_proofs::eth::{self, EthHeader, ProofOutcome};
use meridian_proofs::hash::Hash32;
use meridian_proofs::ProofError;
use receipt::{receipt_logs, rlp_exact, Log};
use rlp::RlpStream;
use rpc::hex0x;
use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

/// Most headers accepted in one header batch, and in node-mode evidence (clique evidence:
/// [`EthereumConfig::max_evidence_headers`]).
pub const MAX_HEADERS: usize = 1024;
/// Most trie nodes accepted in one proof.
pub const MAX_PROOF_NODES: usize = 64;

/// How an [`EthereumAdapter`] decides that a block is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finality {
    /// Clique proof of authority: sealed headers from the evidence alone.
    Clique {
        /// Authorized clique signers.
        signers: Vec<Address>,
        /// Headers needed on top of an event's block.
        confirmations: usize,
    },
    /// The hub's own node: the block is canonical there and buried under `confirmations`
    /// blocks. Needs an [`EthereumNode`] that answers [`EthereumNode::head`] and
    /// [`EthereumNode::canonical_hash`].
    Node {
        /// Blocks needed on top of an event's block, per the node's head.
        confirmations: u64,
    },
}

/// What an [`EthereumAdapter`] trusts about its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthereumConfig {
    /// Meridian's id of the chain.
    pub chain_id: String,
    /// The EIP-155 chain id the bridge contract reports.
    pub eip155_chain_id: u64,
    /// keccak256 of the genesis header: the light client's first trusted head.
    pub genesis_hash: Hash32,
    /// The bridge contract emitting `Lock` events.
    pub bridge: Address,
    /// The finality rule.
    pub finality: Finality,
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
            bridge,
            finality: Finality::Clique {
                confirmations: signers.len() / 2,
                signers,
            },
        })
    }

    /// A config trusting the hub's own node for finality ([`Finality::Node`]).
    pub fn node(
        chain_id: &str,
        eip155_chain_id: u64,
        genesis_hash: Hash32,
        bridge: Address,
        confirmations: u64,
    ) -> Self {
        EthereumConfig {
            chain_id: chain_id.to_string(),
            eip155_chain_id,
            genesis_hash,
            bridge,
            finality: Finality::Node { confirmations },
        }
    }

    /// Clique: distinct signers needed, more than half of the set (0 in node mode).
    pub fn quorum(&self) -> usize {
        match &self.finality {
            Finality::Clique { signers, .. } => signers.len() / 2 + 1,
            Finality::Node { .. } => 0,
        }
    }

    /// Most headers one piece of evidence may carry. Clique: any `quorum` consecutive blocks
    /// are sealed by distinct signers (a signer may not seal again within `signers / 2 + 1`
    /// blocks), so the event's block and `max(quorum − 1, confirmations)` children always
    /// meet both rules; twice that many headers are allowed, and since each costs a signature
    /// recovery a longer list is refused before any is checked. Node mode: [`MAX_HEADERS`]
    /// (its headers are only hashed).
    pub fn max_evidence_headers(&self) -> usize {
        match &self.finality {
            Finality::Clique { confirmations, .. } => self
                .quorum()
                .max(confirmations.saturating_add(1))
                .saturating_mul(2)
                .min(MAX_HEADERS),
            Finality::Node { .. } => MAX_HEADERS,
        }
    }

    /// Clique: the authorized signers (none in node mode).
    pub fn signers(&self) -> &[Address] {
        match &self.finality {
            Finality::Clique { signers, .. } => signers,
            Finality::Node { .. } => &[],
        }
    }
}

/// An Ethereum node: where deliveries go and, in [`Finality::Node`] mode, the judge of
/// finality (the mock chain in tests, [`RpcNode`] against a real node).
pub trait EthereumNode: Send + std::fmt::Debug {
    /// Send the `release` call `calldata` for `delivery` (once: asked again, a release already
    /// sent is looked up, not sent again): the receipt once the release is in a block
    /// `confirmations` below the head, [`AdapterError::Pending`] while it is not mined yet or
    /// only in later blocks.
    fn submit(
        &self,
        delivery: &Delivery,
        calldata: &[u8],
        confirmations: u64,
    ) -> Result<Receipt, AdapterError>;
    /// The receipt of `message_id` if the bridge applied it.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;
    /// [`ChainAdapter::settlement`] by the node's blocks: [`Settlement::Open`] until the block
    /// `confirmations` below the head has a timestamp past `deadline_ms` (the bridge refuses a
    /// release in a block whose `timestamp * 1000` is past the deadline, and block times do not
    /// go back), then whether the bridge had applied it as of that block. The default judges
    /// by the hub's clock, for nodes that cannot say (tests).
    fn settlement(
        &self,
        message_id: &[u8; 32],
        deadline_ms: u64,
        confirmations: u64,
    ) -> Result<Settlement, AdapterError> {
        let _ = confirmations;
        Settlement::by_hub_clock(deadline_ms, || self.applied(message_id))
    }
    /// The node's head block number (`eth_blockNumber`).
    fn head(&self) -> Result<u64, AdapterError> {
        Err(AdapterError::Unavailable(
            "this Ethereum node does not report its head".into(),
        ))
    }
    /// The hash of the node's canonical block at `number`, `None` above its head
    /// (`eth_getBlockByNumber`).
    fn canonical_hash(&self, number: u64) -> Result<Option<Hash32>, AdapterError> {
        let _ = number;
        Err(AdapterError::Unavailable(
            "this Ethereum node does not report canonical blocks".into(),
        ))
    }
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

/// Evidence `header`: the RLP list of the given RLP-encoded headers, each embedded as is.
pub fn encode_header_list(headers: &[Vec<u8>]) -> Vec<u8> {
    let mut s = RlpStream::new_list(headers.len());
    for h in headers {
        s.append_raw(h, 1);
    }
    s.out().to_vec()
}

/// Evidence `proof`: the RLP list of the trie nodes, each as a byte string.
pub fn encode_proof_nodes(nodes: &[Vec<u8>]) -> Vec<u8> {
    let mut s = RlpStream::new_list(nodes.len());
    for n in nodes {
        s.append(n);
    }
    s.out().to_vec()
}

/// The raw items of an evidence header list: a non-empty RLP list of at most `max`.
fn header_items(bytes: &[u8], max: usize) -> Result<Vec<&[u8]>, AdapterError> {
    let r = rlp_exact(bytes, "header")?;
    if !r.is_list() {
        return Err(malformed("header", "not a list of headers"));
    }
    let n = r.item_count().map_err(|e| malformed("header", e))?;
    if n == 0 || n > max {
        return Err(malformed("header", format!("{n} headers; at most {max}")));
    }
    Ok(r.iter().map(|item| item.as_raw()).collect())
}

/// Adapter for an Ethereum network (clique PoA, or finality confirmed by the hub's own node).
#[derive(Debug)]
pub struct EthereumAdapter {
    config: EthereumConfig,
    trusted_height: u64,
    trusted_hash: Hash32,
    node: Option<Box<dyn EthereumNode>>,
    relayed: HashSet<Vec<u8>>,
    /// Node mode: whether the node's genesis was checked against the configured one.
    node_identity_checked: AtomicBool,
}

impl EthereumAdapter {
    /// Blocks on top of a block before it is final: the evidence rule, and the rule the
    /// hub's own deliveries are held to.
    fn confirmations(&self) -> u64 {
        match &self.config.finality {
            Finality::Node { confirmations } => *confirmations,
            Finality::Clique { confirmations, .. } => *confirmations as u64,
        }
    }

    /// The header list's first header does not link to the trusted head.
    fn unlinked(&self, first: &EthHeader) -> AdapterError {
        AdapterError::Fork {
            height: first.number,
            reason: format!(
                "trusted head is {} ({}), header's parent is {}",
                self.trusted_height,
                hex0x(&self.trusted_hash),
                hex0x(&first.parent_hash)
            ),
        }
    }

    /// An adapter trusting `config`, its light client at genesis, delivering through `node`.
    pub fn new(config: EthereumConfig, node: Option<Box<dyn EthereumNode>>) -> Self {
        EthereumAdapter {
            trusted_height: 0,
            trusted_hash: config.genesis_hash,
            config,
            node,
            relayed: HashSet::new(),
            node_identity_checked: AtomicBool::new(false),
        }
    }

    /// The trusted configuration.
    pub fn config(&self) -> &EthereumConfig {
        &self.config
    }

    /// Decode and check a header list `[block, child…]`. Clique: every seal by an authorized
    /// signer, the hash chain, the confirmations and the distinct-signer quorum. Node: the hash
    /// chain, the list canonical on the node, and the first block buried under the node's
    /// confirmations. At most `max` headers.
    pub fn verify_chain(&self, bytes: &[u8], max: usize) -> Result<Vec<EthHeader>, AdapterError> {
        match &self.config.finality {
            Finality::Clique {
                signers,
                confirmations,
            } => self.verify_clique(bytes, max, signers, *confirmations),
            Finality::Node { confirmations } => {
                let (headers, head) = self.node_chain(bytes, max)?;
                let first = headers[0].number;
                if head < first.saturating_add(*confirmations) {
                    return Err(AdapterError::NotFinal {
                        height: first,
                        final_height: head.saturating_sub(*confirmations),
                    });
                }
                Ok(headers)
            }
        }
    }

    fn verify_clique(
        &self,
        bytes: &[u8],
        max: usize,
        trusted: &[Address],
        confirmations: usize,
    ) -> Result<Vec<EthHeader>, AdapterError> {
        let items = header_items(bytes, max)?;
        let mut headers: Vec<EthHeader> = Vec::with_capacity(items.len());
        let mut signers = BTreeSet::new();
        for raw in items {
            let h = eth::parse_header(raw).map_err(|e| malformed("header", e))?;
            let signer = clique::recover_signer(raw, &h.extra_data)?;
            if !trusted.contains(&signer) {
                return Err(AdapterError::UnknownValidator(hex0x(&signer)));
            }
            check_link(headers.last(), &h)?;
            signers.insert(signer);
            headers.push(h);
        }
        let first = headers[0].number;
        let last = headers[headers.len() - 1].number;
        if headers.len() - 1 < confirmations {
            return Err(AdapterError::NotFinal {
                height: first,
                final_height: last.saturating_sub(confirmations as u64),
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

    /// Node mode: decode and hash-link the list (hashes recomputed from the RLP), check that
    /// the node's canonical block at the last header's number is that header (which, through
    /// the links checked here, makes every header of the list canonical); the headers and the
    /// node's head.
    fn node_chain(&self, bytes: &[u8], max: usize) -> Result<(Vec<EthHeader>, u64), AdapterError> {
        let items = header_items(bytes, max)?;
        let mut headers: Vec<EthHeader> = Vec::with_capacity(items.len());
        for raw in items {
            let h = eth::parse_header(raw).map_err(|e| malformed("header", e))?;
            check_link(headers.last(), &h)?;
            headers.push(h);
        }
        let node = self.node.as_deref().ok_or_else(|| {
            AdapterError::Unavailable("node finality without an Ethereum node".into())
        })?;
        self.check_node_identity(node)?;
        let head = node.head()?;
        let last = &headers[headers.len() - 1];
        match node.canonical_hash(last.number)? {
            Some(h) if h == last.hash => Ok((headers, head)),
            Some(h) => Err(AdapterError::Fork {
                height: last.number,
                reason: format!(
                    "the node's block {} is {}, the header hashes to {}",
                    last.number,
                    hex0x(&h),
                    hex0x(&last.hash)
                ),
            }),
            None => Err(AdapterError::Fork {
                height: last.number,
                reason: format!("the node has no block {} (head {head})", last.number),
            }),
        }
    }

    /// Node mode, once per adapter: the node's block 0 is the configured genesis.
    fn check_node_identity(&self, node: &dyn EthereumNode) -> Result<(), AdapterError> {
        if self.node_identity_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        match node.canonical_hash(0)? {
            Some(g) if g == self.config.genesis_hash => {
                self.node_identity_checked.store(true, Ordering::Relaxed);
                Ok(())
            }
            found => Err(AdapterError::WrongChain {
                expected: format!("genesis {}", hex0x(&self.config.genesis_hash)),
                found: format!(
                    "genesis {}",
                    found.map_or_else(|| "none".to_string(), |g| hex0x(&g))
                ),
            }),
        }
    }
}

/// `h` follows `prev` (if any): its `parentHash` is `prev`'s hash and its number the next.
fn check_link(prev: Option<&EthHeader>, h: &EthHeader) -> Result<(), AdapterError> {
    if let Some(prev) = prev {
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
    Ok(())
}

impl ChainAdapter for EthereumAdapter {
    fn chain_id(&self) -> &str {
        &self.config.chain_id
    }

    fn family(&self) -> Family {
        Family::Ethereum
    }

    /// `header` is a header list as in evidence. Clique: its first header must extend the
    /// trusted head, and the light client advances to the deepest header that the list
    /// finalizes. Node: the list must be canonical on the node (and, when its first header is
    /// the one after the trusted head, link to it); the light client advances to the deepest
    /// header the node has buried under `confirmations` blocks.
    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let (fin_number, fin_hash) = match self.config.finality.clone() {
            Finality::Clique { confirmations, .. } => {
                let headers = self.verify_chain(header, MAX_HEADERS)?;
                let first = &headers[0];
                if first.parent_hash != self.trusted_hash
                    || Some(first.number) != self.trusted_height.checked_add(1)
                {
                    return Err(self.unlinked(first));
                }
                let fin = &headers[headers.len() - 1 - confirmations];
                (fin.number, fin.hash)
            }
            Finality::Node { confirmations } => {
                let (headers, head) = self.node_chain(header, MAX_HEADERS)?;
                let first = &headers[0];
                if Some(first.number) == self.trusted_height.checked_add(1)
                    && first.parent_hash != self.trusted_hash
                {
                    return Err(self.unlinked(first));
                }
                let fin = headers
                    .iter()
                    .rev()
                    .find(|h| h.number.saturating_add(confirmations) <= head)
                    .ok_or(AdapterError::NotFinal {
                        height: first.number,
                        final_height: head.saturating_sub(confirmations),
                    })?;
                if fin.number <= self.trusted_height {
                    return Err(AdapterError::Fork {
                        height: fin.number,
                        reason: format!(
                            "does not advance the trusted head {} ({})",
                            self.trusted_height,
                            hex0x(&self.trusted_hash)
                        ),
                    });
                }
                (fin.number, fin.hash)
            }
        };
        self.trusted_height = fin_number;
        self.trusted_hash = fin_hash;
        Ok(HeaderInfo {
            height: fin_number,
            hash: fin_hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        // A replay is told only of evidence that verifies (checked last): evidence of a
        // relayed event is answered with its message, anything else as what is wrong with it.
        let replay = self
            .relayed
            .contains(&ev.locator)
            .then(|| hex::encode(&ev.locator));
        let (number, tx_index, log_index) = decode_locator(&ev.locator)?;
        let headers = self.verify_chain(&ev.header, self.config.max_evidence_headers())?;
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
            .map(|n| n.strict_data().map_err(|e| malformed("proof", e)))
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
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
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
            Some(n) => n.submit(d, &calldata, self.confirmations()),
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

    fn settlement(
        &mut self,
        message_id: &[u8; 32],
        deadline_ms: u64,
    ) -> Result<Settlement, AdapterError> {
        match &self.node {
            Some(n) => n.settlement(message_id, deadline_ms, self.confirmations()),
            None => Err(AdapterError::Unavailable(
                "no Ethereum node configured".into(),
            )),
        }
    }

    /// `rlp([height, hash, [signer…]])` (no signers in node mode).
    fn light_client_state(&self) -> Vec<u8> {
        let signers = self.config.signers();
        let mut s = RlpStream::new_list(3);
        s.append(&self.trusted_height);
        s.append(&self.trusted_hash.as_slice());
        s.begin_list(signers.len());
        for a in signers {
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
            .and_then(|h| h.strict_data())
            .map_err(|e| malformed(what, e))?;
        let hash: Hash32 = hash
            .try_into()
            .map_err(|_| malformed(what, "hash is not 32 bytes"))?;
        let list = r.at(2).map_err(|e| malformed(what, e))?;
        let signers = list
            .iter()
            .map(|a| {
                a.strict_data()
                    .ok()
                    .and_then(|d| <Address>::try_from(d).ok())
                    .ok_or_else(|| malformed(what, "signer is not 20 bytes"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        match &mut self.config.finality {
            Finality::Clique { signers: set, .. } => {
                if signers.is_empty() {
                    return Err(malformed(what, "empty signer set"));
                }
                *set = signers;
            }
            Finality::Node { .. } => {
                if !signers.is_empty() {
                    return Err(malformed(what, "signers in a node-finality state"));
                }
            }
        }
        self.trusted_height = height;
        self.trusted_hash = hash;
        Ok(())
    }
}
