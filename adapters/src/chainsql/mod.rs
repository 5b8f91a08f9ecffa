//! ChainSQL (XRP Ledger family): an adapter that trusts a network id and a UNL (validator
//! ed25519 keys) and a mock chain that closes real XRPL-form ledgers.
//!
//! # Finality
//! A ledger is final when validations of its hash by at least 80 % of the UNL
//! (`ceil(0.8 · |UNL|)`, rippled's `calculateQuorum`) are presented. Each validation is an
//! `STValidation` in XRPL binary form with `sfNetworkID` (required, must equal the adapter's),
//! `sfFlags` (`vfFullValidation` required), `sfLedgerSequence`, `sfSigningTime`, `sfLedgerHash`,
//! `sfSigningPubKey` (`0xED ‖ ed25519 key`) and `sfSignature`: ed25519 over the signing hash
//! `H("VAL\0" ‖ all fields but sfSignature)`, H = SHA-512Half (or SM3 in guomi mode). Keys outside
//! the UNL and repeated keys do not count; a validation for another hash/sequence does not count.
//!
//! # Evidence
//! - `header`: the 118-byte ledger header preimage (`LWR\0` omitted: seq u32, total coins u64,
//!   parent hash, transaction root, state root, parent close u32, close u32, resolution u8, flags u8,
//!   big-endian), a u16 count of validations, each a u16 length and the `STValidation` bytes.
//!   The ledger hash is recomputed with `LedgerHeader::hash`.
//! - `locator`: ledger sequence (u32 BE) ‖ txid (32 bytes).
//! - `event`: u32 BE length ‖ transaction blob ‖ u32 BE length ‖ metadata blob (both XRPL binary).
//! - `proof`: u8 depth, then the SHAMap inner nodes from the leaf's parent to the root, 16 × 32
//!   bytes each (xrpl-shamap semantics): the leaf `H("SND\0" ‖ VL(tx) ‖ VL(meta) ‖ txid)` keyed by
//!   `txid = H("TXN\0" ‖ tx)` must lead to the header's transaction root.
//!
//! # The lock
//! A `Payment` (`sfTransactionType` 0) to the configured bridge account, with metadata whose
//! `sfTransactionResult` is `tesSUCCESS` (0), and a memo whose `sfMemoType` is
//! `meridian/lock` and whose `sfMemoData` is JSON
//! `{"destination": chain id, "recipient": string, "asset": string}`. The amount is the
//! metadata's `sfDeliveredAmount` when present (partial payments), else `sfAmount`; only native
//! (drops) amounts are accepted. The sender is the classic address of `sfAccount`.
//!
//! Deliveries are `Payment`s from the bridge account with a `meridian/release` memo holding the
//! delivery as JSON; the mock applies each message id once.

pub mod codec;
mod mock;

pub use mock::{ChainSqlMock, Validators};

use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use codec::{
    classic_address, decode_event, decode_evidence_header, decode_locator, decode_proof, find, mal,
    native_drops, parse_object, req_bytes, Validation, Value,
};
use ed25519_dalek::{Signature, VerifyingKey};
use meridian_proofs::hash::Hash32;
use meridian_proofs::xrpl::{self, LedgerHeader, XrplHash};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};

/// Memo type of a lock.
pub const LOCK_MEMO_TYPE: &[u8] = b"meridian/lock";
/// Memo type of a release/refund.
pub const RELEASE_MEMO_TYPE: &[u8] = b"meridian/release";

/// The JSON in a lock memo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockMemo {
    /// Destination chain id.
    pub destination: String,
    /// Recipient on the destination chain.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
}

/// What a ChainSQL adapter trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSqlConfig {
    /// Meridian chain id.
    pub chain_id: String,
    /// The network's `NetworkID`, required in validations.
    pub network_id: u32,
    /// Hash algorithm of the ledger (SHA-512Half, or SM3 for ChainSQL guomi).
    pub hash_alg: XrplHash,
    /// The trusted UNL: validator ed25519 public keys.
    pub unl: Vec<[u8; 32]>,
    /// The bridge account (20-byte account id) locks are paid to.
    pub bridge_account: [u8; 20],
}

/// The ChainSQL adapter.
#[derive(Debug)]
pub struct ChainSqlAdapter {
    cfg: ChainSqlConfig,
    unl: Vec<VerifyingKey>,
    trusted: Option<(u32, Hash32)>,
    relayed: HashSet<Vec<u8>>,
    chain: Option<ChainSqlMock>,
}

/// A decoded, quorum-validated ledger header.
#[derive(Debug, Clone)]
pub struct ValidatedLedger {
    /// Header fields.
    pub header: LedgerHeader,
    /// Ledger hash.
    pub hash: Hash32,
    /// Distinct trusted validators that validated it.
    pub validators: usize,
}

/// `ceil(0.8 · n)`: rippled's quorum for a UNL of `n` (at least 1).
pub fn quorum(n: usize) -> usize {
    (n * 4).div_ceil(5).max(1)
}

impl ChainSqlAdapter {
    /// An adapter trusting `cfg`; deliveries go to `chain` when given.
    pub fn new(cfg: ChainSqlConfig, chain: Option<ChainSqlMock>) -> Result<Self, AdapterError> {
        let unl = cfg
            .unl
            .iter()
            .map(|k| VerifyingKey::from_bytes(k).map_err(|_| mal("validator key", hex::encode(k))))
            .collect::<Result<Vec<_>, _>>()?;
        if unl.is_empty() {
            return Err(mal("validator key", "empty UNL"));
        }
        Ok(ChainSqlAdapter {
            cfg,
            unl,
            trusted: None,
            relayed: HashSet::new(),
            chain,
        })
    }

    /// Decode an evidence header and check that a quorum of the UNL validated it on this network.
    pub fn check_validated(&self, bytes: &[u8]) -> Result<ValidatedLedger, AdapterError> {
        let alg = self.cfg.hash_alg;
        let (header, vals) = decode_evidence_header(bytes)?;
        let hash = header.hash(alg);
        let mut seen = BTreeSet::new();
        let mut unknown = None;
        let mut wrong = None;
        for raw in vals {
            let (v, signing_hash) = Validation::parse(raw, alg)?;
            if v.network_id != Some(self.cfg.network_id) {
                wrong = Some(
                    v.network_id
                        .map_or_else(|| "no network id".to_string(), |n| format!("network {n}")),
                );
                continue;
            }
            if v.ledger_hash != hash
                || v.ledger_seq != header.seq
                || v.flags & codec::VF_FULL_VALIDATION == 0
            {
                continue;
            }
            let key = match v.signing_pub_key.split_first() {
                Some((0xED, k)) => <[u8; 32]>::try_from(k).ok(),
                _ => None,
            };
            let Some(key) = key.and_then(|k| self.unl.iter().find(|u| u.as_bytes() == &k)) else {
                unknown = Some(hex::encode(&v.signing_pub_key));
                continue;
            };
            let Ok(sig) = Signature::from_slice(&v.signature) else {
                continue;
            };
            if key.verify_strict(&signing_hash, &sig).is_ok() {
                seen.insert(*key.as_bytes());
            }
        }
        let needed = quorum(self.unl.len());
        if seen.len() < needed {
            if let Some(found) = wrong.filter(|_| seen.is_empty()) {
                return Err(AdapterError::WrongChain {
                    expected: format!("{} (network {})", self.cfg.chain_id, self.cfg.network_id),
                    found,
                });
            }
            if let Some(k) = unknown.filter(|_| seen.is_empty()) {
                return Err(AdapterError::UnknownValidator(k));
            }
            return Err(AdapterError::BelowQuorum {
                valid: seen.len(),
                needed,
            });
        }
        Ok(ValidatedLedger {
            header,
            hash,
            validators: seen.len(),
        })
    }

    /// Decode a proven lock transaction into its memo, sender and amount.
    pub fn decode_lock(
        &self,
        tx: &[u8],
        meta: &[u8],
    ) -> Result<(LockMemo, String, u128), AdapterError> {
        check_success(meta)?;
        const W: &str = "event";
        let fields = parse_object(tx, W)?;
        let tt = req_bytes(&fields, codec::SF_TRANSACTION_TYPE, W)?;
        if tt != [0, 0] {
            return Err(mal(W, "not a Payment"));
        }
        let dest = req_bytes(&fields, codec::SF_DESTINATION, W)?;
        if dest != self.cfg.bridge_account {
            return Err(mal(W, "payment is not to the bridge account"));
        }
        let account = req_bytes(&fields, codec::SF_ACCOUNT, W)?;
        if account.len() != 20 {
            return Err(mal(W, "bad account"));
        }
        let memo = lock_memo(&fields)?;
        let meta_fields = parse_object(meta, "metadata")?;
        let amount = match find(&meta_fields, codec::SF_DELIVERED_AMOUNT, "metadata")? {
            Some(f) => f
                .value
                .bytes()
                .ok_or_else(|| mal("metadata", "bad amount"))?,
            None => req_bytes(&fields, codec::SF_AMOUNT, W)?,
        };
        let drops =
            native_drops(amount, W)?.ok_or_else(|| mal(W, "only native amounts are bridged"))?;
        if drops == 0 {
            return Err(mal(W, "zero amount"));
        }
        Ok((memo, classic_address(account), u128::from(drops)))
    }
}

/// Fail unless the metadata's `sfTransactionResult` is `tesSUCCESS`.
pub fn check_success(meta: &[u8]) -> Result<(), AdapterError> {
    let fields = parse_object(meta, "metadata")?;
    let r = req_bytes(&fields, codec::SF_TRANSACTION_RESULT, "metadata")?;
    if r != [0] {
        return Err(mal(
            "metadata",
            format!("transaction result {r:?} is not tesSUCCESS"),
        ));
    }
    Ok(())
}

fn lock_memo(fields: &[codec::Field<'_>]) -> Result<LockMemo, AdapterError> {
    const W: &str = "event";
    let memos = match find(fields, codec::SF_MEMOS, W)?.map(|f| &f.value) {
        Some(Value::Array(m)) => m,
        _ => return Err(mal(W, "no memos")),
    };
    let mut found = None;
    for m in memos {
        let Value::Object(mf) = &m.value else {
            continue;
        };
        if m.id != codec::SF_MEMO {
            continue;
        }
        if find(mf, codec::SF_MEMO_TYPE, W)?.and_then(|f| f.value.bytes()) == Some(LOCK_MEMO_TYPE) {
            if found.is_some() {
                return Err(mal(W, "more than one lock memo"));
            }
            let data = req_bytes(mf, codec::SF_MEMO_DATA, W)?;
            found = Some(
                serde_json::from_slice::<LockMemo>(data)
                    .map_err(|e| mal(W, format!("lock memo: {e}")))?,
            );
        }
    }
    let memo = found.ok_or_else(|| mal(W, "no lock memo"))?;
    if memo.destination.is_empty() || memo.recipient.is_empty() || memo.asset.is_empty() {
        return Err(mal(W, "empty field in lock memo"));
    }
    Ok(memo)
}

impl ChainAdapter for ChainSqlAdapter {
    fn chain_id(&self) -> &str {
        &self.cfg.chain_id
    }

    fn family(&self) -> Family {
        Family::ChainSql
    }

    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let v = self.check_validated(header)?;
        // A quorum-validated ledger is final by itself; once anchored, headers must extend the
        // trusted one by exactly one ledger.
        if let Some((seq, hash)) = self.trusted {
            if v.header.seq != seq.wrapping_add(1) || v.header.parent_hash != hash {
                return Err(AdapterError::Fork {
                    height: u64::from(v.header.seq),
                    reason: format!(
                        "trusted ledger is {seq} ({}), header's parent is {}",
                        hex::encode(hash),
                        hex::encode(v.header.parent_hash)
                    ),
                });
            }
        }
        self.trusted = Some((v.header.seq, v.hash));
        Ok(HeaderInfo {
            height: u64::from(v.header.seq),
            hash: v.hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        // A replay is told only of evidence that verifies (checked last): evidence of a
        // relayed event is answered with its message, anything else as what is wrong with it.
        let replay = self
            .relayed
            .contains(&ev.locator)
            .then(|| hex::encode(&ev.locator));
        let alg = self.cfg.hash_alg;
        let (seq, loc_txid) = decode_locator(&ev.locator)?;
        let v = self.check_validated(&ev.header)?;
        if seq != v.header.seq {
            return Err(AdapterError::LocatorMismatch);
        }
        let (tx, meta) = decode_event(&ev.event)?;
        let id = xrpl::txid(alg, tx);
        if id != loc_txid {
            return Err(AdapterError::LocatorMismatch);
        }
        let path = decode_proof(&ev.proof)?;
        let leaf =
            xrpl::tx_leaf_hash(alg, tx, meta, &id).map_err(meridian_proofs::ProofError::from)?;
        xrpl::verify_path(alg, &id, &leaf, &path, &v.header.transaction_hash)
            .map_err(meridian_proofs::ProofError::from)?;
        let (memo, sender, amount) = self.decode_lock(tx, meta)?;
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
        }
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height: u64::from(v.header.seq),
            destination: memo.destination,
            sender,
            recipient: memo.recipient,
            asset: memo.asset,
            amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        self.relayed.insert(locator.to_vec());
    }

    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        mock::release_tx(&self.cfg.bridge_account, d)
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        let tx = self.encode_delivery(d)?;
        match &self.chain {
            Some(c) => c.apply_delivery(d, &tx),
            None => Err(AdapterError::Unavailable(format!(
                "{}: no ChainSQL node connected",
                self.cfg.chain_id
            ))),
        }
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        match &self.chain {
            Some(c) => Ok(c.applied(message_id)),
            None => Err(AdapterError::Unavailable(format!(
                "{}: no ChainSQL node connected",
                self.cfg.chain_id
            ))),
        }
    }

    fn light_client_state(&self) -> Vec<u8> {
        match self.trusted {
            Some((seq, hash)) => {
                let mut out = seq.to_be_bytes().to_vec();
                out.extend_from_slice(&hash);
                out
            }
            None => Vec::new(),
        }
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        if state.is_empty() {
            self.trusted = None;
            return Ok(());
        }
        self.trusted =
            Some(decode_locator(state).map_err(|_| mal("light-client state", "not 36 bytes"))?);
        Ok(())
    }
}
