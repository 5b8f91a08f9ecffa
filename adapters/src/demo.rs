//! Demo chains: a family's mock chain as the hub runs it in `meridian serve` and in end-to-end
//! tests — make a source-chain lock final and hand back its native evidence, build the adapter
//! (whose deliveries land on the same mock), and say whether a message was applied.

use crate::mock::MockChain;
use crate::{AdapterError, ChainAdapter, Evidence, Family};

/// A mock chain the hub can drive end to end.
pub trait DemoChain: Send + Sync + std::fmt::Debug {
    /// The chain id (as the hub and the events name it).
    fn chain_id(&self) -> String;
    /// Its family.
    fn family(&self) -> Family;
    /// A fresh adapter trusting this chain; its deliveries apply to this chain.
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError>;
    /// Lock `amount` of `asset` from `sender` for `recipient` on `destination`, and make the
    /// block final: the lock's native evidence.
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError>;
    /// `count` locks (numbered sender/recipient), as few blocks as the chain allows.
    fn lock_batch(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
        count: usize,
    ) -> Result<Vec<Evidence>, AdapterError> {
        (0..count)
            .map(|i| {
                self.lock(
                    destination,
                    &format!("{sender}{i}"),
                    &format!("{recipient}{i}"),
                    asset,
                    amount,
                )
            })
            .collect()
    }
    /// The chain's head height; an error when the chain cannot be reached.
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(0)
    }
    /// Whether the delivery of `message_id` was applied on this chain.
    fn was_applied(&self, message_id: &[u8; 32]) -> bool {
        self.adapter()
            .ok()
            .and_then(|mut a| a.applied(message_id).ok().flatten())
            .is_some()
    }
}

/// A journaled mock chain whose journal failed takes no locks: a lock answered in a block that
/// would not survive a restart would see its position issued again.
fn refuse_if_not_durable(chain: &MockChain) -> Result<(), AdapterError> {
    if chain.journal_failed() {
        return Err(AdapterError::Unavailable(format!(
            "{}: its journal could not be written; its blocks would not survive a restart",
            chain.chain_id()
        )));
    }
    Ok(())
}

fn missing(what: &str) -> AdapterError {
    AdapterError::Unavailable(format!("the mock produced no {what}"))
}

impl DemoChain for MockChain {
    fn chain_id(&self) -> String {
        MockChain::chain_id(self)
    }
    fn family(&self) -> Family {
        Family::Mock
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::mock::MockAdapter::new(
            self.clone(),
            &self.validator_keys(),
        )?))
    }
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        let lock = (
            destination.to_string(),
            sender.to_string(),
            recipient.to_string(),
            asset.to_string(),
            amount,
        );
        refuse_if_not_durable(self)?;
        let locs = self.lock_in_block(&[lock], crate::mock::now_ms());
        refuse_if_not_durable(self)?;
        locs.last()
            .and_then(|l| self.evidence(l))
            .ok_or_else(|| missing("evidence"))
    }
    fn lock_batch(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
        count: usize,
    ) -> Result<Vec<Evidence>, AdapterError> {
        let locks: Vec<_> = (0..count)
            .map(|i| {
                (
                    destination.to_string(),
                    format!("{sender}{i}"),
                    format!("{recipient}{i}"),
                    asset.to_string(),
                    amount,
                )
            })
            .collect();
        refuse_if_not_durable(self)?;
        let locs = self.lock_in_block(&locks, crate::mock::now_ms());
        refuse_if_not_durable(self)?;
        let out: Vec<Evidence> = locs.iter().filter_map(|l| self.evidence(l)).collect();
        if out.len() != count {
            return Err(missing("evidence for every lock"));
        }
        Ok(out)
    }
    fn was_applied(&self, message_id: &[u8; 32]) -> bool {
        self.applied(message_id).is_some()
    }
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(MockChain::head(self))
    }
}

impl DemoChain for crate::ethereum::EthereumMock {
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.head_height())
    }
    fn chain_id(&self) -> String {
        self.config().map(|c| c.chain_id).unwrap_or_default()
    }
    fn family(&self) -> Family {
        Family::Ethereum
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::ethereum::EthereumMock::adapter(self)?))
    }
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        crate::ethereum::EthereumMock::lock(
            self,
            destination,
            crate::ethereum::account(sender),
            recipient,
            asset,
            amount,
        );
        let (_, locs) = self.produce_block()?;
        // Clique finality: enough blocks by distinct signers on top.
        let confirmations = self.signers().len() / 2;
        for _ in 0..confirmations {
            self.produce_block()?;
        }
        locs.last()
            .and_then(|l| self.evidence(l))
            .ok_or_else(|| missing("evidence"))
    }
}

impl DemoChain for crate::fisco::FiscoChain {
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.head_height())
    }
    fn chain_id(&self) -> String {
        self.config().chain_id
    }
    fn family(&self) -> Family {
        Family::Fisco
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::fisco::FiscoChain::adapter(self)?))
    }
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        let mut from = [0u8; 20];
        from.copy_from_slice(&meridian_proofs::hash::keccak256(&[sender.as_bytes()])[12..]);
        crate::fisco::FiscoChain::lock(self, destination, from, recipient, asset, amount);
        let locs = self.produce_block(crate::mock::now_ms());
        locs.last()
            .and_then(|l| self.evidence(l))
            .ok_or_else(|| missing("evidence"))
    }
}

impl DemoChain for crate::chainsql::ChainSqlMock {
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.head_height())
    }
    fn chain_id(&self) -> String {
        self.config().chain_id
    }
    fn family(&self) -> Family {
        Family::ChainSql
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::chainsql::ChainSqlAdapter::new(
            self.config(),
            Some(self.clone()),
        )?))
    }
    fn lock(
        &self,
        destination: &str,
        _sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        // XRP amounts are drops (u64); the sender is the mock's funded user account.
        let drops = u64::try_from(amount).map_err(|_| AdapterError::Malformed {
            what: "amount",
            reason: "more than 2^64 drops".into(),
        })?;
        let id = crate::chainsql::ChainSqlMock::lock(self, destination, recipient, asset, drops)?;
        let seq = self.close_ledger(crate::chainsql::Validators::All)?;
        self.evidence(seq, &id).ok_or_else(|| missing("evidence"))
    }
}

impl DemoChain for crate::eos::EosChain {
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.head_height())
    }
    fn chain_id(&self) -> String {
        self.config().chain_id
    }
    fn family(&self) -> Family {
        Family::Eos
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::eos::EosChain::adapter(self)?))
    }
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        // EOS names are 1–12 of a-z, 1-5 and '.'; the asset code is upper-case letters.
        let name: String = sender
            .chars()
            .filter(|c| c.is_ascii_lowercase() || ('1'..='5').contains(c))
            .take(12)
            .collect();
        let name = if name.is_empty() {
            "alice".to_string()
        } else {
            name
        };
        let code: String = asset
            .chars()
            .filter(char::is_ascii_uppercase)
            .take(7)
            .collect();
        let amount = i64::try_from(amount).map_err(|_| AdapterError::Malformed {
            what: "amount",
            reason: "more than 2^63 units".into(),
        })?;
        let memo = format!("{destination}:{recipient}");
        let loc = self
            .produce_block(Some((&name, amount, &code, &memo)))
            .ok_or_else(|| missing("block"))?;
        let confirmations = self.producer_count() * 2 / 3 + 1;
        for _ in 0..confirmations {
            // A block without a lock has no locator to hand back (`None` by design); a block
            // that could not be made shows as missing evidence below.
            let _ = self.produce_block(None);
        }
        self.evidence(&loc, confirmations)
            .ok_or_else(|| missing("evidence"))
    }
}

impl DemoChain for crate::xuper::XuperChain {
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.head_height())
    }
    fn chain_id(&self) -> String {
        self.config().bcname
    }
    fn family(&self) -> Family {
        Family::Xuper
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::xuper::XuperChain::adapter(self)?))
    }
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        crate::xuper::XuperChain::lock(
            self,
            destination,
            &crate::xuper::user_address(sender),
            recipient,
            asset,
            amount,
        );
        let now = i64::try_from(crate::mock::now_ms())
            .unwrap_or(i64::MAX / 2_000_000)
            .saturating_mul(1_000_000);
        let locs = self.produce_block(now);
        // Final once > 2/3 of the validators proposed it or a descendant.
        let descendants = self.config().validators.len() * 2 / 3;
        for i in 0..descendants {
            self.produce_block(now + 1 + i as i64);
        }
        locs.last()
            .and_then(|l| self.evidence(l, descendants))
            .ok_or_else(|| missing("evidence"))
    }
}

impl DemoChain for crate::fabric::FabricChain {
    fn head(&self) -> Result<u64, AdapterError> {
        Ok(self.head_height())
    }
    fn chain_id(&self) -> String {
        self.config().channel_id
    }
    fn family(&self) -> Family {
        Family::Fabric
    }
    fn adapter(&self) -> Result<Box<dyn ChainAdapter>, AdapterError> {
        Ok(Box::new(crate::fabric::FabricChain::adapter(self)?))
    }
    fn lock(
        &self,
        destination: &str,
        sender: &str,
        recipient: &str,
        asset: &str,
        amount: u128,
    ) -> Result<Evidence, AdapterError> {
        crate::fabric::FabricChain::lock(self, destination, sender, recipient, asset, amount);
        let locs = self.produce_block();
        locs.last()
            .and_then(|l| self.evidence(l))
            .ok_or_else(|| missing("evidence"))
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    /// Every family's demo chain makes a lock its own adapter verifies: the evidence
    /// `POST /v1/dev/lock` and `meridian send` hand to the hub for a transfer from that chain.
    #[test]
    fn each_familys_lock_verifies_on_its_adapter() {
        use crate::chainsql::ChainSqlMock;
        use crate::eos::EosChain;
        use crate::ethereum::EthereumMock;
        use crate::fabric::FabricChain;
        use crate::fisco::FiscoChain;
        use crate::xuper::XuperChain;
        use meridian_proofs::xrpl::XrplHash;
        // As `meridian serve` builds them (src/cli/serve.rs), 4 validators each.
        let chains: Vec<Box<dyn DemoChain>> = vec![
            Box::new(EthereumMock::new("eth", 1337, 4)),
            Box::new(FiscoChain::new("fisco", 1, 1, b"fisco", 4)),
            Box::new(ChainSqlMock::new("chainsql", 0, XrplHash::Sha512Half)),
            Box::new(XuperChain::new("xuper", b"xuper", 4)),
            Box::new(FabricChain::new("fabric", b"orderers", b"peers")),
            Box::new(EosChain::new("eos", "eos", "prod", b"eos", 4, false)),
            Box::new(EosChain::new("eos-sv", "eos-sv", "prod", b"eos", 4, true)),
        ];
        for c in chains {
            let before = c.head().expect("head");
            let ev = c
                .lock("other-chain", "alice", "bob", "EOS", 5)
                .unwrap_or_else(|e| panic!("{}: lock: {e}", c.chain_id()));
            let mut a = c.adapter().expect("adapter");
            let event = a
                .verify_event(&ev)
                .unwrap_or_else(|e| panic!("{}: verify: {e}", c.chain_id()));
            assert_eq!(event.destination, "other-chain", "{}", c.chain_id());
            assert_eq!(event.amount, 5, "{}", c.chain_id());
            assert!(
                c.head().expect("head") > before,
                "{}: head {} after the lock, {before} before",
                c.chain_id(),
                c.head().expect("head")
            );
        }
    }
}
