//! A mock clique network producing real Ethereum encodings: 16-field (London) headers sealed
//! by N secp256k1 signers in turn, receipts with logs and blooms, the receipts trie built with
//! `meridian_proofs::eth::Trie`, `Lock` events of a bridge contract, deliveries applied once
//! per message id, and misbehaviour on request.

use super::abi::{self, LockData};
use super::clique::{self, Address};
use super::receipt::{encode_receipt, logs_bloom, receipt_logs, Log};
use super::{
    encode_header_list, encode_proof_nodes, locator, EthereumAdapter, EthereumConfig, EthereumNode,
};
use crate::conformance::ConformanceChain;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};
use k256::ecdsa::SigningKey;
use meridian_proofs::eth::{Trie, EMPTY_TRIE_ROOT};
use meridian_proofs::hash::{keccak256, Hash32};
use rlp::RlpStream;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The 16 fields of a London-shape header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFields {
    /// parentHash.
    pub parent_hash: Hash32,
    /// coinbase (zero: no vote).
    pub coinbase: Address,
    /// stateRoot.
    pub state_root: Hash32,
    /// transactionsRoot.
    pub transactions_root: Hash32,
    /// receiptsRoot.
    pub receipts_root: Hash32,
    /// logsBloom.
    pub logs_bloom: [u8; 256],
    /// difficulty (clique: 2 in turn, 1 out of turn).
    pub difficulty: u64,
    /// number.
    pub number: u64,
    /// gasLimit.
    pub gas_limit: u64,
    /// gasUsed.
    pub gas_used: u64,
    /// timestamp.
    pub timestamp: u64,
    /// extraData: vanity ‖ (signers at genesis) ‖ seal.
    pub extra_data: Vec<u8>,
    /// baseFeePerGas.
    pub base_fee: u64,
}

/// keccak256(rlp([])): the uncles hash of a block without uncles.
fn empty_uncles() -> Hash32 {
    keccak256(&[&[0xc0]])
}

impl HeaderFields {
    /// go-ethereum's header RLP (mixHash and nonce zero, as clique sets them).
    pub fn encode(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(16);
        s.append(&self.parent_hash.as_slice());
        s.append(&empty_uncles().as_slice());
        s.append(&self.coinbase.as_slice());
        s.append(&self.state_root.as_slice());
        s.append(&self.transactions_root.as_slice());
        s.append(&self.receipts_root.as_slice());
        s.append(&self.logs_bloom.as_slice());
        s.append(&self.difficulty);
        s.append(&self.number);
        s.append(&self.gas_limit);
        s.append(&self.gas_used);
        s.append(&self.timestamp);
        s.append(&self.extra_data);
        s.append(&[0u8; 32].as_slice());
        s.append(&[0u8; 8].as_slice());
        s.append(&self.base_fee);
        s.out().to_vec()
    }
}

/// Ways the mock network can misbehave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EthMisbehaviour {
    /// Seal every block with the first signer (below the distinct-signer quorum).
    pub single_signer: bool,
    /// Leave confirmations out of evidence (the block is not final).
    pub withhold_confirmations: bool,
}

#[derive(Debug, Clone)]
struct Block {
    fields: HeaderFields,
    rlp: Vec<u8>,
    hash: Hash32,
    trie: Trie,
    receipts: Vec<Vec<u8>>,
}

#[derive(Debug)]
struct State {
    chain_id: String,
    eip155: u64,
    keys: Vec<SigningKey>,
    bridge: Address,
    genesis: Vec<u8>,
    genesis_hash: Hash32,
    blocks: Vec<Block>,
    pending: Vec<LockData>,
    next_nonce: u128,
    misbehaviour: EthMisbehaviour,
    applied: HashMap<[u8; 32], Vec<u8>>,
    credits: Vec<Delivery>,
}

/// A handle to one mock clique network; clones share it.
#[derive(Debug, Clone)]
pub struct EthereumMock {
    inner: Arc<Mutex<State>>,
}

/// A deterministic secp256k1 key from `seed`.
fn key_from(seed: &[&[u8]]) -> SigningKey {
    (0u32..)
        .find_map(|c| {
            SigningKey::from_slice(&keccak256(&[seed.concat().as_slice(), &c.to_be_bytes()])).ok()
        })
        .expect("some keccak output is a valid scalar")
}

/// A deterministic account address for a name.
pub fn account(name: &str) -> Address {
    let h = keccak256(&[name.as_bytes()]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

const GENESIS_TIME: u64 = 1_700_000_000;
const GAS_LIMIT: u64 = 30_000_000;

impl EthereumMock {
    /// The height of the newest block (0 before any).
    pub fn head_height(&self) -> u64 {
        self.lock_state()
            .blocks
            .last()
            .map_or(0, |b| b.fields.number)
    }

    /// A network `chain_id` (EIP-155 id `eip155`) sealed by `signers` deterministic keys.
    pub fn new(chain_id: &str, eip155: u64, signers: usize) -> Self {
        Self::with_signer_salt(chain_id, eip155, signers, b"")
    }

    /// As [`EthereumMock::new`], with signer keys derived from `salt` (another salt: another
    /// signer set; the keys do not depend on the chain id).
    pub fn with_signer_salt(chain_id: &str, eip155: u64, signers: usize, salt: &[u8]) -> Self {
        let keys: Vec<SigningKey> = (0..signers.max(1) as u64)
            .map(|i| key_from(&[b"meridian.eth.signer", salt, &i.to_be_bytes()]))
            .collect();
        let mut extra = keccak256(&[b"meridian.eth.genesis", &eip155.to_be_bytes()]).to_vec();
        for k in &keys {
            extra.extend_from_slice(&clique::address(k.verifying_key()));
        }
        extra.extend_from_slice(&[0u8; clique::SEAL]);
        let genesis = HeaderFields {
            parent_hash: [0; 32],
            coinbase: [0; 20],
            state_root: keccak256(&[b"genesis state", chain_id.as_bytes()]),
            transactions_root: EMPTY_TRIE_ROOT,
            receipts_root: EMPTY_TRIE_ROOT,
            logs_bloom: [0; 256],
            difficulty: 1,
            number: 0,
            gas_limit: GAS_LIMIT,
            gas_used: 0,
            timestamp: GENESIS_TIME,
            extra_data: extra,
            base_fee: 1_000_000_000,
        }
        .encode();
        EthereumMock {
            inner: Arc::new(Mutex::new(State {
                chain_id: chain_id.to_string(),
                eip155,
                keys,
                bridge: account("meridian bridge contract"),
                genesis_hash: keccak256(&[&genesis]),
                genesis,
                blocks: Vec::new(),
                pending: Vec::new(),
                next_nonce: 0,
                misbehaviour: EthMisbehaviour::default(),
                applied: HashMap::new(),
                credits: Vec::new(),
            })),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The genesis header's RLP.
    pub fn genesis(&self) -> Vec<u8> {
        self.lock_state().genesis.clone()
    }

    /// The authorized signer addresses.
    pub fn signers(&self) -> Vec<Address> {
        self.lock_state()
            .keys
            .iter()
            .map(|k| clique::address(k.verifying_key()))
            .collect()
    }

    /// The config an adapter of this network trusts (from its genesis).
    pub fn config(&self) -> Result<EthereumConfig, AdapterError> {
        let s = self.lock_state();
        EthereumConfig::from_genesis(&s.chain_id, s.eip155, &s.genesis, s.bridge)
    }

    /// An adapter that trusts this network as its own node ([`super::Finality::Node`] with
    /// `confirmations`): clique seals are not checked, the mock's chain is canonical.
    pub fn node_adapter(&self, confirmations: u64) -> EthereumAdapter {
        let s = self.lock_state();
        let config = EthereumConfig::node(
            &s.chain_id,
            s.eip155,
            s.genesis_hash,
            s.bridge,
            confirmations,
        );
        drop(s);
        EthereumAdapter::new(config, Some(Box::new(self.clone())))
    }

    /// Evidence for the lock at `loc` with `children` headers after its block (as many as
    /// exist).
    pub fn evidence_with_children(&self, loc: &[u8], children: usize) -> Option<Evidence> {
        let (number, _, _) = super::decode_locator(loc).ok()?;
        let ev = self.evidence(loc)?;
        let s = self.lock_state();
        let idx = usize::try_from(number.checked_sub(1)?).ok()?;
        let end = (idx + 1 + children).min(s.blocks.len());
        let blocks = s.blocks.get(idx..end)?;
        let mut hs = RlpStream::new_list(blocks.len());
        for b in blocks {
            hs.append_raw(&b.rlp, 1);
        }
        Some(Evidence {
            header: hs.out().to_vec(),
            ..ev
        })
    }

    /// An adapter trusting this network, delivering to it.
    pub fn adapter(&self) -> Result<EthereumAdapter, AdapterError> {
        Ok(EthereumAdapter::new(
            self.config()?,
            Some(Box::new(self.clone())),
        ))
    }

    /// Set (or clear, with the default) misbehaviour.
    pub fn set_misbehaviour(&self, m: EthMisbehaviour) {
        self.lock_state().misbehaviour = m;
    }

    /// Queue a lock by `sender` on the bridge, for the next block.
    pub fn lock(
        &self,
        destination: &str,
        sender: Address,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) {
        let mut s = self.lock_state();
        let chain_id = u128::from(s.eip155);
        let nonce = s.next_nonce;
        s.next_nonce += 1;
        s.pending.push(LockData {
            chain_id,
            nonce,
            destination: destination.to_string(),
            sender,
            recipient: recipient.to_string(),
            asset: asset.to_string(),
            amount,
        });
    }

    /// Seal a block of the pending locks (each in its own type-2 transaction after a legacy
    /// transfer, its Lock log after an unrelated token log); returns its number and locators.
    pub fn produce_block(&self) -> Result<(u64, Vec<Vec<u8>>), AdapterError> {
        let mut s = self.lock_state();
        let number = s.blocks.len() as u64 + 1;
        let parent_hash = s.blocks.last().map_or(s.genesis_hash, |b| b.hash);
        let mut receipts = Vec::new();
        let mut all_logs = Vec::new();
        let mut locators = Vec::new();
        let mut gas = 21_000u64;
        receipts.push(encode_receipt(0, true, gas, &[]));
        let topic = abi::lock_topic();
        let pending: Vec<LockData> = s.pending.drain(..).collect();
        for (i, lock) in pending.into_iter().enumerate() {
            let token_log = Log {
                address: account("some token"),
                topics: vec![keccak256(&[b"Transfer(address,address,uint256)"])],
                data: lock.amount.to_be_bytes().to_vec(),
            };
            let lock_log = Log {
                address: s.bridge,
                topics: vec![topic],
                data: lock.encode(),
            };
            gas += 60_000;
            let logs = [token_log, lock_log];
            receipts.push(encode_receipt(2, true, gas, &logs));
            all_logs.extend(logs);
            locators.push(locator(number, i as u64 + 1, 1));
        }
        let mut trie = Trie::new();
        let mut txs = Trie::new();
        for (i, r) in receipts.iter().enumerate() {
            let key = rlp::encode(&(i as u64));
            trie.insert(&key, r);
            txs.insert(&key, &keccak256(&[b"tx", &number.to_be_bytes(), &key]));
        }
        let n = s.keys.len() as u64;
        let signer = if s.misbehaviour.single_signer {
            0
        } else {
            number % n
        };
        let mut extra = vec![0u8; clique::VANITY];
        extra.extend_from_slice(&[0u8; clique::SEAL]);
        let mut fields = HeaderFields {
            parent_hash,
            coinbase: [0; 20],
            state_root: keccak256(&[b"state", &number.to_be_bytes(), s.chain_id.as_bytes()]),
            transactions_root: txs.root(),
            receipts_root: trie.root(),
            logs_bloom: logs_bloom(&all_logs),
            difficulty: if signer == number % n { 2 } else { 1 },
            number,
            gas_limit: GAS_LIMIT,
            gas_used: gas,
            timestamp: GENESIS_TIME + 5 * number,
            extra_data: extra,
            base_fee: 875_000_000,
        };
        let key = usize::try_from(signer)
            .ok()
            .and_then(|i| s.keys.get(i))
            .ok_or_else(|| AdapterError::Unavailable("no signer".into()))?;
        let seal = clique::seal(key, &fields.encode())?;
        fields.extra_data[clique::VANITY..].copy_from_slice(&seal);
        let rlp = fields.encode();
        s.blocks.push(Block {
            hash: keccak256(&[&rlp]),
            fields,
            rlp,
            trie,
            receipts,
        });
        Ok((number, locators))
    }

    /// Evidence for the lock at `loc` with every confirmation the chain has (none when
    /// withholding); `forge` changes the block's timestamp after sealing.
    fn evidence_with(&self, loc: &[u8], forge: bool) -> Option<Evidence> {
        let (number, tx, log) = super::decode_locator(loc).ok()?;
        let mut s = self.lock_state();
        let idx = usize::try_from(number.checked_sub(1)?).ok()?;
        let extra = if s.misbehaviour.withhold_confirmations {
            0
        } else {
            s.keys.len() / 2
        };
        let end = (idx + 1 + extra).min(s.blocks.len());
        let mut headers: Vec<Vec<u8>> = s
            .blocks
            .get(idx..end)?
            .iter()
            .map(|b| b.rlp.clone())
            .collect();
        let block = s.blocks.get_mut(idx)?;
        if forge {
            let mut f = block.fields.clone();
            f.timestamp += 1;
            headers[0] = f.encode();
        }
        let key = rlp::encode(&tx);
        let nodes = block.trie.proof(&key);
        let receipt = block.receipts.get(usize::try_from(tx).ok()?)?;
        let event = receipt_logs(receipt)
            .ok()?
            .get(usize::try_from(log).ok()?)?
            .clone();
        Some(Evidence {
            locator: loc.to_vec(),
            header: encode_header_list(&headers),
            proof: encode_proof_nodes(&nodes),
            event,
        })
    }

    /// Evidence for the lock at `loc`, or `None` if there is no such lock.
    pub fn evidence(&self, loc: &[u8]) -> Option<Evidence> {
        self.evidence_with(loc, false)
    }

    /// Lock, seal its block and the blocks that finalize it; the lock's evidence.
    pub fn lock_and_finalize(&self, forge: bool) -> Evidence {
        self.lock("elsewhere", account("alice"), "bob", "USDT", 7);
        let produced = self.produce_block();
        let confirmations = self.lock_state().keys.len() / 2;
        for _ in 0..confirmations {
            let _ = self.produce_block();
        }
        produced
            .ok()
            .and_then(|(_, locs)| locs.first().cloned())
            .and_then(|l| self.evidence_with(&l, forge))
            .unwrap_or_else(|| Evidence {
                locator: vec![],
                header: vec![],
                proof: vec![],
                event: vec![],
            })
    }

    /// Every delivery applied, in order.
    pub fn credits(&self) -> Vec<Delivery> {
        self.lock_state().credits.clone()
    }

    fn siblings(&self, salt: &[u8], other_chain: bool) -> EthereumMock {
        let s = self.lock_state();
        let (id, eip) = if other_chain {
            (format!("{}-other", s.chain_id), s.eip155 + 1)
        } else {
            (s.chain_id.clone(), s.eip155)
        };
        EthereumMock::with_signer_salt(&id, eip, s.keys.len(), salt)
    }
}

impl EthereumNode for EthereumMock {
    /// The mock's blocks are never reorganised: a release is final at once.
    fn submit(
        &self,
        d: &Delivery,
        calldata: &[u8],
        _confirmations: u64,
    ) -> Result<Receipt, AdapterError> {
        if calldata.get(..4) != Some(&abi::release_selector()[..]) {
            return Err(AdapterError::Unavailable("not a release call".into()));
        }
        let mut s = self.lock_state();
        if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
            return Ok(r);
        }
        let now = crate::mock::now_ms();
        crate::mock::check_deadline(d, now)?;
        let reference = keccak256(&[calldata]).to_vec();
        s.applied.insert(d.message_id, reference.clone());
        s.credits.push(d.clone());
        Ok(Receipt {
            reference,
            duplicate: false,
        })
    }

    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        Ok(crate::mock::applied_receipt(
            &self.lock_state().applied,
            message_id,
        ))
    }

    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.lock_state().blocks.len() as u64)
    }

    fn canonical_hash(&self, number: u64) -> Result<Option<Hash32>, AdapterError> {
        let s = self.lock_state();
        Ok(match number.checked_sub(1) {
            None => Some(s.genesis_hash),
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| s.blocks.get(i))
                .map(|b| b.hash),
        })
    }
}

impl ConformanceChain for EthereumMock {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(EthereumMock::adapter(self)?))
    }

    fn genuine(&mut self) -> Evidence {
        self.lock_and_finalize(false)
    }

    fn forged_header(&mut self) -> Evidence {
        self.lock_and_finalize(true)
    }

    fn below_quorum(&mut self) -> Evidence {
        self.set_misbehaviour(EthMisbehaviour {
            single_signer: true,
            ..EthMisbehaviour::default()
        });
        let ev = self.genuine();
        self.set_misbehaviour(EthMisbehaviour::default());
        ev
    }

    fn unknown_validator(&mut self) -> Evidence {
        self.siblings(b"impostor", false).lock_and_finalize(false)
    }

    fn wrong_chain(&mut self) -> Evidence {
        // Same signers, same bridge address, another EIP-155 id and genesis.
        self.siblings(b"", true).lock_and_finalize(false)
    }

    fn non_final(&mut self) -> Evidence {
        self.set_misbehaviour(EthMisbehaviour {
            withhold_confirmations: true,
            ..EthMisbehaviour::default()
        });
        let ev = self.genuine();
        self.set_misbehaviour(EthMisbehaviour::default());
        ev
    }
}
