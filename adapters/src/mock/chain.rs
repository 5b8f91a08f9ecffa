//! A generic mock chain: blocks of lock/release events, a validator set that signs final
//! blocks (ed25519, more than two thirds), RFC 6962 inclusion proofs of events, and delivery
//! that applies each message id at most once. It can misbehave on request.

use super::encoding::{Reader, Writer};
use crate::{AdapterError, Delivery, Evidence, Receipt};
use ed25519_dalek::{Signer, SigningKey};
use meridian_proofs::hash::{sha256, Hash32};
use meridian_proofs::rfc6962;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Maps keyed by message id (SHA-256 outputs): a seeded fast hasher serves; std's SipHash was
/// a visible share of a delivery batch under load.
type IdKeyed<V> = HashMap<[u8; 32], V, foldhash::fast::RandomState>;

const HEADER_TAG: &[u8] = b"mock.header.v1";
const VOTE_TAG: &[u8] = b"mock.vote.v1";

/// A mock block header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockHeader {
    /// Chain id.
    pub chain_id: String,
    /// Height, from 1.
    pub height: u64,
    /// Hash of the previous header (zero for height 1).
    pub prev_hash: Hash32,
    /// RFC 6962 root over the block's encoded events.
    pub events_root: Hash32,
    /// Number of events.
    pub event_count: u64,
    /// Production time, ms since the epoch.
    pub time_ms: u64,
}

impl MockHeader {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(HEADER_TAG)
            .str(&self.chain_id)
            .u64(self.height)
            .h32(&self.prev_hash)
            .h32(&self.events_root)
            .u64(self.event_count)
            .u64(self.time_ms);
        w.0
    }

    /// Decode from [`MockHeader::encode`] output.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, AdapterError> {
        let tag = r.bytes()?;
        if tag != HEADER_TAG {
            return Err(AdapterError::Malformed {
                what: "header",
                reason: "bad tag".into(),
            });
        }
        Ok(MockHeader {
            chain_id: r.str()?,
            height: r.u64()?,
            prev_hash: r.h32()?,
            events_root: r.h32()?,
            event_count: r.u64()?,
            time_ms: r.u64()?,
        })
    }

    /// `SHA-256(encode())`.
    pub fn hash(&self) -> Hash32 {
        sha256(&[&self.encode()])
    }
}

/// The message validators sign for a header.
pub fn vote_message(header_hash: &Hash32) -> Vec<u8> {
    [VOTE_TAG, header_hash].concat()
}

/// A header with validator signatures: the mock chain's finality evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    /// The header.
    pub header: MockHeader,
    /// `(validator index, ed25519 signature over vote_message(header hash))`.
    pub signatures: Vec<(u64, [u8; 64])>,
}

impl SignedHeader {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(&self.header.encode())
            .u64(self.signatures.len() as u64);
        for (i, s) in &self.signatures {
            w.u64(*i);
            w.0.extend_from_slice(s);
        }
        w.0
    }

    /// Decode; rejects trailing bytes and absurd signature counts.
    pub fn decode(bytes: &[u8]) -> Result<Self, AdapterError> {
        let mut r = Reader::new(bytes, "header");
        let hb = r.bytes()?;
        let mut hr = Reader::new(hb, "header");
        let header = MockHeader::decode(&mut hr)?;
        hr.finish()?;
        let n = r.u64()?;
        if n > 10_000 {
            return Err(AdapterError::Malformed {
                what: "header",
                reason: "too many signatures".into(),
            });
        }
        let mut signatures = Vec::with_capacity(n as usize);
        for _ in 0..n {
            signatures.push((r.u64()?, r.h64()?));
        }
        r.finish()?;
        Ok(SignedHeader { header, signatures })
    }
}

/// A lock event on the mock chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockEvent {
    /// Destination chain id.
    pub destination: String,
    /// Sender on this chain.
    pub sender: String,
    /// Recipient on the destination chain.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount.
    pub amount: u128,
    /// Per-chain event counter, so identical transfers are distinct events.
    pub nonce: u64,
}

impl MockEvent {
    /// Canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes(b"mock.lock.v1")
            .str(&self.destination)
            .str(&self.sender)
            .str(&self.recipient)
            .str(&self.asset)
            .u128(self.amount)
            .u64(self.nonce);
        w.0
    }

    /// Decode; rejects trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, AdapterError> {
        let mut r = Reader::new(bytes, "event");
        if r.bytes()? != b"mock.lock.v1" {
            return Err(AdapterError::Malformed {
                what: "event",
                reason: "not a lock event".into(),
            });
        }
        let e = MockEvent {
            destination: r.str()?,
            sender: r.str()?,
            recipient: r.str()?,
            asset: r.str()?,
            amount: r.u128()?,
            nonce: r.u64()?,
        };
        r.finish()?;
        Ok(e)
    }
}

/// Encode a locator: block height and event index.
pub fn locator(height: u64, index: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(height).u64(index);
    w.0
}

/// Decode a locator.
pub fn decode_locator(bytes: &[u8]) -> Result<(u64, u64), AdapterError> {
    let mut r = Reader::new(bytes, "locator");
    let h = r.u64()?;
    let i = r.u64()?;
    r.finish()?;
    Ok((h, i))
}

/// Encode an inclusion proof: index, tree size and the RFC 6962 audit path.
pub fn encode_proof(index: u64, size: u64, path: &[Hash32]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(index).u64(size).u64(path.len() as u64);
    for h in path {
        w.h32(h);
    }
    w.0
}

/// Decode an inclusion proof.
pub fn decode_proof(bytes: &[u8]) -> Result<(u64, u64, Vec<Hash32>), AdapterError> {
    let mut r = Reader::new(bytes, "proof");
    let index = r.u64()?;
    let size = r.u64()?;
    let n = r.u64()?;
    if n > 64 {
        return Err(AdapterError::Malformed {
            what: "proof",
            reason: "audit path longer than 64".into(),
        });
    }
    let mut path = Vec::with_capacity(n as usize);
    for _ in 0..n {
        path.push(r.h32()?);
    }
    r.finish()?;
    Ok((index, size, path))
}

/// Ways the mock chain can be told to misbehave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Sign blocks with only this many validators (below quorum when small).
    pub signers: Option<usize>,
    /// Refuse deliveries (as if the chain were unreachable).
    pub refuse_deliveries: bool,
}

#[derive(Debug, Clone)]
struct Block {
    signed: SignedHeader,
    events: Vec<Vec<u8>>,
    tree: rfc6962::MerkleTree,
}

/// Deliveries applied, in order, in fixed-size chunks: one growing vector was reallocated
/// and copied (into freshly faulted pages) as it doubled under load.
#[derive(Debug, Default)]
struct Credits(Vec<Vec<Delivery>>);

impl Credits {
    const CHUNK: usize = 4096;

    fn push(&mut self, d: Delivery) {
        match self.0.last_mut() {
            Some(c) if c.len() < Self::CHUNK => c.push(d),
            _ => {
                let mut c = Vec::with_capacity(Self::CHUNK);
                c.push(d);
                self.0.push(c);
            }
        }
    }

    /// Drop the last `n` pushed.
    fn pop_last(&mut self, mut n: usize) {
        while n > 0 {
            let Some(c) = self.0.last_mut() else { return };
            let k = n.min(c.len());
            c.truncate(c.len() - k);
            n -= k;
            if c.is_empty() {
                self.0.pop();
            }
        }
    }

    fn all(&self) -> Vec<Delivery> {
        self.0.iter().flatten().cloned().collect()
    }
}

#[derive(Debug)]
struct State {
    chain_id: String,
    validators: Vec<SigningKey>,
    blocks: Vec<Block>,
    pending: Vec<MockEvent>,
    next_nonce: u64,
    applied: IdKeyed<Vec<u8>>,
    credits: Credits,
    attempts: IdKeyed<u64>,
    misbehaviour: Misbehaviour,
    finality_depth: u64,
    /// Blocks below this height belong to an earlier life of a persistent chain (no data).
    base_height: u64,
    base_hash: Hash32,
    journal: Option<std::fs::File>,
    /// A block's line could not be made durable: the chain's blocks would not survive a
    /// restart (and their positions would be issued again), so it takes no more locks.
    journal_failed: bool,
    /// The last journal write or sync failed and was reported; the next failures are not,
    /// until one succeeds (the router retries a failed delivery batch every 250 ms).
    journal_warned: bool,
}

impl State {
    /// Append a line to the journal and make it durable (persistent chains only).
    fn journal(&mut self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if !(self.journal_bytes(&bytes) && self.sync_journal()) {
            self.journal_failed = true;
        }
    }

    /// Make everything journaled so far durable; whether it is.
    fn sync_journal(&mut self) -> bool {
        if let Some(f) = self.journal.as_mut() {
            if let Err(e) = f.sync_data() {
                self.journal_error(&e);
                return false;
            }
        }
        self.journal_warned = false;
        true
    }

    /// Report a journal failure, once per run of them.
    fn journal_error(&mut self, e: &std::io::Error) {
        if !std::mem::replace(&mut self.journal_warned, true) {
            tracing_warn(&format!(
                "mock chain journal: {e} (not repeated until it works again)"
            ));
        }
    }
}

impl State {
    /// Append whole lines (each ending in a newline) with one write; whether it was written.
    fn journal_bytes(&mut self, lines: &[u8]) -> bool {
        use std::io::Write;
        if lines.is_empty() {
            return true;
        }
        if let Some(f) = self.journal.as_mut() {
            let before = f.metadata().map(|m| m.len());
            if let Err(e) = f.write_all(lines) {
                // A write cut short would leave half a line for the next one to join.
                if let Ok(len) = before {
                    let _ = f.set_len(len);
                }
                self.journal_error(&e);
                return false;
            }
        }
        true
    }
}

/// Append the lowercase hex of `bytes` to `out` (no string per call for ids and hashes).
fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 2 * bytes.len(), 0);
    if faster_hex::hex_encode(bytes, &mut out[start..]).is_err() {
        out.truncate(start);
        out.extend_from_slice(hex::encode(bytes).as_bytes());
    }
}

/// `d` as JSON, byte for byte what `serde_json::to_writer` writes for it (the journal is read
/// back with `serde_json`), without serde's per-field calls: the id's 32 numbers from a table,
/// the integers with `itoa`; the two strings still go through `serde_json` for its escaping.
fn write_delivery_json(out: &mut Vec<u8>, d: &Delivery) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"message_id\":[");
    let mut num = itoa::Buffer::new();
    for (i, b) in d.message_id.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(num.format(*b).as_bytes());
    }
    out.extend_from_slice(if d.refund {
        b"],\"refund\":true,\"account\":"
    } else {
        b"],\"refund\":false,\"account\":"
    });
    serde_json::to_writer(&mut *out, &d.account)?;
    out.extend_from_slice(b",\"asset\":");
    serde_json::to_writer(&mut *out, &d.asset)?;
    out.extend_from_slice(b",\"amount\":");
    out.extend_from_slice(num.format(d.amount).as_bytes());
    out.extend_from_slice(b",\"refchain_height\":");
    out.extend_from_slice(num.format(d.refchain_height).as_bytes());
    out.extend_from_slice(b",\"deadline_ms\":");
    out.extend_from_slice(num.format(d.deadline_ms).as_bytes());
    out.push(b'}');
    Ok(())
}

fn tracing_warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// A handle to one mock chain; clones share the chain.
#[derive(Debug, Clone)]
pub struct MockChain {
    inner: Arc<Mutex<State>>,
}

impl MockChain {
    /// A chain with `validators` deterministic validator keys (derived from the chain id, so a
    /// restarted hub finds the same validator set) and instant finality.
    pub fn new(chain_id: &str, validators: usize) -> Self {
        Self::with_validator_salt(chain_id, validators, b"")
    }

    /// A chain whose validator keys are also derived from `salt` (an impostor validator set
    /// for the same chain id, in tests).
    pub fn with_validator_salt(chain_id: &str, validators: usize, salt: &[u8]) -> Self {
        let keys = (0..validators.max(1))
            .map(|i| {
                let seed = sha256(&[
                    b"mock.validator",
                    chain_id.as_bytes(),
                    &(i as u64).to_be_bytes(),
                    salt,
                ]);
                SigningKey::from_bytes(&seed)
            })
            .collect();
        MockChain {
            inner: Arc::new(Mutex::new(State {
                chain_id: chain_id.to_string(),
                validators: keys,
                blocks: Vec::new(),
                pending: Vec::new(),
                next_nonce: 0,
                applied: IdKeyed::default(),
                credits: Credits::default(),
                attempts: IdKeyed::default(),
                misbehaviour: Misbehaviour::default(),
                finality_depth: 0,
                base_height: 0,
                base_hash: [0; 32],
                journal: None,
                journal_failed: false,
                journal_warned: false,
            })),
        }
    }

    /// A chain whose blocks heights and applied deliveries survive restarts of the process: a
    /// journal at `path` (one fsynced line per block and per delivery attempt) is replayed on
    /// open. Events of earlier blocks are not kept (their evidence was used already).
    pub fn open(
        chain_id: &str,
        validators: usize,
        path: &std::path::Path,
    ) -> std::io::Result<Self> {
        let chain = MockChain::new(chain_id, validators);
        {
            let mut s = chain.lock_state();
            // Read as bytes, each line on its own: one torn or foreign byte must not make the
            // whole journal unreadable (the chain would forget its blocks and issue their
            // positions again). A journal that cannot be read at all is an error.
            let bytes = match std::fs::read(path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            };
            // A last line without its newline was torn by a crash: not read, and ended before
            // anything is appended after it.
            let torn = !bytes.is_empty() && !bytes.ends_with(b"\n");
            let whole = match bytes.iter().rposition(|&b| b == b'\n') {
                Some(end) => &bytes[..end],
                None => &[][..],
            };
            let text = String::from_utf8_lossy(whole);
            for line in text.lines() {
                let mut parts = line.splitn(3, ' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("B"), Some(h), Some(hash)) => {
                        // A torn or foreign line (not 32 bytes of hash) is skipped.
                        if let (Ok(h), Some(hash)) = (
                            h.parse::<u64>(),
                            hex::decode(hash)
                                .ok()
                                .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok()),
                        ) {
                            s.base_height = h;
                            s.base_hash = hash;
                        }
                    }
                    (Some("A"), Some(id), None) => {
                        if let Ok(id) = hex::decode(id) {
                            if let Ok(id) = <[u8; 32]>::try_from(id.as_slice()) {
                                *s.attempts.entry(id).or_default() += 1;
                            }
                        }
                    }
                    (Some("D"), Some(reference), Some(json)) => {
                        if let (Ok(reference), Ok(d)) = (
                            hex::decode(reference),
                            serde_json::from_str::<Delivery>(json),
                        ) {
                            // A delivery applied once is credited once, even if a
                            // second line for it reached the disk (a write whose sync
                            // failed, then the retry).
                            if s.applied.insert(d.message_id, reference).is_none() {
                                s.credits.push(d);
                            }
                        }
                    }
                    _ => {}
                }
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            if torn {
                use std::io::Write;
                file.write_all(b"\n")?;
                file.sync_data()?;
            }
            s.journal = Some(file);
        }
        Ok(chain)
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-written in a way that
        // matters for a mock, so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chain id.
    pub fn chain_id(&self) -> String {
        self.lock_state().chain_id.clone()
    }

    /// The validators' public keys, in index order.
    pub fn validator_keys(&self) -> Vec<[u8; 32]> {
        self.lock_state()
            .validators
            .iter()
            .map(|k| k.verifying_key().to_bytes())
            .collect()
    }

    /// Blocks stay non-final until this many blocks are built on top of them.
    pub fn set_finality_depth(&self, depth: u64) {
        self.lock_state().finality_depth = depth;
    }

    /// Make the chain misbehave (or stop, with the default).
    pub fn set_misbehaviour(&self, m: Misbehaviour) {
        self.lock_state().misbehaviour = m;
    }

    /// Lock an asset for a transfer to `destination`; the event is in the next block.
    pub fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) {
        let mut s = self.lock_state();
        let nonce = s.next_nonce;
        s.next_nonce += 1;
        s.pending.push(MockEvent {
            destination: destination.to_string(),
            sender: sender.to_string(),
            recipient: recipient.to_string(),
            asset: asset.to_string(),
            amount,
            nonce,
        });
    }

    /// Lock each of `locks` (destination, sender, recipient, asset, amount) and produce the
    /// block holding them, atomically (no other block can take them in between); returns the
    /// locators of these locks.
    pub fn lock_in_block(
        &self,
        locks: &[(String, String, String, String, u128)],
        time_ms: u64,
    ) -> Vec<Vec<u8>> {
        let mut s = self.lock_state();
        let before = s.pending.len();
        for (destination, sender, recipient, asset, amount) in locks {
            let nonce = s.next_nonce;
            s.next_nonce += 1;
            s.pending.push(MockEvent {
                destination: destination.clone(),
                sender: sender.clone(),
                recipient: recipient.clone(),
                asset: asset.clone(),
                amount: *amount,
                nonce,
            });
        }
        let (_, locators) = Self::produce_locked(&mut s, time_ms);
        locators.into_iter().skip(before).collect()
    }

    /// Produce a block of the pending events; returns its height and the locators of its events.
    pub fn produce_block(&self, time_ms: u64) -> (u64, Vec<Vec<u8>>) {
        let mut s = self.lock_state();
        Self::produce_locked(&mut s, time_ms)
    }

    fn produce_locked(s: &mut State, time_ms: u64) -> (u64, Vec<Vec<u8>>) {
        let events: Vec<Vec<u8>> = s.pending.drain(..).map(|e| e.encode()).collect();
        let mut tree = rfc6962::MerkleTree::new();
        for e in &events {
            tree.push(e);
        }
        let height = s.base_height + s.blocks.len() as u64 + 1;
        let prev_hash = s
            .blocks
            .last()
            .map_or(s.base_hash, |b| b.signed.header.hash());
        let header = MockHeader {
            chain_id: s.chain_id.clone(),
            height,
            prev_hash,
            events_root: tree.root(),
            event_count: events.len() as u64,
            time_ms,
        };
        let msg = vote_message(&header.hash());
        let signers = s.misbehaviour.signers.unwrap_or(s.validators.len());
        let signatures = s
            .validators
            .iter()
            .take(signers)
            .enumerate()
            .map(|(i, k)| (i as u64, k.sign(&msg).to_bytes()))
            .collect();
        let locators = (0..events.len() as u64)
            .map(|i| locator(height, i))
            .collect();
        let line = format!("B {height} {}", hex::encode(header.hash()));
        s.journal(&line);
        s.blocks.push(Block {
            signed: SignedHeader { header, signatures },
            events,
            tree,
        });
        (height, locators)
    }

    /// Whether a block's journal line could not be made durable (see `State::journal_failed`):
    /// the demo lock routes then refuse to lock on this chain.
    pub fn journal_failed(&self) -> bool {
        self.lock_state().journal_failed
    }

    /// Highest block height (0 before the first block).
    pub fn head(&self) -> u64 {
        let s = self.lock_state();
        s.base_height + s.blocks.len() as u64
    }

    /// Highest final block height.
    pub fn final_height(&self) -> u64 {
        let s = self.lock_state();
        (s.base_height + s.blocks.len() as u64).saturating_sub(s.finality_depth)
    }

    /// Native evidence for the event at `locator`, or `None` if there is no such event.
    pub fn evidence(&self, loc: &[u8]) -> Option<Evidence> {
        let (height, index) = decode_locator(loc).ok()?;
        let s = self.lock_state();
        let block = s.blocks.get(
            usize::try_from(height.checked_sub(s.base_height)?)
                .ok()?
                .checked_sub(1)?,
        )?;
        let event = block.events.get(usize::try_from(index).ok()?)?.clone();
        let size = block.events.len() as u64;
        let path = block.tree.inclusion_proof(index, size).ok()?;
        Some(Evidence {
            locator: loc.to_vec(),
            header: block.signed.encode(),
            proof: encode_proof(index, size, &path),
            event,
        })
    }

    /// Apply a delivery at most once per message id; a release past its deadline is refused.
    pub fn apply_delivery(&self, d: &Delivery) -> Result<Receipt, AdapterError> {
        self.apply_delivery_at(d, now_ms())
    }

    /// [`MockChain::apply_delivery`] with the chain's clock reading `now_ms`.
    pub fn apply_delivery_at(&self, d: &Delivery, now_ms: u64) -> Result<Receipt, AdapterError> {
        let mut out = self.apply_deliveries_at(std::slice::from_ref(d), now_ms);
        out.pop()
            .unwrap_or_else(|| Err(AdapterError::Unavailable("no delivery result".into())))
    }

    /// Apply several deliveries in one go, each exactly as [`MockChain::apply_delivery`]
    /// would, with one journal sync for all of them (before any result is returned).
    pub fn apply_deliveries(&self, ds: &[Delivery]) -> Vec<Result<Receipt, AdapterError>> {
        self.apply_deliveries_at(ds, now_ms())
    }

    /// [`MockChain::apply_deliveries`] with the chain's clock reading `now_ms`.
    pub fn apply_deliveries_at(
        &self,
        ds: &[Delivery],
        now_ms: u64,
    ) -> Vec<Result<Receipt, AdapterError>> {
        let mut s = self.lock_state();
        let mut out = Vec::with_capacity(ds.len());
        // The batch's journal lines, written with one call (and synced once if any delivery
        // was applied): a line per attempt, and one per applied delivery.
        let journaled = s.journal.is_some();
        let mut lines = Vec::with_capacity(if journaled { ds.len() * 256 } else { 0 });
        let mut wrote = false;
        // Applied in this batch: undone if the journal fails them.
        let mut fresh: Vec<[u8; 32]> = Vec::new();
        for d in ds {
            *s.attempts.entry(d.message_id).or_default() += 1;
            // Attempts are diagnostics: written, not synced (applied deliveries are synced).
            if journaled {
                lines.extend_from_slice(b"A ");
                push_hex(&mut lines, &d.message_id);
                lines.push(b'\n');
            }
            if s.misbehaviour.refuse_deliveries {
                out.push(Err(AdapterError::Unavailable(format!(
                    "{} refuses deliveries",
                    s.chain_id
                ))));
                continue;
            }
            if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
                out.push(Ok(r));
                continue;
            }
            if let Err(e) = crate::mock::check_deadline(d, now_ms) {
                out.push(Err(e));
                continue;
            }
            let reference =
                sha256(&[b"mock.delivery", &d.message_id, &[u8::from(d.refund)]]).to_vec();
            s.applied.insert(d.message_id, reference.clone());
            s.credits.push(d.clone());
            fresh.push(d.message_id);
            if journaled {
                let start = lines.len();
                lines.extend_from_slice(b"D ");
                push_hex(&mut lines, &reference);
                lines.push(b' ');
                if write_delivery_json(&mut lines, d).is_ok() {
                    lines.push(b'\n');
                    wrote = true;
                } else {
                    lines.truncate(start);
                }
            }
            out.push(Ok(Receipt {
                reference,
                duplicate: false,
            }));
        }
        let durable = s.journal_bytes(&lines) && (!wrote || s.sync_journal());
        if !durable && !fresh.is_empty() {
            // Applied only in memory: after a restart the chain would not know them and would
            // apply them again. Undone, and answered as not applied (the hub retries).
            let undone: std::collections::HashSet<[u8; 32]> = fresh.into_iter().collect();
            for id in &undone {
                s.applied.remove(id);
            }
            // This batch's credits are the last ones pushed.
            s.credits.pop_last(undone.len());
            // Every answer for an undone id: a second copy in the batch was answered as a
            // duplicate of the first.
            for (slot, d) in out.iter_mut().zip(ds) {
                if undone.contains(&d.message_id) {
                    *slot = Err(AdapterError::Unavailable(format!(
                        "{}: its journal failed; not applied",
                        s.chain_id
                    )));
                }
            }
        }
        out
    }

    /// The receipt of `message_id` if it was applied.
    pub fn applied(&self, message_id: &[u8; 32]) -> Option<Receipt> {
        crate::mock::applied_receipt(&self.lock_state().applied, message_id)
    }

    /// How many times a delivery of `message_id` reached this chain (applied, duplicate,
    /// refused or expired): a hub that delivers exactly once calls it once per message,
    /// more only when it could not know an earlier attempt had landed.
    pub fn delivery_attempts(&self, message_id: &[u8; 32]) -> u64 {
        self.lock_state()
            .attempts
            .get(message_id)
            .copied()
            .unwrap_or(0)
    }

    /// Every delivery applied, in order (each message id at most once).
    pub fn credits(&self) -> Vec<Delivery> {
        self.lock_state().credits.all()
    }
}

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal's delivery lines are read back with `serde_json`: the direct writer must
    /// write exactly its bytes, escapes, extremes and all.
    #[test]
    fn delivery_lines_are_serde_jsons_bytes() {
        let names = [
            "r",
            "",
            "quote \" and backslash \\ inside",
            "control \u{1} \n \t \u{1f} and \u{7f}",
            "unicode 北京 café 😀",
            "0xabcdef0123456789",
        ];
        let mut n = 0u8;
        for account in names {
            for asset in ["CNY", "a\"b", "\u{0}"] {
                for (amount, height, deadline) in [
                    (0u128, 0u64, 0u64),
                    (1, 7, 1_764_800_000_000),
                    (u128::MAX, u64::MAX, u64::MAX),
                ] {
                    n = n.wrapping_add(37);
                    let mut id = [0u8; 32];
                    for (i, b) in id.iter_mut().enumerate() {
                        *b = n.wrapping_mul(i as u8).wrapping_add(i as u8);
                    }
                    id[0] = 0;
                    id[31] = 255;
                    let d = Delivery {
                        message_id: id,
                        refund: n.is_multiple_of(2),
                        account: account.to_string(),
                        asset: asset.to_string(),
                        amount,
                        refchain_height: height,
                        deadline_ms: deadline,
                    };
                    let mut direct = b"prefix ".to_vec();
                    write_delivery_json(&mut direct, &d).expect("written");
                    let expected = serde_json::to_vec(&d).expect("serde_json");
                    assert_eq!(
                        String::from_utf8_lossy(&direct[7..]),
                        String::from_utf8_lossy(&expected)
                    );
                    let back: Delivery = serde_json::from_slice(&direct[7..]).expect("parses");
                    assert_eq!(back, d);
                }
            }
        }
    }

    /// Deliveries journaled by one chain are there, once each, when the chain is reopened.
    #[test]
    fn journaled_deliveries_survive_a_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("chain.journal");
        let ds: Vec<Delivery> = (0u8..20)
            .map(|i| Delivery {
                message_id: [i; 32],
                refund: i.is_multiple_of(5),
                account: format!("acct \"{i}\""),
                asset: "CNY".into(),
                amount: u128::from(i) * 1_000_000_000_000_000_000_000,
                refchain_height: u64::from(i),
                deadline_ms: u64::MAX,
            })
            .collect();
        {
            let chain = MockChain::open("mock-j", 4, &path).expect("open");
            let receipts = chain.apply_deliveries_at(&ds, 0);
            assert!(receipts.iter().all(Result::is_ok));
        }
        let chain = MockChain::open("mock-j", 4, &path).expect("reopen");
        assert_eq!(chain.credits(), ds);
        for d in &ds {
            assert_eq!(chain.delivery_attempts(&d.message_id), 1);
            assert!(chain.applied(&d.message_id).is_some());
        }
    }

    /// A journal with a foreign byte in it and a last line torn by a crash still gives the
    /// chain its blocks (it used to be skipped whole: the chain started again at height 1 and
    /// issued its earlier blocks' positions a second time), and what is appended after the
    /// torn line is read at the next open.
    #[test]
    fn a_torn_or_foreign_line_does_not_lose_the_journal() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("chain.journal");
        {
            let chain = MockChain::open("mock-t", 4, &path).expect("open");
            for t in 0..3 {
                chain.lock("b", "s", "r", "CNY", 1);
                chain.produce_block(t);
            }
            assert_eq!(chain.head(), 3);
        }
        {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .expect("append");
            f.write_all(b"X \xff\xfe foreign\nB 4 ab").expect("write");
        }
        let chain = MockChain::open("mock-t", 4, &path).expect("reopen");
        assert_eq!(
            chain.head(),
            3,
            "the blocks before the foreign line are kept"
        );
        chain.lock("b", "s", "r", "CNY", 1);
        let (h, _) = chain.produce_block(9);
        assert_eq!(h, 4);
        drop(chain);
        let chain = MockChain::open("mock-t", 4, &path).expect("reopen again");
        assert_eq!(chain.head(), 4, "the block after the torn line is read");
    }

    /// A delivery batch whose journal cannot be written is not applied (after a restart the
    /// chain would not know it and apply it again): every answer for it, a second copy in the
    /// batch too, is an error, and nothing is credited. A second journal line for one delivery
    /// (a write whose sync failed, then the retry) credits it once.
    #[test]
    fn deliveries_the_journal_does_not_hold_are_not_applied() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("chain.journal");
        let d = |i: u8| Delivery {
            message_id: [i; 32],
            refund: false,
            account: "bob".into(),
            asset: "CNY".into(),
            amount: 5,
            refchain_height: 1,
            deadline_ms: u64::MAX,
        };
        let chain = MockChain::open("mock-r", 4, &path).expect("open");
        // A journal that refuses writes (opened read-only).
        chain.lock_state().journal = Some(std::fs::File::open(&path).expect("read-only"));
        let out = chain.apply_deliveries_at(&[d(1), d(2), d(1)], 0);
        assert!(out.iter().all(Result::is_err), "{out:?}");
        assert!(chain.credits().is_empty());
        assert!(chain.applied(&[1; 32]).is_none());
        drop(chain);
        // Two lines for one delivery: credited once.
        let chain = MockChain::open("mock-r", 4, &path).expect("reopen");
        assert_eq!(chain.apply_deliveries_at(&[d(3)], 0).len(), 1);
        drop(chain);
        let text = std::fs::read_to_string(&path).expect("journal");
        let line = text
            .lines()
            .find(|l| l.starts_with("D "))
            .expect("a delivery line")
            .to_string();
        std::fs::write(&path, format!("{text}{line}\n")).expect("write");
        let chain = MockChain::open("mock-r", 4, &path).expect("reopen");
        assert_eq!(chain.credits(), vec![d(3)]);
    }

    /// A block whose journal line cannot be written leaves the chain refusing locks (the
    /// block would not survive a restart, and its positions would be issued again).
    #[test]
    fn a_chain_whose_journal_fails_takes_no_more_locks() {
        use crate::demo::DemoChain;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("chain.journal");
        let chain = MockChain::open("mock-f", 4, &path).expect("open");
        DemoChain::lock(&chain, "b", "s", "r", "CNY", 1).expect("a durable lock");
        assert!(!chain.journal_failed());
        chain.lock_state().journal = Some(std::fs::File::open(&path).expect("read-only"));
        let e = DemoChain::lock(&chain, "b", "s", "r", "CNY", 1).expect_err("not durable");
        assert!(e.to_string().contains("journal"), "{e}");
        assert!(DemoChain::lock_batch(&chain, "b", "s", "r", "CNY", 1, 3).is_err());
    }
}
