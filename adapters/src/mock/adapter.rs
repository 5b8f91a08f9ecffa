//! The adapter for the generic mock chain: a light client that trusts a validator set and
//! checks more-than-two-thirds signatures, the header hash chain, finality and RFC 6962
//! inclusion of the event.

use super::chain::{
    decode_locator, decode_proof, vote_message, MockChain, MockEvent, SignedHeader,
};
use crate::{
    AdapterError, ChainAdapter, Delivery, Evidence, Family, HeaderInfo, LockEvent, Receipt,
};
use ed25519_dalek::{Signature, VerifyingKey};
use meridian_proofs::audit::PathMemo;
use meridian_proofs::hash::Hash32;
use meridian_proofs::rfc6962;
use std::collections::BTreeSet;

/// Light-client state of a mock chain.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trusted {
    height: u64,
    hash: Hash32,
}

/// Adapter for a [`MockChain`].
#[derive(Debug)]
pub struct MockAdapter {
    chain_id: String,
    validators: Vec<VerifyingKey>,
    trusted: Trusted,
    chain: MockChain,
    /// Events already relayed, by their locator's (height, index), and headers already
    /// verified (seeded fast hashing: one lookup of each per submission).
    relayed: std::collections::HashSet<(u64, u64), foldhash::fast::RandomState>,
    verified_headers: std::collections::HashSet<Hash32, foldhash::fast::RandomState>,
    /// Signed headers of evidence already checked, by their exact bytes: what the evidence
    /// checks need of them (height, event count, events root).
    evidence_headers:
        std::collections::HashMap<Box<[u8]>, (u64, u64, Hash32), foldhash::fast::RandomState>,
    /// Interior nodes of the events trees that earlier evidence led to their roots.
    paths: PathMemo,
}

/// Most checked signed headers of evidence kept at once (then the cache starts again).
const EVIDENCE_HEADERS: usize = 4096;

impl MockAdapter {
    /// An adapter trusting `validators` (ed25519 public keys) of the chain behind `chain`.
    pub fn new(chain: MockChain, validators: &[[u8; 32]]) -> Result<Self, AdapterError> {
        let validators = validators
            .iter()
            .map(|k| {
                VerifyingKey::from_bytes(k).map_err(|_| AdapterError::Malformed {
                    what: "validator key",
                    reason: hex::encode(k),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MockAdapter {
            chain_id: chain.chain_id(),
            validators,
            trusted: Trusted {
                height: 0,
                hash: [0; 32],
            },
            chain,
            relayed: std::collections::HashSet::default(),
            verified_headers: std::collections::HashSet::default(),
            evidence_headers: std::collections::HashMap::default(),
            // Blocks of up to ~16k events each, a few blocks at a time (a few MB at most).
            paths: PathMemo::new(4, 1 << 15),
        })
    }

    fn quorum(&self) -> usize {
        self.validators.len() * 2 / 3 + 1
    }

    /// Check the header's chain id and validator signatures; returns the decoded header.
    fn check_signed(&mut self, bytes: &[u8]) -> Result<SignedHeader, AdapterError> {
        let sh = SignedHeader::decode(bytes)?;
        if sh.header.chain_id != self.chain_id {
            return Err(AdapterError::WrongChain {
                expected: self.chain_id.clone(),
                found: sh.header.chain_id.clone(),
            });
        }
        // Many events share a block: a signed header already checked (these exact bytes) is
        // not checked again.
        let digest = meridian_proofs::hash::sha256(&[bytes]);
        if self.verified_headers.contains(&digest) {
            return Ok(sh);
        }
        let msg = vote_message(&sh.header.hash());
        let mut seen = BTreeSet::new();
        let mut valid = 0;
        for (i, sig) in &sh.signatures {
            let key = usize::try_from(*i)
                .ok()
                .and_then(|i| self.validators.get(i))
                .ok_or_else(|| AdapterError::UnknownValidator(format!("index {i}")))?;
            if seen.insert(*i) && key.verify_strict(&msg, &Signature::from_bytes(sig)).is_ok() {
                valid += 1;
            }
        }
        if valid < self.quorum() {
            return Err(AdapterError::BelowQuorum {
                valid,
                needed: self.quorum(),
            });
        }
        if self.verified_headers.len() >= 4096 {
            self.verified_headers.clear();
        }
        self.verified_headers.insert(digest);
        Ok(sh)
    }
}

impl ChainAdapter for MockAdapter {
    fn chain_id(&self) -> &str {
        &self.chain_id
    }

    fn family(&self) -> Family {
        Family::Mock
    }

    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError> {
        let sh = self.check_signed(header)?;
        let h = &sh.header;
        // Headers must extend the trusted one by exactly one block: a gap or a fork is refused.
        if h.height != self.trusted.height + 1 || h.prev_hash != self.trusted.hash {
            return Err(AdapterError::Fork {
                height: h.height,
                reason: format!(
                    "trusted head is {} ({}), header's parent is {}",
                    self.trusted.height,
                    hex::encode(self.trusted.hash),
                    hex::encode(h.prev_hash)
                ),
            });
        }
        self.trusted = Trusted {
            height: h.height,
            hash: h.hash(),
        };
        Ok(HeaderInfo {
            height: h.height,
            hash: self.trusted.hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        let (lh, li) = decode_locator(&ev.locator)?;
        if self.relayed.contains(&(lh, li)) {
            return Err(AdapterError::Replay(hex::encode(&ev.locator)));
        }
        // Many events share a block: a signed header already checked (these exact bytes) is
        // neither decoded nor checked again.
        let (height, event_count, events_root) = match self.evidence_headers.get(&ev.header[..]) {
            Some(facts) => *facts,
            None => {
                let sh = self.check_signed(&ev.header)?;
                let facts = (
                    sh.header.height,
                    sh.header.event_count,
                    sh.header.events_root,
                );
                if self.evidence_headers.len() >= EVIDENCE_HEADERS {
                    self.evidence_headers.clear();
                }
                self.evidence_headers
                    .insert(ev.header.clone().into_boxed_slice(), facts);
                facts
            }
        };
        let final_height = self.chain.final_height();
        if height > final_height {
            return Err(AdapterError::NotFinal {
                height,
                final_height,
            });
        }
        let (index, size, path) = decode_proof(&ev.proof)?;
        if lh != height || li != index || size != event_count {
            return Err(AdapterError::LocatorMismatch);
        }
        rfc6962::verify_inclusion_memo(
            &mut self.paths,
            &rfc6962::leaf_hash(&ev.event),
            index,
            size,
            &path,
            &events_root,
        )
        .map_err(meridian_proofs::ProofError::from)?;
        let e = MockEvent::decode(&ev.event)?;
        Ok(LockEvent {
            locator: ev.locator.clone(),
            height,
            destination: e.destination,
            sender: e.sender,
            recipient: e.recipient,
            asset: e.asset,
            amount: e.amount,
        })
    }

    fn mark_relayed(&mut self, locator: &[u8]) {
        // Only verified events are marked, and their locators decode (one that does not could
        // never verify: `verify_event` decodes it first).
        if let Ok(at) = decode_locator(locator) {
            self.relayed.insert(at);
        }
    }

    fn encode_delivery(&self, d: &Delivery) -> Result<Vec<u8>, AdapterError> {
        let mut w = super::encoding::Writer::default();
        w.bytes(b"mock.release.v1")
            .h32(&d.message_id)
            .u64(u64::from(d.refund))
            .str(&d.account)
            .str(&d.asset)
            .u128(d.amount)
            .u64(d.refchain_height)
            .u64(d.deadline_ms);
        Ok(w.0)
    }

    fn deliver(&mut self, d: &Delivery) -> Result<Receipt, AdapterError> {
        self.chain.apply_delivery(d)
    }

    /// One journal sync for the whole batch.
    fn deliver_batch(&mut self, ds: &[Delivery]) -> Vec<Result<Receipt, AdapterError>> {
        self.chain.apply_deliveries(ds)
    }

    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError> {
        Ok(self.chain.applied(message_id))
    }

    fn light_client_state(&self) -> Vec<u8> {
        let mut w = super::encoding::Writer::default();
        w.u64(self.trusted.height).h32(&self.trusted.hash);
        w.0
    }

    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError> {
        let mut r = super::encoding::Reader::new(state, "light-client state");
        let height = r.u64()?;
        let hash = r.h32()?;
        r.finish()?;
        self.trusted = Trusted { height, hash };
        Ok(())
    }
}
