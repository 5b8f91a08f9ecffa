//! The Hyperledger Fabric family: an adapter for one Fabric channel (Fabric 2.x block and
//! transaction formats, ECDSA P-256 identities) and its mock chain.
//!
//! # Trust and finality
//! The adapter trusts a [`FabricConfig`]: the channel id (= the chain's identity), the header
//! hash of a trusted block (normally the channel's genesis config block), the orderer
//! organizations (MSP id → P-256 public keys) with a "`k` of the orderer orgs" block policy,
//! the peer organizations with a "`k` of the peer orgs" endorsement policy, and the bridge
//! chaincode's name. A block is final when orderers of at least `k` distinct trusted orderer
//! orgs signed it in `metadata[0]` (SIGNATURES): each `MetadataSignature` signs
//! `sha256(value ‖ signature_header ‖ BlockHeaderBytes(header))` with a DER, low-S ECDSA P-256
//! signature, and its signature header's creator must be a trusted (MSP id, key) pair. A
//! block with no orderer signature yet is [`AdapterError::NotFinal`]; so is a block past the
//! peer's ledger height. `verify_header` also links headers one by one (DER header hash chain,
//! `meridian_proofs::fabric::header_hash`) from the trusted block.
//!
//! Identity simplification: a `SerializedIdentity.id_bytes` here is the member's SEC1 P-256
//! public key instead of a PEM X.509 certificate signed by the org's CA; the configuration
//! lists each org's keys instead of its CA roots. The field numbers are Fabric's.
//!
//! # Evidence
//! - `header`: a `common.Block` protobuf with the header and all metadata, data omitted
//!   (if present it is ignored: the proof carries it);
//! - `proof`: the block's `common.BlockData` protobuf — all its envelopes, since the data hash
//!   is `sha256(concat(envelopes))` with no tree: "the envelope is at index `i` of data whose
//!   concatenation hashes to the header's `data_hash`";
//! - `event`: the `common.Envelope` bytes of the lock transaction, equal to `data[i]`;
//! - `locator`: block number (u64 BE) ‖ transaction index `i` (u64 BE), 16 bytes.
//!
//! The envelope must be an ENDORSER_TRANSACTION on the configured channel (another channel is
//! [`AdapterError::WrongChain`]: Fabric headers do not name their channel, the envelopes do)
//! with a `tx_id` equal to `hex(sha256(nonce ‖ creator))`, one chaincode action whose
//! `proposal_hash` is `sha256(channel_header ‖ signature_header ‖ chaincode_proposal_payload)`,
//! and endorsements of `k` distinct trusted peer orgs, each a P-256 signature over
//! `proposal_response_payload ‖ endorser`. The endorsed chaincode action must come from the
//! bridge chaincode with status 200 and carry the chaincode event `Lock` whose JSON payload is
//! `{destination, sender, recipient, asset, amount}` (amount: a decimal string or a number).
//! The TRANSACTIONS_FILTER (`metadata[2]`) is not signed: the adapter requires the flag to be
//! VALID (0) but decides on the endorsements itself. An earlier envelope of the same block
//! with the same `tx_id` makes the transaction a duplicate (Fabric invalidates it).
//!
//! # Limits
//! MVCC read conflicts are decided by peers against world state and recorded only in the
//! unsigned validity flag: an endorsed lock that lost an MVCC race would be accepted if a
//! relayer also forged its flag. The bridge chaincode should therefore lock with writes that
//! cannot conflict (one key per transfer). The client's envelope signature is not checked (the
//! client's MSP is not configured); the endorsed chaincode event vouches for the sender. Replay
//! protection is per locator and per `tx_id` (of events verified by this adapter). Orderer and
//! peer sets are static (config updates are not followed).
//!
//! Deliveries are `peer.ChaincodeInvocationSpec` protobufs calling the bridge chaincode's
//! `release` with string args `[release, hex(messageId), refund, account, asset, amount,
//! refchainHeight, deadlineMs]`.

mod messages;
mod mock;
pub mod proto;

pub use messages::{
    decode_block_data, encode_block_data, Block, BlockHeader, ChaincodeEvent, ChannelHeader,
    EndorsedAction, Endorsement, Envelope, Identity, Metadata, MetadataSignature, ResponsePayload,
    SignatureHeader, ENDORSER_TRANSACTION,
};
pub use mock::{FabricChain, FabricMock, Misbehaviour};

use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use meridian_proofs::hash::{sha256, Hash32};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The bridge chaincode's lock event name.
pub const LOCK_EVENT: &str = "Lock";
/// The bridge chaincode's release function.
pub const RELEASE_FN: &str = "release";

/// Index of the SIGNATURES metadata entry.
pub const META_SIGNATURES: usize = 0;
/// Index of the (unsigned) TRANSACTIONS_FILTER metadata entry.
pub const META_TX_FILTER: usize = 2;

/// A "`threshold` of these organizations" policy; each org lists its members' SEC1 P-256
/// public keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgPolicy {
    /// MSP id → member public keys.
    pub orgs: BTreeMap<String, Vec<Vec<u8>>>,
    /// Distinct orgs needed.
    pub threshold: usize,
}

impl OrgPolicy {
    fn key(&self, id: &Identity) -> Option<VerifyingKey> {
        self.orgs
            .get(&id.mspid)?
            .iter()
            .find(|k| **k == id.id_bytes)
            .and_then(|k| VerifyingKey::from_sec1_bytes(k).ok())
    }
}

/// What the adapter trusts about a Fabric channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FabricConfig {
    /// Meridian's chain id: the channel id.
    pub channel_id: String,
    /// Number of the trusted block (light-client start).
    pub trusted_number: u64,
    /// Header hash of the trusted block.
    pub trusted_hash: Hash32,
    /// Orderer orgs and the block-signature policy.
    pub orderers: OrgPolicy,
    /// Peer orgs and the endorsement policy.
    pub endorsers: OrgPolicy,
    /// The bridge chaincode's name.
    pub chaincode: String,
}

/// What the adapter asks of a Fabric peer: the mock implements it.
pub trait FabricPeer: Send + std::fmt::Debug {
    /// The highest committed block number of the channel.
    fn height(&self) -> Result<u64, AdapterError>;
    /// Submit a `release` invocation (`payload`) and wait for it to commit.
    fn submit_release(&self, payload: &[u8], delivery: &Delivery) -> Result<Receipt, AdapterError>;
    /// Whether the bridge chaincode has applied `message_id`.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;
}

/// `number ‖ tx index`, both u64 big-endian.
pub fn encode_locator(number: u64, tx_index: u64) -> Vec<u8> {
    let mut l = number.to_be_bytes().to_vec();
    l.extend_from_slice(&tx_index.to_be_bytes());
    l
}

/// Inverse of [`encode_locator`].
pub fn decode_locator(l: &[u8]) -> Result<(u64, u64), AdapterError> {
    let bad = || AdapterError::Malformed {
        what: "locator",
        reason: "not 16 bytes".into(),
    };
    let a: [u8; 8] = l.get(..8).and_then(|s| s.try_into().ok()).ok_or_else(bad)?;
    let b: [u8; 8] = l.get(8..).and_then(|s| s.try_into().ok()).ok_or_else(bad)?;
    Ok((u64::from_be_bytes(a), u64::from_be_bytes(b)))
}

/// What orderers sign for `metadata[0]` signature `sig`.
pub fn orderer_signed_bytes(
    value: &[u8],
    signature_header: &[u8],
    header: &BlockHeader,
) -> Vec<u8> {
    let mut m = value.to_vec();
    m.extend_from_slice(signature_header);
    m.extend_from_slice(&header.der());
    m
}

/// Fabric's transaction id: `hex(sha256(nonce ‖ creator))`.
pub fn compute_tx_id(nonce: &[u8], creator: &[u8]) -> String {
    hex::encode(sha256(&[nonce, creator]))
}

/// Verify a DER, low-S ECDSA P-256 signature over `sha256(msg)`.
pub fn verify_p256(key: &VerifyingKey, msg: &[u8], der: &[u8]) -> bool {
    let Ok(sig) = Signature::from_der(der) else {
        return false;
    };
    sig.normalize_s().is_none() && key.verify(msg, &sig).is_ok()
}

fn malformed(what: &'static str, reason: impl Into<String>) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.into(),
    }
}

/// Count the distinct trusted orgs whose members signed `msg`: `(orgs, first unknown signer)`.
fn count_orgs<'a>(
    policy: &OrgPolicy,
    sigs: impl Iterator<Item = (Vec<u8>, &'a [u8], Vec<u8>)>,
) -> (usize, Option<String>) {
    let mut orgs = BTreeSet::new();
    let mut unknown = None;
    for (identity, sig, msg) in sigs {
        let Ok(id) = Identity::decode(&identity) else {
            continue;
        };
        match policy.key(&id) {
            Some(k) => {
                if verify_p256(&k, &msg, sig) {
                    orgs.insert(id.mspid);
                }
            }
            None => {
                unknown
                    .get_or_insert_with(|| format!("{}:{}", id.mspid, hex::encode(&id.id_bytes)));
            }
        }
    }
    (orgs.len(), unknown)
}

/// The lock JSON payload.
#[derive(Debug, serde::Deserialize)]
struct LockPayload {
    destination: String,
    sender: String,
    recipient: String,
    asset: String,
    amount: serde_json::Value,
}

/// Adapter for one Fabric channel.
#[derive(Debug)]
pub struct FabricAdapter {
    cfg: FabricConfig,
    trusted_number: u64,
    trusted_hash: Hash32,
    peer: Box<dyn FabricPeer>,
    relayed: HashSet<Vec<u8>>,
    relayed_tx: HashSet<String>,
    verified_tx: HashMap<Vec<u8>, String>,
}

impl FabricAdapter {
    /// An adapter trusting `cfg`, talking to `peer`.
    pub fn new(cfg: FabricConfig, peer: Box<dyn FabricPeer>) -> Result<Self, AdapterError> {
        for (what, p) in [
            ("orderer policy", &cfg.orderers),
            ("endorsement policy", &cfg.endorsers),
        ] {
            if p.threshold == 0 || p.threshold > p.orgs.len() {
                return Err(malformed(
                    what,
                    format!("threshold {} of {} orgs", p.threshold, p.orgs.len()),
                ));
            }
            for k in p.orgs.values().flatten() {
                VerifyingKey::from_sec1_bytes(k)
                    .map_err(|_| malformed(what, format!("bad P-256 key {}", hex::encode(k))))?;
            }
        }
        Ok(FabricAdapter {
            trusted_number: cfg.trusted_number,
            trusted_hash: cfg.trusted_hash,
            cfg,
            peer,
            relayed: HashSet::new(),
            relayed_tx: HashSet::new(),
            verified_tx: HashMap::new(),
        })
    }

    /// Decode a block and check its orderer signatures against the policy.
    pub fn check_signed(&self, bytes: &[u8]) -> Result<Block, AdapterError> {
        let block = Block::decode(bytes)?;
        let h = &block.header;
        if h.data_hash.len() != 32 {
            return Err(malformed("block header", "data hash is not 32 bytes"));
        }
        let md = block
            .metadata
            .get(META_SIGNATURES)
            .map(|m| Metadata::decode(m))
            .transpose()?
            .unwrap_or_default();
        if md.signatures.is_empty() {
            return Err(AdapterError::NotFinal {
                height: h.number,
                final_height: self.trusted_number,
            });
        }
        let (valid, unknown) = count_orgs(
            &self.cfg.orderers,
            md.signatures.iter().filter_map(|s| {
                let sh = SignatureHeader::decode(&s.signature_header).ok()?;
                let msg = orderer_signed_bytes(&md.value, &s.signature_header, h);
                Some((sh.creator, s.signature.as_slice(), msg))
            }),
        );
        let needed = self.cfg.orderers.threshold;
        if valid < needed {
            if let Some(u) = unknown {
                return Err(AdapterError::UnknownValidator(u));
            }
            return Err(AdapterError::BelowQuorum { valid, needed });
        }
        Ok(block)
    }

    /// Check one endorser transaction envelope; returns its tx id and lock event fields.
    fn check_envelope(&self, env_bytes: &[u8]) -> Result<(String, LockPayload), AdapterError> {
        let env = Envelope::decode(env_bytes)?;
        let ch = ChannelHeader::decode(&env.channel_header)?;
        if ch.channel_id != self.cfg.channel_id {
            return Err(AdapterError::WrongChain {
                expected: self.cfg.channel_id.clone(),
                found: ch.channel_id,
            });
        }
        if ch.typ != ENDORSER_TRANSACTION {
            return Err(malformed("envelope", format!("header type {}", ch.typ)));
        }
        let sh = SignatureHeader::decode(&env.signature_header)?;
        if ch.tx_id != compute_tx_id(&sh.nonce, &sh.creator) {
            return Err(malformed(
                "envelope",
                "tx id is not sha256(nonce ‖ creator)",
            ));
        }
        let actions = EndorsedAction::decode_transaction(&env.data)?;
        let [action] = actions.as_slice() else {
            return Err(malformed("transaction", "not exactly one action"));
        };
        let rp = ResponsePayload::decode(&action.proposal_response_payload)?;
        let proposal_hash = sha256(&[
            &env.channel_header,
            &env.signature_header,
            &action.proposal_payload,
        ]);
        if rp.proposal_hash != proposal_hash {
            return Err(malformed(
                "transaction",
                "endorsed proposal hash does not match the transaction's header",
            ));
        }
        let prp = &action.proposal_response_payload;
        let (valid, _) = count_orgs(
            &self.cfg.endorsers,
            action.endorsements.iter().map(|e| {
                let mut msg = prp.clone();
                msg.extend_from_slice(&e.endorser);
                (e.endorser.clone(), e.signature.as_slice(), msg)
            }),
        );
        let needed = self.cfg.endorsers.threshold;
        if valid < needed {
            return Err(malformed(
                "endorsements",
                format!("{valid} trusted peer orgs endorsed, the policy needs {needed}"),
            ));
        }
        if rp.chaincode != self.cfg.chaincode || rp.status != 200 {
            return Err(malformed(
                "chaincode action",
                format!("chaincode {:?} status {}", rp.chaincode, rp.status),
            ));
        }
        let ev = ChaincodeEvent::decode(&rp.events)?;
        if ev.chaincode_id != self.cfg.chaincode || ev.event_name != LOCK_EVENT {
            return Err(malformed(
                "lock event",
                format!(
                    "event {:?} of chaincode {:?}",
                    ev.event_name, ev.chaincode_id
                ),
            ));
        }
        if ev.tx_id != ch.tx_id {
            return Err(malformed("lock event", "event tx id differs"));
        }
        let lock: LockPayload = serde_json::from_slice(&ev.payload)
            .map_err(|e| malformed("lock event", e.to_string()))?;
        Ok((ch.tx_id, lock))
    }
}

fn amount(v: &serde_json::Value) -> Result<u128, AdapterError> {
    let bad = || {
        malformed(
            "lock event",
            "amount is not a non-negative integer below 2^128",
        )
    };
    match v {
        serde_json::Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| bad())
        }
        serde_json::Value::Number(n) => n.as_u64().map(u128::from).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn tx_id_of(env: &[u8]) -> Option<String> {
    let e = Envelope::decode(env).ok()?;
    Some(ChannelHeader::decode(&e.channel_header).ok()?.tx_id)
}

/// The event's key (see [`Family::event_key`]): its transaction's channel `tx_id`, which a
/// channel takes once and `verify_event` checks against the signed creator and nonce; `None`
/// when the envelope does not decode.
pub(crate) fn event_key(ev: &Evidence) -> Option<Vec<u8>> {
    tx_id_of(&ev.event).map(String::into_bytes)
}

impl ChainAdapter for FabricAdapter {
    fn chain_id(&self) -> &str {
        &self.cfg.channel_id
    }

    fn family(&self) -> Family {
        Family::Fabric
    }

    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let block = self.check_signed(header)?;
        let h = &block.header;
        if h.number != self.trusted_number.saturating_add(1) || h.previous_hash != self.trusted_hash
        {
            return Err(AdapterError::Fork {
                height: h.number,
                reason: format!(
                    "trusted head is {} ({}), header's previous hash is {}",
                    self.trusted_number,
                    hex::encode(self.trusted_hash),
                    hex::encode(&h.previous_hash)
                ),
            });
        }
        let hash = h.hash();
        self.trusted_number = h.number;
        self.trusted_hash = hash;
        Ok(HeaderInfo {
            height: h.number,
            hash: hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        // A replay is told only of evidence that verifies (checked last): evidence of a
        // relayed event is answered with its message, anything else as what is wrong with it.
        let mut replay = self
            .relayed
            .contains(&ev.locator)
            .then(|| hex::encode(&ev.locator));
        let checked = self.check_signed(&ev.header);
        let committed = self.peer.height()?;
        let block = checked.map_err(|e| match e {
            AdapterError::NotFinal { height, .. } => AdapterError::NotFinal {
                height,
                final_height: committed,
            },
            e => e,
        })?;
        let h = &block.header;
        if h.number > committed {
            return Err(AdapterError::NotFinal {
                height: h.number,
                final_height: committed,
            });
        }
        let (number, tx_index) = decode_locator(&ev.locator)?;
        if number != h.number {
            return Err(AdapterError::LocatorMismatch);
        }
        let data = decode_block_data(&ev.proof)?;
        let computed = meridian_proofs::fabric::data_hash(&data);
        if computed.as_slice() != h.data_hash.as_slice() {
            return Err(AdapterError::Proof(meridian_proofs::ProofError::from(
                meridian_proofs::fabric::FabricError::DataHashMismatch {
                    claimed: meridian_proofs::hash::HexHash(
                        h.data_hash.as_slice().try_into().unwrap_or([0; 32]),
                    ),
                    computed: meridian_proofs::hash::HexHash(computed),
                },
            )));
        }
        let i = usize::try_from(tx_index).map_err(|_| AdapterError::LocatorMismatch)?;
        if data.get(i).map(Vec::as_slice) != Some(ev.event.as_slice()) {
            return Err(AdapterError::LocatorMismatch);
        }
        let (tx_id, lock) = self.check_envelope(&ev.event)?;
        // The unsigned validity flag must say VALID too (necessary, never sufficient).
        let flag = block
            .metadata
            .get(META_TX_FILTER)
            .and_then(|f| f.get(i))
            .copied();
        if flag != Some(0) {
            return Err(malformed(
                "transaction",
                format!("validity flag {flag:?} is not VALID"),
            ));
        }
        if data[..i]
            .iter()
            .any(|d| tx_id_of(d).as_deref() == Some(&tx_id))
        {
            return Err(malformed("transaction", "duplicate tx id in the block"));
        }
        if self.relayed_tx.contains(&tx_id) {
            replay = Some(tx_id.clone());
        }
        let amount = amount(&lock.amount)?;
        if amount == 0 || lock.destination.is_empty() {
            return Err(malformed("lock event", "empty amount or destination"));
        }
        self.verified_tx.insert(ev.locator.clone(), tx_id);
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
        }
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height: h.number,
            destination: lock.destination,
            sender: lock.sender,
            recipient: lock.recipient,
            asset: lock.asset,
            amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        if let Some(tx) = self.verified_tx.remove(locator) {
            self.relayed_tx.insert(tx);
        }
        self.relayed.insert(locator.to_vec());
    }

    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        Ok(encode_release(&self.cfg.chaincode, d))
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        let payload = self.encode_delivery(d)?;
        self.peer.submit_release(&payload, d)
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        self.peer.applied(message_id)
    }

    fn light_client_state(&self) -> Vec<u8> {
        let mut s = self.trusted_number.to_be_bytes().to_vec();
        s.extend_from_slice(&self.trusted_hash);
        s
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        if state.len() != 40 {
            return Err(malformed("light client state", "not 40 bytes"));
        }
        let mut n = [0u8; 8];
        n.copy_from_slice(&state[..8]);
        self.trusted_number = u64::from_be_bytes(n);
        self.trusted_hash.copy_from_slice(&state[8..]);
        Ok(())
    }
}

/// The release arguments of a delivery.
pub fn release_args(d: &Delivery) -> Vec<Vec<u8>> {
    [
        RELEASE_FN.to_string(),
        hex::encode(d.message_id),
        d.refund.to_string(),
        d.account.clone(),
        d.asset.clone(),
        d.amount.to_string(),
        d.refchain_height.to_string(),
        d.deadline_ms.to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

/// `peer.ChaincodeInvocationSpec{1 chaincode_spec = ChaincodeSpec{1 type = GOLANG(1),
/// 2 chaincode_id = ChaincodeID{2 name}, 3 input = ChaincodeInput{1 repeated args}}}`.
pub fn encode_release(chaincode: &str, d: &Delivery) -> Vec<u8> {
    use proto::{put_bytes, put_uint};
    let mut input = Vec::new();
    for a in release_args(d) {
        put_bytes(&mut input, 1, &a);
    }
    let mut ccid = Vec::new();
    put_bytes(&mut ccid, 2, chaincode.as_bytes());
    let mut spec = Vec::new();
    put_uint(&mut spec, 1, 1);
    put_bytes(&mut spec, 2, &ccid);
    put_bytes(&mut spec, 3, &input);
    let mut out = Vec::new();
    put_bytes(&mut out, 1, &spec);
    out
}

/// The release arguments of an [`encode_release`] payload.
pub fn decode_release(payload: &[u8]) -> Result<(String, Vec<Vec<u8>>), AdapterError> {
    let spec = proto::Msg::parse("invocation spec", payload)?;
    let spec = proto::Msg::parse("chaincode spec", spec.bytes(1)?)?;
    let name = proto::Msg::parse("chaincode id", spec.bytes(2)?)?.string(2)?;
    let args = proto::Msg::parse("chaincode input", spec.bytes(3)?)?
        .all_bytes(1)?
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    Ok((name, args))
}
