//! Ingest: gathers concurrent submissions into batches, so that under load a chain actor
//! verifies many pieces of evidence per message and the router commits many messages per
//! log append, instead of several thread hand-offs per transfer.
//!
//! Each batch goes through the same steps a single submission did: verify on the source
//! chain's actor; for evidence that does not verify, answer the first message if this
//! evidence was submitted before, else reject; submit the verified ones to the router (which
//! deduplicates, rate-limits, assigns nonces and answers once durable); mark the committed
//! events relayed on their chain. A few batches are in flight at once (the next one verifies
//! while the previous one waits for its fsync); while they are, new submissions queue up
//! and form the next batch.

use super::chain::{ChainActor, MarkRelayedBatch, VerifyBatch};
use super::router::{may_see, GetMessage, Router, Submit, SubmitBatch, SubmitError, SubmitOutcome};
use crate::log::{decode_record, CommitLog};
use crate::message::{ChainId, MessageId};
use crate::record::LogRecord;
use actix::Addr;
use meridian_adapters::Evidence;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Most submissions in one batch.
pub const MAX_INGEST_BATCH: usize = 1024;
/// Batches in flight at once.
pub const MAX_INGEST_INFLIGHT: usize = 4;
/// Submissions waiting for a batch; beyond this the hub answers 503.
pub const INGEST_QUEUE: usize = 16 * 1024;

type Reply = oneshot::Sender<Result<SubmitOutcome, SubmitError>>;

/// An item's tenant, source chain and timeout, kept by position while its evidence is being
/// verified.
type Pending = (String, ChainId, Option<u64>);

/// One submission waiting for its batch.
pub struct IngestItem {
    /// Submitting tenant.
    pub tenant: String,
    /// Source chain (known to the hub).
    pub source: ChainId,
    /// Its evidence.
    pub evidence: Evidence,
    /// Delivery timeout, `None` for the default.
    pub timeout_secs: Option<u64>,
    /// Where the answer goes.
    pub reply: Reply,
}

/// Start the ingest task on the current actix system; submissions go into the returned
/// sender. The task ends when every sender is dropped.
pub fn start(
    chains: HashMap<ChainId, Addr<ChainActor>>,
    router: Addr<Router>,
    log: Arc<dyn CommitLog>,
) -> mpsc::Sender<IngestItem> {
    let (tx, rx) = mpsc::channel(INGEST_QUEUE);
    actix_rt::spawn(run(rx, Arc::new(chains), router, log));
    tx
}

async fn run(
    mut rx: mpsc::Receiver<IngestItem>,
    chains: Arc<HashMap<ChainId, Addr<ChainActor>>>,
    router: Addr<Router>,
    log: Arc<dyn CommitLog>,
) {
    let slots = Arc::new(Semaphore::new(MAX_INGEST_INFLIGHT));
    loop {
        // Wait for a free slot first: meanwhile submissions gather in the channel.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        // Sized for what is waiting (a batch of the most, ~170 KB, would be a fresh large
        // allocation, its pages faulted in, on every batch).
        let mut batch = Vec::with_capacity(rx.len().clamp(16, MAX_INGEST_BATCH));
        if rx.recv_many(&mut batch, MAX_INGEST_BATCH).await == 0 {
            return;
        }
        let (chains, router, log) = (chains.clone(), router.clone(), log.clone());
        actix_rt::spawn(async move {
            process(batch, &chains, &router, log.as_ref()).await;
            drop(permit);
        });
    }
}

/// Whether the message's `Accepted` record at `seq` holds exactly this evidence.
async fn same_evidence(log: &dyn CommitLog, seq: u64, ev: &Evidence) -> bool {
    let Ok(rows) = log.read(seq, 1).await else {
        return false;
    };
    match rows.first() {
        Some((s, bytes)) if *s == seq => matches!(
            decode_record(bytes),
            Ok(LogRecord::Accepted { msg, .. })
                if msg.evidence.locator == ev.locator
                    && msg.evidence.header == ev.header
                    && msg.evidence.proof == ev.proof
                    && msg.evidence.event == ev.event
        ),
        _ => false,
    }
}

async fn process(
    batch: Vec<IngestItem>,
    chains: &HashMap<ChainId, Addr<ChainActor>>,
    router: &Addr<Router>,
    log: &dyn CommitLog,
) {
    // Group by source chain (a handful of chains: a linear scan, no hashing or name copies
    // per item); replies and the rest of each item kept by position.
    // Each group's vectors are sized for the whole batch (usually there is one source chain),
    // so no regrowth copies of the evidence as they fill.
    let n = batch.len();
    let mut groups: Vec<(ChainId, Vec<usize>, Vec<Evidence>)> = Vec::new();
    let mut replies: Vec<Option<Reply>> = Vec::with_capacity(n);
    let mut meta: Vec<Option<Pending>> = Vec::with_capacity(n);
    for (i, item) in batch.into_iter().enumerate() {
        let g = match groups.iter().position(|(c, _, _)| *c == item.source) {
            Some(g) => g,
            None => {
                groups.push((
                    item.source.clone(),
                    Vec::with_capacity(n - i),
                    Vec::with_capacity(n - i),
                ));
                groups.len() - 1
            }
        };
        if let Some((_, idx, evs)) = groups.get_mut(g) {
            idx.push(i);
            evs.push(item.evidence);
        }
        replies.push(Some(item.reply));
        meta.push(Some((item.tenant, item.source, item.timeout_secs)));
    }
    fn answer(replies: &mut [Option<Reply>], i: usize, out: Result<SubmitOutcome, SubmitError>) {
        if let Some(reply) = replies.get_mut(i).and_then(Option::take) {
            let _ = reply.send(out);
        }
    }
    let sources: Vec<ChainId> = groups.iter().map(|(c, _, _)| c.clone()).collect();
    // Verify every group on its chain actor, concurrently.
    let mut verifications = Vec::new();
    for (source, idx, evs) in groups {
        let chain = chains.get(&source).cloned();
        verifications.push(async move {
            let res = match chain {
                Some(c) => c
                    .send(VerifyBatch(evs))
                    .await
                    .map_err(|e| SubmitError::Overloaded(e.to_string())),
                None => Err(SubmitError::UnknownChain(source.0)),
            };
            (idx, res)
        });
    }
    let mut submits = Vec::with_capacity(n);
    // Per submission: its position in the batch and its group (the source chain to tell).
    let mut submitted: Vec<(usize, usize)> = Vec::with_capacity(n);
    for (g, (idx, res)) in futures::future::join_all(verifications)
        .await
        .into_iter()
        .enumerate()
    {
        let results = match res {
            Ok(v) => v,
            Err(e) => {
                for i in idx {
                    answer(&mut replies, i, Err(e.clone()));
                }
                continue;
            }
        };
        for (i, (evidence, verified)) in idx.into_iter().zip(results) {
            let Some((tenant, source, timeout_secs)) = meta.get_mut(i).and_then(Option::take)
            else {
                continue;
            };
            match verified {
                Ok(event) => {
                    // The router answers the submitter itself, as soon as it knows.
                    submits.push(Submit {
                        source,
                        event,
                        evidence,
                        timeout_secs,
                        tenant,
                        reply: replies.get_mut(i).and_then(Option::take),
                    });
                    submitted.push((i, g));
                }
                Err(e) => {
                    // The same evidence again is the first message, even though it no longer
                    // verifies (relayed already, or its block left the light client's window):
                    // the same evidence byte for byte as the message's record holds, not just
                    // its locator (anything else is answered as the failure it is, and tells
                    // nothing of the message), and only to a submitter who may see it.
                    let id = MessageId::derive(&source, &evidence.locator);
                    let out = match router.send(GetMessage(id)).await.ok().flatten() {
                        Some(m) if same_evidence(log, m.seq, &evidence).await => {
                            if may_see(&m.msg.tenant, &tenant) {
                                Ok(SubmitOutcome {
                                    id,
                                    seq: m.seq,
                                    state: m.state,
                                    existing: true,
                                })
                            } else {
                                Err(SubmitError::OtherTenant)
                            }
                        }
                        _ => Err(SubmitError::Rejected(e.to_string())),
                    };
                    answer(&mut replies, i, out);
                }
            }
        }
    }
    if submits.is_empty() {
        return;
    }
    let locators: Vec<Vec<u8>> = submits.iter().map(|s| s.evidence.locator.clone()).collect();
    let n = submits.len();
    let outcomes = match router.send(SubmitBatch(submits)).await {
        Ok(v) if v.len() == n => v,
        Ok(v) => vec![
            Err(SubmitError::Overloaded(format!(
                "{} answers for {n} submissions",
                v.len()
            )));
            n
        ],
        Err(e) => vec![Err(SubmitError::Overloaded(e.to_string())); n],
    };
    // Durable now: the source chains' adapters treat these events as relayed (one list per
    // group, that is per source chain).
    let mut relayed: Vec<Vec<Vec<u8>>> = vec![Vec::new(); sources.len()];
    for (((i, g), out), locator) in submitted.into_iter().zip(outcomes).zip(locators) {
        // Each of these went to the router with its reply and the router answered it (had its
        // mailbox refused the batch, the reply was dropped and the submitter reports the hub
        // stopped): only the relayed events are left to mark.
        debug_assert!(replies.get(i).is_none_or(Option::is_none));
        if out.is_ok() {
            if let Some(r) = relayed.get_mut(g) {
                r.push(locator);
            }
        }
    }
    for (source, locators) in sources.iter().zip(relayed) {
        if locators.is_empty() {
            continue;
        }
        if let Some(c) = chains.get(source) {
            c.do_send(MarkRelayedBatch(locators));
        }
    }
}
