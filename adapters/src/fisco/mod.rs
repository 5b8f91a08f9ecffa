//! The FISCO BCOS family: an adapter for FISCO BCOS 2.x groups (PBFT sealers, Keccak-256 +
//! secp256k1) and its mock chain.
//!
//! # Trust and finality
//! The adapter trusts a [`FiscoConfig`]: the group's genesis hash, its sealer node ids (64-byte
//! uncompressed secp256k1 public keys, `n = 3f+1`), the bridge contract and the chain's
//! identity tag. A block is final when `n − f` (= `2f+1`) distinct trusted sealers signed its
//! hash `keccak256(rlp(13-field header))` (PBFT commits are irreversible; a block still
//! collecting signatures — or beyond the node's committed `blockNumber` — is not final). A
//! signature counts only if its index names, in the header's `sealerList`, a node id of the
//! trusted set not already counted, and the 65-byte `r‖s‖v` signature recovers to that node id.
//! `verify_header` additionally links headers one by one from the genesis hash; `verify_event`
//! relies on the block's own quorum (PBFT has no forks) and the node's `getBlockNumber`. The
//! sealer set is static: rotations through the consensus precompile are not followed yet.
//!
//! # Chain identity
//! FISCO BCOS 2.x headers do not name their group, sealers sign only the block hash, and a
//! node uses one key in every group it serves: a block of another group on the same nodes is
//! validly signed. Meridian therefore requires every block of a linked group to carry its
//! identity tag `fisco:<chainId>/<groupId>` as an `extraData` item (set by the bridge's
//! sealers); a header without the configured tag is [`AdapterError::WrongChain`]. Another chain
//! with other sealers fails as [`AdapterError::UnknownValidator`].
//!
//! # Evidence
//! - `header`: `rlp([header13, [[sealerIndex, sig65], …]])` ([`SignedHeader`]);
//! - `proof`: the receipt proof of `getTransactionReceiptByHashWithProof`, `rlp([[[left…],
//!   [right…]], …])` ([`encode_proof`]), verified with `meridian_proofs::fisco::verify_v2`
//!   against the header's `receiptsRoot` (leaf `rlp(txIndex) ‖ keccak256(receiptRLP)`);
//! - `event`: the transaction receipt RLP ([`ReceiptV2`]);
//! - `locator`: `rlp([blockNumber, txIndex, logIndex])`; the log at `logIndex` must come from
//!   the bridge contract with the single topic
//!   `H("Locked(string,address,string,string,uint256)")` and ABI data
//!   `(destination, sender, recipient, asset, amount)` (amount must fit 128 bits); the
//!   receipt's status must be 0 (success).
//!
//! Deliveries are ABI calls of
//! `release(bytes32 messageId, bool refund, string account, string asset, uint256 amount,
//! uint64 refchainHeight, uint64 deadlineMs)` on the bridge contract.
//!
//! SM2/SM3 (guomi) chains: the proofs and header hash support SM3, but SM2 sealer signatures
//! are not verified yet — an SM3 configuration is refused with [`AdapterError::Unsupported`].

mod codec;
mod mock;

pub use codec::{
    abi_decode, abi_encode, decode_header, decode_locator, decode_proof, encode_locator,
    encode_proof, sig_hash, Abi, LogEntry, ReceiptV2, Sig65, SignedHeader,
};
pub use mock::{FiscoChain, FiscoMock, Misbehaviour};

use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use meridian_proofs::fisco::{verify_v2, FiscoHash, HeaderV2};
use meridian_proofs::hash::Hash32;
use std::collections::{BTreeSet, HashSet};

/// The bridge contract's lock event.
pub const LOCK_EVENT: &str = "Locked(string,address,string,string,uint256)";
/// The bridge contract's release function.
pub const RELEASE_FN: &str = "release(bytes32,bool,string,string,uint256,uint64,uint64)";

/// The identity tag a linked group's blocks carry in `extraData`.
pub fn chain_tag(fisco_chain_id: u64, group_id: u64) -> Vec<u8> {
    format!("fisco:{fisco_chain_id}/{group_id}").into_bytes()
}

/// What the adapter trusts about a FISCO BCOS group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiscoConfig {
    /// Meridian's chain id for this group.
    pub chain_id: String,
    /// The FISCO chain id.
    pub fisco_chain_id: u64,
    /// The group id.
    pub group_id: u64,
    /// Hash algorithm (only Keccak-256 is supported today).
    pub alg: FiscoHash,
    /// Trusted sealer node ids (64-byte uncompressed secp256k1 keys without the 0x04 prefix).
    pub sealers: Vec<[u8; 64]>,
    /// The group's genesis block hash (the light client's starting point).
    pub genesis_hash: Hash32,
    /// The bridge contract address.
    pub bridge: [u8; 20],
}

/// What the adapter asks of a FISCO node (RPC): the mock implements it.
pub trait FiscoNode: Send + std::fmt::Debug {
    /// `getBlockNumber`: the highest committed block.
    fn block_number(&self) -> Result<u64, AdapterError>;
    /// Send a `release` transaction (`payload` = its ABI call data) and wait for its receipt.
    fn send_release(&self, payload: &[u8], delivery: &Delivery) -> Result<Receipt, AdapterError>;
    /// Whether the bridge contract has applied `message_id`.
    fn applied(&self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;
}

/// Adapter for a FISCO BCOS 2.x group.
#[derive(Debug)]
pub struct FiscoAdapter {
    cfg: FiscoConfig,
    keys: Vec<VerifyingKey>,
    tag: Vec<u8>,
    trusted_height: u64,
    trusted_hash: Hash32,
    node: Box<dyn FiscoNode>,
    relayed: HashSet<Vec<u8>>,
}

/// The node id (64 bytes) of a secp256k1 public key.
pub fn node_id(key: &VerifyingKey) -> [u8; 64] {
    let p = key.to_encoded_point(false);
    let mut out = [0u8; 64];
    out.copy_from_slice(&p.as_bytes()[1..65]);
    out
}

impl FiscoAdapter {
    /// An adapter trusting `cfg`, talking to `node`.
    pub fn new(cfg: FiscoConfig, node: Box<dyn FiscoNode>) -> Result<Self, AdapterError> {
        if cfg.alg != FiscoHash::Keccak256 {
            return Err(AdapterError::Unsupported(
                "SM2/SM3 (guomi) sealer signatures",
                Family::Fisco,
            ));
        }
        if cfg.sealers.is_empty() {
            return Err(AdapterError::Malformed {
                what: "sealer set",
                reason: "empty".into(),
            });
        }
        let keys = cfg
            .sealers
            .iter()
            .map(|id| {
                let mut sec1 = [0u8; 65];
                sec1[0] = 4;
                sec1[1..].copy_from_slice(id);
                VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| AdapterError::Malformed {
                    what: "sealer node id",
                    reason: hex::encode(id),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FiscoAdapter {
            tag: chain_tag(cfg.fisco_chain_id, cfg.group_id),
            trusted_height: 0,
            trusted_hash: cfg.genesis_hash,
            keys,
            cfg,
            node,
            relayed: HashSet::new(),
        })
    }

    /// `n − f` with `f = ⌊(n−1)/3⌋`: FISCO's PBFT commit quorum (`2f+1` when `n = 3f+1`).
    pub fn quorum(&self) -> usize {
        let n = self.keys.len();
        n - (n - 1) / 3
    }

    /// Check identity tag and sealer signatures; returns the header and its hash.
    fn check_signed(&self, bytes: &[u8]) -> Result<(HeaderV2, Hash32), AdapterError> {
        let sh = SignedHeader::decode(bytes)?;
        let h = sh.header;
        if !h.extra_data.contains(&self.tag) {
            let found = h
                .extra_data
                .iter()
                .find(|e| e.starts_with(b"fisco:"))
                .map_or_else(
                    || "a block without a chain tag".to_string(),
                    |e| String::from_utf8_lossy(e).into_owned(),
                );
            return Err(AdapterError::WrongChain {
                expected: String::from_utf8_lossy(&self.tag).into_owned(),
                found,
            });
        }
        let hash = h.hash(self.cfg.alg);
        if sh.sigs.is_empty() {
            // PBFT has not collected the commit signatures yet.
            return Err(AdapterError::NotFinal {
                height: h.number,
                final_height: self.trusted_height,
            });
        }
        let mut counted = BTreeSet::new();
        let mut unknown = None;
        for (idx, sig) in &sh.sigs {
            let Some(id) = usize::try_from(*idx)
                .ok()
                .and_then(|i| h.sealer_list.get(i))
            else {
                continue;
            };
            let Some(k) = self.cfg.sealers.iter().position(|s| s.as_slice() == id) else {
                unknown.get_or_insert_with(|| hex::encode(id));
                continue;
            };
            if counted.contains(&k) {
                continue;
            }
            let Ok(signature) = Signature::from_slice(&sig[..64]) else {
                continue;
            };
            let Some(recid) = RecoveryId::from_byte(sig[64]) else {
                continue;
            };
            if VerifyingKey::recover_from_prehash(&hash, &signature, recid)
                .is_ok_and(|rk| rk == self.keys[k])
            {
                counted.insert(k);
            }
        }
        if counted.len() < self.quorum() {
            if let Some(id) = unknown {
                return Err(AdapterError::UnknownValidator(id));
            }
            return Err(AdapterError::BelowQuorum {
                valid: counted.len(),
                needed: self.quorum(),
            });
        }
        Ok((h, hash))
    }

    fn decode_lock(
        &self,
        log: &LogEntry,
    ) -> Result<(String, String, String, String, u128), AdapterError> {
        let bad = |reason: &str| AdapterError::Malformed {
            what: "lock event",
            reason: reason.into(),
        };
        if log.address != self.cfg.bridge {
            return Err(bad("the log is not from the bridge contract"));
        }
        if log.topics != [sig_hash(self.cfg.alg, LOCK_EVENT)] {
            return Err(bad("the log is not the bridge's Locked event"));
        }
        let v = abi_decode(&log.data, &[true, false, true, true, false])?;
        let s = |i: usize| -> Result<String, AdapterError> {
            match v.get(i) {
                Some(Abi::Str(b)) => {
                    String::from_utf8(b.clone()).map_err(|_| bad("a string is not UTF-8"))
                }
                _ => Err(bad("unexpected ABI shape")),
            }
        };
        let w = |i: usize| -> Result<[u8; 32], AdapterError> {
            match v.get(i) {
                Some(Abi::Word(w)) => Ok(*w),
                _ => Err(bad("unexpected ABI shape")),
            }
        };
        let sender = w(1)?;
        if sender[..12].iter().any(|b| *b != 0) {
            return Err(bad("sender is not an address"));
        }
        let amount = w(4)?;
        if amount[..16].iter().any(|b| *b != 0) {
            return Err(bad("amount exceeds 128 bits"));
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&amount[16..]);
        Ok((
            s(0)?,
            format!("0x{}", hex::encode(&sender[12..])),
            s(2)?,
            s(3)?,
            u128::from_be_bytes(a),
        ))
    }
}

impl ChainAdapter for FiscoAdapter {
    fn chain_id(&self) -> &str {
        &self.cfg.chain_id
    }

    fn family(&self) -> Family {
        Family::Fisco
    }

    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let (h, hash) = self.check_signed(header)?;
        if h.number != self.trusted_height + 1 || h.parent_hash != self.trusted_hash {
            return Err(AdapterError::Fork {
                height: h.number,
                reason: format!(
                    "trusted head is {} ({}), header's parent is {}",
                    self.trusted_height,
                    hex::encode(self.trusted_hash),
                    hex::encode(h.parent_hash)
                ),
            });
        }
        self.trusted_height = h.number;
        self.trusted_hash = hash;
        Ok(HeaderInfo {
            height: h.number,
            hash: hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        // A replay is told only of evidence that verifies (checked last): evidence of a
        // relayed event is answered with its message, anything else as what is wrong with it.
        let replay = self
            .relayed
            .contains(&ev.locator)
            .then(|| hex::encode(&ev.locator));
        let checked = self.check_signed(&ev.header);
        let committed = self.node.block_number()?;
        let (h, _) = checked.map_err(|e| match e {
            AdapterError::NotFinal { height, .. } => AdapterError::NotFinal {
                height,
                final_height: committed,
            },
            e => e,
        })?;
        if h.number > committed {
            return Err(AdapterError::NotFinal {
                height: h.number,
                final_height: committed,
            });
        }
        let (number, tx_index, log_index) = decode_locator(&ev.locator)?;
        if number != h.number {
            return Err(AdapterError::LocatorMismatch);
        }
        let levels = decode_proof(&ev.proof)?;
        let receipt_hash = self.cfg.alg.digest(&[&ev.event]);
        verify_v2(
            self.cfg.alg,
            tx_index,
            &receipt_hash,
            &h.receipts_root,
            &levels,
        )
        .map_err(meridian_proofs::ProofError::from)?;
        let receipt = ReceiptV2::decode(&ev.event)?;
        if receipt.status != 0 {
            return Err(AdapterError::Malformed {
                what: "receipt",
                reason: format!("transaction failed (status {})", receipt.status),
            });
        }
        let log = usize::try_from(log_index)
            .ok()
            .and_then(|i| receipt.logs.get(i))
            .ok_or(AdapterError::LocatorMismatch)?;
        let (destination, sender, recipient, asset, amount) = self.decode_lock(log)?;
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
        }
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height: h.number,
            destination,
            sender,
            recipient,
            asset,
            amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        self.relayed.insert(locator.to_vec());
    }

    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        let selector = sig_hash(self.cfg.alg, RELEASE_FN);
        let mut out = selector[..4].to_vec();
        out.extend(abi_encode(&[
            Abi::Word(d.message_id),
            Abi::Word(codec::word(u128::from(d.refund))),
            Abi::Str(d.account.as_bytes().to_vec()),
            Abi::Str(d.asset.as_bytes().to_vec()),
            Abi::Word(codec::word(d.amount)),
            Abi::Word(codec::word(u128::from(d.refchain_height))),
            Abi::Word(codec::word(u128::from(d.deadline_ms))),
        ]));
        Ok(out)
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        let payload = self.encode_delivery(d)?;
        self.node.send_release(&payload, d)
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        self.node.applied(message_id)
    }

    fn light_client_state(&self) -> Vec<u8> {
        let mut s = rlp::RlpStream::new_list(2);
        s.append(&self.trusted_height);
        s.append(&self.trusted_hash.as_slice());
        s.out().to_vec()
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        let bad = |e: rlp::DecoderError| AdapterError::Malformed {
            what: "light-client state",
            reason: e.to_string(),
        };
        let r = rlp::Rlp::new(state);
        if r.item_count().map_err(bad)? != 2 {
            return Err(AdapterError::Malformed {
                what: "light-client state",
                reason: "expected [height, hash]".into(),
            });
        }
        let height: u64 = r.val_at(0).map_err(bad)?;
        let hash: Vec<u8> = r.val_at(1).map_err(bad)?;
        let hash: Hash32 = hash.try_into().map_err(|_| AdapterError::Malformed {
            what: "light-client state",
            reason: "hash is not 32 bytes".into(),
        })?;
        self.trusted_height = height;
        self.trusted_hash = hash;
        Ok(())
    }
}
