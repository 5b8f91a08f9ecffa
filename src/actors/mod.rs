//! The hub's actors (actix).
//!
//! # Layout
//! - `chain` — [`ChainActor`]: one per connected chain, owns its adapter, supervised.
//! - `log` — [`CommitLogActor`]: owns the commit log; appends in mailbox order, group-committed.
//! - `ingest` — batches concurrent submissions for the chain actors and the router.
//! - `router` — [`Router`]: the single sequencer and the owner of the hub state.
//! - `refchain` — [`ReferenceChainActor`]: seals blocks and gathers relay quorums.
//! - `relay` — [`CityRelayActor`]: one per city, checks and signs blocks.

pub mod chain;
pub mod ingest;
pub mod log;
pub mod refchain;
pub mod relay;
pub mod router;

pub use chain::{AdapterFactory, ChainActor};
pub use log::CommitLogActor;
pub use refchain::ReferenceChainActor;
pub use relay::{CityRelayActor, RelayBehaviour, RootCache};
pub use router::{now_ms, Router, StatusEvent, SubmitError, SubmitOutcome};
