//! The generic mock chain as a [`ConformanceChain`], so its adapter runs the conformance kit.

use super::chain::{Misbehaviour, MockChain, SignedHeader};
use super::MockAdapter;
use crate::conformance::ConformanceChain;
use crate::{AdapterError, ChainAdapter, Evidence};

/// A mock chain with an impostor validator set and a second chain id, for the kit.
#[derive(Debug)]
pub struct MockConformance {
    chain: MockChain,
    impostor: MockChain,
    other: MockChain,
    time: u64,
}

impl MockConformance {
    /// A fresh chain `chain_id` with `validators` validators.
    pub fn new(chain_id: &str, validators: usize) -> Self {
        MockConformance {
            chain: MockChain::new(chain_id, validators),
            impostor: MockChain::with_validator_salt(chain_id, validators, b"impostor"),
            other: MockChain::new(&format!("{chain_id}-other"), validators),
            time: 1,
        }
    }

    /// A block of five locks; the evidence of the fourth (a proof of three nodes, so the kit's
    /// changes reach an audit path, and an adapter's memory of one).
    fn lock_on(chain: &MockChain, time: &mut u64) -> Evidence {
        for _ in 0..5 {
            chain.lock("elsewhere", "alice", "bob", "USDT", 7);
        }
        *time += 1;
        let (_, locators) = chain.produce_block(*time);
        locators
            .get(3)
            .and_then(|l| chain.evidence(l))
            .unwrap_or_else(|| Evidence {
                locator: vec![],
                header: vec![],
                proof: vec![],
                event: vec![],
            })
    }
}

impl ConformanceChain for MockConformance {
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(MockAdapter::new(
            self.chain.clone(),
            &self.chain.validator_keys(),
        )?))
    }

    fn genuine(&mut self) -> Evidence {
        Self::lock_on(&self.chain, &mut self.time)
    }

    fn forged_header(&mut self) -> Evidence {
        let mut ev = self.genuine();
        if let Ok(mut sh) = SignedHeader::decode(&ev.header) {
            sh.header.time_ms += 1;
            ev.header = sh.encode();
        }
        ev
    }

    fn below_quorum(&mut self) -> Evidence {
        self.chain.set_misbehaviour(Misbehaviour {
            signers: Some(1),
            ..Misbehaviour::default()
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
        // From here on the newest block is not final (one confirmation needed).
        self.chain.set_finality_depth(1);
        self.genuine()
    }
}
