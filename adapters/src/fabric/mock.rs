//! A mock Fabric channel producing the native encodings: `common.Block` protobufs whose
//! header hash chain uses the DER form, `metadata[0]` signed by P-256 orderers of several
//! orderer orgs, endorser-transaction envelopes with P-256 peer endorsements over
//! `proposal_response_payload ‖ endorser` and the bridge chaincode's `Lock` event, and an
//! (unsigned) TRANSACTIONS_FILTER. It can misbehave (too few orderer orgs, a block not yet
//! signed, too few or no endorsements) and applies each delivery once.

use super::messages::{
    encode_block_data, Block, BlockHeader, ChaincodeEvent, ChannelHeader, EndorsedAction,
    Endorsement, Envelope, Identity, Metadata, MetadataSignature, ResponsePayload, SignatureHeader,
    ENDORSER_TRANSACTION,
};
use super::proto::put_bytes;
use super::{
    compute_tx_id, decode_locator, decode_release, encode_locator, orderer_signed_bytes,
    FabricAdapter, FabricConfig, FabricPeer, OrgPolicy, LOCK_EVENT, RELEASE_FN,
};
use crate::conformance::ConformanceChain;
use crate::mock::now_ms;
use crate::{AdapterError, ChainAdapter, Delivery, Evidence, Receipt};
use meridian_proofs::fabric::data_hash;
use meridian_proofs::hash::sha256;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// How the next blocks misbehave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Only the first `n` orderer orgs sign (below the policy when `n < k`).
    pub orderer_signers: Option<usize>,
    /// The block is cut but not signed by the orderers yet (and not committed).
    pub unsigned: bool,
    /// Only the first `n` peer orgs endorse lock transactions (0: none, flag still VALID).
    pub endorsers: Option<usize>,
}

#[derive(Debug, Clone)]
struct PendingLock {
    destination: String,
    sender: String,
    recipient: String,
    asset: String,
    amount: u128,
}

#[derive(Debug)]
struct State {
    channel: String,
    chaincode: String,
    orderers: Vec<(String, SigningKey)>,
    peers: Vec<(String, SigningKey)>,
    client: SigningKey,
    threshold: usize,
    blocks: Vec<Block>,
    committed: u64,
    misbehaviour: Misbehaviour,
    locks: Vec<PendingLock>,
    applied: HashMap<[u8; 32], Vec<u8>>,
}

/// A deterministic P-256 key.
fn key(salt: &[u8], i: usize) -> SigningKey {
    let mut c = 0u32;
    loop {
        let seed = sha256(&[salt, &(i as u64).to_be_bytes(), &c.to_be_bytes()]);
        if let Ok(k) = SigningKey::from_slice(&seed) {
            return k;
        }
        c += 1;
    }
}

/// SEC1 (uncompressed) public key bytes.
pub fn public_key(k: &SigningKey) -> Vec<u8> {
    k.verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec()
}

/// A DER, low-S P-256 signature over `sha256(msg)`, as Fabric's BCCSP makes.
pub fn sign(k: &SigningKey, msg: &[u8]) -> Vec<u8> {
    let sig: Signature = k.sign(msg);
    let sig = sig.normalize_s().unwrap_or(sig);
    sig.to_der().as_bytes().to_vec()
}

fn identity(mspid: &str, k: &SigningKey) -> Vec<u8> {
    Identity {
        mspid: mspid.into(),
        id_bytes: public_key(k),
    }
    .encode()
}

impl State {
    /// An endorsed transaction emitting `event_name` with `payload`.
    fn envelope(&self, seed: &[u8], event_name: &str, payload: &[u8], endorsers: usize) -> Vec<u8> {
        let creator = identity("Org1MSP", &self.client);
        let nonce = sha256(&[b"nonce", seed])[..24].to_vec();
        let tx_id = compute_tx_id(&nonce, &creator);
        let ch = ChannelHeader {
            typ: ENDORSER_TRANSACTION,
            channel_id: self.channel.clone(),
            tx_id: tx_id.clone(),
        }
        .encode();
        let sh = SignatureHeader { creator, nonce }.encode();
        let mut proposal_payload = Vec::new();
        put_bytes(&mut proposal_payload, 1, payload);
        let prp = ResponsePayload {
            proposal_hash: sha256(&[&ch, &sh, &proposal_payload]).to_vec(),
            results: sha256(&[b"rwset", seed]).to_vec(),
            events: ChaincodeEvent {
                chaincode_id: self.chaincode.clone(),
                tx_id,
                event_name: event_name.into(),
                payload: payload.to_vec(),
            }
            .encode(),
            status: 200,
            chaincode: self.chaincode.clone(),
        }
        .encode();
        let endorsements = self
            .peers
            .iter()
            .take(endorsers)
            .map(|(msp, k)| {
                let endorser = identity(msp, k);
                let mut msg = prp.clone();
                msg.extend_from_slice(&endorser);
                Endorsement {
                    signature: sign(k, &msg),
                    endorser,
                }
            })
            .collect();
        let mut env = Envelope {
            channel_header: ch,
            signature_header: sh.clone(),
            data: EndorsedAction {
                header: sh,
                proposal_payload,
                proposal_response_payload: prp,
                endorsements,
            }
            .encode_transaction(),
            signature: vec![],
        };
        env.signature = sign(&self.client, &env.payload());
        env.encode()
    }

    fn seal(&mut self, data: Vec<Vec<u8>>) {
        let number = self.blocks.len() as u64;
        let header = BlockHeader {
            number,
            previous_hash: self
                .blocks
                .last()
                .map(|b| b.header.hash().to_vec())
                .unwrap_or_default(),
            data_hash: data_hash(&data).to_vec(),
        };
        let m = self.misbehaviour;
        let signers = if m.unsigned {
            0
        } else {
            m.orderer_signers.unwrap_or(self.orderers.len())
        };
        let mut value = Vec::new();
        put_bytes(&mut value, 1, &[]); // OrdererBlockMetadata{last_config: LastConfig{}}
        let signatures = self
            .orderers
            .iter()
            .take(signers)
            .map(|(msp, k)| {
                let signature_header = SignatureHeader {
                    creator: identity(msp, k),
                    nonce: sha256(&[b"orderer nonce", &number.to_be_bytes(), msp.as_bytes()])[..24]
                        .to_vec(),
                }
                .encode();
                let msg = orderer_signed_bytes(&value, &signature_header, &header);
                MetadataSignature {
                    signature: sign(k, &msg),
                    signature_header,
                }
            })
            .collect();
        let md = Metadata { value, signatures }.encode();
        let filter = vec![0u8; data.len()];
        self.blocks.push(Block {
            header,
            data,
            metadata: vec![md, vec![], filter],
        });
        if !m.unsigned {
            self.committed = number;
        }
    }
}

/// A mock Fabric channel (a cheap, shared handle).
#[derive(Debug, Clone)]
pub struct FabricChain {
    inner: Arc<Mutex<State>>,
}

const ORGS: usize = 3;

impl FabricChain {
    /// The height of the newest block (0 before any).
    pub fn head_height(&self) -> u64 {
        (self.state().blocks.len() as u64).saturating_sub(1)
    }

    /// Channel `channel` with 3 orderer orgs (keys from `orderer_salt`) and 3 peer orgs (keys
    /// from `peer_salt`), policies 2 of 3; the bridge chaincode is `bridge`.
    pub fn new(channel: &str, orderer_salt: &[u8], peer_salt: &[u8]) -> Self {
        let orderers = (0..ORGS)
            .map(|i| (format!("OrdererOrg{}MSP", i + 1), key(orderer_salt, i)))
            .collect();
        let peers = (0..ORGS)
            .map(|i| (format!("Org{}MSP", i + 1), key(peer_salt, i)))
            .collect();
        let mut s = State {
            channel: channel.into(),
            chaincode: "bridge".into(),
            orderers,
            peers,
            client: key(b"client", 0),
            threshold: 2,
            blocks: vec![],
            committed: 0,
            misbehaviour: Misbehaviour::default(),
            locks: vec![],
            applied: HashMap::new(),
        };
        // Genesis: the channel's config block.
        let config = format!("config block of channel {channel}").into_bytes();
        s.seal(vec![config]);
        FabricChain {
            inner: Arc::new(Mutex::new(s)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What an adapter of this channel trusts.
    pub fn config(&self) -> FabricConfig {
        let s = self.state();
        let policy = |members: &[(String, SigningKey)]| OrgPolicy {
            orgs: members
                .iter()
                .map(|(m, k)| (m.clone(), vec![public_key(k)]))
                .collect::<BTreeMap<_, _>>(),
            threshold: s.threshold,
        };
        FabricConfig {
            channel_id: s.channel.clone(),
            trusted_number: 0,
            trusted_hash: s
                .blocks
                .first()
                .map(|b| b.header.hash())
                .unwrap_or_default(),
            orderers: policy(&s.orderers),
            endorsers: policy(&s.peers),
            chaincode: s.chaincode.clone(),
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
        self.state().locks.push(PendingLock {
            destination: destination.into(),
            sender: sender.into(),
            recipient: recipient.into(),
            asset: asset.into(),
            amount,
        });
    }

    /// Cut and sign a block holding some unrelated transactions and the queued locks;
    /// returns the locators of the locks.
    pub fn produce_block(&self) -> Vec<Vec<u8>> {
        let mut s = self.state();
        let number = s.blocks.len() as u64;
        let mut data = Vec::new();
        for i in 0..(number % 4) {
            let seed = [number.to_be_bytes(), i.to_be_bytes()].concat();
            data.push(s.envelope(&seed, "Transfer", b"{\"note\":\"unrelated\"}", ORGS));
        }
        let mut locators = Vec::new();
        let endorsers = s.misbehaviour.endorsers.unwrap_or(ORGS);
        for (j, l) in std::mem::take(&mut s.locks).into_iter().enumerate() {
            let payload = serde_json::json!({
                "destination": l.destination,
                "sender": l.sender,
                "recipient": l.recipient,
                "asset": l.asset,
                "amount": l.amount.to_string(),
            })
            .to_string();
            let seed = [b"lock".as_slice(), &number.to_be_bytes(), &j.to_be_bytes()].concat();
            data.push(s.envelope(&seed, LOCK_EVENT, payload.as_bytes(), endorsers));
            locators.push(encode_locator(number, data.len() as u64 - 1));
        }
        s.seal(data);
        locators
    }

    /// Cut and sign a block holding exactly `envelopes` (e.g. a resubmitted transaction, which
    /// orderers do not deduplicate); returns their locators. The flags all say VALID, as a
    /// relayer forging the unsigned filter would make them.
    pub fn include(&self, envelopes: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let mut s = self.state();
        let number = s.blocks.len() as u64;
        let locators = (0..envelopes.len() as u64)
            .map(|i| encode_locator(number, i))
            .collect();
        s.seal(envelopes);
        locators
    }

    /// The full block `number` (protobuf).
    pub fn block(&self, number: u64) -> Option<Vec<u8>> {
        let s = self.state();
        Some(s.blocks.get(usize::try_from(number).ok()?)?.encode())
    }

    /// The evidence of the lock at `locator`.
    pub fn evidence(&self, locator: &[u8]) -> Option<Evidence> {
        let (number, tx) = decode_locator(locator).ok()?;
        let s = self.state();
        let b = s.blocks.get(usize::try_from(number).ok()?)?;
        let event = b.data.get(usize::try_from(tx).ok()?)?.clone();
        Some(Evidence {
            locator: locator.to_vec(),
            header: Block {
                header: b.header.clone(),
                data: vec![],
                metadata: b.metadata.clone(),
            }
            .encode(),
            proof: encode_block_data(&b.data),
            event,
        })
    }

    /// The adapter of this channel.
    pub fn adapter(&self) -> Result<FabricAdapter, AdapterError> {
        FabricAdapter::new(self.config(), Box::new(self.clone()))
    }
}

impl FabricPeer for FabricChain {
    fn height(&self) -> Result<u64, AdapterError> {
        Ok(self.state().committed)
    }

    fn submit_release(&self, payload: &[u8], d: &Delivery) -> Result<Receipt, AdapterError> {
        let mut s = self.state();
        let (name, args) = decode_release(payload)?;
        if name != s.chaincode || args.first().map(Vec::as_slice) != Some(RELEASE_FN.as_bytes()) {
            return Err(AdapterError::Unavailable(
                "the bridge chaincode refused: unknown function".into(),
            ));
        }
        if let Some(r) = crate::mock::applied_receipt(&s.applied, &d.message_id) {
            return Ok(r);
        }
        let now = now_ms();
        crate::mock::check_deadline(d, now)?;
        let reference = hex::encode(sha256(&[b"release-tx", payload])).into_bytes();
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

/// A channel with an impostor orderer set and a second channel on the same orderers and
/// peers, for the conformance kit.
#[derive(Debug)]
pub struct FabricMock {
    /// The linked channel.
    pub chain: FabricChain,
    impostor: FabricChain,
    other: FabricChain,
}

impl FabricMock {
    /// Channel `channel` (= Meridian chain id).
    pub fn new(channel: &str) -> Self {
        FabricMock {
            chain: FabricChain::new(channel, b"orderer", b"peer"),
            impostor: FabricChain::new(channel, b"impostor", b"peer"),
            // Another channel served by the very same orderers and peers.
            other: FabricChain::new(&format!("{channel}-other"), b"orderer", b"peer"),
        }
    }

    /// Lock on `chain` and return the evidence.
    pub fn lock_on(chain: &FabricChain) -> Evidence {
        chain.lock("elsewhere", "x509::CN=alice::CN=ca.org1", "bob", "USDT", 7);
        chain
            .produce_block()
            .first()
            .and_then(|l| chain.evidence(l))
            .unwrap_or_else(|| Evidence {
                locator: vec![],
                header: vec![],
                proof: vec![],
                event: vec![],
            })
    }

    fn with(&mut self, m: Misbehaviour) -> Evidence {
        self.chain.set_misbehaviour(m);
        let ev = Self::lock_on(&self.chain);
        self.chain.set_misbehaviour(Misbehaviour::default());
        ev
    }

    /// A lock whose transaction carries no endorsements (its validity flag still says VALID).
    pub fn unendorsed(&mut self) -> Evidence {
        self.with(Misbehaviour {
            endorsers: Some(0),
            ..Misbehaviour::default()
        })
    }
}

impl ConformanceChain for FabricMock {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(self.chain.adapter()?))
    }

    fn genuine(&mut self) -> Evidence {
        Self::lock_on(&self.chain)
    }

    fn forged_header(&mut self) -> Evidence {
        let mut ev = self.genuine();
        if let Ok(mut b) = Block::decode(&ev.header) {
            b.header.previous_hash = sha256(&[b"forged", &b.header.previous_hash]).to_vec();
            ev.header = b.encode();
        }
        ev
    }

    fn below_quorum(&mut self) -> Evidence {
        self.with(Misbehaviour {
            orderer_signers: Some(1),
            ..Misbehaviour::default()
        })
    }

    fn unknown_validator(&mut self) -> Evidence {
        Self::lock_on(&self.impostor)
    }

    fn wrong_chain(&mut self) -> Evidence {
        Self::lock_on(&self.other)
    }

    fn non_final(&mut self) -> Evidence {
        self.with(Misbehaviour {
            unsigned: true,
            ..Misbehaviour::default()
        })
    }
}
