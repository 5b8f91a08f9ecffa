//! A mock FISCO BCOS 2.x group producing the native encodings: 13-field header RLP signed by
//! secp256k1 sealers (`sigList`), 7-field receipt RLP with ABI logs, the 16-ary receipts tree
//! (`meridian_proofs::fisco::V2Tree`) and receipt proofs in the RPC's shape. It can misbehave
//! (too few signers, a block still collecting signatures) and applies each delivery once.

use super::codec::{abi_encode, addr_word, encode_locator, encode_proof, word, Abi, LogEntry};
use super::{
    chain_tag, node_id, sig_hash, FiscoAdapter, FiscoConfig, FiscoNode, ReceiptV2, Sig65,
    SignedHeader, LOCK_EVENT, RELEASE_FN,
};
use crate::conformance::ConformanceChain;
use crate::mock::now_ms;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};
use k256::ecdsa::SigningKey;
use meridian_proofs::fisco::{FiscoHash, HeaderV2, V2Tree};
use meridian_proofs::hash::{sha256, Hash32};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

const ALG: FiscoHash = FiscoHash::Keccak256;

/// How the next blocks misbehave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Only the first `n` sealers sign (below quorum when `n < 2f+1`).
    pub signers: Option<usize>,
    /// The block is proposed but its commit signatures are not collected: empty `sigList`,
    /// not counted in `getBlockNumber`.
    pub pending: bool,
}

#[derive(Debug, Clone)]
struct Block {
    signed: SignedHeader,
    receipts: Vec<Vec<u8>>,
}

#[derive(Debug, Clone)]
struct PendingLock {
    destination: String,
    sender: [u8; 20],
    recipient: String,
    asset: String,
    amount: u128,
}

#[derive(Debug)]
struct State {
    chain_id: String,
    fisco_chain_id: u64,
    group_id: u64,
    keys: Vec<SigningKey>,
    bridge: [u8; 20],
    blocks: Vec<Block>,
    committed: u64,
    misbehaviour: Misbehaviour,
    locks: Vec<PendingLock>,
    applied: HashMap<[u8; 32], Vec<u8>>,
}

/// A mock FISCO BCOS 2.x group (a cheap, shared handle).
#[derive(Debug, Clone)]
pub struct FiscoChain {
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

impl FiscoChain {
    /// The height of the newest block (0 before any).
    pub fn head_height(&self) -> u64 {
        (self.state().blocks.len() as u64).saturating_sub(1)
    }

    /// A group `group_id` of FISCO chain `fisco_chain_id`, with `sealers` sealers whose keys
    /// derive from `key_salt` (same salt = same nodes).
    pub fn new(
        chain_id: &str,
        fisco_chain_id: u64,
        group_id: u64,
        key_salt: &[u8],
        sealers: usize,
    ) -> Self {
        let keys: Vec<SigningKey> = (0..sealers).filter_map(|i| key(key_salt, i)).collect();
        let mut bridge = [0u8; 20];
        bridge.copy_from_slice(&sha256(&[b"bridge", chain_id.as_bytes()])[..20]);
        let genesis = HeaderV2 {
            logs_bloom: vec![0; 256],
            gas_limit: 300_000_000,
            extra_data: vec![chain_tag(fisco_chain_id, group_id)],
            sealer_list: keys
                .iter()
                .map(|k| node_id(k.verifying_key()).to_vec())
                .collect(),
            ..HeaderV2::default()
        };
        FiscoChain {
            inner: Arc::new(Mutex::new(State {
                chain_id: chain_id.to_string(),
                fisco_chain_id,
                group_id,
                keys,
                bridge,
                blocks: vec![Block {
                    signed: SignedHeader {
                        header: genesis,
                        sigs: vec![],
                    },
                    receipts: vec![],
                }],
                committed: 0,
                misbehaviour: Misbehaviour::default(),
                locks: vec![],
                applied: HashMap::new(),
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What an adapter of this group trusts.
    pub fn config(&self) -> FiscoConfig {
        let s = self.state();
        FiscoConfig {
            chain_id: s.chain_id.clone(),
            fisco_chain_id: s.fisco_chain_id,
            group_id: s.group_id,
            alg: ALG,
            sealers: s.keys.iter().map(|k| node_id(k.verifying_key())).collect(),
            genesis_hash: s
                .blocks
                .first()
                .map(|b| b.signed.header.hash(ALG))
                .unwrap_or_default(),
            bridge: s.bridge,
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
        sender: [u8; 20],
        recipient: &str,
        asset: &str,
        amount: u128,
    ) {
        self.state().locks.push(PendingLock {
            destination: destination.into(),
            sender,
            recipient: recipient.into(),
            asset: asset.into(),
            amount,
        });
    }

    /// Seal a block holding some unrelated transactions and the queued locks; returns the
    /// locators of its lock events.
    pub fn produce_block(&self, time_ms: u64) -> Vec<Vec<u8>> {
        let mut s = self.state();
        let number = s.blocks.len() as u64;
        let parent = s
            .blocks
            .last()
            .map(|b| b.signed.header.hash(ALG))
            .unwrap_or_default();
        let topic = sig_hash(ALG, LOCK_EVENT);
        let transfer = sig_hash(ALG, "Transfer(address,address,uint256)");
        let mut receipts = Vec::new();
        // Unrelated transactions first, so locks sit at varied indices (some past 16).
        for i in 0..(number * 7 % 20) {
            receipts.push(ReceiptV2 {
                state_root: sha256(&[b"state", &number.to_be_bytes(), &i.to_be_bytes()]),
                gas_used: 21_000 + i,
                contract_address: [0; 20],
                bloom: vec![0; 256],
                status: 0,
                output: vec![],
                logs: vec![],
            });
        }
        let mut locators = Vec::new();
        let locks = std::mem::take(&mut s.locks);
        for l in locks {
            let data = abi_encode(&[
                Abi::Str(l.destination.into_bytes()),
                Abi::Word(addr_word(&l.sender)),
                Abi::Str(l.recipient.into_bytes()),
                Abi::Str(l.asset.into_bytes()),
                Abi::Word(word(l.amount)),
            ]);
            let token = [0x70; 20];
            receipts.push(ReceiptV2 {
                state_root: sha256(&[b"state", &number.to_be_bytes(), &data]),
                gas_used: 60_000,
                contract_address: [0; 20],
                bloom: vec![0; 256],
                status: 0,
                output: vec![],
                logs: vec![
                    // The token moving into the bridge, then the bridge's event.
                    LogEntry {
                        address: token,
                        topics: vec![transfer, addr_word(&l.sender), addr_word(&s.bridge)],
                        data: word(l.amount).to_vec(),
                    },
                    LogEntry {
                        address: s.bridge,
                        topics: vec![topic],
                        data,
                    },
                ],
            });
            locators.push(encode_locator(number, receipts.len() as u64 - 1, 1));
        }
        let receipts: Vec<Vec<u8>> = receipts.iter().map(ReceiptV2::rlp).collect();
        let rhashes: Vec<Hash32> = receipts.iter().map(|r| ALG.digest(&[r])).collect();
        let thashes: Vec<Hash32> = rhashes.iter().map(|h| ALG.digest(&[b"tx", h])).collect();
        let n = s.keys.len() as u64;
        let header = HeaderV2 {
            parent_hash: parent,
            state_root: sha256(&[b"state-root", &number.to_be_bytes()]),
            transactions_root: V2Tree::new(ALG, &thashes).root(),
            receipts_root: V2Tree::new(ALG, &rhashes).root(),
            db_hash: sha256(&[b"db", &number.to_be_bytes()]),
            logs_bloom: vec![0; 256],
            number,
            gas_limit: 300_000_000,
            gas_used: 21_000 * receipts.len() as u64,
            timestamp: time_ms,
            extra_data: vec![chain_tag(s.fisco_chain_id, s.group_id)],
            sealer: if n == 0 { 0 } else { number % n },
            sealer_list: s
                .keys
                .iter()
                .map(|k| node_id(k.verifying_key()).to_vec())
                .collect(),
        };
        let hash = header.hash(ALG);
        let m = s.misbehaviour;
        let signers = if m.pending {
            0
        } else {
            m.signers.unwrap_or(s.keys.len())
        };
        let sigs = s
            .keys
            .iter()
            .take(signers)
            .enumerate()
            .filter_map(|(i, k)| {
                let (sig, recid) = k.sign_prehash_recoverable(&hash).ok()?;
                let mut out: Sig65 = [0; 65];
                out[..64].copy_from_slice(&sig.to_bytes());
                out[64] = recid.to_byte();
                Some((i as u64, out))
            })
            .collect();
        s.blocks.push(Block {
            signed: SignedHeader { header, sigs },
            receipts,
        });
        if !m.pending {
            s.committed = number;
        }
        locators
    }

    /// The evidence of the lock at `locator`.
    pub fn evidence(&self, locator: &[u8]) -> Option<Evidence> {
        let (number, tx, _) = super::decode_locator(locator).ok()?;
        let s = self.state();
        let b = s.blocks.get(usize::try_from(number).ok()?)?;
        let tx = usize::try_from(tx).ok()?;
        let hashes: Vec<Hash32> = b.receipts.iter().map(|r| ALG.digest(&[r])).collect();
        let levels = V2Tree::new(ALG, &hashes).proof(tx)?;
        Some(Evidence {
            locator: locator.to_vec(),
            header: b.signed.encode(),
            proof: encode_proof(&levels),
            event: b.receipts.get(tx)?.clone(),
        })
    }

    /// The adapter of this group.
    pub fn adapter(&self) -> Result<FiscoAdapter, AdapterError> {
        FiscoAdapter::new(self.config(), Box::new(self.clone()))
    }
}

impl FiscoNode for FiscoChain {
    fn block_number(&self) -> Result<u64, AdapterError> {
        Ok(self.state().committed)
    }

    fn send_release(&self, payload: &[u8], d: &Delivery) -> Result<Receipt, AdapterError> {
        let mut s = self.state();
        if !payload.starts_with(&sig_hash(ALG, RELEASE_FN)[..4]) {
            return Err(AdapterError::Unavailable(
                "the bridge contract reverted: unknown function".into(),
            ));
        }
        if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
            return Ok(r);
        }
        let now = now_ms();
        crate::mock::check_deadline(d, now)?;
        let reference = ALG.digest(&[b"release-tx", payload]).to_vec();
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

/// A FISCO group with an impostor sealer set and a second group on the same nodes, for the
/// conformance kit.
#[derive(Debug)]
pub struct FiscoMock {
    /// The linked group.
    pub chain: FiscoChain,
    impostor: FiscoChain,
    other: FiscoChain,
    time: u64,
}

impl FiscoMock {
    /// A 4-sealer group 1 of FISCO chain 1, named `chain_id` in Meridian.
    pub fn new(chain_id: &str) -> Self {
        FiscoMock {
            chain: FiscoChain::new(chain_id, 1, 1, b"sealer", 4),
            impostor: FiscoChain::new(chain_id, 1, 1, b"impostor", 4),
            // Group 2 on the very same nodes: validly signed by the trusted keys.
            other: FiscoChain::new(&format!("{chain_id}-g2"), 1, 2, b"sealer", 4),
            time: 1_700_000_000_000,
        }
    }

    fn lock_on(chain: &FiscoChain, time: &mut u64) -> Evidence {
        chain.lock("elsewhere", [0xa1; 20], "bob", "USDT", 7);
        *time += 1000;
        chain
            .produce_block(*time)
            .first()
            .and_then(|l| chain.evidence(l))
            .unwrap_or_else(|| Evidence {
                locator: vec![],
                header: vec![],
                proof: vec![],
                event: vec![],
            })
    }
}

impl ConformanceChain for FiscoMock {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(self.chain.adapter()?))
    }

    fn genuine(&mut self) -> Evidence {
        Self::lock_on(&self.chain, &mut self.time)
    }

    fn forged_header(&mut self) -> Evidence {
        let mut ev = self.genuine();
        if let Ok(mut sh) = SignedHeader::decode(&ev.header) {
            sh.header.timestamp += 1;
            ev.header = sh.encode();
        }
        ev
    }

    fn below_quorum(&mut self) -> Evidence {
        self.chain.set_misbehaviour(Misbehaviour {
            signers: Some(2),
            pending: false,
        });
        let ev = self.genuine();
        self.chain.set_misbehaviour(Misbehaviour::default());
        ev
    }

    fn unknown_validator(&mut self) -> Evidence {
        Self::lock_on(&self.impostor, &mut self.time)
    }

    fn wrong_chain(&mut self) -> Evidence {
        Self::lock_on(&self.other, &mut self.time)
    }

    fn non_final(&mut self) -> Evidence {
        self.chain.set_misbehaviour(Misbehaviour {
            signers: None,
            pending: true,
        });
        let ev = self.genuine();
        self.chain.set_misbehaviour(Misbehaviour::default());
        ev
    }
}
