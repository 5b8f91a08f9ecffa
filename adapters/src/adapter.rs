//! The `ChainAdapter` trait: the only door between the hub and a chain.

use crate::Family;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Evidence of a cross-chain event on a source chain, as the source chain's adapter defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Chain-native locator of the event (unique per event on that chain).
    pub locator: Vec<u8>,
    /// The header(s) of the block holding the event, with whatever finality proof the chain has.
    pub header: Vec<u8>,
    /// The native inclusion proof of the event in that block.
    pub proof: Vec<u8>,
    /// The event in the chain's native encoding.
    pub event: Vec<u8>,
}

/// A lock (or burn) event decoded from verified evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockEvent {
    /// The evidence's locator.
    pub locator: Vec<u8>,
    /// Height of the (final) block holding it.
    pub height: u64,
    /// Destination chain id.
    pub destination: String,
    /// Sender on the source chain.
    pub sender: String,
    /// Recipient on the destination chain.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount in the asset's smallest unit.
    pub amount: u128,
}

/// What the hub asks a destination chain to do: release (or mint) to the recipient, or refund
/// the sender on the source chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The message id (32 bytes); destination chains apply each id at most once.
    pub message_id: [u8; 32],
    /// Whether this is a refund to the original sender.
    pub refund: bool,
    /// Account credited.
    pub account: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount in the asset's smallest unit.
    pub amount: u128,
    /// Reference-chain height that finalized the message.
    pub refchain_height: u64,
    /// The chain must refuse a (non-refund) delivery after this time, ms since the epoch, so
    /// that a refund after the deadline can never race a late release.
    pub deadline_ms: u64,
}

/// The destination chain's acknowledgement of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Chain-native reference of the delivering transaction.
    pub reference: Vec<u8>,
    /// Whether the chain had already applied this message id (an idempotent repeat).
    pub duplicate: bool,
}

/// Where a delivery past its deadline stands on the destination chain, as far as the chain's
/// final blocks go ([`ChainAdapter::settlement`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The chain could still apply it: its final blocks are not past the deadline on its own
    /// clock (a release may be pending, or in a block that is not final or not seen yet).
    Open,
    /// Applied, with its receipt.
    Applied(Receipt),
    /// Never applied, and it never can be: safe to refund.
    Never,
}

impl Settlement {
    /// Settled by the hub's clock: open until it is past `deadline_ms`, then as `applied`
    /// says (for chains that refuse a delivery past the deadline on that clock).
    pub fn by_hub_clock(
        deadline_ms: u64,
        applied: impl FnOnce() -> Result<Option<Receipt>, AdapterError>,
    ) -> Result<Settlement, AdapterError> {
        if crate::mock::now_ms() <= deadline_ms {
            return Ok(Settlement::Open);
        }
        Ok(match applied()? {
            Some(r) => Settlement::Applied(r),
            None => Settlement::Never,
        })
    }
}

/// Header facts the light client accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderInfo {
    /// Block height.
    pub height: u64,
    /// Block hash in the chain's native form.
    pub hash: Vec<u8>,
}

/// Why an adapter refused something. Every variant names what did not match.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AdapterError {
    /// The evidence's bytes do not decode in the chain's native format.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which part (header, proof, event, …).
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The header is for another chain.
    #[error("header is for chain {found}, expected {expected}")]
    WrongChain {
        /// The chain this adapter serves.
        expected: String,
        /// The chain the header names.
        found: String,
    },
    /// Not enough valid signatures of the trusted validator set.
    #[error("{valid} valid validator signatures, {needed} needed")]
    BelowQuorum {
        /// Valid signatures from distinct trusted validators.
        valid: usize,
        /// Needed for finality.
        needed: usize,
    },
    /// A signature by a key outside the trusted validator set.
    #[error("unknown validator {0}")]
    UnknownValidator(String),
    /// The block is not final yet.
    #[error("block {height} is not final (final height {final_height})")]
    NotFinal {
        /// The evidence's block.
        height: u64,
        /// The highest final block known.
        final_height: u64,
    },
    /// The inclusion proof does not verify.
    #[error("inclusion proof: {0}")]
    Proof(#[from] meridian_proofs::ProofError),
    /// The header does not extend the trusted chain (fork or gap).
    #[error("header {height} does not extend the trusted chain: {reason}")]
    Fork {
        /// Its height.
        height: u64,
        /// What did not link.
        reason: String,
    },
    /// The evidence verifies, and its event was already relayed (adapters check this last, so
    /// that a replay is told only of genuine evidence: the hub answers it with the message).
    #[error("event {0} was already relayed")]
    Replay(String),
    /// The locator does not match the event's position.
    #[error("locator does not match the proven event position")]
    LocatorMismatch,
    /// The delivery's deadline has passed; the chain refuses it.
    #[error("delivery deadline {deadline_ms} passed (now {now_ms})")]
    Expired {
        /// The deadline.
        deadline_ms: u64,
        /// The chain's time.
        now_ms: u64,
    },
    /// The chain could not be reached or refused the delivery.
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    /// The delivery is in a block that is not final yet (a reorganisation could still drop
    /// it): ask again later; the receipt comes once the chain's finality rule buries it.
    #[error("not final yet: {0}")]
    Pending(String),
    /// The operation is not offered by this family.
    #[error("{0} is not supported by the {1:?} family")]
    Unsupported(&'static str, Family),
}

/// A connected chain as the hub sees it. A `ChainActor` owns one and serves requests one at a
/// time; nothing outside this crate names a concrete adapter type.
pub trait ChainAdapter: Send + 'static {
    /// The configured chain id.
    fn chain_id(&self) -> &str;

    /// The chain family.
    fn family(&self) -> Family;

    /// Verify a header's finality against the trusted validator set and advance the light
    /// client to it.
    fn verify_header(&mut self, header: &[u8]) -> Result<HeaderInfo, AdapterError>;

    /// Verify that an event is included in a final block and decode it.
    fn verify_event(&mut self, evidence: &Evidence) -> Result<LockEvent, AdapterError>;

    /// Encode a delivery as the destination chain's native transaction payload.
    fn encode_delivery(&self, delivery: &Delivery) -> Result<Vec<u8>, AdapterError>;

    /// Whether this chain could ever apply `delivery`, as far as can be told without the
    /// chain: an account name it cannot hold, an amount out of its range. The hub asks before
    /// it accepts a transfer, so that one its destination can never apply is refused, not
    /// committed and left to time out. By default: whether it encodes.
    fn check_delivery(&self, delivery: &Delivery) -> Result<(), AdapterError> {
        self.encode_delivery(delivery).map(|_| ())
    }

    /// Submit a delivery to the chain; its receipt once the chain applied it. Chains apply a message id at
    /// most once, so a repeat after a crash returns `Receipt { duplicate: true, .. }`. A
    /// receipt means final: a chain whose blocks can be reorganised answers
    /// [`AdapterError::Pending`] until the delivery's block is, and the hub asks again.
    fn deliver(&mut self, delivery: &Delivery) -> Result<Receipt, AdapterError>;

    /// Deliver several messages; one result per delivery, in order. Each must mean exactly
    /// what [`ChainAdapter::deliver`] of it would; chains that can submit many deliveries in
    /// one transaction or sync override this (the default delivers them one by one).
    fn deliver_batch(&mut self, deliveries: &[Delivery]) -> Vec<Result<Receipt, AdapterError>> {
        deliveries.iter().map(|d| self.deliver(d)).collect()
    }

    /// Whether the chain has applied `message_id`, and its receipt if so.
    fn applied(&mut self, message_id: &[u8; 32]) -> Result<Option<Receipt>, AdapterError>;

    /// Whether a delivery of `message_id` with this deadline can still be applied, was, or
    /// never will be: what the hub asks before it refunds (a proof of non-receipt). A chain
    /// whose deliveries are refused past `deadline_ms` on the hub's clock (the built-in mocks)
    /// answers by [`ChainAdapter::applied`] once that clock is past it (the default); a chain
    /// that judges the deadline by its own block times must answer [`Settlement::Open`] until
    /// a final block is past it, and `applied` as of that block, or a release still pending
    /// when the hub's clock passes the deadline could land after the refund.
    fn settlement(
        &mut self,
        message_id: &[u8; 32],
        deadline_ms: u64,
    ) -> Result<Settlement, AdapterError> {
        Settlement::by_hub_clock(deadline_ms, || self.applied(message_id))
    }

    /// The light-client state to persist (trusted height, hash, validator set).
    fn light_client_state(&self) -> Vec<u8>;

    /// Restore the light client from `light_client_state` output.
    fn restore_light_client(&mut self, state: &[u8]) -> Result<(), AdapterError>;

    /// Whether this adapter can watch the chain for events itself (relayer mode).
    /// The hub committed the event at `locator`: from now on evidence of it is a replay.
    fn mark_relayed(&mut self, locator: &[u8]) {
        let _ = locator;
    }

    fn supports_watching(&self) -> bool {
        false
    }
}
