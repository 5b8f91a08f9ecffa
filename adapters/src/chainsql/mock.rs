//! A mock ChainSQL network: accounts pay each other, ledgers close with real XRPL ledger-header
//! hashes over a real transaction SHAMap (several transactions per ledger), and a UNL of five
//! ed25519 validators signs `STValidation`s. It can misbehave (partial or impostor validations,
//! another network id) and applies deliveries once per message id.
//!
//! Mock simplifications: account ids are the first 20 bytes of SHA-256 of the account's
//! public key (not RIPEMD-160), the state tree root is a stand-in hash, metadata is minimal
//! (`sfTransactionIndex`, `sfDeliveredAmount`, `sfTransactionResult`).

use super::codec::{
    self, encode_event, encode_evidence_header, encode_locator, encode_proof, StWriter, Validation,
};
use super::{ChainSqlAdapter, ChainSqlConfig, LockMemo, LOCK_MEMO_TYPE, RELEASE_MEMO_TYPE};
use crate::conformance::ConformanceChain;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};
use ed25519_dalek::{Signer, SigningKey};
use meridian_proofs::hash::{sha256, Hash32};
use meridian_proofs::xrpl::{self, LedgerHeader, ShaMap, XrplHash};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Who validates a closed ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validators {
    /// The whole UNL.
    All,
    /// Only the first n UNL validators (so far).
    First(usize),
    /// Five keys outside the UNL.
    Impostors,
    /// The whole UNL, but on another network id.
    Network(u32),
}

#[derive(Debug, Clone)]
struct Ledger {
    header: LedgerHeader,
    hash: Hash32,
    txs: Vec<(Hash32, Vec<u8>, Vec<u8>)>,
    validations: Vec<Vec<u8>>,
}

#[derive(Debug)]
struct State {
    chain_id: String,
    network_id: u32,
    alg: XrplHash,
    unl: Vec<SigningKey>,
    impostors: Vec<SigningKey>,
    bridge: SigningKey,
    users: Vec<SigningKey>,
    ledgers: Vec<Ledger>,
    pending: Vec<Vec<u8>>,
    tx_seq: u32,
    applied: HashMap<[u8; 32], Vec<u8>>,
}

/// A mock ChainSQL network; clones share it.
#[derive(Debug, Clone)]
pub struct ChainSqlMock {
    inner: Arc<Mutex<State>>,
}

fn key(label: &str, chain_id: &str, i: usize) -> SigningKey {
    SigningKey::from_bytes(&sha256(&[
        b"chainsql.mock",
        label.as_bytes(),
        chain_id.as_bytes(),
        &(i as u64).to_be_bytes(),
    ]))
}

/// The mock's account id of a key.
pub fn account_id(k: &SigningKey) -> [u8; 20] {
    let h = sha256(&[k.verifying_key().as_bytes()]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[..20]);
    a
}

/// A signed Payment: `from` pays `drops` to `to`, with optional memos `(type, data)`.
pub fn payment(
    alg: XrplHash,
    from: &SigningKey,
    sequence: u32,
    to: &[u8; 20],
    drops: u64,
    memos: &[(&[u8], &[u8])],
) -> Result<Vec<u8>, AdapterError> {
    let build = |sig: Option<&[u8]>| -> Result<Vec<u8>, AdapterError> {
        let mut w = StWriter::default();
        w.u16(codec::SF_TRANSACTION_TYPE, 0)
            .u32(codec::SF_FLAGS, 0x8000_0000)
            .u32(codec::SF_SEQUENCE, sequence)
            .drops(codec::SF_AMOUNT, drops)?
            .drops(codec::SF_FEE, 10)?
            .vl(
                codec::SF_SIGNING_PUB_KEY,
                &codec::xrpl_ed25519_key(&from.verifying_key()),
            )?;
        if let Some(s) = sig {
            w.vl(codec::SF_TXN_SIGNATURE, s)?;
        }
        w.vl(codec::SF_ACCOUNT, &account_id(from))?
            .vl(codec::SF_DESTINATION, to)?;
        if !memos.is_empty() {
            w.begin(codec::SF_MEMOS);
            for (t, d) in memos {
                w.begin(codec::SF_MEMO)
                    .vl(codec::SF_MEMO_TYPE, t)?
                    .vl(codec::SF_MEMO_DATA, d)?
                    .end_object();
            }
            w.end_array();
        }
        Ok(w.0)
    };
    let unsigned = build(None)?;
    let sig = from.sign(&alg.digest(&[&codec::PREFIX_TX_SIGN, &unsigned]));
    build(Some(&sig.to_bytes()))
}

/// The release/refund transaction of a delivery: a Payment from the bridge account (to itself,
/// unsigned) with a `meridian/release` memo holding the delivery as JSON.
pub fn release_tx(bridge: &[u8; 20], d: &Delivery) -> Result<Vec<u8>, AdapterError> {
    let json = serde_json::to_vec(d).map_err(|e| codec::mal("delivery", e.to_string()))?;
    let drops = u64::try_from(d.amount).map_err(|_| codec::mal("delivery", "amount too large"))?;
    let mut w = StWriter::default();
    w.u16(codec::SF_TRANSACTION_TYPE, 0)
        .u32(codec::SF_FLAGS, 0x8000_0000)
        .drops(codec::SF_AMOUNT, drops)?
        .drops(codec::SF_FEE, 10)?
        .vl(codec::SF_ACCOUNT, bridge)?
        .vl(codec::SF_DESTINATION, bridge)?
        .begin(codec::SF_MEMOS)
        .begin(codec::SF_MEMO)
        .vl(codec::SF_MEMO_TYPE, RELEASE_MEMO_TYPE)?
        .vl(codec::SF_MEMO_DATA, &json)?
        .end_object()
        .end_array();
    Ok(w.0)
}

/// Minimal metadata: `sfTransactionIndex`, `sfDeliveredAmount`, `sfTransactionResult`.
pub fn metadata(index: u32, delivered: Option<u64>, result: u8) -> Result<Vec<u8>, AdapterError> {
    let mut w = StWriter::default();
    w.u32(codec::SF_TRANSACTION_INDEX, index);
    if let Some(d) = delivered {
        w.drops(codec::SF_DELIVERED_AMOUNT, d)?;
    }
    w.u8(codec::SF_TRANSACTION_RESULT, result);
    Ok(w.0)
}

impl ChainSqlMock {
    /// The height of the newest block (0 before any).
    pub fn head_height(&self) -> u64 {
        self.state()
            .ledgers
            .last()
            .map_or(0, |l| u64::from(l.header.seq))
    }

    /// A network `chain_id` with `NetworkID` `network_id`, hashing with `alg`, and a UNL of 5.
    pub fn new(chain_id: &str, network_id: u32, alg: XrplHash) -> Self {
        ChainSqlMock {
            inner: Arc::new(Mutex::new(State {
                chain_id: chain_id.to_string(),
                network_id,
                alg,
                unl: (0..5).map(|i| key("validator", chain_id, i)).collect(),
                impostors: (0..5).map(|i| key("impostor", chain_id, i)).collect(),
                bridge: key("bridge", chain_id, 0),
                users: (0..3).map(|i| key("user", chain_id, i)).collect(),
                ledgers: Vec::new(),
                pending: Vec::new(),
                tx_seq: 1,
                applied: HashMap::new(),
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The adapter configuration trusting this network.
    pub fn config(&self) -> ChainSqlConfig {
        let s = self.state();
        ChainSqlConfig {
            chain_id: s.chain_id.clone(),
            network_id: s.network_id,
            hash_alg: s.alg,
            unl: s.unl.iter().map(|k| k.verifying_key().to_bytes()).collect(),
            bridge_account: account_id(&s.bridge),
        }
    }

    /// Queue a lock (a Payment to the bridge with a lock memo) and an unrelated payment;
    /// returns the lock's txid.
    pub fn lock(
        &self,
        destination: &str,
        recipient: &str,
        asset: &str,
        drops: u64,
    ) -> Result<Hash32, AdapterError> {
        let mut s = self.state();
        let memo = serde_json::to_vec(&LockMemo {
            destination: destination.into(),
            recipient: recipient.into(),
            asset: asset.into(),
        })
        .map_err(|e| codec::mal("memo", e.to_string()))?;
        let seq = s.tx_seq;
        s.tx_seq += 2;
        let bridge = account_id(&s.bridge);
        let other = account_id(&s.users[2]);
        let filler = payment(s.alg, &s.users[1], seq, &other, 1_000 + u64::from(seq), &[])?;
        let tx = payment(
            s.alg,
            &s.users[0],
            seq + 1,
            &bridge,
            drops,
            &[(LOCK_MEMO_TYPE, &memo)],
        )?;
        let id = xrpl::txid(s.alg, &tx);
        s.pending.push(filler);
        s.pending.push(tx);
        Ok(id)
    }

    /// Close a ledger of the pending transactions, validated by `who`; returns its sequence.
    pub fn close_ledger(&self, who: Validators) -> Result<u32, AdapterError> {
        let mut s = self.state();
        let alg = s.alg;
        let txs = std::mem::take(&mut s.pending);
        let mut entries = Vec::with_capacity(txs.len());
        for (i, tx) in txs.into_iter().enumerate() {
            let fields = codec::parse_object(&tx, "tx")?;
            let amount = codec::req_bytes(&fields, codec::SF_AMOUNT, "tx")?;
            let delivered = codec::native_drops(amount, "tx")?;
            let meta = metadata(i as u32, delivered, 0)?;
            entries.push((xrpl::txid(alg, &tx), tx, meta));
        }
        let mut items = Vec::with_capacity(entries.len());
        for (id, tx, meta) in &entries {
            let leaf = xrpl::tx_leaf_hash(alg, tx, meta, id)
                .map_err(|e| codec::mal("tx", e.to_string()))?;
            items.push((*id, leaf));
        }
        let tree = ShaMap::new(alg, &items);
        let (seq, parent_hash, parent_close) = match s.ledgers.last() {
            Some(l) => (l.header.seq + 1, l.hash, l.header.close_time),
            None => (
                2,
                alg.digest(&[b"chainsql.mock.genesis", s.chain_id.as_bytes()]),
                700_000_000,
            ),
        };
        let header = LedgerHeader {
            seq,
            total_coins: 100_000_000_000_000_000 - 10 * u64::from(s.tx_seq),
            parent_hash,
            transaction_hash: tree.root(),
            account_hash: alg.digest(&[b"chainsql.mock.state", &seq.to_be_bytes()]),
            parent_close_time: parent_close,
            close_time: parent_close + 10,
            close_time_resolution: 10,
            close_flags: 0,
        };
        let hash = header.hash(alg);
        let (keys, network_id): (Vec<SigningKey>, u32) = match who {
            Validators::All => (s.unl.clone(), s.network_id),
            Validators::First(n) => (s.unl.iter().take(n).cloned().collect(), s.network_id),
            Validators::Impostors => (s.impostors.clone(), s.network_id),
            Validators::Network(n) => (s.unl.clone(), n),
        };
        let mut validations = Vec::with_capacity(keys.len());
        for k in &keys {
            let mut v = Validation {
                network_id: Some(network_id),
                flags: codec::VF_FULL_VALIDATION | codec::VF_FULLY_CANONICAL_SIG,
                ledger_seq: seq,
                signing_time: header.close_time + 2,
                ledger_hash: hash,
                signing_pub_key: Vec::new(),
                signature: Vec::new(),
            };
            v.sign(alg, k)?;
            validations.push(v.encode()?);
        }
        s.ledgers.push(Ledger {
            header,
            hash,
            txs: entries,
            validations,
        });
        Ok(seq)
    }

    /// Evidence of transaction `txid` in ledger `seq`.
    pub fn evidence(&self, seq: u32, txid: &Hash32) -> Option<Evidence> {
        let s = self.state();
        let l = s.ledgers.iter().find(|l| l.header.seq == seq)?;
        let (_, tx, meta) = l.txs.iter().find(|(id, _, _)| id == txid)?;
        let items: Vec<(Hash32, Hash32)> = l
            .txs
            .iter()
            .filter_map(|(id, tx, meta)| Some((*id, xrpl::tx_leaf_hash(s.alg, tx, meta, id).ok()?)))
            .collect();
        let path = ShaMap::new(s.alg, &items).proof(txid)?;
        Some(Evidence {
            locator: encode_locator(seq, txid),
            header: encode_evidence_header(&l.header, &l.validations),
            proof: encode_proof(&path),
            event: encode_event(tx, meta),
        })
    }

    /// Lock, close a ledger validated by `who`, and return the lock's evidence.
    pub fn lock_and_close(&self, who: Validators) -> Evidence {
        let ev = self
            .lock("elsewhere", "bob", "ZXC", 7_000_000)
            .and_then(|id| Ok((id, self.close_ledger(who)?)))
            .ok()
            .and_then(|(id, seq)| self.evidence(seq, &id));
        ev.unwrap_or(Evidence {
            locator: vec![],
            header: vec![],
            proof: vec![],
            event: vec![],
        })
    }

    /// Apply a delivery at most once per message id (its release tx joins the next ledger).
    pub fn apply_delivery(&self, d: &Delivery, tx: &[u8]) -> Result<Receipt, AdapterError> {
        let now = crate::mock::now_ms();
        let mut s = self.state();
        if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
            return Ok(r);
        }
        crate::mock::check_deadline(d, now)?;
        let reference = xrpl::txid(s.alg, tx).to_vec();
        s.pending.push(tx.to_vec());
        s.applied.insert(d.message_id, reference.clone());
        Ok(Receipt {
            reference,
            duplicate: false,
        })
    }

    /// The receipt of `message_id` if applied.
    pub fn applied(&self, message_id: &[u8; 32]) -> Option<Receipt> {
        crate::mock::applied_receipt(&self.state().applied, message_id)
    }
}

impl ConformanceChain for ChainSqlMock {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(ChainSqlAdapter::new(
            self.config(),
            Some(self.clone()),
        )?))
    }

    fn genuine(&mut self) -> Evidence {
        self.lock_and_close(Validators::All)
    }

    fn forged_header(&mut self) -> Evidence {
        let mut ev = self.genuine();
        if ev.header.len() > 117 {
            // close_time is bytes 112..116 of the header preimage.
            ev.header[115] ^= 0x01;
        }
        ev
    }

    fn below_quorum(&mut self) -> Evidence {
        self.lock_and_close(Validators::First(3))
    }

    fn unknown_validator(&mut self) -> Evidence {
        self.lock_and_close(Validators::Impostors)
    }

    fn wrong_chain(&mut self) -> Evidence {
        let other = self.state().network_id.wrapping_add(1);
        self.lock_and_close(Validators::Network(other))
    }

    fn non_final(&mut self) -> Evidence {
        // Closed, but only two validations have arrived so far.
        self.lock_and_close(Validators::First(2))
    }
}
