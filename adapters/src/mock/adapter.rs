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
    /// Events already relayed, by their locator's (height, index) (seeded fast hashing: one
    /// lookup per submission).
    relayed: std::collections::HashSet<(u64, u64), foldhash::fast::RandomState>,
    /// Signed headers already checked, by their exact bytes: many events share a block, and
    /// its header is then neither decoded nor checked again.
    checked: std::collections::HashMap<Box<[u8]>, Checked, foldhash::fast::RandomState>,
    /// Interior nodes of the events trees that earlier evidence led to their roots.
    paths: PathMemo,
}

/// Most checked signed headers kept at once (then the cache starts again).
const CHECKED_HEADERS: usize = 4096;

/// What the checks need of a signed header that passed them.
#[derive(Debug, Clone, Copy)]
struct Checked {
    height: u64,
    prev_hash: Hash32,
    hash: Hash32,
    event_count: u64,
    events_root: Hash32,
}

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
            checked: std::collections::HashMap::default(),
            // Blocks of up to ~16k events each, a few blocks at a time (a few MB at most).
            paths: PathMemo::new(4, 1 << 15),
        })
    }

    fn quorum(&self) -> usize {
        self.validators.len() * 2 / 3 + 1
    }

    /// Check the header's chain id and validator signatures (once for the same bytes).
    fn check_signed(&mut self, bytes: &[u8]) -> Result<Checked, AdapterError> {
        if let Some(c) = self.checked.get(bytes) {
            return Ok(*c);
        }
        let sh = SignedHeader::decode(bytes)?;
        if sh.header.chain_id != self.chain_id {
            return Err(AdapterError::WrongChain {
                expected: self.chain_id.clone(),
                found: sh.header.chain_id.clone(),
            });
        }
        let hash = sh.header.hash();
        let msg = vote_message(&hash);
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
        let h = &sh.header;
        let c = Checked {
            height: h.height,
            prev_hash: h.prev_hash,
            hash,
            event_count: h.event_count,
            events_root: h.events_root,
        };
        if self.checked.len() >= CHECKED_HEADERS {
            self.checked.clear();
        }
        self.checked.insert(bytes.into(), c);
        Ok(c)
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
        let h = self.check_signed(header)?;
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
            hash: h.hash,
        };
        Ok(HeaderInfo {
            height: h.height,
            hash: self.trusted.hash.to_vec(),
        })
    }

    fn verify_event(&mut self, ev: &Evidence) -> Result<LockEvent, AdapterError> {
        let (lh, li) = decode_locator(&ev.locator)?;
        // A replay is told only of evidence that verifies (checked last): evidence of a
        // relayed event is answered with its message, anything else as what is wrong with it.
        let replay = self
            .relayed
            .contains(&(lh, li))
            .then(|| hex::encode(&ev.locator));
        let Checked {
            height,
            event_count,
            events_root,
            ..
        } = self.check_signed(&ev.header)?;
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
        if let Some(r) = replay {
            return Err(AdapterError::Replay(r));
        }
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
