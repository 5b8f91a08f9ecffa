//! A mock EOSIO chain: round-robin K1 producers, action receipts, legacy or Savanna action
//! merkle, and the misbehaviours the conformance kit needs.

use super::codec::{encode_event, encode_headers, encode_locator, encode_proof, name, symbol};
use super::{
    schedule_hash, signed_digest, Action, ActionReceipt, BlockHeader, EosAdapter, EosConfig,
    EosNode, SignedHeader, Transfer,
};
use crate::conformance::ConformanceChain;
use crate::mock::now_ms;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};
use k256::ecdsa::SigningKey;
use meridian_proofs::eosio::{legacy_proof, legacy_root, savanna_proof, savanna_root};
use meridian_proofs::hash::{sha256, Hash32};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// How the next blocks misbehave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Only the first `n` producers take turns (below 2/3 when `n ≤ 2n/3`).
    pub producers: Option<usize>,
}

#[derive(Debug, Clone)]
struct Block {
    signed: SignedHeader,
    /// `(receipt, action)` in action-merkle order.
    actions: Vec<(ActionReceipt, Action)>,
}

#[derive(Debug)]
struct State {
    chain_id: String,
    eos_chain_id: Hash32,
    savanna: bool,
    names: Vec<u64>,
    keys: Vec<SigningKey>,
    blocks: Vec<Block>,
    global_seq: u64,
    misbehaviour: Misbehaviour,
    applied: HashMap<[u8; 32], Vec<u8>>,
}

impl State {
    fn producers(&self) -> Vec<(u64, [u8; 33])> {
        self.names
            .iter()
            .zip(&self.keys)
            .map(|(n, k)| {
                let mut out = [0u8; 33];
                out.copy_from_slice(k.verifying_key().to_encoded_point(true).as_bytes());
                (*n, out)
            })
            .collect()
    }
}

/// A mock EOSIO chain (a cheap, shared handle).
#[derive(Debug, Clone)]
pub struct EosChain {
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

/// The bridge account of the mock.
pub const BRIDGE: &str = "bridge";
/// The token contract of the mock.
pub const TOKEN: &str = "eosio.token";

fn n(s: &str) -> u64 {
    name(s).unwrap_or_default()
}

impl EosChain {
    /// The height of the newest block (0 before any).
    pub fn head_height(&self) -> u64 {
        self.state()
            .blocks
            .last()
            .map_or(0, |b| u64::from(b.signed.header.block_num()))
    }

    /// A chain `chain_id` whose genesis is `genesis_tag`, with `producers` producers named
    /// `<prefix>1…` whose keys derive from `key_salt`, legacy or Savanna merkle.
    pub fn new(
        chain_id: &str,
        genesis_tag: &str,
        prefix: &str,
        key_salt: &[u8],
        producers: usize,
        savanna: bool,
    ) -> Self {
        const DIGITS: &[u8] = b"12345abcdefghijklmnopqrstuvwxyz";
        let names = (0..producers)
            .map(|i| {
                let a = DIGITS[i / DIGITS.len() % DIGITS.len()] as char;
                let b = DIGITS[i % DIGITS.len()] as char;
                n(&format!("{prefix}{a}{b}"))
            })
            .collect();
        let keys = (0..producers).filter_map(|i| key(key_salt, i)).collect();
        let eos_chain_id = sha256(&[b"genesis", genesis_tag.as_bytes()]);
        // Block 1: as on EOS mainnet, its action_mroot is the chain id.
        let genesis = BlockHeader {
            timestamp: 1_000,
            producer: n("eosio"),
            confirmed: 1,
            action_mroot: eos_chain_id,
            ..BlockHeader::default()
        };
        EosChain {
            inner: Arc::new(Mutex::new(State {
                chain_id: chain_id.into(),
                eos_chain_id,
                savanna,
                names,
                keys,
                blocks: vec![Block {
                    signed: SignedHeader {
                        header: genesis,
                        sig: [0; 65],
                    },
                    actions: vec![],
                }],
                global_seq: 1,
                misbehaviour: Misbehaviour::default(),
                applied: HashMap::new(),
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What an adapter of this chain trusts.
    pub fn config(&self) -> EosConfig {
        let s = self.state();
        let g = s
            .blocks
            .first()
            .map(|b| b.signed.header.id())
            .unwrap_or_default();
        EosConfig {
            chain_id: s.chain_id.clone(),
            eos_chain_id: s.eos_chain_id,
            schedule_version: 1,
            producers: s.producers(),
            genesis: (1, g),
            bridge: n(BRIDGE),
            token: n(TOKEN),
            savanna: s.savanna,
        }
    }

    /// Set how the next blocks misbehave.
    pub fn set_misbehaviour(&self, m: Misbehaviour) {
        self.state().misbehaviour = m;
    }

    /// Produce a block holding some unrelated actions and, if `lock` is given, a transfer to
    /// the bridge `(from, quantity, symbol code, memo)`; returns the lock's locator.
    pub fn produce_block(&self, lock: Option<(&str, i64, &str, &str)>) -> Option<Vec<u8>> {
        let mut s = self.state();
        let prev = s.blocks.last()?.signed.header.clone();
        let num = prev.block_num() + 1;
        let mut actions = Vec::new();
        let mut push = |s: &mut State, receiver: u64, action: Action| {
            let receipt = ActionReceipt {
                receiver,
                act_digest: sha256(&[&action.encode()]),
                global_sequence: s.global_seq,
                recv_sequence: s.global_seq / 2 + 1,
                auth_sequence: action
                    .authorization
                    .iter()
                    .map(|(a, _)| (*a, s.global_seq))
                    .collect(),
                code_sequence: 1,
                abi_sequence: 1,
            };
            s.global_seq += 1;
            actions.push((receipt, action));
        };
        for i in 0..(u64::from(num) * 5 % 13) {
            let t = Transfer {
                from: n("alice"),
                to: n("carol"),
                amount: 100 + i as i64,
                symbol: symbol(4, "EOS"),
                memo: format!("noise {i}"),
            };
            let a = Action {
                account: n(TOKEN),
                name: n("transfer"),
                authorization: vec![(n("alice"), n("active"))],
                data: t.encode(),
            };
            push(&mut s, n(TOKEN), a);
        }
        let mut index = None;
        if let Some((from, amount, code, memo)) = lock {
            let t = Transfer {
                from: n(from),
                to: n(BRIDGE),
                amount,
                symbol: symbol(4, code),
                memo: memo.into(),
            };
            let a = Action {
                account: n(TOKEN),
                name: n("transfer"),
                authorization: vec![(n(from), n("active"))],
                data: t.encode(),
            };
            // The token's own receipt, then the bridge's notification (the lock).
            push(&mut s, n(TOKEN), a.clone());
            push(&mut s, n(BRIDGE), a);
        }
        if lock.is_some() {
            index = Some(actions.len() - 1);
        }
        let leaves: Vec<Hash32> = actions.iter().map(|(r, _)| r.digest()).collect();
        let mroot = if s.savanna {
            savanna_root(&leaves)
        } else {
            legacy_root(&leaves)
        };
        let producers = s.misbehaviour.producers.unwrap_or(s.names.len()).max(1);
        let k = num as usize % producers;
        let header = BlockHeader {
            timestamp: prev.timestamp + 1,
            producer: s.names[k % s.names.len()],
            confirmed: 0,
            previous: prev.id(),
            transaction_mroot: sha256(&[b"trx", &num.to_be_bytes()]),
            action_mroot: mroot,
            schedule_version: 1,
            extensions: vec![],
        };
        let sched = schedule_hash(1, &s.producers());
        let digest = signed_digest(&s.eos_chain_id, &header, &sched);
        let (sig, rid) = s.keys[k % s.keys.len()]
            .sign_prehash_recoverable(&digest)
            .ok()?;
        let mut out = [0u8; 65];
        out[0] = 31 + rid.to_byte();
        out[1..].copy_from_slice(&sig.to_bytes());
        s.blocks.push(Block {
            signed: SignedHeader { header, sig: out },
            actions,
        });
        let count = leaves.len() as u32;
        index.map(|i| encode_locator(num, i as u32, count))
    }

    /// Evidence of the action at `locator`, with `confirmations` following headers.
    pub fn evidence(&self, locator: &[u8], confirmations: usize) -> Option<Evidence> {
        let (num, index, _) = super::decode_locator(locator).ok()?;
        let s = self.state();
        let pos = usize::try_from(num).ok()?.checked_sub(1)?;
        let b = s.blocks.get(pos)?;
        let leaves: Vec<Hash32> = b.actions.iter().map(|(r, _)| r.digest()).collect();
        let i = index as usize;
        let proof = if s.savanna {
            savanna_proof(&leaves, i)?
        } else {
            legacy_proof(&leaves, i)?
        };
        let headers: Vec<SignedHeader> = s
            .blocks
            .get(pos..=pos + confirmations)?
            .iter()
            .map(|b| b.signed.clone())
            .collect();
        let (r, a) = b.actions.get(i)?;
        Some(Evidence {
            locator: locator.to_vec(),
            header: encode_headers(&headers),
            proof: encode_proof(&proof),
            event: encode_event(r, a),
        })
    }

    /// Lock, then build enough blocks on it; evidence with `confirmations` following headers.
    pub fn lock(&self, confirmations: usize) -> Option<Evidence> {
        let loc = self.produce_block(Some(("alice", 70_000, "EOS", "elsewhere:bob")))?;
        for _ in 0..confirmations {
            let _ = self.produce_block(None);
        }
        self.evidence(&loc, confirmations)
    }

    /// The adapter of this chain.
    pub fn adapter(&self) -> Result<EosAdapter, AdapterError> {
        EosAdapter::new(self.config(), Box::new(self.clone()))
    }

    /// Number of producers.
    pub fn producer_count(&self) -> usize {
        self.state().keys.len()
    }
}

impl EosNode for EosChain {
    fn push_action(&self, action: &[u8], d: &Delivery) -> Result<Receipt, AdapterError> {
        let mut r = super::Reader::new(action, "action");
        let a = Action::read(&mut r)?;
        r.finish()?;
        if a.account != n(BRIDGE) || a.name != n("release") {
            return Err(AdapterError::Unavailable(
                "the bridge contract refused: unknown action".into(),
            ));
        }
        let mut s = self.state();
        if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
            return Ok(r);
        }
        let now = now_ms();
        crate::mock::check_deadline(d, now)?;
        let reference = sha256(&[b"release-trx", action]).to_vec();
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

/// An EOS chain plus an impostor producer set and another chain on the same producer keys, for
/// the conformance kit.
#[derive(Debug)]
pub struct EosMock {
    /// The linked chain.
    pub chain: EosChain,
    impostor: EosChain,
    other: EosChain,
}

fn empty() -> Evidence {
    Evidence {
        locator: vec![],
        header: vec![],
        proof: vec![],
        event: vec![],
    }
}

impl EosMock {
    /// A chain with `producers` producers (4 or 21), legacy or Savanna merkle.
    pub fn new(chain_id: &str, producers: usize, savanna: bool) -> Self {
        EosMock {
            chain: EosChain::new(chain_id, chain_id, "prod", b"producer", producers, savanna),
            impostor: EosChain::new(chain_id, chain_id, "fake", b"impostor", producers, savanna),
            // Another chain (other genesis, so other chain id), the very same producers.
            other: EosChain::new(
                &format!("{chain_id}-other"),
                &format!("{chain_id}-other"),
                "prod",
                b"producer",
                producers,
                savanna,
            ),
        }
    }

    fn quorum(&self) -> usize {
        self.chain.producer_count() * 2 / 3 + 1
    }
}

impl ConformanceChain for EosMock {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(self.chain.adapter()?))
    }

    fn genuine(&mut self) -> Evidence {
        let q = self.quorum();
        self.chain.lock(q - 1).unwrap_or_else(empty)
    }

    fn forged_header(&mut self) -> Evidence {
        let mut ev = self.genuine();
        if let Ok(mut hs) = super::decode_headers(&ev.header) {
            if let Some(first) = hs.first_mut() {
                first.header.timestamp += 1;
            }
            ev.header = encode_headers(&hs);
        }
        ev
    }

    fn below_quorum(&mut self) -> Evidence {
        let q = self.quorum();
        self.chain.set_misbehaviour(Misbehaviour {
            producers: Some(q - 1),
        });
        // Plenty of following blocks, but only q-1 distinct producers.
        let ev = self.chain.lock(2 * q).unwrap_or_else(empty);
        self.chain.set_misbehaviour(Misbehaviour::default());
        ev
    }

    fn unknown_validator(&mut self) -> Evidence {
        let q = self.quorum();
        self.impostor.lock(q - 1).unwrap_or_else(empty)
    }

    fn wrong_chain(&mut self) -> Evidence {
        let q = self.quorum();
        self.other.lock(q - 1).unwrap_or_else(empty)
    }

    fn non_final(&mut self) -> Evidence {
        // Just produced: fewer blocks on it than the 2/3 rule needs.
        let q = self.quorum();
        self.chain.lock(q.saturating_sub(2)).unwrap_or_else(empty)
    }
}
