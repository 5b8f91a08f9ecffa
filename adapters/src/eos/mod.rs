//! The EOSIO / Antelope family: an adapter for DPoS producer chains (K1 producer signatures,
//! SHA-256 action merkle, legacy or Savanna flavour) and its mock chain.
//!
//! # Encodings (`fc::raw`: little-endian integers, `varuint32` lengths, names as `u64`)
//! - header: `block_header` = timestamp u32 ‖ producer name ‖ confirmed u16 ‖ previous id ‖
//!   transaction_mroot ‖ action_mroot ‖ schedule_version u32 ‖ new_producers (optional, must be
//!   absent) ‖ header_extensions; block id = `sha256(header)` with its first 4 bytes replaced by
//!   the block number (BE), the number being the previous id's number + 1
//!   (`meridian_proofs::eosio::block_id`). `signed_block_header` appends the signature variant
//!   (0 = K1) and the 65-byte compact signature `[31 + recid, r, s]`.
//! - `Evidence.header`: `vector<signed_block_header>` — the event's block first, then the blocks
//!   built on it, each one's `previous` the id of the one before.
//! - `Evidence.event`: `action_receipt ‖ action` (receiver, act_digest, global_sequence,
//!   recv_sequence, auth_sequence, code_sequence, abi_sequence; then account, name,
//!   authorization, data). The action merkle leaf is `sha256(action_receipt)`;
//!   `act_digest` must be `sha256(action)`.
//! - `Evidence.proof`: `vector<digest_type>`, the action merkle siblings bottom up: legacy
//!   (side flag in bit 0x80, `verify_legacy`) or Savanna (`verify_savanna`), by
//!   [`EosConfig::savanna`].
//! - `Evidence.locator`: block number ‖ action index ‖ action count (u32 BE each). The count is
//!   there because a Savanna proof's shape depends on it (a proof alone fits several
//!   `(index, count)` pairs); for legacy proofs the index is read back from the side bits and
//!   the proof length must be the tree depth for the count. Either way the locator's index must
//!   be the proven position; its count is bound only as far as it shapes the proof (a count of
//!   the same depth/shape also verifies), so replays are refused by `global_sequence` as well.
//!
//! # Trust and finality (simplified DPoS)
//! The adapter trusts the chain id (sha256 of genesis), one producer schedule (version,
//! producer names and K1 keys) and the bridge/token accounts. A header's signature counts if its
//! producer is scheduled (else [`AdapterError::UnknownValidator`]), its schedule version is the
//! trusted one, and the signature recovers to that producer's key over the signed digest
//! `sha256(sha256(header_digest ‖ chain_id) ‖ schedule_hash)`, schedule_hash =
//! `sha256(fc::raw(producer_schedule))`. **Simplification**: legacy EOSIO signs
//! `sha256(sha256(header_digest ‖ blockroot_merkle) ‖ schedule_hash)`, binding the chain through
//! the block-root merkle that starts at genesis; we bind the chain id directly instead, so
//! another chain's block fails the signature check.
//! A block is irreversible when it and the blocks built on it (all linked, all validly signed)
//! were produced by more than 2/3 of the distinct scheduled producers (`⌊2n/3⌋ + 1`: 3 of 4,
//! 15 of 21) — each producer building on a block implicitly confirms it (the single-stage
//! form of the DPoS last-irreversible-block rule; the `confirmed` counts and the two-stage
//! proposed-LIB are not modelled, nor the producer's time slot). Too few headers to ever
//! reach the quorum is [`AdapterError::NotFinal`]; enough headers but too few distinct
//! producers is [`AdapterError::BelowQuorum`]. Savanna mode uses the same rule (its BLS
//! quorum certificates are not verified) and takes the header's `action_mroot` field as the
//! Savanna action merkle root (Spring carries a finality mroot there; following it to the
//! action root is not implemented). Producer schedule changes (`new_producers`, proposer
//! policy extensions) are refused as unsupported.
//!
//! # Lock event
//! An `<token>::transfer(from, to = bridge, quantity, memo)` action whose receipt's receiver is
//! the bridge account (the bridge's notification of the transfer) and whose memo is
//! `destination:recipient`; `quantity` gives the asset code and amount (> 0). Replays are
//! refused by locator and by the receipt's chain-unique `global_sequence`.
//!
//! # Deliveries
//! An action `bridge::release` authorized by `bridge@active`, data `message_id (checksum256) ‖
//! refund (bool) ‖ account (name) ‖ asset (string) ‖ amount (uint128) ‖ refchain_height
//! (uint64) ‖ deadline_ms (uint64)`.

mod codec;
mod mock;

pub use codec::{
    decode_event, decode_headers, decode_locator, decode_proof, encode_event, encode_headers,
    encode_locator, encode_proof, name, name_string, symbol, symbol_code, Action, ActionReceipt,
    BlockHeader, K1Sig, Reader, SignedHeader, Transfer,
};
pub use mock::{EosChain, EosMock, Misbehaviour};

use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use meridian_proofs::eosio::{verify_legacy, verify_savanna};
use meridian_proofs::hash::{sha256, Hash32};
use std::collections::{BTreeSet, HashMap, HashSet};

/// What the adapter trusts about an EOSIO chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EosConfig {
    /// Meridian's chain id for this chain.
    pub chain_id: String,
    /// The EOSIO chain id (sha256 of the genesis state).
    pub eos_chain_id: Hash32,
    /// The producer schedule version.
    pub schedule_version: u32,
    /// Scheduled producers: name and compressed (33-byte) K1 public key.
    pub producers: Vec<(u64, [u8; 33])>,
    /// The trusted block the light client starts from: number and id.
    pub genesis: (u32, Hash32),
    /// The bridge account.
    pub bridge: u64,
    /// The token contract whose `transfer` locks.
    pub token: u64,
    /// Savanna (Spring 1.0+) action merkle instead of the legacy one.
    pub savanna: bool,
}

/// `sha256(fc::raw(producer_schedule))`: version, then `(name, K1 key)` pairs.
pub fn schedule_hash(version: u32, producers: &[(u64, [u8; 33])]) -> Hash32 {
    let mut b = version.to_le_bytes().to_vec();
    codec::put_varuint(&mut b, producers.len() as u32);
    for (n, k) in producers {
        b.extend_from_slice(&n.to_le_bytes());
        b.push(0);
        b.extend_from_slice(k);
    }
    sha256(&[&b])
}

/// The digest a producer signs (see the module docs).
pub fn signed_digest(chain_id: &Hash32, header: &BlockHeader, schedule: &Hash32) -> Hash32 {
    let inner = sha256(&[&header.digest(), chain_id]);
    sha256(&[&inner, schedule])
}

/// What the adapter asks of an EOSIO node: the mock implements it.
pub trait EosNode: Send + std::fmt::Debug {
    /// Push a transaction holding `action` (a packed [`Action`]) and wait for its receipt.
    fn push_action(&self, action: &[u8], delivery: &Delivery) -> Result<Receipt, AdapterError>;
    /// Whether the bridge has applied `message_id`.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;
}

/// Adapter for an EOSIO chain.
#[derive(Debug)]
pub struct EosAdapter {
    cfg: EosConfig,
    keys: Vec<VerifyingKey>,
    schedule: Hash32,
    trusted: (u32, Hash32),
    node: Box<dyn EosNode>,
    relayed: HashSet<Vec<u8>>,
    relayed_seq: HashSet<u64>,
    seen: HashMap<Vec<u8>, u64>,
}

impl EosAdapter {
    /// An adapter trusting `cfg`, talking to `node`.
    pub fn new(cfg: EosConfig, node: Box<dyn EosNode>) -> Result<Self, AdapterError> {
        if cfg.producers.is_empty() {
            return Err(AdapterError::Malformed {
                what: "producer schedule",
                reason: "empty".into(),
            });
        }
        let keys = cfg
            .producers
            .iter()
            .map(|(n, k)| {
                VerifyingKey::from_sec1_bytes(k).map_err(|_| AdapterError::Malformed {
                    what: "producer key",
                    reason: name_string(*n),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(EosAdapter {
            schedule: schedule_hash(cfg.schedule_version, &cfg.producers),
            trusted: cfg.genesis,
            keys,
            cfg,
            node,
            relayed: HashSet::new(),
            relayed_seq: HashSet::new(),
            seen: HashMap::new(),
        })
    }

    /// `⌊2n/3⌋ + 1`: more than two thirds of the schedule.
    pub fn quorum(&self) -> usize {
        self.keys.len() * 2 / 3 + 1
    }

    /// Most headers one evidence may carry: a whole round of the schedule (each producer makes
    /// [`BLOCKS_PER_PRODUCER`] blocks in a row), more than the quorum ever needs. Each header
    /// costs a signature recovery, so a longer list is refused before any is checked.
    pub fn max_headers(&self) -> usize {
        self.keys.len().saturating_mul(BLOCKS_PER_PRODUCER).max(1)
    }

    /// Check the header chain's links, signatures and irreversibility; returns the first block.
    fn check_final(&self, bytes: &[u8]) -> Result<BlockHeader, AdapterError> {
        let hs = decode_headers(bytes)?;
        if hs.len() > self.max_headers() {
            return Err(AdapterError::Malformed {
                what: "header",
                reason: format!(
                    "{} headers; at most {} (a round of the {}-producer schedule)",
                    hs.len(),
                    self.max_headers(),
                    self.keys.len()
                ),
            });
        }
        let first = hs.first().ok_or_else(|| AdapterError::Malformed {
            what: "header",
            reason: "no block".into(),
        })?;
        let height = first.header.block_num();
        let mut prev: Option<Hash32> = None;
        let mut counted = BTreeSet::new();
        for sh in &hs {
            let h = &sh.header;
            if let Some(p) = prev {
                if h.previous != p {
                    return Err(AdapterError::Fork {
                        height: u64::from(h.block_num()),
                        reason: "does not build on the block before it".into(),
                    });
                }
            }
            prev = Some(h.id());
            if h.schedule_version != self.cfg.schedule_version {
                return Err(AdapterError::Malformed {
                    what: "header",
                    reason: format!(
                        "schedule version {} (trusted {})",
                        h.schedule_version, self.cfg.schedule_version
                    ),
                });
            }
            let k = self
                .cfg
                .producers
                .iter()
                .position(|(n, _)| *n == h.producer)
                .ok_or_else(|| AdapterError::UnknownValidator(name_string(h.producer)))?;
            let digest = signed_digest(&self.cfg.eos_chain_id, h, &self.schedule);
            let ok = sh
                .sig
                .first()
                .and_then(|v| v.checked_sub(31))
                .and_then(RecoveryId::from_byte)
                .zip(Signature::from_slice(&sh.sig[1..]).ok())
                .and_then(|(rid, sig)| VerifyingKey::recover_from_prehash(&digest, &sig, rid).ok())
                .is_some_and(|rk| rk == self.keys[k]);
            if !ok {
                return Err(AdapterError::Malformed {
                    what: "producer signature",
                    reason: format!(
                        "block {} is not signed by {} for chain {} (forged, or another chain)",
                        h.block_num(),
                        name_string(h.producer),
                        hex::encode(self.cfg.eos_chain_id)
                    ),
                });
            }
            counted.insert(k);
        }
        if counted.len() < self.quorum() {
            if hs.len() < self.quorum() {
                return Err(AdapterError::NotFinal {
                    height: u64::from(height),
                    final_height: u64::from(self.trusted.0),
                });
            }
            return Err(AdapterError::BelowQuorum {
                valid: counted.len(),
                needed: self.quorum(),
            });
        }
        Ok(first.header.clone())
    }

    fn decode_lock(
        &self,
        receipt: &ActionReceipt,
        action: &Action,
    ) -> Result<(String, String, String, String, u128), AdapterError> {
        let bad = |reason: &str| AdapterError::Malformed {
            what: "lock event",
            reason: reason.into(),
        };
        if receipt.receiver != self.cfg.bridge {
            return Err(bad("the receipt is not the bridge's"));
        }
        if action.account != self.cfg.token || action.name != name("transfer")? {
            return Err(bad("the action is not the token's transfer"));
        }
        let t = Transfer::decode(&action.data)?;
        if t.to != self.cfg.bridge {
            return Err(bad("the transfer is not to the bridge"));
        }
        if t.amount <= 0 {
            return Err(bad("non-positive amount"));
        }
        let asset = symbol_code(t.symbol).ok_or_else(|| bad("invalid symbol"))?;
        let (dest, recipient) = t
            .memo
            .split_once(':')
            .filter(|(d, r)| !d.is_empty() && !r.is_empty())
            .ok_or_else(|| bad("memo is not destination:recipient"))?;
        Ok((
            dest.to_string(),
            name_string(t.from),
            recipient.to_string(),
            asset,
            t.amount as u128,
        ))
    }
}

/// Blocks each producer makes in a row in its slot (`eosio::chain::config::producer_repetitions`).
pub const BLOCKS_PER_PRODUCER: usize = 12;

/// The event's key (see [`Family::event_key`]): its action receipt's `global_sequence`
/// (u64 BE), unique on the chain and bound by the action merkle leaf; `None` when the event
/// does not decode.
pub(crate) fn event_key(ev: &Evidence) -> Option<Vec<u8>> {
    let (receipt, _) = decode_event(&ev.event).ok()?;
    Some(receipt.global_sequence.to_be_bytes().to_vec())
}

impl ChainAdapter for EosAdapter {
    fn chain_id(&self) -> &str {
        &self.cfg.chain_id
    }

    fn family(&self) -> Family {
        Family::Eos
    }

    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let h = self.check_final(header)?;
        let n = h.block_num();
        if u64::from(n) != u64::from(self.trusted.0) + 1 || h.previous != self.trusted.1 {
            return Err(AdapterError::Fork {
                height: u64::from(n),
                reason: format!(
                    "trusted head is {} ({}), header's previous is {}",
                    self.trusted.0,
                    hex::encode(self.trusted.1),
                    hex::encode(h.previous)
                ),
            });
        }
        let id = h.id();
        self.trusted = (n, id);
        Ok(HeaderInfo {
            height: u64::from(n),
            hash: id.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        // A replay is told only of evidence that verifies (checked last): evidence of a
        // relayed event is answered with its message, anything else as what is wrong with it.
        let mut replay = self
            .relayed
            .contains(&ev.locator)
            .then(|| hex::encode(&ev.locator));
        let h = self.check_final(&ev.header)?;
        let (block, index, count) = decode_locator(&ev.locator)?;
        if block != h.block_num() || index >= count {
            return Err(AdapterError::LocatorMismatch);
        }
        let proof = decode_proof(&ev.proof)?;
        let (receipt, action) = decode_event(&ev.event)?;
        if receipt.act_digest != sha256(&[&action.encode()]) {
            return Err(AdapterError::Malformed {
                what: "event",
                reason: "act_digest is not the action's digest".into(),
            });
        }
        let leaf = receipt.digest();
        if self.cfg.savanna {
            verify_savanna(
                &leaf,
                u64::from(index),
                u64::from(count),
                &proof,
                &h.action_mroot,
            )
            .map_err(meridian_proofs::ProofError::from)?;
        } else {
            // The side bits spell the index (bit set: the sibling is on the right).
            let depth = (u64::from(count).next_power_of_two()).trailing_zeros() as usize;
            let derived = proof
                .iter()
                .enumerate()
                .fold(0u64, |acc, (l, p)| acc | (u64::from(p[0] & 0x80 == 0) << l));
            if proof.len() != depth || derived != u64::from(index) {
                return Err(AdapterError::LocatorMismatch);
            }
            verify_legacy(&leaf, &proof, &h.action_mroot)
                .map_err(meridian_proofs::ProofError::from)?;
        }
        if self.relayed_seq.contains(&receipt.global_sequence) {
            replay = Some(format!("global sequence {}", receipt.global_sequence));
        }
        let (destination, sender, recipient, asset, amount) =
            self.decode_lock(&receipt, &action)?;
        self.seen
            .insert(ev.locator.clone(), receipt.global_sequence);
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
        }
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height: u64::from(block),
            destination,
            sender,
            recipient,
            asset,
            amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        if let Some(seq) = self.seen.get(locator) {
            self.relayed_seq.insert(*seq);
        }
        self.relayed.insert(locator.to_vec());
    }

    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        let mut data = d.message_id.to_vec();
        data.push(u8::from(d.refund));
        data.extend_from_slice(&name(&d.account)?.to_le_bytes());
        codec::put_bytes(&mut data, d.asset.as_bytes());
        data.extend_from_slice(&d.amount.to_le_bytes());
        data.extend_from_slice(&d.refchain_height.to_le_bytes());
        data.extend_from_slice(&d.deadline_ms.to_le_bytes());
        Ok(Action {
            account: self.cfg.bridge,
            name: name("release")?,
            authorization: vec![(self.cfg.bridge, name("active")?)],
            data,
        }
        .encode())
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        let action = self.encode_delivery(d)?;
        self.node.push_action(&action, d)
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        self.node.applied(message_id)
    }

    fn light_client_state(&self) -> Vec<u8> {
        let mut out = self.trusted.0.to_be_bytes().to_vec();
        out.extend_from_slice(&self.trusted.1);
        out
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        if state.len() != 36 {
            return Err(AdapterError::Malformed {
                what: "light-client state",
                reason: "expected block number (4) ‖ id (32)".into(),
            });
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(&state[4..]);
        self.trusted = (
            u32::from_be_bytes([state[0], state[1], state[2], state[3]]),
            id,
        );
        Ok(())
    }
}
