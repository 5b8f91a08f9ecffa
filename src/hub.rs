//! Starting, driving and stopping the whole actor system on one data directory.

use crate::actors::chain::VerifyHeader;
use crate::actors::ingest::IngestItem;
use crate::actors::router::{AppendRecords, GetMessage, GetState};
use crate::actors::{
    AdapterFactory, ChainActor, CityRelayActor, CommitLogActor, ReferenceChainActor,
    RelayBehaviour, RootCache, Router, StatusEvent, SubmitError, SubmitOutcome,
};
use crate::config::{ChainConfig, Config};
use crate::log::{decode_record, CommitLog, LogHealth, RedbLog};
use crate::message::{ChainId, MessageId, MessageState};
use crate::record::LogRecord;
use crate::refchain::finality::FinalityProof;
use crate::refchain::{
    load_or_generate_keys, rotate_key, BlockHeader, RelayInfo, RelaySet, RelaySets,
};
use crate::state::{HubState, MessageEntry};
use actix::prelude::*;
use meridian_adapters::mock::{MockAdapter, MockChain};
use meridian_adapters::{ChainAdapter, Evidence};
use meridian_proofs::document::Rfc6962ConsistencyDoc;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The commit log could not be opened or read.
    #[error("commit log: {0}")]
    Log(String),
    /// A log record does not decode or apply.
    #[error("log record {seq}: {reason}")]
    Replay {
        /// Its sequence number.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// Relay keys could not be loaded, or are not this log's. (Not the error's `source`: its
    /// text is in this one's, which an error chain would print twice.)
    #[error("relay keys: {0}")]
    Keys(crate::refchain::KeyError),
    /// The data directory has relay keys that signed blocks of a commit log that is gone.
    #[error("{0}")]
    LostLog(String),
    /// A chain could not be set up.
    #[error("chain {0}: {1}")]
    Chain(String, String),
    /// The log holds open transfers of chains the configuration no longer has: they would
    /// never be delivered or refunded.
    #[error(
        "the commit log holds open transfers of chains that are not configured: {0}; without \
         them these transfers are never delivered nor refunded. Configure the chains again \
         (config/chains/<id>.toml) until their transfers settle"
    )]
    Unconfigured(String),
}

/// [`HubError::Unconfigured`] when a transfer still open in `state` (committed, finalized, or
/// timed out and not refunded yet) has a source or destination chain missing from `chains`.
fn refuse_unconfigured(state: &HubState, chains: &[ChainSpec]) -> Result<(), HubError> {
    let mut missing: std::collections::BTreeMap<&str, usize> = Default::default();
    for m in state.messages() {
        if matches!(
            m.state,
            MessageState::Committed | MessageState::Finalized | MessageState::TimedOut
        ) {
            for c in [&m.msg.source, &m.msg.destination] {
                if !chains.iter().any(|s| s.config.id == c.0) {
                    *missing.entry(c.0.as_str()).or_default() += 1;
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(c, n)| format!("{c} ({n} open)"))
        .collect();
    Err(HubError::Unconfigured(list.join(", ")))
}

impl From<crate::refchain::KeyError> for HubError {
    fn from(e: crate::refchain::KeyError) -> Self {
        HubError::Keys(e)
    }
}

/// Why a proof could not be produced.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProofRequestError {
    /// No such message.
    #[error("unknown message {0}")]
    UnknownMessage(String),
    /// The message is not in a finalized block yet.
    #[error("message {0} is not final yet")]
    NotFinal(String),
    /// No block at that height.
    #[error("no block at height {0}")]
    UnknownBlock(u64),
    /// The log could not be read.
    #[error("commit log: {0}")]
    Log(String),
    /// The hub is stopping.
    #[error("hub unavailable")]
    Unavailable,
}

/// A connected chain as the hub is started with it.
pub struct ChainSpec {
    /// Its configuration.
    pub config: ChainConfig,
    /// Builds its adapter (again after a crash).
    pub factory: AdapterFactory,
}

impl ChainSpec {
    /// A chain spec over any family's demo (mock) chain.
    pub fn demo(config: ChainConfig, chain: Arc<dyn meridian_adapters::demo::DemoChain>) -> Self {
        let factory: AdapterFactory = Arc::new(move || chain.adapter());
        ChainSpec { config, factory }
    }

    /// A mock chain spec whose adapter talks to `chain`.
    pub fn mock(config: ChainConfig, chain: MockChain) -> Self {
        let keys = chain.validator_keys();
        let factory: AdapterFactory = Arc::new(move || {
            MockAdapter::new(chain.clone(), &keys).map(|a| Box::new(a) as Box<dyn ChainAdapter>)
        });
        ChainSpec { config, factory }
    }
}

/// Options beyond the configuration (tests inject faults here).
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Behaviour per relay index; missing = honest.
    pub relay_behaviour: HashMap<u16, RelayBehaviour>,
}

/// A running hub.
pub struct Hub {
    router: Addr<Router>,
    chains: HashMap<ChainId, Addr<ChainActor>>,
    /// Each source chain's ingest lane.
    ingest: HashMap<ChainId, tokio::sync::mpsc::Sender<IngestItem>>,
    events: broadcast::Sender<StatusEvent>,
    log: Arc<dyn CommitLog>,
    sets: RelaySets,
    key_dir: PathBuf,
    relays: Vec<Addr<CityRelayActor>>,
    cache: RootCache,
    restarts: HashMap<ChainId, Arc<AtomicU64>>,
    arbiters: Vec<Arbiter>,
    _refchain: Addr<ReferenceChainActor>,
    /// The router's first failure, once it has stopped taking new work.
    failed: crate::actors::router::Failure,
}

/// Why the hub cannot take new transfers, from [`Hub::health`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unhealthy {
    /// What failed, and how.
    pub reason: String,
    /// Only a restart helps (the commit log took no more writes).
    pub permanent: bool,
}

/// Read every record of `log` into a fresh state.
pub async fn replay(log: &dyn CommitLog) -> Result<HubState, HubError> {
    let mut state = HubState::new();
    let mut next = 0u64;
    loop {
        let batch = log
            .read(next, 8192)
            .await
            .map_err(|e| HubError::Log(e.to_string()))?;
        if batch.is_empty() {
            break;
        }
        for (seq, bytes) in batch {
            let rec: LogRecord = decode_record(&bytes).map_err(|e| HubError::Replay {
                seq,
                reason: e.to_string(),
            })?;
            match state.apply(seq, rec) {
                Ok(_) => {}
                // Ignored live as well: see the router.
                Err(e @ crate::state::ApplyError::BadBlock { .. }) => {
                    tracing::warn!(seq, error = %e, "block record ignored");
                }
                Err(e) => {
                    return Err(HubError::Replay {
                        seq,
                        reason: e.to_string(),
                    })
                }
            }
            next = seq + 1;
        }
    }
    Ok(state)
}

impl Hub {
    /// Open `data_dir` (creating it), replay the log and start every actor. Must be called
    /// inside an actix system.
    pub async fn start(
        config: &Config,
        data_dir: &Path,
        chains: Vec<ChainSpec>,
        options: HubOptions,
    ) -> Result<Hub, HubError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| HubError::Log(format!("{}: {e}", data_dir.display())))?;
        let log_path = data_dir.join("log.redb");
        let key_dir = data_dir.join("relay-keys");
        // The log is made before the keys, so keys without a log mean the log was lost: a new
        // one would have the same keys sign a second reference chain (other blocks at heights
        // they signed already), which verifiers of the first could not tell from an attack.
        if !log_path.exists() && has_key_files(&key_dir) {
            return Err(HubError::LostLog(format!(
                "{} holds relay keys but {} does not exist: the commit log they signed blocks \
                 of was lost or moved. Restore it (log.redb with log.redb.wal0 and \
                 log.redb.wal1), or, to start a new hub, move {} away too (new keys)",
                key_dir.display(),
                log_path.display(),
                key_dir.display()
            )));
        }
        let log: Arc<dyn CommitLog> = Arc::new(
            RedbLog::open(
                &log_path,
                config.hub.log.queue_capacity,
                config.hub.log.max_batch_entries,
            )
            .map_err(|e| HubError::Log(e.to_string()))?,
        );
        Self::start_on_log(config, data_dir, log, chains, options).await
    }

    /// [`Hub::start`] on an already opened log.
    pub async fn start_on_log(
        config: &Config,
        data_dir: &Path,
        log: Arc<dyn CommitLog>,
        chains: Vec<ChainSpec>,
        options: HubOptions,
    ) -> Result<Hub, HubError> {
        let state = replay(log.as_ref()).await?;
        refuse_unconfigured(&state, &chains)?;
        let ids: Vec<String> = config.cities.iter().map(|c| c.id.clone()).collect();
        let keys = load_or_generate_keys(&data_dir.join("relay-keys"), &ids)?;
        let relay_set = Arc::new(RelaySet {
            relays: keys
                .iter()
                .map(|k| RelayInfo {
                    id: k.id.clone(),
                    public_key: k.public_key(),
                })
                .collect(),
        });
        if let Some(last) = state.relay_sets().last() {
            let changed = changed_keys(last, &relay_set);
            if !changed.is_empty() {
                tracing::warn!(
                    count = changed.len(),
                    cities = %changed.join(", "),
                    "relay keys on disk are not the ones the log last recorded for these cities \
                     (a key file was replaced, or was missing and a new key was made): the new \
                     set is recorded and signs from now on; earlier blocks stay provable under \
                     the old one"
                );
            }
        }
        // Every set the log has seen stays known (older blocks name them); the keys on disk
        // make the current one, recorded in the log if it is new.
        let sets = RelaySets::default();
        for s in state.relay_sets() {
            sets.remember(s.clone());
        }
        sets.adopt((*relay_set).clone());
        let record_set = state.relay_sets().last() != Some(relay_set.as_ref());
        let last_final = state
            .blocks()
            .iter()
            .rev()
            .find(|b| b.qc.is_some())
            .map(|b| (b.header.height, b.header.hash(), b.header.log_end));

        let mut arbiters = Vec::new();
        let mut chain_addrs = HashMap::new();
        let mut restarts = HashMap::new();
        for spec in chains {
            let id = ChainId(spec.config.id.clone());
            let lc = Arc::new(Mutex::new(state.light_client(&id).map(<[u8]>::to_vec)));
            let counter = Arc::new(AtomicU64::new(0));
            let arbiter = Arbiter::new();
            let factory = spec.factory.clone();
            let cid = spec.config.id.clone();
            let c2 = counter.clone();
            let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                ChainActor::new(&cid, factory, lc, c2)
            });
            arbiters.push(arbiter);
            restarts.insert(id.clone(), counter);
            chain_addrs.insert(id, addr);
        }

        let (events, _) = broadcast::channel(config.hub.hub.events_queue.max(1));
        let log_actor = CommitLogActor::new(log.clone()).start();
        let failed = crate::actors::router::Failure::default();
        let router = Router::new(
            state,
            log_actor,
            chain_addrs.clone(),
            config.hub.router.clone(),
            events.clone(),
            failed.clone(),
        )
        .start();

        let cache = RootCache::default();
        let proof_cache = cache.clone();
        let relay_arbiter = Arbiter::new();
        let mut relays = Vec::with_capacity(keys.len());
        for (i, key) in keys.into_iter().enumerate() {
            let index = u16::try_from(i)
                .map_err(|_| HubError::Chain("relays".into(), "too many".into()))?;
            let behaviour = options
                .relay_behaviour
                .get(&index)
                .copied()
                .unwrap_or(RelayBehaviour::Honest);
            let (log, cache, sets) = (log.clone(), cache.clone(), sets.clone());
            relays.push(CityRelayActor::start_in_arbiter(
                &relay_arbiter.handle(),
                move |_| CityRelayActor::new(index, key, log, sets, behaviour, cache, last_final),
            ));
        }
        arbiters.push(relay_arbiter);
        let relay_addrs = relays.clone();
        let refchain = ReferenceChainActor::new(
            router.clone(),
            log.clone(),
            relays,
            sets.clone(),
            config.hub.refchain.clone(),
            cache,
        )
        .start();
        if record_set {
            router
                .send(AppendRecords(vec![LogRecord::RelaySetAdopted {
                    relays: relay_set.relays.clone(),
                }]))
                .await
                .map_err(|e| HubError::Log(e.to_string()))?
                .map_err(HubError::Log)?;
        }
        let ingest = crate::actors::ingest::start(chain_addrs.clone(), router.clone(), log.clone());
        Ok(Hub {
            router,
            ingest,
            chains: chain_addrs,
            events,
            log,
            sets,
            key_dir: data_dir.join("relay-keys"),
            cache: proof_cache,
            relays: relay_addrs,
            restarts,
            arbiters,
            _refchain: refchain,
            failed,
        })
    }

    /// Verify `evidence` on `source` and, if it holds, commit it as a message. Answers only
    /// once the message is durable (or was already known).
    pub async fn submit(
        &self,
        source: &ChainId,
        evidence: Evidence,
        timeout_secs: Option<u64>,
    ) -> Result<SubmitOutcome, SubmitError> {
        self.submit_for("", source, evidence, timeout_secs).await
    }

    /// [`Hub::submit`] on behalf of a DApp tenant (recorded with the message).
    pub async fn submit_for(
        &self,
        tenant: &str,
        source: &ChainId,
        evidence: Evidence,
        timeout_secs: Option<u64>,
    ) -> Result<SubmitOutcome, SubmitError> {
        let Some(lane) = self.ingest.get(source) else {
            return Err(SubmitError::UnknownChain(source.0.clone()));
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        lane.try_send(IngestItem {
            tenant: tenant.to_string(),
            evidence,
            timeout_secs,
            reply,
        })
        .map_err(|e| SubmitError::Overloaded(format!("submission queue: {e}")))?;
        answer
            .await
            .unwrap_or_else(|_| Err(SubmitError::Overloaded("hub stopped".into())))
    }

    /// Verify a new header of `chain` against its light client and, if it extends it, record
    /// the advanced light-client state in the commit log (durably, before answering), so the
    /// chain actor resumes from it after a crash or a restart.
    pub async fn advance_header(
        &self,
        chain: &ChainId,
        header: Vec<u8>,
    ) -> Result<meridian_adapters::HeaderInfo, SubmitError> {
        let actor = self
            .chains
            .get(chain)
            .ok_or_else(|| SubmitError::UnknownChain(chain.0.clone()))?;
        let (info, state) = actor
            .send(VerifyHeader(header))
            .await
            .map_err(|e| SubmitError::Overloaded(e.to_string()))?
            .map_err(|e| SubmitError::Rejected(e.to_string()))?;
        self.router
            .send(AppendRecords(vec![LogRecord::LightClient {
                chain: chain.clone(),
                state,
            }]))
            .await
            .map_err(|e| SubmitError::Overloaded(e.to_string()))?
            .map_err(SubmitError::Log)?;
        Ok(info)
    }

    /// The message with `id`, if committed.
    pub async fn message(&self, id: MessageId) -> Option<MessageEntry> {
        self.router.send(GetMessage(id)).await.ok().flatten()
    }

    /// Whether any of these messages is committed or being appended; `None` when the router
    /// does not answer.
    pub async fn any_known(&self, ids: Vec<MessageId>) -> Option<bool> {
        self.router
            .send(crate::actors::router::AnyKnown(ids))
            .await
            .ok()
    }

    /// A page of messages, in log order.
    pub async fn list(&self, q: crate::actors::router::ListMessages) -> Option<crate::state::Page> {
        self.router.send(q).await.ok()
    }

    /// Counters; `None` when the router does not answer.
    pub async fn stats(&self) -> Option<crate::actors::router::Stats> {
        self.router.send(crate::actors::router::GetStats).await.ok()
    }

    /// Blocks, newest first.
    pub async fn blocks(
        &self,
        at_or_below: Option<u64>,
        limit: usize,
    ) -> Vec<crate::state::BlockEntry> {
        self.router
            .send(crate::actors::router::GetBlocks { at_or_below, limit })
            .await
            .unwrap_or_default()
    }

    /// Pause or resume admission on a route (operator).
    pub async fn set_route_paused(&self, source: ChainId, destination: ChainId, paused: bool) {
        let _ = self
            .router
            .send(crate::actors::router::SetRoutePaused {
                source,
                destination,
                paused,
            })
            .await;
    }

    /// Whether `id` is a connected chain.
    pub fn has_chain(&self, id: &ChainId) -> bool {
        self.chains.contains_key(id)
    }

    /// Whether `chain` could ever apply each delivery (its adapter's
    /// [`check_delivery`](meridian_adapters::ChainAdapter::check_delivery)); `None` when the
    /// chain is unknown or its actor does not answer within `wait` (the question waits in its
    /// mailbox behind deliveries, which may block on a slow node).
    pub async fn check_deliveries(
        &self,
        chain: &ChainId,
        deliveries: Vec<meridian_adapters::Delivery>,
        wait: std::time::Duration,
    ) -> Option<Vec<Result<(), meridian_adapters::AdapterError>>> {
        let addr = self.chains.get(chain)?;
        let ask = addr.send(crate::actors::chain::CheckDeliveries(deliveries));
        tokio::time::timeout(wait, ask).await.ok()?.ok()
    }

    /// The ids of the connected chains.
    pub fn chain_ids(&self) -> Vec<ChainId> {
        let mut v: Vec<_> = self.chains.keys().cloned().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Whether the hub can take new transfers, as far as its commit log goes: `None` when it
    /// can (the router answering is [`Hub::state_probe`]).
    pub fn health(&self) -> Option<Unhealthy> {
        const RESTART: &str = "restart the hub once the cause is fixed: everything it accepted \
                               is durable and is delivered after the restart";
        if let Some(f) = self.failed.get() {
            return Some(Unhealthy {
                reason: format!("commit log failed: {f}; {RESTART}"),
                permanent: true,
            });
        }
        match self.log.health() {
            LogHealth::Ok => None,
            LogHealth::Failed(e) => Some(Unhealthy {
                reason: format!("commit log failed: {e}; {RESTART}"),
                permanent: true,
            }),
            LogHealth::Degraded(e) => Some(Unhealthy {
                reason: format!(
                    "commit log failing: {e}; retrying, new transfers are refused once its \
                     journal is full"
                ),
                permanent: false,
            }),
        }
    }

    /// Whether the router answers (readiness).
    pub async fn state_probe(&self) -> bool {
        self.router
            .send(crate::actors::router::GetChainView)
            .await
            .is_ok()
    }

    /// A snapshot of the hub state.
    pub async fn state(&self) -> Option<HubState> {
        self.router.send(GetState).await.ok()
    }

    /// The status changes after `after` that the state still holds (resuming an event
    /// stream); `None` when the router does not answer.
    pub async fn events_after(
        &self,
        after: crate::state::EventKey,
        limit: usize,
        filter: crate::actors::router::EventFilter,
    ) -> Option<crate::actors::router::EventsPage> {
        self.router
            .send(crate::actors::router::EventsAfter {
                after,
                limit,
                filter,
            })
            .await
            .ok()
    }

    /// Status changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StatusEvent> {
        self.events.subscribe()
    }

    /// The commit log.
    pub fn log(&self) -> Arc<dyn CommitLog> {
        self.log.clone()
    }

    /// The offline finality proof of message `id`: its `Accepted` record, the record's
    /// inclusion proof under the finalizing block's whole-log root, the header, the quorum
    /// certificate and the relay keys (a `meridian-finality` document).
    pub async fn finality_proof(&self, id: MessageId) -> Result<FinalityProof, ProofRequestError> {
        // The message and its block only: a copy of the whole state, made on the router's
        // thread, took ~170 ms at 200,000 messages and stalled every submission meanwhile.
        let (m, block) = self
            .router
            .send(crate::actors::router::GetFinalityInputs(id))
            .await
            .map_err(|_| ProofRequestError::Unavailable)?
            .ok_or_else(|| ProofRequestError::UnknownMessage(id.to_string()))?;
        let (block, qc) = block
            .and_then(|b| b.qc.clone().map(|qc| (b, qc)))
            .ok_or_else(|| ProofRequestError::NotFinal(id.to_string()))?;
        let record = self
            .log
            .read(m.seq, 1)
            .await
            .map_err(|e| ProofRequestError::Log(e.to_string()))?
            .into_iter()
            .next()
            .filter(|(s, _)| *s == m.seq)
            .ok_or_else(|| ProofRequestError::Log(format!("record {} missing", m.seq)))?
            .1;
        let proof = self
            .cache
            .inclusion(self.log.as_ref(), m.seq, block.header.log_end)
            .await
            .map_err(ProofRequestError::Log)?;
        Ok(FinalityProof {
            format: crate::refchain::finality::FORMAT.to_string(),
            message_id: id.0.into(),
            record: record.into(),
            seq: m.seq,
            proof: proof.into_iter().map(Into::into).collect(),
            header: block.header.clone(),
            qc,
            relays: self
                .sets
                .get(&block.header.relay_set_hash)
                .map(|s| s.relays.clone())
                .ok_or_else(|| ProofRequestError::Log("the block's relay set is unknown".into()))?,
        })
    }

    /// The consistency proof of the whole log between the blocks at two heights, as an
    /// `rfc6962-consistency` document (old and new `log_root`s).
    pub async fn consistency_proof(
        &self,
        old_height: u64,
        new_height: u64,
    ) -> Result<Rfc6962ConsistencyDoc, ProofRequestError> {
        let (old, new) = (
            self.block_header(old_height).await?,
            self.block_header(new_height).await?,
        );
        let proof = self
            .cache
            .consistency(self.log.as_ref(), old.log_end, new.log_end)
            .await
            .map_err(ProofRequestError::Log)?;
        Ok(Rfc6962ConsistencyDoc {
            old_size: old.log_end,
            new_size: new.log_end,
            old_root: old.log_root.into(),
            new_root: new.log_root.into(),
            proof: proof.into_iter().map(Into::into).collect(),
        })
    }

    /// The header of the block at `height`.
    async fn block_header(&self, height: u64) -> Result<BlockHeader, ProofRequestError> {
        self.router
            .send(crate::actors::router::GetBlocks {
                at_or_below: Some(height),
                limit: 1,
            })
            .await
            .map_err(|_| ProofRequestError::Unavailable)?
            .into_iter()
            .next()
            .filter(|b| b.header.height == height)
            .map(|b| b.header)
            .ok_or(ProofRequestError::UnknownBlock(height))
    }

    /// Replace city `city`'s relay key: the new key is written to the data directory, the new
    /// relay set is recorded in the log (durably) and used for blocks sealed from now on; blocks
    /// sealed before stay verifiable under the set they name.
    pub async fn rotate_relay_key(&self, city: &str) -> Result<RelaySet, HubError> {
        let current = self.sets.current();
        let index = current
            .relays
            .iter()
            .position(|r| r.id == city)
            .ok_or_else(|| HubError::Chain(city.into(), "no such city relay".into()))?;
        let key = rotate_key(&self.key_dir, city)?;
        let mut next = (*current).clone();
        next.relays[index].public_key = key.public_key();
        self.router
            .send(AppendRecords(vec![LogRecord::RelaySetAdopted {
                relays: next.relays.clone(),
            }]))
            .await
            .map_err(|e| HubError::Log(e.to_string()))?
            .map_err(HubError::Log)?;
        self.sets.adopt(next.clone());
        if let Some(relay) = self.relays.get(index) {
            relay
                .send(crate::actors::relay::SetKey(key))
                .await
                .map_err(|e| HubError::Log(e.to_string()))?;
        }
        Ok(next)
    }

    /// The city relays' actors, in relay-set order (operators and tests propose to them).
    pub fn relays(&self) -> &[Addr<CityRelayActor>] {
        &self.relays
    }

    /// The city-relay set.
    pub fn relay_set(&self) -> Arc<RelaySet> {
        self.sets.current()
    }

    /// How often the chain actor of `chain` was restarted after a panic.
    pub fn chain_restarts(&self, chain: &ChainId) -> u64 {
        self.restarts
            .get(chain)
            .map_or(0, |c| c.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The chain actor of `chain` (tests send it messages directly).
    pub fn chain_actor(&self, chain: &ChainId) -> Option<Addr<ChainActor>> {
        self.chains.get(chain).cloned()
    }

    /// Stop every arbiter this hub started. The caller stops the actix system itself.
    pub fn stop(self) {
        for a in &self.arbiters {
            a.stop();
        }
    }
}

/// Whether `dir` holds any relay key file.
fn has_key_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "key"))
    })
}

/// The cities of `now` whose key is not theirs in `before` (or that `before` lacks).
fn changed_keys(before: &RelaySet, now: &RelaySet) -> Vec<String> {
    let old: HashMap<&str, &[u8; 32]> = before
        .relays
        .iter()
        .map(|r| (r.id.as_str(), &r.public_key))
        .collect();
    now.relays
        .iter()
        .filter(|r| old.get(r.id.as_str()) != Some(&&r.public_key))
        .map(|r| r.id.clone())
        .collect()
}

/// The default data directory.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
