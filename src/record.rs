//! The commit log's records: every state change of the hub is one of these, so the hub's
//! state is a function of the log (see [`crate::state::HubState`]).

use crate::message::{ChainId, CrossChainMessage, MessageId};
use crate::refchain::{BlockHeader, QuorumCertificate};
use serde::{Deserialize, Serialize};

/// One commit-log record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecord {
    /// A verified message, now Committed at this record's sequence number.
    Accepted {
        /// The message.
        msg: CrossChainMessage,
        /// Commit time, ms since the epoch.
        at_ms: u64,
    },
    /// A reference-chain block was sealed over a range of earlier records.
    BlockSealed {
        /// Its header.
        header: BlockHeader,
    },
    /// A sealed block gathered a quorum certificate: its messages are Finalized.
    BlockFinalized {
        /// The certificate.
        qc: QuorumCertificate,
        /// Time the quorum was reached, ms since the epoch.
        at_ms: u64,
    },
    /// The destination chain applied the message.
    Delivered {
        /// Which message.
        id: MessageId,
        /// The chain's receipt reference.
        receipt: Vec<u8>,
        /// Time, ms since the epoch.
        at_ms: u64,
    },
    /// The message's deadline passed without delivery (checked on the destination chain).
    TimedOut {
        /// Which message.
        id: MessageId,
        /// Time, ms since the epoch.
        at_ms: u64,
    },
    /// The source chain returned the asset to the sender.
    Refunded {
        /// Which message.
        id: MessageId,
        /// The source chain's receipt reference.
        receipt: Vec<u8>,
        /// Time, ms since the epoch.
        at_ms: u64,
    },
    /// The city-relay set from here on (at first start and after a key rotation); earlier
    /// blocks stay verifiable under the set their header names.
    RelaySetAdopted {
        /// The relays, in index order.
        relays: Vec<crate::refchain::RelayInfo>,
    },
    /// A chain's light-client state after it advanced, so a restarted chain actor resumes there.
    LightClient {
        /// The chain.
        chain: ChainId,
        /// Adapter-defined state bytes.
        state: Vec<u8>,
    },
    /// The destination chain applied these messages: one record per delivery batch, so a
    /// batch of deliveries costs the log one entry (one row, one leaf) instead of one each.
    /// (Last variant: the binary encoding numbers variants, so earlier logs read unchanged.)
    DeliveredBatch {
        /// Each message with the chain's receipt reference.
        items: Vec<(MessageId, Vec<u8>)>,
        /// Time, ms since the epoch.
        at_ms: u64,
    },
}

impl LogRecord {
    /// Short kind name for `meridian log inspect`.
    pub fn kind(&self) -> &'static str {
        match self {
            LogRecord::Accepted { .. } => "accepted",
            LogRecord::BlockSealed { .. } => "block-sealed",
            LogRecord::BlockFinalized { .. } => "block-finalized",
            LogRecord::Delivered { .. } => "delivered",
            LogRecord::DeliveredBatch { .. } => "delivered-batch",
            LogRecord::TimedOut { .. } => "timed-out",
            LogRecord::Refunded { .. } => "refunded",
            LogRecord::LightClient { .. } => "light-client",
            LogRecord::RelaySetAdopted { .. } => "relay-set",
        }
    }
}
