//! A mock XuperChain chain producing the native encodings: `MakeBlockID` block ids signed by
//! P-256 proposers rotating over the validators (one block each, tdpos-style), several
//! transactions per block under XuperChain's nil-padded merkle tree
//! (`meridian_proofs::xuper::Tree`), lock transactions calling the bridge contract, evidence
//! carrying descendant blocks. It can misbehave (proposers limited to a few validators) and
//! applies each delivery once.

use super::{
    address, block_id, encode_locator, pubkey_json, InvokeRequest, XuperAdapter, XuperBlock,
    XuperConfig, XuperHeader, XuperNode, XuperProof, XuperTx, LOCK_METHOD, RELEASE_METHOD,
};
use crate::conformance::ConformanceChain;
use crate::mock::now_ms;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};
use meridian_proofs::hash::{dsha256, sha256, Hash32};
use meridian_proofs::xuper::Tree;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// How the next blocks misbehave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Only the first `n` validators propose (below quorum when `n ≤ 2n/3`).
    pub proposers: Option<usize>,
}

#[derive(Debug, Clone)]
struct Block {
    header: XuperBlock,
    txs: Vec<Vec<u8>>,
}

#[derive(Debug)]
struct State {
    bcname: String,
    bridge: String,
    keys: Vec<SigningKey>,
    blocks: Vec<Block>,
    misbehaviour: Misbehaviour,
    locks: Vec<XuperTx>,
    applied: HashMap<[u8; 32], Vec<u8>>,
}

/// A mock XuperChain chain (a cheap, shared handle).
#[derive(Debug, Clone)]
pub struct XuperChain {
    inner: Arc<Mutex<State>>,
}

fn key(salt: &[u8], i: usize) -> Option<SigningKey> {
    (0u32..16).find_map(|c| {
        SigningKey::from_slice(&sha256(&[
            salt,
            &(i as u64).to_be_bytes(),
            &c.to_be_bytes(),
        ]))
        .ok()
    })
}

/// A user's address on the mock chain.
pub fn user_address(name: &str) -> String {
    key(name.as_bytes(), 0)
        .map(|k| address(k.verifying_key()))
        .unwrap_or_default()
}

impl XuperChain {
    /// The height of the newest block (0 before any).
    pub fn head_height(&self) -> u64 {
        (self.state().blocks.len() as u64).saturating_sub(1)
    }

    /// A chain `bcname` with `validators` P-256 validators whose keys derive from `key_salt`
    /// (same salt = same keys). Block 0 is produced at once.
    pub fn new(bcname: &str, key_salt: &[u8], validators: usize) -> Self {
        let keys = (0..validators).filter_map(|i| key(key_salt, i)).collect();
        let chain = XuperChain {
            inner: Arc::new(Mutex::new(State {
                bcname: bcname.into(),
                bridge: "meridian_bridge".into(),
                keys,
                blocks: vec![],
                misbehaviour: Misbehaviour::default(),
                locks: vec![],
                applied: HashMap::new(),
            })),
        };
        chain.produce_block(1_700_000_000_000_000_000);
        chain
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What an adapter of this chain trusts.
    pub fn config(&self) -> XuperConfig {
        let s = self.state();
        XuperConfig {
            bcname: s.bcname.clone(),
            validators: s
                .keys
                .iter()
                .map(|k| {
                    k.verifying_key()
                        .to_encoded_point(false)
                        .as_bytes()
                        .to_vec()
                })
                .collect(),
            genesis_id: s
                .blocks
                .first()
                .and_then(|b| block_id(&b.header).ok())
                .unwrap_or_default(),
            bridge: s.bridge.clone(),
        }
    }

    /// Set how the next blocks misbehave.
    pub fn set_misbehaviour(&self, m: Misbehaviour) {
        self.state().misbehaviour = m;
    }

    /// Queue a lock transaction for the next block.
    pub fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) {
        let mut s = self.state();
        let args: BTreeMap<String, String> = [
            ("destination", destination.to_string()),
            ("sender", sender.to_string()),
            ("recipient", recipient.to_string()),
            ("asset", asset.to_string()),
            ("amount", amount.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let nonce = format!("lock-{}-{}", s.blocks.len(), s.locks.len());
        let tx = XuperTx {
            desc: "meridian lock".into(),
            nonce,
            timestamp: 0,
            version: 1,
            contract_requests: vec![InvokeRequest {
                module_name: "wasm".into(),
                contract_name: s.bridge.clone(),
                method_name: LOCK_METHOD.into(),
                args,
            }],
            initiator: sender.into(),
            auth_require: vec![sender.into()],
        };
        s.locks.push(tx);
    }

    /// Produce the next block at `time_ns` holding the queued locks among filler transfers;
    /// returns the locks' locators.
    pub fn produce_block(&self, time_ns: i64) -> Vec<Vec<u8>> {
        let mut s = self.state();
        let height = s.blocks.len() as u64;
        let fillers = (height * 5 % 7 + 1) as usize;
        let mut txs: Vec<XuperTx> = (0..fillers)
            .map(|i| XuperTx {
                desc: format!("transfer {height}/{i}"),
                nonce: format!("{height}-{i}"),
                timestamp: time_ns,
                version: 1,
                contract_requests: vec![],
                initiator: format!("filler{i}"),
                auth_require: vec![],
            })
            .collect();
        let locks = std::mem::take(&mut s.locks);
        // Locks sit last in odd blocks (their proofs then meet nil siblings), mid-block else.
        let at = if height % 2 == 1 {
            fillers
        } else {
            fillers / 2
        };
        let mut locators = Vec::new();
        for (k, mut l) in locks.into_iter().enumerate() {
            l.timestamp = time_ns;
            txs.insert(at + k, l);
            locators.push(encode_locator(height, (at + k) as u32));
        }
        let encoded: Vec<Vec<u8>> = txs.iter().map(XuperTx::encode).collect();
        let ids: Vec<Hash32> = encoded.iter().map(|t| dsha256(&[t])).collect();
        let root = Tree::new(&ids).root().unwrap_or_default();
        let n = s.misbehaviour.proposers.unwrap_or(s.keys.len()).max(1);
        let Some(k) = s.keys.get(height as usize % n).cloned() else {
            return vec![];
        };
        let pre_hash = s
            .blocks
            .last()
            .map(|b| b.header.blockid.clone())
            .unwrap_or_default();
        let mut header = XuperBlock {
            version: 1,
            nonce: height as i32,
            tx_count: txs.len() as i32,
            proposer: address(k.verifying_key()),
            timestamp: time_ns,
            pubkey: pubkey_json(k.verifying_key()),
            pre_hash,
            merkle_root: hex::encode(root),
            cur_term: (height / 10) as i64,
            cur_block_num: (height % 10) as i64,
            height,
            blockid: String::new(),
            sign: String::new(),
        };
        sign(&mut header, &k);
        s.blocks.push(Block {
            header,
            txs: encoded,
        });
        locators
    }

    /// Evidence of the event at `locator`, carrying up to `descendants` later blocks.
    pub fn evidence(&self, locator: &[u8], descendants: usize) -> Option<Evidence> {
        let (height, index) = super::decode_locator(locator).ok()?;
        let s = self.state();
        let h = usize::try_from(height).ok()?;
        let b = s.blocks.get(h)?;
        let ids: Vec<Hash32> = b.txs.iter().map(|t| dsha256(&[t])).collect();
        let idx = usize::try_from(index).ok()?;
        let proof = Tree::new(&ids).proof(idx)?;
        let blocks = s
            .blocks
            .iter()
            .skip(h)
            .take(descendants + 1)
            .map(|b| b.header.clone())
            .collect();
        let header = XuperHeader {
            bcname: s.bcname.clone(),
            blocks,
        };
        let proof = XuperProof {
            index: u64::from(index),
            tx_count: ids.len() as u64,
            proof: proof.iter().map(|p| p.map(hex::encode)).collect(),
        };
        Some(Evidence {
            locator: locator.to_vec(),
            header: serde_json::to_vec(&header).ok()?,
            proof: serde_json::to_vec(&proof).ok()?,
            event: b.txs.get(idx)?.clone(),
        })
    }

    /// Header bytes (with `descendants` later blocks) of block `height`, for `verify_header`.
    pub fn header(&self, height: u64, descendants: usize) -> Option<Vec<u8>> {
        let s = self.state();
        let h = usize::try_from(height).ok()?;
        s.blocks.get(h)?;
        let blocks = s
            .blocks
            .iter()
            .skip(h)
            .take(descendants + 1)
            .map(|b| b.header.clone())
            .collect();
        serde_json::to_vec(&XuperHeader {
            bcname: s.bcname.clone(),
            blocks,
        })
        .ok()
    }

    /// An adapter trusting this chain, talking to it.
    pub fn adapter(&self) -> Result<XuperAdapter, AdapterError> {
        XuperAdapter::new(self.config(), Box::new(self.clone()))
    }
}

/// Fill in `blockid` and the proposer's signature.
pub fn sign(header: &mut XuperBlock, key: &SigningKey) {
    let id = block_id(header).unwrap_or_default();
    header.blockid = hex::encode(id);
    let sig: Option<Signature> = key.sign_prehash(&id).ok();
    header.sign = sig.map(|s| hex::encode(s.to_der())).unwrap_or_default();
}

impl XuperNode for XuperChain {
    fn send_release(&self, payload: &[u8], d: &Delivery) -> Result<Receipt, AdapterError> {
        let mut s = self.state();
        let call: InvokeRequest = serde_json::from_slice(payload)
            .map_err(|e| AdapterError::Unavailable(format!("bad invoke request: {e}")))?;
        if call.contract_name != s.bridge || call.method_name != RELEASE_METHOD {
            return Err(AdapterError::Unavailable(
                "the bridge contract refused: unknown method".into(),
            ));
        }
        if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
            return Ok(r);
        }
        let now = now_ms();
        crate::mock::check_deadline(d, now)?;
        let reference = dsha256(&[b"release-tx", payload]).to_vec();
        s.applied.insert(d.message_id, reference.clone());
        Ok(Receipt {
            reference,
            duplicate: false,
        })
    }

    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        Ok(crate::mock::applied_receipt(
            &self.state().applied,
            message_id,
        ))
    }
}

/// The conformance kit's chain: the real chain, an impostor with other keys, and another
/// chain (`<bcname>-other`) run by the same validator keys.
#[derive(Debug)]
pub struct XuperMock {
    /// The chain the adapter trusts.
    pub chain: XuperChain,
    impostor: XuperChain,
    other: XuperChain,
    time: i64,
}

impl XuperMock {
    /// A mock chain named `bcname` with 4 validators.
    pub fn new(bcname: &str) -> Self {
        XuperMock {
            chain: XuperChain::new(bcname, b"validator", 4),
            impostor: XuperChain::new(bcname, b"impostor", 4),
            other: XuperChain::new(&format!("{bcname}-other"), b"validator", 4),
            time: 1_700_000_000_000_000_000,
        }
    }

    fn lock_on(chain: &XuperChain, time: &mut i64, descendants: usize) -> Evidence {
        chain.lock("elsewhere", &user_address("alice"), "bob", "XUPER", 7);
        *time += 3_000_000_000;
        let locs = chain.produce_block(*time);
        for _ in 0..descendants {
            *time += 3_000_000_000;
            chain.produce_block(*time);
        }
        locs.first()
            .and_then(|l| chain.evidence(l, descendants))
            .unwrap_or_else(|| Evidence {
                locator: vec![],
                header: vec![],
                proof: vec![],
                event: vec![],
            })
    }
}

impl ConformanceChain for XuperMock {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(self.chain.adapter()?))
    }

    fn genuine(&mut self) -> Evidence {
        Self::lock_on(&self.chain, &mut self.time, 2)
    }

    fn forged_header(&mut self) -> Evidence {
        let mut ev = self.genuine();
        if let Ok(mut h) = serde_json::from_slice::<XuperHeader>(&ev.header) {
            if let Some(b) = h.blocks.first_mut() {
                b.timestamp += 1;
                b.blockid = block_id(b).map(hex::encode).unwrap_or_default();
            }
            ev.header = serde_json::to_vec(&h).unwrap_or_default();
        }
        ev
    }

    fn below_quorum(&mut self) -> Evidence {
        self.chain
            .set_misbehaviour(Misbehaviour { proposers: Some(2) });
        let ev = Self::lock_on(&self.chain, &mut self.time, 3);
        self.chain.set_misbehaviour(Misbehaviour::default());
        ev
    }

    fn unknown_validator(&mut self) -> Evidence {
        Self::lock_on(&self.impostor, &mut self.time, 2)
    }

    fn wrong_chain(&mut self) -> Evidence {
        Self::lock_on(&self.other, &mut self.time, 2)
    }

    fn non_final(&mut self) -> Evidence {
        Self::lock_on(&self.chain, &mut self.time, 0)
    }
}
