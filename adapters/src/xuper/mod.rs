//! The XuperChain family: an adapter for a XuperChain (xupercore) chain with tdpos/xpoa
//! proposers (ECDSA P-256, double SHA-256) and its mock chain.
//!
//! # Block id
//! [`block_id`] follows xupercore's `ledger.MakeBlockID`: double SHA-256 over, in this order,
//! little-endian `version` (i32), `nonce` (i32), `tx_count` (i32), `proposer` (the address
//! string's bytes, omitted when empty), `timestamp` (i64, ns), `pubkey` (the proposer's JSON
//! public key `{"Curvname":"P-256","X":<decimal>,"Y":<decimal>}`, omitted when empty),
//! `pre_hash`, `merkle_root`, then `cur_term` (i64) and `cur_block_num` (i64).
//! **Simplified:** `failed_txs` must be empty, `target_bits` must be 0 (not PoW) and blocks
//! carry no chained-BFT `justify` QC, so those parts of the preimage are always empty. The
//! proposer signs the block id with ECDSA P-256 (`sign` = DER `{r, s}`, as XuperChain's
//! `SignECDSA`); its address is `base58(0x01 ‖ ripemd160(sha256(uncompressed key)) ‖
//! dsha256(…)[..4])` (the NIST version byte) and must match the public key (checked against
//! XuperChain's test account `dpzuVdosQrF2kmzumhVeFQZa1aYcdgFpN` in the tests).
//!
//! # Trust and finality
//! The adapter trusts an [`XuperConfig`]: the chain's `bcname`, its validator keys (tdpos /
//! xpoa proposers, SEC1 P-256), its genesis block id and the bridge contract's name. One
//! proposer signature is not BFT finality, so the evidence carries the event's block and the
//! descendant blocks after it (each linking by `pre_hash`, heights consecutive), every one
//! signed by a trusted validator; the block is final when its own and its descendants'
//! proposers include more than 2/3 of the validators (`⌊2n/3⌋ + 1` distinct; 3 of 4). Any
//! block by an untrusted proposer is [`AdapterError::UnknownValidator`]; too few blocks to
//! possibly reach that count is [`AdapterError::NotFinal`], enough blocks but too few distinct
//! proposers is [`AdapterError::BelowQuorum`]. At most [`MAX_DESCENDANTS`] descendants.
//!
//! # Limits (XuperChain's own)
//! The block id commits to neither `height` nor `bcname`. The adapter checks the declared
//! `bcname` ([`AdapterError::WrongChain`]) and the consecutive heights of the evidence's blocks,
//! but a chain run by the same validator keys could claim another `bcname`, and the
//! `height` is authenticated only through `verify_header`'s link from the trusted genesis,
//! not in `verify_event`. Replay protection therefore keys on the transaction id as well as
//! the locator: a relayed transaction is refused under any claimed height.
//!
//! # Evidence
//! - `header`: JSON [`XuperHeader`] `{bcname, blocks: [block, descendants…]}`, each block
//!   [`XuperBlock`] with hex byte fields; `blockid` must equal the recomputed id;
//! - `proof`: JSON [`XuperProof`] `{index, tx_count, proof: [hex|null…]}` (siblings bottom up,
//!   `null` = nil), verified with `meridian_proofs::xuper::verify` against `merkle_root`;
//!   `tx_count` must equal the block's `tx_count`;
//! - `event`: the transaction's digest preimage as XuperChain's `encodeDataForDigestHash`
//!   writes it — each field as one JSON value followed by `\n` (Go's `json.Encoder`) —
//!   so `txid = dsha256(event)`. **Simplified** to seven fields: `desc` (string; real
//!   XuperChain base64s bytes), `nonce` (string), `timestamp` (i64), `version` (i32),
//!   `contract_requests` (`[{module_name, contract_name, method_name, args}]`, args a JSON
//!   object of strings — real args are `map<string, bytes>`), `initiator` (address),
//!   `auth_require` (`[address…]`); UTXO inputs/outputs and signatures are left out (the
//!   block's validity implies the transaction's). The lock is the first contract request:
//!   the configured bridge contract's `lock` method with args
//!   `{destination, sender, recipient, asset, amount}` (amount a decimal string), and
//!   `sender` must be the `initiator`.
//! - `locator`: `height (u64 BE) ‖ tx index (u32 BE)`, checked against the block's height and
//!   the proof's index.
//!
//! Deliveries are JSON contract invocations [`InvokeRequest`] of the bridge's `release` method.

mod mock;

pub use mock::{user_address, Misbehaviour, XuperChain, XuperMock};

use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use meridian_proofs::hash::{dsha256, sha256, Hash32};
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::ecdsa::{Signature, VerifyingKey};
use ripemd::{Digest, Ripemd160};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The most descendant blocks a piece of evidence may carry.
pub const MAX_DESCENDANTS: usize = 64;
/// The bridge contract's lock method.
pub const LOCK_METHOD: &str = "lock";
/// The bridge contract's release method.
pub const RELEASE_METHOD: &str = "release";

/// One XuperChain block header (`InternalBlock` without its transactions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XuperBlock {
    /// Block version.
    pub version: i32,
    /// Nonce.
    pub nonce: i32,
    /// Number of transactions.
    pub tx_count: i32,
    /// Proposer address (base58).
    pub proposer: String,
    /// Timestamp, ns.
    pub timestamp: i64,
    /// Proposer public key, XuperChain's JSON form.
    pub pubkey: String,
    /// Previous block id, hex.
    pub pre_hash: String,
    /// Transaction merkle root, hex.
    pub merkle_root: String,
    /// tdpos term.
    pub cur_term: i64,
    /// Block number within the term.
    pub cur_block_num: i64,
    /// Height (not covered by the block id).
    pub height: u64,
    /// The block id, hex.
    pub blockid: String,
    /// The proposer's DER ECDSA signature of the block id, hex.
    pub sign: String,
}

/// `header` of an [`Evidence`]: the block and its descendants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XuperHeader {
    /// The chain name.
    pub bcname: String,
    /// The block, then its descendants in order.
    pub blocks: Vec<XuperBlock>,
}

/// `proof` of an [`Evidence`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XuperProof {
    /// The transaction's index in the block.
    pub index: u64,
    /// The block's transaction count.
    pub tx_count: u64,
    /// Siblings bottom up, hex; `None` = nil.
    pub proof: Vec<Option<String>>,
}

/// A contract invocation (lock in a transaction, release in a delivery).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// VM module (`wasm`, `native`, `evm`).
    pub module_name: String,
    /// Contract name.
    pub contract_name: String,
    /// Method.
    pub method_name: String,
    /// Arguments.
    pub args: BTreeMap<String, String>,
}

/// The simplified transaction (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XuperTx {
    /// Free description.
    pub desc: String,
    /// Nonce.
    pub nonce: String,
    /// Timestamp, ns.
    pub timestamp: i64,
    /// Version.
    pub version: i32,
    /// Contract calls.
    pub contract_requests: Vec<InvokeRequest>,
    /// Initiator address.
    pub initiator: String,
    /// Co-signers.
    pub auth_require: Vec<String>,
}

fn malformed(what: &'static str, reason: impl ToString) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

impl XuperTx {
    /// The digest preimage: each field as compact JSON and `\n`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |v: serde_json::Value| {
            out.extend(v.to_string().into_bytes());
            out.push(b'\n');
        };
        put(self.desc.clone().into());
        put(self.nonce.clone().into());
        put(self.timestamp.into());
        put(self.version.into());
        put(serde_json::to_value(&self.contract_requests).unwrap_or_default());
        put(self.initiator.clone().into());
        put(serde_json::to_value(&self.auth_require).unwrap_or_default());
        out
    }

    /// Decode the preimage (exactly seven JSON values, each ended by `\n`).
    pub fn decode(bytes: &[u8]) -> Result<Self, AdapterError> {
        let bad = |r: &str| malformed("transaction", r);
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("missing final newline"))?;
        let parts: Vec<&str> = body.split('\n').collect();
        if parts.len() != 7 {
            return Err(bad("expected seven fields"));
        }
        fn field<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, AdapterError> {
            serde_json::from_str(s).map_err(|e| malformed("transaction", e))
        }
        Ok(XuperTx {
            desc: field(parts[0])?,
            nonce: field(parts[1])?,
            timestamp: field(parts[2])?,
            version: field(parts[3])?,
            contract_requests: field(parts[4])?,
            initiator: field(parts[5])?,
            auth_require: field(parts[6])?,
        })
    }

    /// `txid = dsha256(preimage)`.
    pub fn txid(&self) -> Hash32 {
        dsha256(&[&self.encode()])
    }
}

/// The block id as `MakeBlockID` computes it (see the module docs).
pub fn block_id(b: &XuperBlock) -> Result<Hash32, AdapterError> {
    let pre = hex::decode(&b.pre_hash).map_err(|e| malformed("header pre_hash", e))?;
    let root = hex::decode(&b.merkle_root).map_err(|e| malformed("header merkle_root", e))?;
    let mut buf = Vec::new();
    buf.extend(b.version.to_le_bytes());
    buf.extend(b.nonce.to_le_bytes());
    buf.extend(b.tx_count.to_le_bytes());
    buf.extend(b.proposer.as_bytes());
    buf.extend(b.timestamp.to_le_bytes());
    buf.extend(b.pubkey.as_bytes());
    buf.extend(pre);
    buf.extend(root);
    buf.extend(b.cur_term.to_le_bytes());
    buf.extend(b.cur_block_num.to_le_bytes());
    Ok(dsha256(&[&buf]))
}

const B58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Bitcoin-alphabet base58.
pub fn base58(data: &[u8]) -> String {
    let zeros = data.iter().take_while(|b| **b == 0).count();
    let mut digits: Vec<u8> = Vec::new();
    for &byte in data {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n('1', zeros));
    s.extend(digits.iter().rev().map(|d| B58[usize::from(*d)] as char));
    s
}

/// XuperChain's address of a P-256 key (NIST version byte 1).
pub fn address(key: &VerifyingKey) -> String {
    let point = key.to_encoded_point(false);
    let h = Ripemd160::digest(sha256(&[point.as_bytes()]));
    let mut body = vec![1u8];
    body.extend_from_slice(&h);
    let check = dsha256(&[&body]);
    body.extend_from_slice(&check[..4]);
    base58(&body)
}

/// Big-endian bytes as a decimal string.
fn to_decimal(bytes: &[u8]) -> String {
    let mut n: Vec<u8> = bytes.to_vec();
    let mut digits = Vec::new();
    while n.iter().any(|b| *b != 0) {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// A decimal digit string as 32 big-endian bytes (`None` if not digits or above 2^256).
fn from_decimal(s: &str) -> Option<[u8; 32]> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    let mut out = [0u8; 32];
    for c in s.bytes() {
        let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
        let mut carry = u32::from(d);
        for b in out.iter_mut().rev() {
            let cur = u32::from(*b) * 10 + carry;
            *b = (cur & 0xff) as u8;
            carry = cur >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(out)
}

/// XuperChain's JSON public key `{"Curvname":"P-256","X":…,"Y":…}`.
pub fn pubkey_json(key: &VerifyingKey) -> String {
    let p = key.to_encoded_point(false);
    let b = p.as_bytes();
    format!(
        r#"{{"Curvname":"P-256","X":{},"Y":{}}}"#,
        to_decimal(&b[1..33]),
        to_decimal(&b[33..65])
    )
}

/// Parse XuperChain's JSON public key (exactly the form [`pubkey_json`] writes: the
/// integers exceed what a JSON parser without arbitrary precision keeps).
pub fn parse_pubkey(s: &str) -> Result<VerifyingKey, AdapterError> {
    let bad = |r: &str| malformed("proposer public key", r);
    let rest = s
        .strip_prefix(r#"{"Curvname":"P-256","X":"#)
        .ok_or_else(|| bad("not {\"Curvname\":\"P-256\",\"X\":…,\"Y\":…}"))?;
    let (x, rest) = rest
        .split_once(r#","Y":"#)
        .ok_or_else(|| bad("no Y coordinate"))?;
    let y = rest.strip_suffix('}').ok_or_else(|| bad("unterminated"))?;
    let x = from_decimal(x).ok_or_else(|| bad("X is not a 256-bit integer"))?;
    let y = from_decimal(y).ok_or_else(|| bad("Y is not a 256-bit integer"))?;
    let mut sec1 = vec![4u8];
    sec1.extend_from_slice(&x);
    sec1.extend_from_slice(&y);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| bad("not a point on P-256"))
}

/// What the adapter trusts about a XuperChain chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XuperConfig {
    /// Meridian's chain id (the `bcname`, e.g. `xuper`).
    pub bcname: String,
    /// Trusted validators' SEC1 P-256 public keys.
    pub validators: Vec<Vec<u8>>,
    /// The genesis block id.
    pub genesis_id: Hash32,
    /// The bridge contract's name.
    pub bridge: String,
}

/// What the adapter asks of a XuperChain node: the mock implements it.
pub trait XuperNode: Send + std::fmt::Debug {
    /// Post a `release` invocation (`payload` = [`InvokeRequest`] JSON) and wait for it.
    fn send_release(&self, payload: &[u8], delivery: &Delivery) -> Result<Receipt, AdapterError>;
    /// Whether the bridge contract has applied `message_id`.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;
}

/// Adapter for a XuperChain chain.
#[derive(Debug)]
pub struct XuperAdapter {
    cfg: XuperConfig,
    validators: BTreeSet<String>,
    trusted_height: u64,
    trusted_hash: Hash32,
    node: Box<dyn XuperNode>,
    relayed: HashSet<Vec<u8>>,
    relayed_txids: HashSet<Hash32>,
    seen: HashMap<Vec<u8>, Hash32>,
}

/// The locator `height ‖ index`.
pub fn encode_locator(height: u64, index: u32) -> Vec<u8> {
    let mut v = height.to_be_bytes().to_vec();
    v.extend(index.to_be_bytes());
    v
}

/// Split a locator.
pub fn decode_locator(l: &[u8]) -> Result<(u64, u32), AdapterError> {
    if l.len() != 12 {
        return Err(malformed("locator", "expected 12 bytes"));
    }
    let mut h = [0u8; 8];
    h.copy_from_slice(&l[..8]);
    let mut i = [0u8; 4];
    i.copy_from_slice(&l[8..]);
    Ok((u64::from_be_bytes(h), u32::from_be_bytes(i)))
}

/// Decode the proof JSON into `(index, tx_count, siblings)`.
pub fn decode_proof(bytes: &[u8]) -> Result<(u64, u64, Vec<Option<Hash32>>), AdapterError> {
    let p: XuperProof = serde_json::from_slice(bytes).map_err(|e| malformed("proof", e))?;
    let sibs = p
        .proof
        .iter()
        .map(|s| {
            s.as_ref()
                .map(|h| {
                    hex::decode(h)
                        .ok()
                        .and_then(|v| Hash32::try_from(v).ok())
                        .ok_or_else(|| malformed("proof", "sibling is not 32 hex bytes"))
                })
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((p.index, p.tx_count, sibs))
}

fn h32(s: &str, what: &'static str) -> Result<Hash32, AdapterError> {
    hex::decode(s)
        .ok()
        .and_then(|v| Hash32::try_from(v).ok())
        .ok_or_else(|| malformed(what, "not 32 hex bytes"))
}

impl XuperAdapter {
    /// An adapter trusting `cfg`, talking to `node`.
    pub fn new(cfg: XuperConfig, node: Box<dyn XuperNode>) -> Result<Self, AdapterError> {
        if cfg.validators.is_empty() {
            return Err(malformed("validator set", "empty"));
        }
        let validators = cfg
            .validators
            .iter()
            .map(|k| {
                VerifyingKey::from_sec1_bytes(k)
                    .map(|k| address(&k))
                    .map_err(|_| malformed("validator key", hex::encode(k)))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(XuperAdapter {
            trusted_height: 0,
            trusted_hash: cfg.genesis_id,
            validators,
            cfg,
            node,
            relayed: HashSet::new(),
            relayed_txids: HashSet::new(),
            seen: HashMap::new(),
        })
    }

    /// Distinct proposers needed: more than 2/3 of the validators.
    pub fn quorum(&self) -> usize {
        self.validators.len() * 2 / 3 + 1
    }

    /// Check one block's id and proposer signature; returns its id.
    fn check_block(&self, b: &XuperBlock) -> Result<Hash32, AdapterError> {
        if !self.validators.contains(&b.proposer) {
            return Err(AdapterError::UnknownValidator(b.proposer.clone()));
        }
        let key = parse_pubkey(&b.pubkey)?;
        if address(&key) != b.proposer {
            return Err(malformed("header", "public key is not the proposer's"));
        }
        let id = block_id(b)?;
        if h32(&b.blockid, "header blockid")? != id {
            return Err(malformed("header", "blockid is not the hash of the block"));
        }
        let sig = hex::decode(&b.sign)
            .ok()
            .and_then(|s| Signature::from_der(&s).ok())
            .ok_or_else(|| malformed("header", "signature is not DER ECDSA"))?;
        key.verify_prehash(&id, &sig)
            .map_err(|_| malformed("header", "proposer signature does not verify"))?;
        Ok(id)
    }

    /// Check chain name, signatures, links and finality; returns the first block and its id.
    fn check_final(&self, bytes: &[u8]) -> Result<(XuperBlock, Hash32), AdapterError> {
        let h: XuperHeader = serde_json::from_slice(bytes).map_err(|e| malformed("header", e))?;
        if h.bcname != self.cfg.bcname {
            return Err(AdapterError::WrongChain {
                expected: self.cfg.bcname.clone(),
                found: h.bcname,
            });
        }
        let first = h
            .blocks
            .first()
            .cloned()
            .ok_or_else(|| malformed("header", "no block"))?;
        if h.blocks.len() > MAX_DESCENDANTS + 1 {
            return Err(malformed("header", "too many descendants"));
        }
        let mut proposers = BTreeSet::new();
        let mut prev: Option<(u64, Hash32)> = None;
        let mut first_id = None;
        for b in &h.blocks {
            let id = self.check_block(b)?;
            if let Some((ph, pid)) = prev {
                if Some(b.height) != ph.checked_add(1)
                    || h32(&b.pre_hash, "header pre_hash")? != pid
                {
                    return Err(AdapterError::Fork {
                        height: b.height,
                        reason: "descendant does not link to the block before it".into(),
                    });
                }
            }
            first_id.get_or_insert(id);
            proposers.insert(b.proposer.clone());
            prev = Some((b.height, id));
        }
        let needed = self.quorum();
        if proposers.len() < needed {
            if h.blocks.len() < needed {
                return Err(AdapterError::NotFinal {
                    height: first.height,
                    final_height: self.trusted_height,
                });
            }
            return Err(AdapterError::BelowQuorum {
                valid: proposers.len(),
                needed,
            });
        }
        let id = first_id.ok_or_else(|| malformed("header", "no block"))?;
        Ok((first, id))
    }

    fn decode_lock(
        &self,
        tx: &XuperTx,
    ) -> Result<(String, String, String, String, u128), AdapterError> {
        let bad = |r: &str| malformed("lock event", r);
        let call = tx
            .contract_requests
            .first()
            .ok_or_else(|| bad("the transaction calls no contract"))?;
        if call.contract_name != self.cfg.bridge || call.method_name != LOCK_METHOD {
            return Err(bad("the transaction is not a call of the bridge's lock"));
        }
        let arg = |k: &str| -> Result<String, AdapterError> {
            call.args
                .get(k)
                .cloned()
                .ok_or_else(|| bad("missing lock argument"))
        };
        if call.args.len() != 5 {
            return Err(bad("expected five lock arguments"));
        }
        let sender = arg("sender")?;
        if sender != tx.initiator {
            return Err(bad("the sender is not the transaction's initiator"));
        }
        let amount = arg("amount")?;
        if amount.starts_with('+') || (amount.len() > 1 && amount.starts_with('0')) {
            return Err(bad("amount is not a canonical decimal"));
        }
        let amount: u128 = amount.parse().map_err(|_| bad("amount is not a u128"))?;
        Ok((
            arg("destination")?,
            sender,
            arg("recipient")?,
            arg("asset")?,
            amount,
        ))
    }
}

/// The event's key (see [`Family::event_key`]): its transaction id, `dsha256(event)`, the
/// proof's leaf.
pub(crate) fn event_key(ev: &Evidence) -> Vec<u8> {
    dsha256(&[&ev.event]).to_vec()
}

impl ChainAdapter for XuperAdapter {
    fn chain_id(&self) -> &str {
        &self.cfg.bcname
    }

    fn family(&self) -> Family {
        Family::Xuper
    }

    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let (b, id) = self.check_final(header)?;
        if Some(b.height) != self.trusted_height.checked_add(1)
            || h32(&b.pre_hash, "header pre_hash")? != self.trusted_hash
        {
            return Err(AdapterError::Fork {
                height: b.height,
                reason: format!(
                    "trusted head is {} ({}), header's parent is {}",
                    self.trusted_height,
                    hex::encode(self.trusted_hash),
                    b.pre_hash
                ),
            });
        }
        self.trusted_height = b.height;
        self.trusted_hash = id;
        Ok(HeaderInfo {
            height: b.height,
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
        let (b, _) = self.check_final(&ev.header)?;
        let (height, index) = decode_locator(&ev.locator)?;
        let (p_index, tx_count, sibs) = decode_proof(&ev.proof)?;
        if height != b.height || u64::from(index) != p_index {
            return Err(AdapterError::LocatorMismatch);
        }
        if i64::from(b.tx_count) != i64::try_from(tx_count).unwrap_or(-1) {
            return Err(malformed("proof", "tx_count differs from the block's"));
        }
        let txid = dsha256(&[&ev.event]);
        if self.relayed_txids.contains(&txid) {
            replay = Some(hex::encode(txid));
        }
        let root = h32(&b.merkle_root, "header merkle_root")?;
        meridian_proofs::xuper::verify(&txid, p_index, tx_count, &sibs, &root)
            .map_err(meridian_proofs::ProofError::from)?;
        let tx = XuperTx::decode(&ev.event)?;
        let (destination, sender, recipient, asset, amount) = self.decode_lock(&tx)?;
        self.seen.insert(ev.locator.clone(), txid);
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
        }
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height,
            destination,
            sender,
            recipient,
            asset,
            amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        if let Some(txid) = self.seen.remove(locator) {
            self.relayed_txids.insert(txid);
        }
        self.relayed.insert(locator.to_vec());
    }

    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        let args: BTreeMap<String, String> = [
            ("message_id", hex::encode(d.message_id)),
            ("refund", d.refund.to_string()),
            ("account", d.account.clone()),
            ("asset", d.asset.clone()),
            ("amount", d.amount.to_string()),
            ("refchain_height", d.refchain_height.to_string()),
            ("deadline_ms", d.deadline_ms.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        serde_json::to_vec(&InvokeRequest {
            module_name: "wasm".into(),
            contract_name: self.cfg.bridge.clone(),
            method_name: RELEASE_METHOD.into(),
            args,
        })
        .map_err(|e| malformed("delivery", e))
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        let payload = self.encode_delivery(d)?;
        self.node.send_release(&payload, d)
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        self.node.applied(message_id)
    }

    fn light_client_state(&self) -> Vec<u8> {
        serde_json::json!({
            "height": self.trusted_height,
            "hash": hex::encode(self.trusted_hash),
        })
        .to_string()
        .into_bytes()
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct State {
            height: u64,
            hash: String,
        }
        let s: State =
            serde_json::from_slice(state).map_err(|e| malformed("light-client state", e))?;
        self.trusted_hash = h32(&s.hash, "light-client state")?;
        self.trusted_height = s.height;
        Ok(())
    }
}
