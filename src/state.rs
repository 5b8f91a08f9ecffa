//! The hub's in-memory state, a pure function of the commit log: replaying the same records
//! in the same order always yields the same state. The router owns one and applies each record
//! after it is durable; a restart rebuilds it by replaying the log from sequence 0.

use crate::message::{
    ChainId, CrossChainMessage, IdMap, MessageId, MessageState, RouteMap, SourceEvidence,
};
use crate::record::LogRecord;
use crate::refchain::{BlockHeader, QuorumCertificate};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// One state change of a message, with its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The new state.
    pub state: MessageState,
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// Log sequence number of the record that caused it.
    pub seq: u64,
}

/// Everything the hub knows about one committed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEntry {
    /// The message. Its `evidence` keeps only the locator: the header, proof and event bytes
    /// stay in the commit log (the `Accepted` record at `seq`), not in memory.
    pub msg: CrossChainMessage,
    /// Sequence number of its `Accepted` record.
    pub seq: u64,
    /// Current state.
    pub state: MessageState,
    /// Commit time, ms since the epoch.
    pub committed_at_ms: u64,
    /// Reference-chain block that holds it, once sealed.
    pub block: Option<u64>,
    /// Every state change so far (Committed first).
    pub timeline: Vec<Transition>,
}

impl MessageEntry {
    /// The deadline for delivery, ms since the epoch.
    pub fn deadline_ms(&self) -> u64 {
        self.committed_at_ms
            .saturating_add(self.msg.timeout_secs.saturating_mul(1000))
    }
}

/// Status changes kept for resuming event streams (16 bytes each): at a steady 1,000
/// transfers/s, about six minutes of their three changes each.
pub const HISTORY_EVENTS: usize = 1 << 20;

/// Where a status change stands in the order of all of them: the log position of the record
/// that made it, then the log position of the message's `Accepted` record (a record changes
/// each message at most once, and the state lists one record's changes in this order).
pub type EventKey = (u64, u64);

/// One status change, from [`HubState::events_after`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Its place in the order of changes.
    pub key: EventKey,
    /// The message.
    pub id: MessageId,
    /// The state it entered.
    pub state: MessageState,
}

/// The changes after a point, from [`HubState::events_after`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryPage {
    /// The changes, in order.
    pub events: Vec<HistoryEvent>,
    /// Set when changes right after the point are no longer held: the newest change that was
    /// let go (the page starts with the oldest change still held).
    pub gap: Option<EventKey>,
    /// More changes follow the page's last.
    pub more: bool,
    /// The newest change held.
    pub newest: Option<EventKey>,
}

/// A page of [`HubState::page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The messages, in log order.
    pub items: Vec<MessageEntry>,
    /// Set when the look stopped at its bound with messages left: the position of the last
    /// message looked at (continue after it).
    pub scanned_to: Option<u64>,
}

/// A reference-chain block as the state knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEntry {
    /// Its header.
    pub header: BlockHeader,
    /// Sequence number of its `BlockSealed` record.
    pub sealed_seq: u64,
    /// Its quorum certificate, once finalized.
    pub qc: Option<QuorumCertificate>,
}

/// The hub state rebuilt from the log.
#[derive(Debug, Default, Clone)]
pub struct HubState {
    /// Boxed: the map doubles as messages accumulate, and moving a pointer per entry on each
    /// rehash is cheap where moving the whole entries was ~3% of the hub's CPU under load.
    messages: IdMap<Box<MessageEntry>>,
    /// `(seq, id)` of every `Accepted` record, in sequence order (records apply in order, so
    /// a push keeps it sorted; ranges are binary searches, not tree walks).
    by_seq: Vec<(u64, MessageId)>,
    /// Per tenant, the positions in `by_seq` of its messages, in order: a tenant's list reads
    /// its own messages, not a scan of everyone's (one tenant's page among many others'
    /// messages took the router ~2 ms per request).
    by_tenant: HashMap<String, Vec<usize>>,
    route_nonces: RouteMap<u64>,
    blocks: Vec<BlockEntry>,
    /// Finalized but neither delivered nor refunded: what a restart must re-dispatch.
    undelivered: BTreeSet<(u64, MessageId)>,
    /// Neither delivered nor refunded, by deadline: what a timeout check looks at (the tick
    /// must not walk every message ever committed).
    open_by_deadline: BTreeSet<(u64, u64, MessageId)>,
    light_clients: HashMap<ChainId, Vec<u8>>,
    relay_sets: Vec<crate::refchain::RelaySet>,
    next_seq: u64,
    payload_end: u64,
    /// Messages per state (indexed by `MessageState as usize`), kept as states change: the
    /// stats and metrics read them without walking every message ever committed.
    state_counts: [usize; 8],
    /// The last [`HISTORY_EVENTS`] status changes, in order, for resuming event streams.
    history: VecDeque<EventKey>,
    /// The newest change let go from `history`.
    history_dropped: Option<EventKey>,
    /// Changes `history` holds at most; 0 for [`HISTORY_EVENTS`] (tests hold fewer).
    history_cap: usize,
    /// [`HubState::remember_all`]'s buffer.
    scratch: Vec<(u64, MessageId)>,
}

/// Move one message's count from `from` to `to`.
fn count_move(counts: &mut [usize; 8], from: Option<MessageState>, to: MessageState) {
    if let Some(c) = from.and_then(|f| counts.get_mut(f as usize)) {
        *c = c.saturating_sub(1);
    }
    if let Some(c) = counts.get_mut(to as usize) {
        *c += 1;
    }
}

/// A record that does not fit the state it is applied to (a corrupt or foreign log).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// Records must be applied in sequence order without gaps.
    #[error("record {got} applied, {expected} expected next")]
    OutOfOrder {
        /// Expected sequence number.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// A block that does not extend the reference chain.
    #[error("block {height} does not extend the reference chain: {reason}")]
    BadBlock {
        /// Its height.
        height: u64,
        /// What did not link.
        reason: String,
    },
}

impl HubState {
    /// An empty state (an empty log).
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply the record at `seq`. Idempotent facts (a second `Delivered` for the same message)
    /// are absorbed; structural violations are errors.
    pub fn apply(&mut self, seq: u64, rec: LogRecord) -> Result<Vec<MessageId>, ApplyError> {
        if seq != self.next_seq {
            return Err(ApplyError::OutOfOrder {
                expected: self.next_seq,
                got: seq,
            });
        }
        self.next_seq = seq + 1;
        if !matches!(
            &rec,
            LogRecord::BlockSealed { .. } | LogRecord::BlockFinalized { .. }
        ) {
            self.payload_end = seq + 1;
        }
        let mut changed = Vec::new();
        let rec = match rec {
            LogRecord::Accepted { msg, at_ms } => {
                self.accept(seq, msg, at_ms, &mut changed);
                if !changed.is_empty() {
                    self.remember((seq, seq));
                }
                return Ok(changed);
            }
            other => other,
        };
        match &rec {
            LogRecord::Accepted { .. } => {}
            LogRecord::BlockSealed { header } => {
                let expected_height = self.blocks.len() as u64;
                let prev = self.blocks.last().map_or([0u8; 32], |b| b.header.hash());
                let expected_start = self.blocks.last().map_or(0, |b| b.header.log_end);
                if header.height != expected_height
                    || header.prev_hash != prev
                    || header.log_start != expected_start
                    || header.log_end > seq
                    || header.log_end < header.log_start
                {
                    return Err(ApplyError::BadBlock {
                        height: header.height,
                        reason: format!(
                            "expected height {expected_height}, start {expected_start}, end <= {seq}"
                        ),
                    });
                }
                for id in self.ids_in(header.log_start..header.log_end) {
                    if let Some(m) = self.messages.get_mut(&id) {
                        m.block = Some(header.height);
                    }
                }
                self.blocks.push(BlockEntry {
                    header: header.clone(),
                    sealed_seq: seq,
                    qc: None,
                });
            }
            LogRecord::BlockFinalized { qc, at_ms } => {
                let Some(block) = usize::try_from(qc.height)
                    .ok()
                    .and_then(|h| self.blocks.get_mut(h))
                else {
                    return Err(ApplyError::BadBlock {
                        height: qc.height,
                        reason: "finalized before it was sealed".into(),
                    });
                };
                if block.qc.is_some() {
                    return Ok(changed);
                }
                block.qc = Some(qc.clone());
                let range = block.header.log_start..block.header.log_end;
                for id in self.ids_in(range) {
                    if let Some(m) = self.messages.get_mut(&id) {
                        if m.state == MessageState::Committed {
                            count_move(
                                &mut self.state_counts,
                                Some(m.state),
                                MessageState::Finalized,
                            );
                            m.state = MessageState::Finalized;
                            m.timeline.push(Transition {
                                state: MessageState::Finalized,
                                at_ms: *at_ms,
                                seq,
                            });
                            self.undelivered.insert((m.seq, id));
                            changed.push(id);
                        }
                    }
                }
            }
            LogRecord::Delivered { id, at_ms, .. } => {
                self.delivered(seq, id, *at_ms, &mut changed);
            }
            LogRecord::DeliveredBatch { items, at_ms } => {
                for (id, _) in items {
                    self.delivered(seq, id, *at_ms, &mut changed);
                }
            }
            LogRecord::TimedOut { id, at_ms } => {
                if let Some(m) = self.messages.get_mut(id) {
                    if !m.state.is_terminal() && m.state != MessageState::TimedOut {
                        count_move(
                            &mut self.state_counts,
                            Some(m.state),
                            MessageState::TimedOut,
                        );
                        m.state = MessageState::TimedOut;
                        m.timeline.push(Transition {
                            state: MessageState::TimedOut,
                            at_ms: *at_ms,
                            seq,
                        });
                        changed.push(*id);
                    }
                }
            }
            LogRecord::Refunded { id, at_ms, .. } => {
                if let Some(m) = self.messages.get_mut(id) {
                    if m.state == MessageState::TimedOut {
                        count_move(
                            &mut self.state_counts,
                            Some(m.state),
                            MessageState::Refunded,
                        );
                        m.state = MessageState::Refunded;
                        m.timeline.push(Transition {
                            state: MessageState::Refunded,
                            at_ms: *at_ms,
                            seq,
                        });
                        self.undelivered.remove(&(m.seq, *id));
                        self.open_by_deadline.remove(&(m.deadline_ms(), m.seq, *id));
                        changed.push(*id);
                    }
                }
            }
            LogRecord::LightClient { chain, state } => {
                self.light_clients.insert(chain.clone(), state.clone());
            }
            LogRecord::RelaySetAdopted { relays } => {
                self.relay_sets.push(crate::refchain::RelaySet {
                    relays: relays.clone(),
                });
            }
        }
        self.remember_all(seq, &mut changed);
        Ok(changed)
    }

    /// Keep one status change for resuming event streams.
    fn remember(&mut self, key: EventKey) {
        let cap = if self.history_cap == 0 {
            HISTORY_EVENTS
        } else {
            self.history_cap
        };
        if self.history.len() >= cap {
            self.history_dropped = self.history.pop_front();
        }
        self.history.push_back(key);
    }

    /// Put record `seq`'s changes in the order of the messages' positions (a delivery batch
    /// lists them as delivered) and keep them.
    fn remember_all(&mut self, seq: u64, changed: &mut Vec<MessageId>) {
        let pos = |st: &Self, id: &MessageId| st.messages.get(id).map_or(0, |m| m.seq);
        if changed.len() > 1 {
            // A block finalizes tens of thousands at once: the keys go through a buffer kept
            // from record to record, not a fresh allocation (and its page faults) each time.
            let mut keyed = std::mem::take(&mut self.scratch);
            keyed.clear();
            keyed.extend(changed.iter().map(|id| (pos(self, id), *id)));
            if !keyed.is_sorted() {
                keyed.sort_unstable();
                changed.clear();
                changed.extend(keyed.iter().map(|(_, id)| *id));
            }
            for &(m, _) in &keyed {
                self.remember((seq, m));
            }
            self.scratch = keyed;
        } else if let Some(id) = changed.first() {
            let m = pos(self, id);
            self.remember((seq, m));
        }
    }

    /// The status changes after `after`, in order, at most `limit` (see [`HistoryPage`]).
    pub fn events_after(&self, after: EventKey, limit: usize) -> HistoryPage {
        let gap = self.history_dropped.filter(|d| after < *d);
        let from = self.history.partition_point(|k| *k <= after);
        let events = self
            .history
            .range(from..)
            .take(limit)
            .filter_map(|&(rec, m)| {
                let i = self.by_seq.partition_point(|(s, _)| *s < m);
                let (_, id) = self.by_seq.get(i).filter(|(s, _)| *s == m)?;
                let entry = self.messages.get(id)?;
                let t = entry.timeline.iter().find(|t| t.seq == rec)?;
                Some(HistoryEvent {
                    key: (rec, m),
                    id: *id,
                    state: t.state,
                })
            })
            .collect();
        HistoryPage {
            events,
            gap,
            more: self.history.len().saturating_sub(from) > limit,
            newest: self.history.back().copied(),
        }
    }

    /// The accepted messages whose seq is in `range`, in order.
    fn seq_range(&self, range: std::ops::Range<u64>) -> &[(u64, MessageId)] {
        let lo = self.by_seq.partition_point(|(s, _)| *s < range.start);
        let hi = self.by_seq.partition_point(|(s, _)| *s < range.end);
        self.by_seq.get(lo..hi.max(lo)).unwrap_or_default()
    }

    /// The ids of [`Self::seq_range`], copied out (the callers then update those entries).
    fn ids_in(&self, range: std::ops::Range<u64>) -> Vec<MessageId> {
        self.seq_range(range).iter().map(|(_, id)| *id).collect()
    }

    /// The destination applied `id` (a `Delivered` record or one item of a `DeliveredBatch`).
    fn delivered(&mut self, seq: u64, id: &MessageId, at_ms: u64, changed: &mut Vec<MessageId>) {
        if let Some(m) = self.messages.get_mut(id) {
            if !m.state.is_terminal() && m.state != MessageState::TimedOut {
                count_move(
                    &mut self.state_counts,
                    Some(m.state),
                    MessageState::Delivered,
                );
                m.state = MessageState::Delivered;
                m.timeline.push(Transition {
                    state: MessageState::Delivered,
                    at_ms,
                    seq,
                });
                self.undelivered.remove(&(m.seq, *id));
                self.open_by_deadline.remove(&(m.deadline_ms(), m.seq, *id));
                changed.push(*id);
            }
        }
    }

    /// Commit a new message (an `Accepted` record), taking its fields without copies.
    fn accept(
        &mut self,
        seq: u64,
        msg: CrossChainMessage,
        at_ms: u64,
        changed: &mut Vec<MessageId>,
    ) {
        if self.messages.contains_key(&msg.id) {
            return;
        }
        // The route's names are moved out for the lookup and back: no string copies per
        // message, only when a route is seen for the first time.
        let mut msg = msg;
        let route = (
            ChainId(std::mem::take(&mut msg.source.0)),
            ChainId(std::mem::take(&mut msg.destination.0)),
        );
        let after = msg.route_nonce.saturating_add(1);
        match self.route_nonces.get_mut(&route) {
            Some(next) => *next = (*next).max(after),
            None => {
                self.route_nonces.insert(route.clone(), after);
            }
        }
        (msg.source, msg.destination) = route;
        let id = msg.id;
        match self.by_tenant.get_mut(&msg.tenant) {
            Some(v) => v.push(self.by_seq.len()),
            None => {
                self.by_tenant
                    .insert(msg.tenant.clone(), vec![self.by_seq.len()]);
            }
        }
        self.by_seq.push((seq, id));
        let entry = MessageEntry {
            msg: CrossChainMessage {
                evidence: SourceEvidence {
                    locator: msg.evidence.locator,
                    header: Vec::new(),
                    proof: Vec::new(),
                    event: Vec::new(),
                },
                ..msg
            },
            seq,
            state: MessageState::Committed,
            committed_at_ms: at_ms,
            block: None,
            timeline: {
                // Committed, Finalized, Delivered: room for the usual three without a regrowth.
                let mut t = Vec::with_capacity(3);
                t.push(Transition {
                    state: MessageState::Committed,
                    at_ms,
                    seq,
                });
                t
            },
        };
        self.open_by_deadline.insert((entry.deadline_ms(), seq, id));
        count_move(&mut self.state_counts, None, MessageState::Committed);
        self.messages.insert(id, Box::new(entry));
        changed.push(id);
    }

    /// The message with this id.
    pub fn message(&self, id: &MessageId) -> Option<&MessageEntry> {
        self.messages.get(id).map(|m| &**m)
    }

    /// All messages (unordered).
    pub fn messages(&self) -> impl Iterator<Item = &MessageEntry> {
        self.messages.values().map(|m| &**m)
    }

    /// Number of committed messages.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }

    /// The next nonce on a route, given as (source, destination).
    pub fn next_nonce(&self, route: &(ChainId, ChainId)) -> u64 {
        self.route_nonces.get(route).copied().unwrap_or(0)
    }

    /// Reference-chain blocks, by height.
    pub fn blocks(&self) -> &[BlockEntry] {
        &self.blocks
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Option<&BlockEntry> {
        usize::try_from(height)
            .ok()
            .and_then(|h| self.blocks.get(h))
            .filter(|b| b.header.height == height)
    }

    /// Finalized messages not yet delivered or refunded, in log order.
    pub fn undelivered(&self) -> impl Iterator<Item = &MessageEntry> {
        self.undelivered
            .iter()
            .filter_map(|(_, id)| self.messages.get(id).map(|m| &**m))
    }

    /// How many finalized messages are not yet delivered or refunded.
    pub fn undelivered_count(&self) -> usize {
        self.undelivered.len()
    }

    /// Messages committed but not yet in a sealed block, or not yet final, that are past their
    /// deadline at `now_ms`, and finalized ones past it: candidates for a timeout check.
    pub fn expired(&self, now_ms: u64) -> Vec<MessageId> {
        let mut v: Vec<(u64, MessageId)> = self
            .open_by_deadline
            .range(..(now_ms, 0, MessageId([0; 32])))
            .filter(|(_, _, id)| {
                self.messages.get(id).is_some_and(|m| {
                    matches!(
                        m.state,
                        MessageState::Committed | MessageState::Finalized | MessageState::TimedOut
                    )
                })
            })
            .map(|&(_, seq, id)| (seq, id))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// The last persisted light-client state of a chain.
    pub fn light_client(&self, chain: &ChainId) -> Option<&[u8]> {
        self.light_clients.get(chain).map(Vec::as_slice)
    }

    /// Messages committed after log position `after` (all when `None`), in log order, that
    /// pass `keep`; at most `limit`, looking at no more than `max_scan` messages. When the
    /// look stopped there with messages left to look at, the page's `scanned_to` is the
    /// position of the last one looked at: the next page starts after it.
    pub fn page(
        &self,
        after: Option<u64>,
        limit: usize,
        max_scan: usize,
        keep: impl Fn(&MessageEntry) -> bool,
    ) -> Page {
        let from = after.map_or(0, |s| s.saturating_add(1));
        self.page_of(
            self.seq_range(from..u64::MAX).iter().copied(),
            limit,
            max_scan,
            keep,
        )
    }

    /// [`HubState::page`] of `tenant`'s messages only, looking at no others.
    pub fn tenant_page(
        &self,
        tenant: &str,
        after: Option<u64>,
        limit: usize,
        max_scan: usize,
        keep: impl Fn(&MessageEntry) -> bool,
    ) -> Page {
        let from = after.map_or(0, |s| s.saturating_add(1));
        let positions = self.by_tenant.get(tenant).map_or(&[][..], Vec::as_slice);
        let seq_at = |p: usize| self.by_seq.get(p).map_or(u64::MAX, |(s, _)| *s);
        let lo = positions.partition_point(|p| seq_at(*p) < from);
        let entries = positions[lo..]
            .iter()
            .filter_map(|p| self.by_seq.get(*p).copied());
        self.page_of(entries, limit, max_scan, keep)
    }

    fn page_of(
        &self,
        entries: impl Iterator<Item = (u64, MessageId)>,
        limit: usize,
        max_scan: usize,
        keep: impl Fn(&MessageEntry) -> bool,
    ) -> Page {
        let mut items = Vec::new();
        for (i, (seq, id)) in entries.enumerate() {
            if items.len() == limit {
                return Page {
                    items,
                    scanned_to: None,
                };
            }
            if i == max_scan.max(1) {
                return Page {
                    items,
                    scanned_to: Some(seq.saturating_sub(1)),
                };
            }
            if let Some(m) = self.messages.get(&id).filter(|m| keep(m)) {
                items.push((**m).clone());
            }
        }
        Page {
            items,
            scanned_to: None,
        }
    }

    /// Number of messages in each state.
    pub fn counts(&self) -> Vec<(MessageState, usize)> {
        let mut v: Vec<_> = MessageState::ALL
            .into_iter()
            .filter_map(|st| {
                let n = self.state_counts.get(st as usize).copied().unwrap_or(0);
                (n > 0).then_some((st, n))
            })
            .collect();
        v.sort_by_key(|(s, _)| format!("{s:?}"));
        v
    }

    /// Messages neither delivered nor refunded (committed, finalized or timed out), in no
    /// particular order: without walking every message ever committed.
    pub fn open(&self) -> impl Iterator<Item = &MessageEntry> {
        self.open_by_deadline
            .iter()
            .filter_map(|(_, _, id)| self.messages.get(id).map(|m| &**m))
    }

    /// Every relay set adopted so far, oldest first.
    pub fn relay_sets(&self) -> &[crate::refchain::RelaySet] {
        &self.relay_sets
    }

    /// The sequence number the next record will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// One past the last record that is not a block record: blocks are sealed only while
    /// this is beyond [`HubState::sealed_end`], so an idle hub does not seal empty blocks.
    pub fn payload_end(&self) -> u64 {
        self.payload_end
    }

    /// One past the last log entry covered by a sealed block.
    pub fn sealed_end(&self) -> u64 {
        self.blocks.last().map_or(0, |b| b.header.log_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(n: u8) -> LogRecord {
        let source = ChainId("mock-a".into());
        let locator = vec![n];
        LogRecord::Accepted {
            msg: CrossChainMessage {
                id: MessageId::derive(&source, &locator),
                source,
                destination: ChainId("mock-b".into()),
                route_nonce: u64::from(n),
                sender: "s".into(),
                recipient: "r".into(),
                asset: "CNY".into(),
                amount: 1,
                timeout_secs: 600,
                evidence: SourceEvidence {
                    locator,
                    header: vec![1; 8],
                    proof: vec![2; 8],
                    event: vec![3; 8],
                },
                tenant: "t".into(),
            },
            at_ms: 1_000,
        }
    }

    fn id_of(rec: &LogRecord) -> MessageId {
        match rec {
            LogRecord::Accepted { msg, .. } => msg.id,
            _ => MessageId([0; 32]),
        }
    }

    /// The kept changes: one key per change in the order the changes were made, a delivery
    /// batch's put in the messages' order; resuming after any of them gives the rest; once
    /// the oldest are let go, resuming from before them names the newest one let go.
    #[test]
    fn status_changes_are_kept_in_order_for_resuming() {
        let mut st = HubState {
            history_cap: 5,
            ..HubState::new()
        };
        let recs: Vec<LogRecord> = (0..3).map(accepted).collect();
        let ids: Vec<MessageId> = recs.iter().map(id_of).collect();
        for (seq, r) in recs.into_iter().enumerate() {
            st.apply(seq as u64, r).expect("applies");
        }
        // Delivered in the order 2, 0: the changes and the keys come in the order 0, 2.
        let rec = LogRecord::DeliveredBatch {
            items: vec![(ids[2], vec![9]), (ids[0], vec![9])],
            at_ms: 2_000,
        };
        assert_eq!(st.apply(3, rec), Ok(vec![ids[0], ids[2]]));
        let keys = |p: &HistoryPage| p.events.iter().map(|e| e.key).collect::<Vec<_>>();
        let all = st.events_after((0, 0), 10);
        assert_eq!(keys(&all), [(1, 1), (2, 2), (3, 0), (3, 2)]);
        assert_eq!((all.gap, all.more), (None, false));
        assert_eq!(all.newest, Some((3, 2)));
        let first = st.events_after((0, 0), 0);
        assert_eq!(keys(&first), []);
        assert!(first.more);
        assert_eq!(
            all.events[2],
            HistoryEvent {
                key: (3, 0),
                id: ids[0],
                state: MessageState::Delivered
            }
        );
        assert_eq!(
            keys(&st.events_after((3, 0), 1)),
            [(3, 2)],
            "after one change of a record, the rest of that record"
        );
        assert!(!st.events_after((3, 0), 1).more);
        // The very first change is (0, 0): resuming after it leaves it out.
        let p = st.events_after((0, 0), 1);
        assert_eq!((keys(&p), p.more), (vec![(1, 1)], true));
        // A point beyond the newest change held names no change of this log (the event
        // stream answers it with a reset), also one inside the last record.
        let newest = st.events_after((4, 0), 10).newest;
        assert!(Some((4, 0)) > newest && Some((3, 9)) > newest && Some((3, 2)) == newest);
        // A sixth change lets the first go.
        st.apply(
            4,
            LogRecord::TimedOut {
                id: ids[1],
                at_ms: 3_000,
            },
        )
        .expect("applies");
        let p = st.events_after((0, 0), 10);
        assert_eq!(keys(&p), [(1, 1), (2, 2), (3, 0), (3, 2), (4, 1)]);
        assert_eq!(p.gap, None, "(0, 0) itself was the one let go");
        st.apply(
            5,
            LogRecord::Refunded {
                id: ids[1],
                receipt: vec![1],
                at_ms: 4_000,
            },
        )
        .expect("applies");
        let p = st.events_after((0, 0), 10);
        assert_eq!(p.gap, Some((1, 1)), "(1, 1) was let go too");
        assert_eq!(keys(&p)[0], (2, 2));
        assert_eq!(st.events_after((1, 1), 10).gap, None);
    }

    /// A tenant's page reads its messages through its own index: in order, from a cursor,
    /// its look bounded by its own messages (others' are not looked at).
    #[test]
    fn a_tenants_page_reads_only_its_messages() {
        let mut st = HubState::new();
        for n in 0..10u8 {
            let mut r = accepted(n);
            if let LogRecord::Accepted { msg, .. } = &mut r {
                msg.tenant = if n % 3 == 0 { "a" } else { "b" }.into();
            }
            st.apply(u64::from(n), r).expect("apply");
        }
        let seqs = |p: &Page| p.items.iter().map(|m| m.seq).collect::<Vec<u64>>();
        let p = st.tenant_page("a", None, 10, 100, |_| true);
        assert_eq!((seqs(&p), p.scanned_to), (vec![0, 3, 6, 9], None));
        assert!(p.items.iter().all(|m| m.msg.tenant == "a"));
        let p = st.tenant_page("a", Some(3), 1, 100, |_| true);
        assert_eq!((seqs(&p), p.scanned_to), (vec![6], None));
        let p = st.tenant_page("b", Some(4), 10, 100, |_| true);
        assert_eq!((seqs(&p), p.scanned_to), (vec![5, 7, 8], None));
        // One look: the first of its messages only, and where to go on from.
        let p = st.tenant_page("a", None, 10, 1, |m| m.seq == 3);
        assert_eq!((seqs(&p), p.scanned_to), (vec![], Some(2)));
        let p = st.tenant_page("a", p.scanned_to, 10, 1, |m| m.seq == 3);
        assert_eq!((seqs(&p), p.scanned_to), (vec![3], Some(5)));
        let p = st.tenant_page("nobody", None, 10, 100, |_| true);
        assert_eq!((seqs(&p), p.scanned_to), (vec![], None));
    }

    #[test]
    fn a_delivered_batch_delivers_each_listed_message_once() {
        let mut st = HubState::new();
        let recs: Vec<LogRecord> = (0..3).map(accepted).collect();
        let ids: Vec<MessageId> = recs.iter().map(id_of).collect();
        for (seq, r) in recs.into_iter().enumerate() {
            assert_eq!(st.apply(seq as u64, r), Ok(vec![ids[seq]]));
        }
        let batch = |items: &[MessageId]| LogRecord::DeliveredBatch {
            items: items.iter().map(|id| (*id, vec![9])).collect(),
            at_ms: 2_000,
        };
        assert_eq!(
            st.apply(3, batch(&[ids[0], ids[2]])),
            Ok(vec![ids[0], ids[2]])
        );
        let state = |st: &HubState, i: usize| st.message(&ids[i]).map(|m| m.state);
        assert_eq!(state(&st, 0), Some(MessageState::Delivered));
        assert_eq!(state(&st, 1), Some(MessageState::Committed));
        assert_eq!(state(&st, 2), Some(MessageState::Delivered));
        let last = st.message(&ids[2]).and_then(|m| m.timeline.last().cloned());
        assert_eq!(
            last,
            Some(Transition {
                state: MessageState::Delivered,
                at_ms: 2_000,
                seq: 3
            })
        );
        // A repeated delivery is absorbed; only the new one changes.
        assert_eq!(st.apply(4, batch(&[ids[0], ids[1]])), Ok(vec![ids[1]]));
        assert_eq!(st.expired(u64::MAX), Vec::<MessageId>::new());
        // The sequence index still pages in order.
        let seqs = |p: &Page| p.items.iter().map(|m| m.seq).collect::<Vec<u64>>();
        let p = st.page(Some(0), 10, 100, |_| true);
        assert_eq!((seqs(&p), p.scanned_to), (vec![1, 2], None));
        // The look's bound: one message looked at, one left, so the page says where it
        // stopped; a page that fills up, or a look that reaches the end, does not.
        let p = st.page(None, 10, 1, |m| m.seq == 2);
        assert_eq!((seqs(&p), p.scanned_to), (vec![], Some(0)));
        let p = st.page(p.scanned_to, 10, 1, |m| m.seq == 2);
        assert_eq!((seqs(&p), p.scanned_to), (vec![], Some(1)));
        let p = st.page(p.scanned_to, 10, 1, |m| m.seq == 2);
        assert_eq!((seqs(&p), p.scanned_to), (vec![2], None));
        let p = st.page(None, 1, 1, |_| true);
        assert_eq!((seqs(&p), p.scanned_to), (vec![0], None));
    }

    /// The per-state counts kept as states change, and the open set, equal a walk over every
    /// message after each record: commits, deliveries (once, repeats absorbed), a timeout and
    /// its refund.
    #[test]
    fn kept_counts_and_the_open_set_match_a_walk_over_every_message() {
        let walk = |st: &HubState| {
            let mut c: HashMap<MessageState, usize> = HashMap::new();
            for m in st.messages() {
                *c.entry(m.state).or_default() += 1;
            }
            let mut v: Vec<_> = c.into_iter().collect();
            v.sort_by_key(|(s, _)| format!("{s:?}"));
            v
        };
        let open_walk = |st: &HubState| {
            let mut v: Vec<MessageId> = st
                .messages()
                .filter(|m| {
                    matches!(
                        m.state,
                        MessageState::Committed | MessageState::Finalized | MessageState::TimedOut
                    )
                })
                .map(|m| m.msg.id)
                .collect();
            v.sort();
            v
        };
        let check = |st: &HubState, step: &str| {
            assert_eq!(st.counts(), walk(st), "{step}");
            let mut open: Vec<MessageId> = st.open().map(|m| m.msg.id).collect();
            open.sort();
            assert_eq!(open, open_walk(st), "{step}");
        };
        let mut st = HubState::new();
        check(&st, "empty");
        let recs: Vec<LogRecord> = (0..4).map(accepted).collect();
        let ids: Vec<MessageId> = recs.iter().map(id_of).collect();
        for (seq, r) in recs.into_iter().enumerate() {
            st.apply(seq as u64, r).expect("accepted");
            check(&st, "accepted");
        }
        let batch = |items: &[MessageId]| LogRecord::DeliveredBatch {
            items: items.iter().map(|id| (*id, vec![9])).collect(),
            at_ms: 2_000,
        };
        st.apply(4, batch(&[ids[0], ids[2]])).expect("delivered");
        check(&st, "delivered");
        st.apply(5, batch(&[ids[0]])).expect("repeat");
        check(&st, "repeated delivery");
        st.apply(
            6,
            LogRecord::TimedOut {
                id: ids[1],
                at_ms: 3_000,
            },
        )
        .expect("timed out");
        check(&st, "timed out");
        st.apply(
            7,
            LogRecord::Refunded {
                id: ids[1],
                receipt: vec![1],
                at_ms: 4_000,
            },
        )
        .expect("refunded");
        check(&st, "refunded");
        assert_eq!(
            st.counts(),
            vec![
                (MessageState::Committed, 1),
                (MessageState::Delivered, 2),
                (MessageState::Refunded, 1)
            ]
        );
    }
}
