//! `Router`: the single sequencer. It deduplicates by message id, assigns route nonces,
//! enforces per-route rate limits, appends every record to the commit log (and replies only
//! once the record is durable), applies durable records to the [`HubState`] in log order,
//! dispatches finalized messages to their destination chains and refunds timed-out ones.

use super::chain::{ChainActor, Deliver, DeliverBatch, Settle};
use super::log::CommitLogActor;
use crate::config::RouterSection;
use crate::log::{encode_record, LogError};
use crate::message::{ChainId, CrossChainMessage, IdMap, IdSet, MessageId, MessageState, RouteMap};
use crate::record::LogRecord;
use crate::state::{HubState, MessageEntry};
use actix::prelude::*;
use meridian_adapters::{AdapterError, Delivery, Evidence, LockEvent, Settlement};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, oneshot};

/// Deliveries in flight at once; the rest wait in the router's queue.
pub const MAX_DISPATCH: usize = 2048;

/// Most deliveries in one batch to one destination chain actor.
pub const MAX_DELIVERY_BATCH: usize = 512;

/// Ticks (250 ms each) between sweeps over every undelivered message. In between, the tick
/// retries only deliveries known to have failed; the sweep is the safety net.
const FULL_SWEEP_TICKS: u64 = 40;

/// How long a message whose destination answered [`Settlement::Open`] waits before it is asked
/// again (a node whose blocks lag the hub's clock would otherwise be asked about every such
/// message on every tick, ahead of its deliveries).
const SETTLE_RECHECK: Duration = Duration::from_secs(2);

/// How long a delivery its destination answered [`AdapterError::Pending`] waits before it is
/// asked again the first time: sent, not final yet (blocks come seconds apart, and finality
/// takes some of them; asking on every tick would only cost the node calls). Each further
/// `Pending` in a row doubles the wait, up to [`PENDING_RECHECK_MAX`]. A pending refund waits
/// [`SETTLE_RECHECK`], with the rest of its timeout handling.
const PENDING_RECHECK: Duration = Duration::from_secs(2);

/// The longest wait between two asks of a pending delivery.
const PENDING_RECHECK_MAX: Duration = Duration::from_secs(30);

/// The wait before asking again about a delivery answered `Pending` `asks` times in a row.
fn pending_wait(asks: u32) -> Duration {
    let doublings = asks.saturating_sub(1).min(16);
    PENDING_RECHECK
        .saturating_mul(1 << doublings)
        .min(PENDING_RECHECK_MAX)
}

/// Wall-clock ms since the epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Why a submission was not accepted.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// The evidence did not verify on its source chain: the message is Rejected.
    #[error("rejected: {0}")]
    Rejected(String),
    /// No such chain is connected.
    #[error("unknown chain {0:?}")]
    UnknownChain(String),
    /// Source and destination are the same chain.
    #[error("source and destination are both {0:?}")]
    SameChain(String),
    /// Zero amount.
    #[error("amount must be positive")]
    ZeroAmount,
    /// The operator paused this route.
    #[error("route {0} is paused")]
    Paused(String),
    /// The route's rate limit is exhausted.
    #[error("route {route} is over its rate limit; retry after {retry_after_ms} ms")]
    RateLimited {
        /// "source→destination".
        route: String,
        /// When a token will be available.
        retry_after_ms: u64,
    },
    /// Queues are full: try again later (503).
    #[error("hub overloaded: {0}")]
    Overloaded(String),
    /// The commit log failed: not accepted (after a failed write, whether its record is on
    /// disk is known only once the log is read back, at the next start).
    #[error("commit log: {0}")]
    Log(String),
    /// An earlier write to the commit log failed: the hub takes no new work until it is
    /// restarted (a restart replays the log, so what it holds and what the hub holds agree).
    #[error("the commit log failed ({0}); the hub takes no new transfers until it is restarted")]
    LogFailed(String),
    /// This evidence is another tenant's transfer: nothing about it is told (409).
    #[error("this evidence was submitted by another tenant")]
    OtherTenant,
    /// The destination chain could never apply the transfer (its recipient is no account
    /// name there, its amount is out of the chain's range): refused, not committed (422).
    #[error("{destination} cannot apply it: {reason}")]
    Undeliverable {
        /// The destination chain.
        destination: String,
        /// Why.
        reason: String,
    },
}

/// What makes two events at one position the same transfer (see `Router::admit`), as a hash:
/// kept for messages being appended, compared when the same position comes again meanwhile.
fn event_digest(ev: &meridian_adapters::LockEvent) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one((
        &ev.destination,
        &ev.sender,
        &ev.recipient,
        &ev.asset,
        ev.amount,
    ))
}

/// The refusal of another event at the position of message `id` (see `Router::admit`).
fn another_event(id: MessageId) -> Admission {
    Admission::Done(Err(SubmitError::Rejected(format!(
        "message {id} already holds another event at this locator"
    ))))
}

/// Whether a delivery error means the destination can never apply it (so retrying is
/// pointless): its encoding failed, or the family does not offer it. Anything else (the chain
/// unreachable, a deadline) may pass.
pub fn permanent(e: &AdapterError) -> bool {
    matches!(
        e,
        AdapterError::Malformed { .. } | AdapterError::Unsupported(..)
    )
}

/// Whether a submission by `caller` may be answered with a message `owner` submitted: the
/// operator (and in-process callers, the empty tenant) may, a tenant only its own.
pub fn may_see(owner: &str, caller: &str) -> bool {
    caller.is_empty() || owner == caller
}

/// Which status changes an event stream passes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Whose changes (see [`may_see`]); `None`: everyone's (the anonymous stream, which
    /// carries no message ids).
    pub viewer: Option<String>,
    /// Only changes into this state.
    pub status: Option<MessageState>,
    /// Only changes of transfers from or to this chain.
    pub chain: Option<String>,
}

impl EventFilter {
    /// Whether the change passes.
    pub fn passes(&self, ev: &StatusEvent) -> bool {
        self.admits(ev.state, &ev.source, &ev.destination, &ev.tenant)
    }

    /// Whether a change into `state` of a transfer from `source` to `destination` submitted
    /// by `tenant` passes.
    pub fn admits(
        &self,
        state: MessageState,
        source: &str,
        destination: &str,
        tenant: &str,
    ) -> bool {
        self.status.is_none_or(|s| s == state)
            && self
                .chain
                .as_deref()
                .is_none_or(|c| source == c || destination == c)
            && self.viewer.as_ref().is_none_or(|v| may_see(tenant, v))
    }
}

/// The answer to an accepted (or already known) submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitOutcome {
    /// The message id.
    pub id: MessageId,
    /// Its log sequence number.
    pub seq: u64,
    /// Its state when answered.
    pub state: MessageState,
    /// Whether this evidence had already been submitted (this is the first message).
    pub existing: bool,
}

/// A status change, broadcast to subscribers (the HTTP event stream, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// Which message.
    pub id: MessageId,
    /// New state.
    pub state: MessageState,
    /// Log sequence of the causing record.
    pub seq: u64,
    /// Log sequence of the message's `Accepted` record: `(seq, msg_seq)` orders all status
    /// changes (the SSE event id).
    pub msg_seq: u64,
    /// Source chain id. (Shared strings: three events per transfer, each cloned again by
    /// every subscriber, made a dozen string copies per transfer.)
    pub source: Arc<str>,
    /// Destination chain id.
    pub destination: Arc<str>,
    /// Submitting tenant.
    pub tenant: Arc<str>,
    /// When the message was committed (ms since the epoch), for end-to-end latency.
    pub committed_at_ms: u64,
}

struct TokenBucket {
    tokens: f64,
    last: Instant,
}

/// Shared chain and tenant names (three lookups per status event).
type NameSet = HashSet<Arc<str>, foldhash::fast::RandomState>;

/// The first failure that stopped the router taking new work (set once, never cleared): shared
/// with the hub, whose health probes report it without asking the router.
pub type Failure = Arc<std::sync::OnceLock<String>>;

type Fast = foldhash::fast::RandomState;

/// One route's metric handles, registered on first use: transitions by state
/// (`meridian_transfer_transitions_total`) and commit-to-delivery latency
/// (`meridian_end_to_end_seconds`).
#[derive(Default)]
struct RouteMetrics {
    transitions: [Option<metrics::Counter>; 8],
    latency: Option<metrics::Histogram>,
}

/// Route metrics by source, then destination: looked up by the message's own names, without
/// building a key.
type MetricsMap = HashMap<ChainId, HashMap<ChainId, RouteMetrics, Fast>, Fast>;

fn state_index(s: MessageState) -> usize {
    match s {
        MessageState::Submitted => 0,
        MessageState::Verified => 1,
        MessageState::Committed => 2,
        MessageState::Finalized => 3,
        MessageState::Delivered => 4,
        MessageState::Rejected => 5,
        MessageState::TimedOut => 6,
        MessageState::Refunded => 7,
    }
}

/// Count a message's entry into its current state on its route (and, once delivered, its
/// commit-to-delivery time). Counted here, where the state changes, rather than from the
/// status stream: that took a task wake-up and three name copies per event.
fn count_transition(map: &mut MetricsMap, m: &MessageEntry) {
    let (src, dst) = (&m.msg.source, &m.msg.destination);
    if !map.get(src).is_some_and(|d| d.contains_key(dst)) {
        map.entry(src.clone())
            .or_default()
            .insert(dst.clone(), RouteMetrics::default());
    }
    let Some(route) = map.get_mut(src).and_then(|d| d.get_mut(dst)) else {
        return;
    };
    let state = m.state;
    route.transitions[state_index(state)]
        .get_or_insert_with(|| {
            metrics::counter!(
                "meridian_transfer_transitions_total",
                "source" => src.0.clone(),
                "destination" => dst.0.clone(),
                "state" => crate::http::state_name(state)
            )
        })
        .increment(1);
    if state == MessageState::Delivered {
        let secs = now_ms().saturating_sub(m.committed_at_ms) as f64 / 1000.0;
        route
            .latency
            .get_or_insert_with(|| {
                metrics::histogram!(
                    "meridian_end_to_end_seconds",
                    "source" => src.0.clone(),
                    "destination" => dst.0.clone()
                )
            })
            .record(secs);
    }
}

/// The router actor.
pub struct Router {
    state: HubState,
    /// This log's epoch for event ids, once it has a relay set (see [`EventsPage::epoch`]).
    epoch: Option<Arc<str>>,
    log: Addr<CommitLogActor>,
    chains: HashMap<ChainId, Addr<ChainActor>>,
    cfg: RouterSection,
    buckets: RouteMap<TokenBucket>,
    next_nonce: RouteMap<u64>,
    /// Messages being appended: the submitting tenant and who else waits for the outcome.
    /// (The tenant's name is interned: no copy of it per submission.)
    inflight: IdMap<(Arc<str>, u64, Vec<oneshot::Sender<SubmitResult>>)>,
    /// Durable records not applied yet: each appended batch under its first sequence number
    /// (batches are consecutive records; one entry per batch keeps the big records in place).
    reorder: BTreeMap<u64, Vec<LogRecord>>,
    dispatching: IdSet,
    /// Messages past their deadline whose destination could still apply them: not asked again
    /// before this instant.
    settle_after: IdMap<Instant>,
    /// Finalized messages waiting for a delivery slot (at most [`MAX_DISPATCH`] in flight:
    /// actix polls every future spawned in a context on each wake-up, so thousands of
    /// concurrent deliveries would cost quadratic time).
    queued: std::collections::VecDeque<MessageId>,
    queued_set: IdSet,
    /// Finalized messages whose delivery failed (or could not start): retried on the tick.
    retry: IdSet,
    /// Deliveries their destination answered `Pending`: how many times in a row (the next
    /// ask waits [`pending_wait`] of it).
    pending_asks: IdMap<u32>,
    /// Pending deliveries waiting out their wait: the tick's full sweep passes them over.
    pending_waiting: IdSet,
    /// Finalized messages their destination refused for good (an account name it cannot
    /// hold, an amount out of its range: [`permanent`]): not retried; refunded at their
    /// deadline.
    undeliverable: IdSet,
    /// Deliveries taken for dispatch, not yet sent: one batch per destination on flush.
    outbox: HashMap<ChainId, Vec<(MessageId, Delivery)>>,
    /// Ticks so far; every [`FULL_SWEEP_TICKS`]th re-checks every undelivered message.
    ticks: u64,
    events: broadcast::Sender<StatusEvent>,
    failed: Failure,
    paused: HashSet<(ChainId, ChainId)>,
    /// Chain and tenant names shared by the status events.
    names: NameSet,
    /// Metric handles per route.
    route_metrics: MetricsMap,
}

impl Router {
    /// A router over `state` (already replayed from `log`).
    pub fn new(
        state: HubState,
        log: Addr<CommitLogActor>,
        chains: HashMap<ChainId, Addr<ChainActor>>,
        cfg: RouterSection,
        events: broadcast::Sender<StatusEvent>,
        failed: Failure,
    ) -> Self {
        Router {
            state,
            log,
            chains,
            cfg,
            buckets: RouteMap::default(),
            next_nonce: RouteMap::default(),
            inflight: IdMap::default(),
            reorder: BTreeMap::new(),
            dispatching: IdSet::default(),
            settle_after: IdMap::default(),
            queued: std::collections::VecDeque::new(),
            queued_set: IdSet::default(),
            retry: IdSet::default(),
            pending_asks: IdMap::default(),
            pending_waiting: IdSet::default(),
            undeliverable: IdSet::default(),
            outbox: HashMap::new(),
            ticks: 0,
            events,
            failed,
            paused: HashSet::new(),
            names: NameSet::default(),
            epoch: None,
            route_metrics: MetricsMap::default(),
        }
    }

    /// The shared copy of a chain or tenant name (few distinct ones: chains and tenants).
    fn name(names: &mut NameSet, s: &str) -> Arc<str> {
        if let Some(n) = names.get(s) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(s);
        names.insert(n.clone());
        n
    }

    fn take_token(&mut self, route: &(ChainId, ChainId)) -> Result<(), u64> {
        let rate = self.cfg.route_rate_per_sec as f64;
        let burst = self.cfg.route_burst as f64;
        let now = Instant::now();
        let take = |b: &mut TokenBucket| {
            b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
            b.last = now;
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Ok(())
            } else {
                Err((((1.0 - b.tokens) / rate) * 1000.0).ceil() as u64)
            }
        };
        // One lookup for a known route; the route's names are copied only for a new one.
        if let Some(b) = self.buckets.get_mut(route) {
            return take(b);
        }
        take(self.buckets.entry(route.clone()).or_insert(TokenBucket {
            tokens: burst,
            last: now,
        }))
    }

    /// Append records; on success they are applied in log order before the future resolves.
    fn append(
        &mut self,
        records: Vec<LogRecord>,
    ) -> impl ActorFuture<Self, Output = Result<std::ops::Range<u64>, LogError>> {
        self.append_then(records, |_, _| ())
            .map(|(res, ()), _, _| res)
    }

    /// [`Router::append`], calling `durable` with the outcome once the log has answered and
    /// before the records are applied; resolves to the outcome and what `durable` returned.
    fn append_then<T: 'static>(
        &mut self,
        records: Vec<LogRecord>,
        durable: impl FnOnce(&mut Router, &Result<std::ops::Range<u64>, LogError>) -> T + 'static,
    ) -> impl ActorFuture<Self, Output = (Result<std::ops::Range<u64>, LogError>, T)> {
        // Take the queue position now, in handler order: the log order then follows the order
        // in which the router assigned nonces, whatever order actix polls the futures in.
        let fut: futures::future::BoxFuture<'static, _> = match records
            .iter()
            .map(encode_record)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(bytes) => super::log::append(&self.log, bytes),
            Err(e) => Box::pin(async move { Err(e) }),
        };
        fut.into_actor(self).map(move |res, act: &mut Router, ctx| {
            let out = durable(act, &res);
            match &res {
                Ok(range) => {
                    if !records.is_empty() {
                        act.reorder.insert(range.start, records);
                    }
                    act.apply_ready(ctx);
                }
                Err(LogError::Overloaded) => {}
                Err(e) => {
                    act.fail(e);
                }
            }
            (res, out)
        })
    }

    /// Take no new work from now on (the first failure is the one kept and reported).
    fn fail(&self, e: &dyn std::fmt::Display) {
        let first = self.failed.set(e.to_string()).is_ok();
        if first {
            tracing::error!(
                error = %e,
                "commit log failed; the hub takes no new transfers until it is restarted \
                 (everything accepted is durable and is delivered after the restart)"
            );
        }
    }

    fn apply_ready(&mut self, ctx: &mut Context<Self>) {
        while let Some(batch) = self.reorder.remove(&self.state.next_seq()) {
            for rec in batch {
                self.apply_one(rec);
            }
        }
        self.flush(ctx);
    }

    /// Apply the next record (every call steps the state's sequence on, whatever the outcome).
    fn apply_one(&mut self, rec: LogRecord) {
        let seq = self.state.next_seq();
        match self.state.apply(seq, rec) {
            Ok(changed) => {
                // Status events only while someone listens (an SSE client, a test).
                let listened = self.events.receiver_count() > 0;
                for id in changed {
                    if let Some(m) = self.state.message(&id) {
                        count_transition(&mut self.route_metrics, m);
                        if listened {
                            let _ = self.events.send(StatusEvent {
                                id,
                                state: m.state,
                                seq,
                                msg_seq: m.seq,
                                source: Self::name(&mut self.names, &m.msg.source.0),
                                destination: Self::name(&mut self.names, &m.msg.destination.0),
                                tenant: Self::name(&mut self.names, &m.msg.tenant),
                                committed_at_ms: m.committed_at_ms,
                            });
                        }
                        if m.state == MessageState::Finalized {
                            self.dispatch(id);
                        }
                    }
                }
            }
            // A block record that does not extend the chain is ignored, here and on replay
            // alike (the state already stepped past it), so the hub stays startable.
            Err(e @ crate::state::ApplyError::BadBlock { .. }) => {
                tracing::warn!(seq, error = %e, "block record ignored");
            }
            Err(e) => {
                tracing::error!(seq, "record does not apply");
                self.fail(&e);
            }
        }
    }

    fn delivery_for(entry: &MessageEntry, refund: bool) -> Delivery {
        Delivery {
            message_id: entry.msg.id.0,
            refund,
            account: if refund {
                entry.msg.sender.clone()
            } else {
                entry.msg.recipient.clone()
            },
            asset: entry.msg.asset.clone(),
            amount: entry.msg.amount,
            refchain_height: entry.block.unwrap_or(0),
            deadline_ms: entry.deadline_ms(),
        }
    }

    /// Start queued deliveries while slots are free.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        while self.dispatching.len() < MAX_DISPATCH {
            let Some(id) = self.queued.pop_front() else {
                break;
            };
            self.queued_set.remove(&id);
            self.dispatch(id);
        }
        self.flush(ctx);
    }

    /// Take a finalized message for delivery to its destination: into the outbox (sent on the
    /// next [`Router::flush`]), or the queue when [`MAX_DISPATCH`] are in flight.
    fn dispatch(&mut self, id: MessageId) {
        let Some(entry) = self.state.message(&id) else {
            return;
        };
        if entry.state != MessageState::Finalized || self.dispatching.contains(&id) {
            return;
        }
        if self.dispatching.len() >= MAX_DISPATCH {
            if self.queued_set.insert(id) {
                self.queued.push_back(id);
            }
            return;
        }
        if !self.chains.contains_key(&entry.msg.destination) {
            self.retry.insert(id);
            return;
        }
        self.dispatching.insert(id);
        let delivery = Self::delivery_for(entry, false);
        // The destination's name is copied only for the first delivery to it since the last
        // flush (not once per message, as `entry` would).
        match self.outbox.get_mut(&entry.msg.destination) {
            Some(out) => out.push((id, delivery)),
            None => {
                self.outbox
                    .insert(entry.msg.destination.clone(), vec![(id, delivery)]);
            }
        }
    }

    /// Send the outbox: one [`DeliverBatch`] per destination (at most
    /// [`MAX_DELIVERY_BATCH`] each); record the batch's receipts as one `DeliveredBatch`;
    /// failed deliveries are retried on the tick.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let outbox = std::mem::take(&mut self.outbox);
        for (dest_id, all) in outbox {
            // Each delivery moved once, in order (splitting the front off the rest copied
            // the remainder of the outbox once per batch).
            let mut items = all.into_iter();
            loop {
                let batch: Vec<_> = items.by_ref().take(MAX_DELIVERY_BATCH).collect();
                if batch.is_empty() {
                    break;
                }
                self.send_batch(&dest_id, batch, ctx);
            }
        }
    }

    fn send_batch(
        &mut self,
        dest_id: &ChainId,
        batch: Vec<(MessageId, Delivery)>,
        ctx: &mut Context<Self>,
    ) {
        let (ids, deliveries): (Vec<MessageId>, Vec<Delivery>) = batch.into_iter().unzip();
        let destination = dest_id.clone();
        let Some(dest) = self.chains.get(dest_id).cloned() else {
            for id in ids {
                self.dispatching.remove(&id);
                self.retry.insert(id);
            }
            return;
        };
        ctx.spawn(
            async move { dest.send(DeliverBatch(deliveries)).await }
                .into_actor(self)
                .then(move |res, act, ctx| {
                    let mut items = Vec::new();
                    // Pending deliveries by how long they wait before the next ask.
                    let mut pending: HashMap<Duration, Vec<MessageId>> = HashMap::new();
                    match res {
                        Ok(results) => {
                            for (id, r) in ids.iter().zip(results) {
                                if !matches!(r, Err(AdapterError::Pending(_))) {
                                    act.pending_asks.remove(id);
                                }
                                match r {
                                    Ok(receipt) => items.push((*id, receipt.reference)),
                                    Err(AdapterError::Pending(why)) => {
                                        let asks = act.pending_asks.entry(*id).or_insert(0);
                                        *asks = asks.saturating_add(1);
                                        let wait = pending_wait(*asks);
                                        tracing::debug!(%id, %why, ?wait, "delivery not final yet; asked again");
                                        act.pending_waiting.insert(*id);
                                        pending.entry(wait).or_default().push(*id);
                                    }
                                    Err(e) if permanent(&e) => {
                                        tracing::warn!(%id, %destination, error = %e, "the destination can never apply this delivery; not retried, refunded at its deadline");
                                        metrics::counter!("meridian_deliveries_undeliverable_total", "destination" => destination.0.clone()).increment(1);
                                        act.undeliverable.insert(*id);
                                    }
                                    Err(e) => {
                                        tracing::debug!(%id, error = %e, "delivery failed; will retry");
                                        act.retry.insert(*id);
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "chain actor unreachable; will retry");
                            act.retry.extend(ids.iter().copied());
                        }
                    }
                    for (wait, ids) in pending {
                        ctx.run_later(wait, move |act, _| {
                            for id in &ids {
                                act.pending_waiting.remove(id);
                            }
                            act.retry.extend(ids);
                        });
                    }
                    let delivered: Vec<MessageId> = items.iter().map(|(id, _)| *id).collect();
                    let fut: Box<dyn ActorFuture<Router, Output = ()> + Unpin> = if items.is_empty() {
                        Box::new(actix::fut::ready(()))
                    } else {
                        let recs = vec![LogRecord::DeliveredBatch { items, at_ms: now_ms() }];
                        Box::new(act.append(recs).map(move |res, act: &mut Router, _| {
                            if res.is_err() {
                                act.retry.extend(delivered);
                            }
                        }))
                    };
                    fut.map(move |_, act: &mut Router, ctx| {
                        for id in &ids {
                            act.dispatching.remove(id);
                        }
                        act.pump(ctx);
                    })
                }),
        );
    }

    /// Time-out handling for one message past its deadline (on the hub's clock): ask the
    /// destination where it stands there. Applied: record the delivery. Never applied and
    /// never can be (its final blocks are past the deadline on its own clock): record
    /// `TimedOut` and refund on the source chain. Still open (a release may be pending, or in
    /// a block not final yet), or the refund not final yet: nothing, asked again after
    /// [`SETTLE_RECHECK`].
    fn expire(&mut self, id: MessageId, ctx: &mut Context<Self>) {
        let Some(entry) = self.state.message(&id).cloned() else {
            return;
        };
        self.undeliverable.remove(&id);
        if self
            .settle_after
            .get(&id)
            .is_some_and(|t| Instant::now() < *t)
        {
            return;
        }
        if !self.dispatching.insert(id) {
            return;
        }
        let (Some(dest), Some(src)) = (
            self.chains.get(&entry.msg.destination).cloned(),
            self.chains.get(&entry.msg.source).cloned(),
        ) else {
            self.dispatching.remove(&id);
            return;
        };
        let refund = Self::delivery_for(&entry, true);
        let already_timed_out = entry.state == MessageState::TimedOut;
        let deadline_ms = entry.deadline_ms();
        ctx.spawn(
            async move {
                // Once `TimedOut` is recorded the destination said it never can apply it.
                let settled = if already_timed_out {
                    Ok(Settlement::Never)
                } else {
                    match dest.send(Settle(id.0, deadline_ms)).await {
                        Ok(r) => r,
                        Err(e) => Err(AdapterError::Unavailable(e.to_string())),
                    }
                };
                let mut open = matches!(settled, Ok(Settlement::Open));
                let recs = match settled {
                    Ok(Settlement::Open) => {
                        tracing::debug!(%id, "past its deadline on the hub's clock, not on the destination's final blocks yet");
                        Vec::new()
                    }
                    Ok(Settlement::Applied(receipt)) => vec![LogRecord::Delivered { id, receipt: receipt.reference, at_ms: now_ms() }],
                    Ok(Settlement::Never) => {
                        let mut recs = Vec::new();
                        if !already_timed_out {
                            recs.push(LogRecord::TimedOut { id, at_ms: now_ms() });
                        }
                        match src.send(Deliver(refund)).await {
                            Ok(Ok(r)) => recs.push(LogRecord::Refunded { id, receipt: r.reference, at_ms: now_ms() }),
                            Ok(Err(AdapterError::Pending(why))) => {
                                tracing::debug!(%id, %why, "refund not final yet; asked again");
                                open = true;
                            }
                            _ => tracing::debug!(%id, "refund not applied yet; will retry"),
                        }
                        recs
                    }
                    Err(e) => {
                        tracing::debug!(%id, error = %e, "destination unreachable; timeout check retried");
                        Vec::new()
                    }
                };
                (recs, open)
            }
            .into_actor(self)
            .then(move |(recs, open), act, _| {
                if open {
                    act.settle_after
                        .insert(id, Instant::now() + SETTLE_RECHECK);
                } else {
                    act.settle_after.remove(&id);
                }
                let fut: Box<dyn ActorFuture<Router, Output = ()> + Unpin> = if recs.is_empty() {
                    Box::new(actix::fut::ready(()))
                } else {
                    Box::new(act.append(recs).map(|_, _, _| ()))
                };
                fut.map(move |_, act: &mut Router, ctx| {
                    act.dispatching.remove(&id);
                    act.pump(ctx);
                })
            }),
        );
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = now_ms();
        for id in self.state.expired(now) {
            self.expire(id, ctx);
        }
        let sweep = self.ticks.is_multiple_of(FULL_SWEEP_TICKS);
        self.ticks += 1;
        let retry: Vec<MessageId> = if sweep {
            self.retry.clear();
            // Counts of deliveries since settled another way (at their deadline) go.
            let state = &self.state;
            self.pending_asks.retain(|id, _| {
                state
                    .message(id)
                    .is_some_and(|m| m.state == MessageState::Finalized)
            });
            self.state
                .undelivered()
                .filter(|m| {
                    m.deadline_ms() >= now
                        && !self.undeliverable.contains(&m.msg.id)
                        && !self.pending_waiting.contains(&m.msg.id)
                })
                .map(|m| m.msg.id)
                .collect()
        } else {
            let mut v: Vec<MessageId> = self.retry.drain().collect();
            v.retain(|id| {
                self.state
                    .message(id)
                    .is_some_and(|m| m.deadline_ms() >= now)
            });
            v
        };
        for id in retry {
            self.dispatch(id);
        }
        self.flush(ctx);
    }
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(4096);
        // Re-dispatch what was finalized but not delivered before a restart, then keep
        // retrying and checking timeouts.
        self.tick(ctx);
        ctx.run_interval(Duration::from_millis(250), |act, ctx| act.tick(ctx));
    }
}

/// Submit a verified lock event as a message.
#[derive(Message)]
#[rtype(result = "Result<SubmitOutcome, SubmitError>")]
pub struct Submit {
    /// The message's id: derived from the source chain and the event's key
    /// ([`meridian_adapters::Family::event_key`]), which the source chain's actor gives.
    pub id: MessageId,
    /// Source chain.
    pub source: ChainId,
    /// The verified event.
    pub event: LockEvent,
    /// The evidence it was verified from.
    pub evidence: Evidence,
    /// Delivery timeout; `None` for the configured default.
    pub timeout_secs: Option<u64>,
    /// The submitting tenant.
    pub tenant: String,
    /// Where to answer as well, as soon as the outcome is known: for a new message that is
    /// once its record is durable, before the router applies it (the caller's 202 need not
    /// wait for the batch's state updates; a read sent after the answer still sees the
    /// message, as the router applies the batch before it takes its next mail).
    pub reply: Option<oneshot::Sender<SubmitResult>>,
}

/// Submit several verified lock events at once: one commit-log append for all that are new.
/// One result per submission, in order.
#[derive(Message)]
#[rtype(result = "Vec<Result<SubmitOutcome, SubmitError>>")]
pub struct SubmitBatch(pub Vec<Submit>);

type SubmitResult = Result<SubmitOutcome, SubmitError>;

/// What admission decided for one submission.
enum Admission {
    /// Answered without writing (known message, refused).
    Done(SubmitResult),
    /// The same message is being appended by an earlier submission: its outcome.
    Wait(oneshot::Receiver<SubmitResult>),
    /// New: append this record.
    Append {
        id: MessageId,
        route: (ChainId, ChainId),
        route_nonce: u64,
        rec: Box<LogRecord>,
    },
}

impl Router {
    /// Dedup, route checks, rate limit and nonce for one submission.
    fn admit(&mut self, msg: Submit) -> Admission {
        let id = msg.id;
        if let Some(e) = self.state.message(&id) {
            if !may_see(&e.msg.tenant, &msg.tenant) {
                return Admission::Done(Err(SubmitError::OtherTenant));
            }
            // The same position on the chain with another event (a chain that forgot its
            // blocks and reused the position, or a forged event that verified): not this
            // message, whose answer would tell its submitter that a transfer that never
            // happened was made.
            let m = &e.msg;
            let ev = &msg.event;
            if m.destination.0 != ev.destination
                || m.sender != ev.sender
                || m.recipient != ev.recipient
                || m.asset != ev.asset
                || m.amount != ev.amount
            {
                return another_event(id);
            }
            return Admission::Done(Ok(SubmitOutcome {
                id,
                seq: e.seq,
                state: e.state,
                existing: true,
            }));
        }
        if let Some((owner, digest, waiters)) = self.inflight.get_mut(&id) {
            if !may_see(owner, &msg.tenant) {
                return Admission::Done(Err(SubmitError::OtherTenant));
            }
            // As for a committed message: the same transfer, or refused.
            if *digest != event_digest(&msg.event) {
                return another_event(id);
            }
            let (tx, rx) = oneshot::channel();
            waiters.push(tx);
            return Admission::Wait(rx);
        }
        let refuse = |e| Admission::Done(Err(e));
        if let Some(f) = self.failed.get() {
            return refuse(SubmitError::LogFailed(f.clone()));
        }
        let destination = ChainId(msg.event.destination.clone());
        if !self.chains.contains_key(&destination) {
            return refuse(SubmitError::UnknownChain(destination.0));
        }
        if destination == msg.source {
            return refuse(SubmitError::SameChain(destination.0));
        }
        if msg.event.amount == 0 {
            return refuse(SubmitError::ZeroAmount);
        }
        let route = (msg.source.clone(), destination.clone());
        if self.paused.contains(&route) {
            return refuse(SubmitError::Paused(format!("{}→{}", route.0, route.1)));
        }
        if let Err(ms) = self.take_token(&route) {
            return refuse(SubmitError::RateLimited {
                route: format!("{}→{}", route.0, route.1),
                retry_after_ms: ms,
            });
        }
        let from_state = self.state.next_nonce(&route);
        let route_nonce = match self.next_nonce.get_mut(&route) {
            Some(slot) => {
                let n = (*slot).max(from_state);
                *slot = n + 1;
                n
            }
            None => {
                self.next_nonce.insert(route.clone(), from_state + 1);
                from_state
            }
        };
        let digest = event_digest(&msg.event);
        let message = CrossChainMessage {
            id,
            source: msg.source,
            destination,
            route_nonce,
            sender: msg.event.sender,
            recipient: msg.event.recipient,
            asset: msg.event.asset,
            amount: msg.event.amount,
            timeout_secs: msg.timeout_secs.unwrap_or(self.cfg.default_timeout_secs),
            evidence: crate::message::SourceEvidence {
                locator: msg.evidence.locator,
                header: msg.evidence.header,
                proof: msg.evidence.proof,
                event: msg.evidence.event,
            },
            tenant: msg.tenant,
        };
        let owner = Self::name(&mut self.names, &message.tenant);
        self.inflight.insert(id, (owner, digest, Vec::new()));
        Admission::Append {
            id,
            route,
            route_nonce,
            rec: Box::new(LogRecord::Accepted {
                msg: message,
                at_ms: now_ms(),
            }),
        }
    }

    /// The outcome of an appended submission (`seq` its position when the append succeeded);
    /// answers everyone who waited on the same message.
    fn complete(
        &mut self,
        id: MessageId,
        route: &(ChainId, ChainId),
        route_nonce: u64,
        res: Result<u64, &LogError>,
    ) -> SubmitResult {
        let (_, _, waiters) = self.inflight.remove(&id).unwrap_or_default();
        let out = match res {
            Ok(seq) => Ok(SubmitOutcome {
                id,
                seq,
                state: self
                    .state
                    .message(&id)
                    .map_or(MessageState::Committed, |m| m.state),
                existing: false,
            }),
            Err(LogError::Overloaded) => {
                // Nothing was written: give the nonce back if it is still the last one.
                if let Some(n) = self.next_nonce.get_mut(route) {
                    if *n == route_nonce + 1 {
                        *n = route_nonce;
                    }
                }
                Err(SubmitError::Overloaded("commit log queue is full".into()))
            }
            // A failed write or fsync may still have left the record whole on disk.
            Err(e @ LogError::Storage(_)) => Err(SubmitError::Log(format!(
                "{e}; whether this transfer was recorded is known once the hub has restarted: \
                 submit the same evidence again then (if it was, the answer is its message)"
            ))),
            Err(e) => Err(SubmitError::Log(e.to_string())),
        };
        for w in waiters {
            let _ = w.send(out.clone());
        }
        out
    }

    /// Admit every submission, append the new ones in one go, answer all in order. A
    /// submission that brought a reply sender is answered there as well, as early as its
    /// outcome is known: a refusal at once, a new message once its record is durable and
    /// before the batch is applied.
    fn submit_many(&mut self, batch: Vec<Submit>) -> ResponseActFuture<Self, Vec<SubmitResult>> {
        let n = batch.len();
        let mut results: Vec<Option<SubmitResult>> = Vec::with_capacity(n);
        let mut replies: Vec<Option<oneshot::Sender<SubmitResult>>> = Vec::with_capacity(n);
        let mut waits = Vec::new();
        let mut appends = Vec::with_capacity(n);
        let mut recs = Vec::with_capacity(n);
        for (i, mut msg) in batch.into_iter().enumerate() {
            let mut reply = msg.reply.take();
            match self.admit(msg) {
                Admission::Done(r) => {
                    if let Some(tx) = reply.take() {
                        let _ = tx.send(r.clone());
                    }
                    results.push(Some(r));
                }
                Admission::Wait(rx) => {
                    waits.push((i, rx));
                    results.push(None);
                }
                Admission::Append {
                    id,
                    route,
                    route_nonce,
                    rec,
                } => {
                    appends.push((i, id, route, route_nonce));
                    recs.push(*rec);
                    results.push(None);
                }
            }
            replies.push(reply);
        }
        // The appended submissions' outcomes, answered as soon as the log has answered.
        let durable = move |act: &mut Router, res: &Result<std::ops::Range<u64>, LogError>| {
            // Later nonces first, so each can be given back on an overloaded log.
            for (k, (i, id, route, nonce)) in appends.into_iter().enumerate().rev() {
                let r = match res {
                    Ok(range) => Ok(range.start + k as u64),
                    Err(e) => Err(e),
                };
                let out = act.complete(id, &route, nonce, r);
                if let Some(tx) = replies.get_mut(i).and_then(Option::take) {
                    let _ = tx.send(out.clone());
                }
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(out);
                }
            }
            (results, replies)
        };
        type Answered = (
            Vec<Option<SubmitResult>>,
            Vec<Option<oneshot::Sender<SubmitResult>>>,
        );
        let appended: Box<dyn ActorFuture<Router, Output = Answered> + Unpin> = if recs.is_empty() {
            Box::new(actix::fut::ready(durable(self, &Ok(0..0))))
        } else {
            Box::new(self.append_then(recs, durable).map(|(_, out), _, _| out))
        };
        Box::pin(appended.then(move |(mut results, mut replies), act, _| {
            async move {
                for (i, rx) in waits {
                    let out = match rx.await {
                        Ok(Ok(o)) => Ok(SubmitOutcome {
                            existing: true,
                            ..o
                        }),
                        Ok(Err(e)) => Err(e),
                        Err(_) => Err(SubmitError::Overloaded("router restarted".into())),
                    };
                    if let Some(tx) = replies.get_mut(i).and_then(Option::take) {
                        let _ = tx.send(out.clone());
                    }
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(out);
                    }
                }
                results
                    .into_iter()
                    .zip(replies)
                    .map(|(r, reply)| {
                        let r = r.unwrap_or_else(|| {
                            Err(SubmitError::Overloaded("submission not answered".into()))
                        });
                        if let Some(tx) = reply {
                            let _ = tx.send(r.clone());
                        }
                        r
                    })
                    .collect()
            }
            .into_actor(act)
        }))
    }
}

impl Handler<Submit> for Router {
    type Result = ResponseActFuture<Self, SubmitResult>;

    fn handle(&mut self, msg: Submit, _ctx: &mut Context<Self>) -> Self::Result {
        Box::pin(self.submit_many(vec![msg]).map(|mut v, _, _| {
            v.pop()
                .unwrap_or_else(|| Err(SubmitError::Overloaded("submission not answered".into())))
        }))
    }
}

impl Handler<SubmitBatch> for Router {
    type Result = ResponseActFuture<Self, Vec<SubmitResult>>;

    fn handle(&mut self, msg: SubmitBatch, _ctx: &mut Context<Self>) -> Self::Result {
        self.submit_many(msg.0)
    }
}

/// Append records (the reference chain's seal and finality records).
#[derive(Message)]
#[rtype(result = "Result<std::ops::Range<u64>, String>")]
pub struct AppendRecords(pub Vec<LogRecord>);

impl Handler<AppendRecords> for Router {
    type Result = ResponseActFuture<Self, Result<std::ops::Range<u64>, String>>;
    fn handle(&mut self, msg: AppendRecords, _ctx: &mut Context<Self>) -> Self::Result {
        Box::pin(
            self.append(msg.0)
                .map(|r, _, _| r.map_err(|e| e.to_string())),
        )
    }
}

/// The reference chain's view of the state: what to seal or finalize next.
#[derive(Debug, Clone)]
pub struct ChainView {
    /// The last block's header, with whether it is finalized.
    pub head: Option<(crate::refchain::BlockHeader, bool)>,
    /// One past the last sealed log entry.
    pub sealed_end: u64,
    /// Next log sequence number (everything below is durable and applied).
    pub next_seq: u64,
    /// One past the last record that is not itself a block record.
    pub payload_end: u64,
}

/// Ask for a [`ChainView`].
#[derive(Message)]
#[rtype(result = "ChainView")]
pub struct GetChainView;

impl Handler<GetChainView> for Router {
    type Result = MessageResult<GetChainView>;
    fn handle(&mut self, _: GetChainView, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(ChainView {
            head: self
                .state
                .blocks()
                .last()
                .map(|b| (b.header.clone(), b.qc.is_some())),
            sealed_end: self.state.sealed_end(),
            next_seq: self.state.next_seq(),
            payload_end: self.state.payload_end(),
        })
    }
}

/// Look a message up.
#[derive(Message)]
#[rtype(result = "Option<MessageEntry>")]
pub struct GetMessage(pub MessageId);

impl Handler<GetMessage> for Router {
    type Result = MessageResult<GetMessage>;
    fn handle(&mut self, m: GetMessage, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state.message(&m.0).cloned())
    }
}

/// Whether any of these messages is committed or being appended.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct AnyKnown(pub Vec<MessageId>);

impl Handler<AnyKnown> for Router {
    type Result = bool;
    fn handle(&mut self, m: AnyKnown, _ctx: &mut Context<Self>) -> bool {
        m.0.iter()
            .any(|id| self.state.message(id).is_some() || self.inflight.contains_key(id))
    }
}

/// A snapshot of the whole state (tests, `log inspect`, the API's listings).
#[derive(Message)]
#[rtype(result = "HubState")]
pub struct GetState;

impl Handler<GetState> for Router {
    type Result = MessageResult<GetState>;
    fn handle(&mut self, _: GetState, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state.clone())
    }
}

/// Most messages one [`ListMessages`] looks at: a filter that matches few of many messages
/// would otherwise walk all of them on the router's thread (~20 ms at 200,000), holding up
/// every submission meanwhile.
pub const LIST_MAX_SCAN: usize = 20_000;

/// A page of messages (the HTTP list endpoint), looking at no more than [`LIST_MAX_SCAN`].
#[derive(Message)]
#[rtype(result = "crate::state::Page")]
pub struct ListMessages {
    /// Start after this log position.
    pub after: Option<u64>,
    /// Most entries.
    pub limit: usize,
    /// Only this tenant's messages.
    pub tenant: Option<String>,
    /// Only messages from or to this chain.
    pub chain: Option<ChainId>,
    /// Only messages in this state.
    pub state: Option<MessageState>,
    /// Only messages from this sender.
    pub sender: Option<String>,
}

impl Handler<ListMessages> for Router {
    type Result = MessageResult<ListMessages>;
    fn handle(&mut self, q: ListMessages, _ctx: &mut Context<Self>) -> Self::Result {
        let keep = |m: &crate::state::MessageEntry| {
            q.chain
                .as_ref()
                .is_none_or(|c| &m.msg.source == c || &m.msg.destination == c)
                && q.state.is_none_or(|s| m.state == s)
                && q.sender.as_ref().is_none_or(|s| &m.msg.sender == s)
        };
        MessageResult(match &q.tenant {
            Some(t) => self
                .state
                .tenant_page(t, q.after, q.limit, LIST_MAX_SCAN, keep),
            None => self.state.page(q.after, q.limit, LIST_MAX_SCAN, keep),
        })
    }
}

/// Counters for the status page and metrics.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Messages per state.
    pub by_state: Vec<(MessageState, usize)>,
    /// Next log sequence number.
    pub next_seq: u64,
    /// Blocks sealed.
    pub blocks: usize,
    /// Messages finalized but not yet delivered (the delivery backlog).
    pub undelivered: usize,
    /// Per route (source, destination): messages committed but not yet delivered or refunded,
    /// and the commit time (ms) of the oldest of them.
    pub pending_by_route: Vec<(String, String, usize, u64)>,
}

/// Ask for [`Stats`].
#[derive(Message)]
#[rtype(result = "Stats")]
pub struct GetStats;

impl Handler<GetStats> for Router {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(Stats {
            by_state: self.state.counts(),
            next_seq: self.state.next_seq(),
            blocks: self.state.blocks().len(),
            undelivered: self.state.undelivered_count(),
            pending_by_route: {
                // Keyed by the entries' own names: one walk of the open messages without a
                // copy per message (a destination that is down leaves millions open, and the
                // status page asks every second); names are copied once per route.
                let mut m: HashMap<(&str, &str), (usize, u64), foldhash::fast::RandomState> =
                    HashMap::default();
                for e in self.state.open() {
                    let k = (e.msg.source.0.as_str(), e.msg.destination.0.as_str());
                    let v = m.entry(k).or_insert((0, u64::MAX));
                    v.0 += 1;
                    v.1 = v.1.min(e.committed_at_ms);
                }
                let mut v: Vec<_> = m
                    .into_iter()
                    .map(|((s, d), (n, t))| (s.to_string(), d.to_string(), n, t))
                    .collect();
                v.sort();
                v
            },
        })
    }
}

/// Blocks, newest first: at most `limit` at or below `below` (all heights when `None`).
#[derive(Message)]
#[rtype(result = "Vec<crate::state::BlockEntry>")]
pub struct GetBlocks {
    /// Highest height wanted.
    pub at_or_below: Option<u64>,
    /// Most blocks.
    pub limit: usize,
}

impl Handler<GetBlocks> for Router {
    type Result = MessageResult<GetBlocks>;
    fn handle(&mut self, q: GetBlocks, _ctx: &mut Context<Self>) -> Self::Result {
        // Heights are positions (the state refuses a block that is not the next height), so
        // the newest wanted block is found by index, not by walking down from the head.
        let blocks = self.state.blocks();
        let end = q.at_or_below.map_or(blocks.len(), |h| {
            usize::try_from(h)
                .map_or(blocks.len(), |h| h.saturating_add(1))
                .min(blocks.len())
        });
        MessageResult(
            blocks
                .get(..end)
                .unwrap_or_default()
                .iter()
                .rev()
                .take(q.limit)
                .cloned()
                .collect(),
        )
    }
}

/// The status changes after a point, from the state's history (resuming an event stream).
#[derive(Message)]
#[rtype(result = "EventsPage")]
pub struct EventsAfter {
    /// The last change the reader has: `(seq, msg_seq)` of a [`StatusEvent`].
    pub after: crate::state::EventKey,
    /// Most changes looked at (whether they pass or not: the page's cost is bounded).
    pub limit: usize,
    /// Only the changes that pass.
    pub filter: EventFilter,
}

/// The answer to [`EventsAfter`]: the changes as the live stream carries them.
#[derive(Debug, Clone, Default)]
pub struct EventsPage {
    /// The changes, in order.
    pub events: Vec<StatusEvent>,
    /// See [`crate::state::HistoryPage::gap`].
    pub gap: Option<crate::state::EventKey>,
    /// See [`crate::state::HistoryPage::more`].
    pub more: bool,
    /// See [`crate::state::HistoryPage::newest`].
    pub newest: Option<crate::state::EventKey>,
    /// The last change looked at, passed or not (the reader continues after it).
    pub last: Option<crate::state::EventKey>,
    /// Which log the keys are positions of: the first 4 bytes, in hex, of the hash of the relay
    /// set the log starts with (its first record; keys generated afresh with each data
    /// directory), so that an id from another log is told apart from one of this log.
    pub epoch: Arc<str>,
}

impl Handler<EventsAfter> for Router {
    type Result = MessageResult<EventsAfter>;
    fn handle(&mut self, q: EventsAfter, _ctx: &mut Context<Self>) -> Self::Result {
        let epoch = match &self.epoch {
            Some(e) => e.clone(),
            None => {
                let e: Option<Arc<str>> = self
                    .state
                    .relay_sets()
                    .first()
                    .map(|set| hex::encode(&set.hash()[..4]).into());
                self.epoch = e.clone();
                e.unwrap_or_else(|| "00000000".into())
            }
        };
        let page = self.state.events_after(q.after, q.limit);
        let last = page.events.last().map(|e| e.key);
        let mut events = Vec::new();
        for e in page.events {
            let Some(m) = self.state.message(&e.id) else {
                continue;
            };
            // Filtered before the event is built: a change the stream does not show costs no
            // name lookups.
            if !q.filter.admits(
                e.state,
                &m.msg.source.0,
                &m.msg.destination.0,
                &m.msg.tenant,
            ) {
                continue;
            }
            events.push(StatusEvent {
                id: e.id,
                state: e.state,
                seq: e.key.0,
                msg_seq: e.key.1,
                source: Self::name(&mut self.names, &m.msg.source.0),
                destination: Self::name(&mut self.names, &m.msg.destination.0),
                tenant: Self::name(&mut self.names, &m.msg.tenant),
                committed_at_ms: m.committed_at_ms,
            });
        }
        MessageResult(EventsPage {
            events,
            gap: page.gap,
            more: page.more,
            newest: page.newest,
            last,
            epoch,
        })
    }
}

/// A message and, once it is in a sealed block, that block: what a finality proof needs,
/// without a copy of the whole state.
#[derive(Message)]
#[rtype(result = "Option<(MessageEntry, Option<crate::state::BlockEntry>)>")]
pub struct GetFinalityInputs(pub MessageId);

impl Handler<GetFinalityInputs> for Router {
    type Result = MessageResult<GetFinalityInputs>;
    fn handle(&mut self, q: GetFinalityInputs, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.state.message(&q.0).map(|m| {
            let block = m.block.and_then(|h| self.state.block(h)).cloned();
            (m.clone(), block)
        }))
    }
}

/// Pause (or resume) admission on a route; messages already committed still deliver.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRoutePaused {
    /// Source chain.
    pub source: ChainId,
    /// Destination chain.
    pub destination: ChainId,
    /// Paused or not.
    pub paused: bool,
}

impl Handler<SetRoutePaused> for Router {
    type Result = ();
    fn handle(&mut self, m: SetRoutePaused, _ctx: &mut Context<Self>) {
        let route = (m.source, m.destination);
        if m.paused {
            self.paused.insert(route);
        } else {
            self.paused.remove(&route);
        }
    }
}
