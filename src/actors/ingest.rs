//! Ingest: gathers concurrent submissions into batches, so that under load a chain actor
//! verifies many pieces of evidence per message and the router commits many messages per
//! log append, instead of several thread hand-offs per transfer.
//!
//! Each batch goes through the same steps a single submission did: verify on the source
//! chain's actor; for evidence that does not verify, answer the first message if this
//! evidence was submitted before, else reject; submit the verified ones to the router (which
//! deduplicates, rate-limits, assigns nonces and answers once durable); mark the committed
//! events relayed on their chain. Each source chain has its own lane of batches, so a chain
//! whose actor is slow holds up only its own submissions. A few batches of a lane are in
//! flight at once (the next one verifies while the previous one waits for its fsync); while
//! they are, new submissions queue up and form the next batch.

use super::chain::{ChainActor, CheckDeliveries, MarkRelayedBatch, VerifyBatch};
use super::router::{may_see, GetMessage, Router, Submit, SubmitBatch, SubmitError, SubmitOutcome};
use crate::log::{decode_record, CommitLog};
use crate::message::{ChainId, MessageId};
use crate::record::LogRecord;
use actix::Addr;
use meridian_adapters::{AdapterError, Delivery, Evidence};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Most submissions in one batch.
pub const MAX_INGEST_BATCH: usize = 1024;
/// Batches in flight at once.
pub const MAX_INGEST_INFLIGHT: usize = 4;
/// How long a batch waits for its destinations to check its deliveries (see `deliverable`).
pub const CHECK_WAIT: std::time::Duration = std::time::Duration::from_millis(250);
/// Submissions waiting for a batch; beyond this the hub answers 503.
pub const INGEST_QUEUE: usize = 16 * 1024;

type Reply = oneshot::Sender<Result<SubmitOutcome, SubmitError>>;

/// An item's tenant and timeout, kept by position while its evidence is being verified.
type Pending = (String, Option<u64>);

/// One submission waiting for its batch.
pub struct IngestItem {
    /// Submitting tenant.
    pub tenant: String,
    /// Its evidence (from the chain whose lane it is sent to).
    pub evidence: Evidence,
    /// Delivery timeout, `None` for the default.
    pub timeout_secs: Option<u64>,
    /// Where the answer goes.
    pub reply: Reply,
}

/// Start the ingest tasks on the current actix system: a lane per source chain, so that a
/// chain actor that is slow (blocked on receipts while it delivers to a slow node) holds up
/// only its own chain's submissions. Submissions from a chain go into its sender; each lane
/// holds at most [`INGEST_QUEUE`] waiting ones and ends when its senders are dropped.
pub fn start(
    chains: HashMap<ChainId, Addr<ChainActor>>,
    router: Addr<Router>,
    log: Arc<dyn CommitLog>,
) -> HashMap<ChainId, mpsc::Sender<IngestItem>> {
    let all = Arc::new(chains);
    all.iter()
        .map(|(source, chain)| {
            let (tx, rx) = mpsc::channel(INGEST_QUEUE);
            let lane = Lane {
                source: source.clone(),
                chain: chain.clone(),
                chains: all.clone(),
                router: router.clone(),
                log: log.clone(),
            };
            actix_rt::spawn(run(rx, Arc::new(lane)));
            (source.clone(), tx)
        })
        .collect()
}

/// What a lane's batches need: their source chain and its actor, every chain (to check the
/// deliveries on their destinations), the router and the log.
struct Lane {
    source: ChainId,
    chain: Addr<ChainActor>,
    chains: Arc<HashMap<ChainId, Addr<ChainActor>>>,
    router: Addr<Router>,
    log: Arc<dyn CommitLog>,
}

/// One lane: at most [`MAX_INGEST_INFLIGHT`] batches in flight; while they are, submissions
/// gather in the channel and form the next batch.
async fn run(mut rx: mpsc::Receiver<IngestItem>, lane: Arc<Lane>) {
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
        let lane = lane.clone();
        actix_rt::spawn(async move {
            process(batch, &lane).await;
            drop(permit);
        });
    }
}

/// Whether the message's `Accepted` record at `seq` holds exactly this evidence (an error
/// when the log cannot say: the submitter should retry, not be told its evidence is bad).
async fn same_evidence(log: &dyn CommitLog, seq: u64, ev: &Evidence) -> Result<bool, SubmitError> {
    let rows = log
        .read(seq, 1)
        .await
        .map_err(|e| SubmitError::Log(e.to_string()))?;
    let Some((_, bytes)) = rows.first().filter(|(s, _)| *s == seq) else {
        return Err(SubmitError::Log(format!("record {seq} missing")));
    };
    match decode_record(bytes).map_err(|e| SubmitError::Log(e.to_string()))? {
        LogRecord::Accepted { msg, .. } => Ok(msg.evidence.locator == ev.locator
            && msg.evidence.header == ev.header
            && msg.evidence.proof == ev.proof
            && msg.evidence.event == ev.event),
        other => Err(SubmitError::Log(format!(
            "record {seq} is {}, not the message's",
            other.kind()
        ))),
    }
}

/// Keep the submissions whose destination chain could ever apply them, with their positions;
/// answer the others [`SubmitError::Undeliverable`] (a recipient that is no account name on
/// the destination, an amount out of its range: committed, they would wait for delivery
/// until their deadline and be refunded). Each destination's adapter is asked once per batch,
/// the destinations concurrently.
async fn deliverable(
    submits: Vec<Submit>,
    submitted: Vec<usize>,
    chains: &HashMap<ChainId, Addr<ChainActor>>,
) -> (Vec<Submit>, Vec<usize>) {
    // A handful of destinations: a linear scan.
    let mut by_dest: Vec<(&str, Vec<usize>)> = Vec::new();
    for (k, s) in submits.iter().enumerate() {
        let dest = s.event.destination.as_str();
        // The router refuses these by name (same chain, unknown chain).
        if dest == s.source.0 || !chains.contains_key(&ChainId(dest.to_string())) {
            continue;
        }
        match by_dest.iter_mut().find(|(d, _)| *d == dest) {
            Some((_, idx)) => idx.push(k),
            None => by_dest.push((dest, vec![k])),
        }
    }
    let deadline_ms = meridian_adapters::mock::now_ms()
        .saturating_add(crate::config::MAX_TIMEOUT_SECS.saturating_mul(1000));
    let checks = by_dest.into_iter().map(|(dest, idx)| {
        let chain = chains.get(&ChainId(dest.to_string())).cloned();
        let deliveries: Vec<Delivery> = idx
            .iter()
            .filter_map(|&k| submits.get(k))
            .map(|s| Delivery {
                message_id: s.id.0,
                refund: false,
                account: s.event.recipient.clone(),
                asset: s.event.asset.clone(),
                amount: s.event.amount,
                refchain_height: 0,
                deadline_ms,
            })
            .collect();
        let dest = dest.to_string();
        async move {
            // The check waits in the actor's mailbox behind its deliveries, which on a chain
            // behind a real node block for receipts: past CHECK_WAIT the batch goes on
            // unchecked (a delivery that then fails for good is refunded at its deadline).
            let res = match chain {
                Some(c) => tokio::time::timeout(CHECK_WAIT, c.send(CheckDeliveries(deliveries)))
                    .await
                    .ok()
                    .and_then(Result::ok),
                None => None,
            };
            (dest, idx, res)
        }
    });
    let mut refused: Vec<Option<SubmitError>> = vec![None; submits.len()];
    for (dest, idx, res) in futures::future::join_all(checks).await {
        // A chain actor that cannot answer (restarting, or busy past CHECK_WAIT) tells nothing
        // about the transfers: they go on (a delivery that then fails for good is logged by
        // the router).
        let Some(results) = res else { continue };
        for (k, r) in idx.into_iter().zip(results) {
            match r {
                Ok(()) | Err(AdapterError::Unavailable(_)) => {}
                Err(e) => {
                    if let Some(slot) = refused.get_mut(k) {
                        *slot = Some(SubmitError::Undeliverable {
                            destination: dest.clone(),
                            reason: e.to_string(),
                        });
                    }
                }
            }
        }
    }
    let mut keep = Vec::with_capacity(submits.len());
    let mut positions = Vec::with_capacity(submits.len());
    for ((s, pos), refusal) in submits.into_iter().zip(submitted).zip(refused) {
        match refusal {
            Some(e) => {
                if let Some(reply) = s.reply {
                    let _ = reply.send(Err(e));
                }
            }
            None => {
                keep.push(s);
                positions.push(pos);
            }
        }
    }
    (keep, positions)
}

async fn process(batch: Vec<IngestItem>, lane: &Lane) {
    // Replies and the rest of each item kept by position while the evidence is verified.
    let n = batch.len();
    let mut evidence = Vec::with_capacity(n);
    let mut replies: Vec<Option<Reply>> = Vec::with_capacity(n);
    let mut meta: Vec<Option<Pending>> = Vec::with_capacity(n);
    for item in batch {
        evidence.push(item.evidence);
        replies.push(Some(item.reply));
        meta.push(Some((item.tenant, item.timeout_secs)));
    }
    fn answer(replies: &mut [Option<Reply>], i: usize, out: Result<SubmitOutcome, SubmitError>) {
        if let Some(reply) = replies.get_mut(i).and_then(Option::take) {
            let _ = reply.send(out);
        }
    }
    let results = match lane.chain.send(VerifyBatch(evidence)).await {
        Ok(v) => v,
        Err(e) => {
            let e = SubmitError::Overloaded(e.to_string());
            for i in 0..n {
                answer(&mut replies, i, Err(e.clone()));
            }
            return;
        }
    };
    let mut submits = Vec::with_capacity(n);
    // Per submission: its position in the batch.
    let mut submitted: Vec<usize> = Vec::with_capacity(n);
    for (i, (evidence, key, verified)) in results.into_iter().enumerate() {
        let Some((tenant, timeout_secs)) = meta.get_mut(i).and_then(Option::take) else {
            continue;
        };
        let id = MessageId::derive(&lane.source, &key);
        match verified {
            Ok(event) => {
                // The router answers the submitter itself, as soon as it knows.
                submits.push(Submit {
                    id,
                    source: lane.source.clone(),
                    event,
                    evidence,
                    timeout_secs,
                    tenant,
                    reply: replies.get_mut(i).and_then(Option::take),
                });
                submitted.push(i);
            }
            Err(e) => {
                // Evidence of a message's event is that message, answered to a submitter who
                // may see it: evidence that verifies but for the event being relayed (the
                // adapters tell a replay only of evidence that passes every other check: it
                // may differ in bytes the proof does not bind, such as other confirmation
                // headers), or the same evidence byte for byte as the message's record holds,
                // even though it no longer verifies (its block left the light client's
                // window). Anything else is answered as the failure it is, and tells nothing
                // of the message.
                let rejected = || Err(SubmitError::Rejected(e.to_string()));
                let out = match lane.router.send(GetMessage(id)).await.ok().flatten() {
                    Some(m) => {
                        let same = if matches!(e, AdapterError::Replay(_)) {
                            Ok(true)
                        } else {
                            same_evidence(lane.log.as_ref(), m.seq, &evidence).await
                        };
                        match same {
                            Ok(true) if may_see(&m.msg.tenant, &tenant) => Ok(SubmitOutcome {
                                id,
                                seq: m.seq,
                                state: m.state,
                                existing: true,
                            }),
                            Ok(true) => Err(SubmitError::OtherTenant),
                            Ok(false) => rejected(),
                            Err(log_error) => Err(log_error),
                        }
                    }
                    None => rejected(),
                };
                answer(&mut replies, i, out);
            }
        }
    }
    if submits.is_empty() {
        return;
    }
    let (submits, submitted) = deliverable(submits, submitted, &lane.chains).await;
    if submits.is_empty() {
        return;
    }
    let locators: Vec<Vec<u8>> = submits.iter().map(|s| s.evidence.locator.clone()).collect();
    let n = submits.len();
    let outcomes = match lane.router.send(SubmitBatch(submits)).await {
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
    // Durable now: the source chain's adapter treats these events as relayed.
    let mut relayed = Vec::with_capacity(n);
    for ((i, out), locator) in submitted.into_iter().zip(outcomes).zip(locators) {
        // Each of these went to the router with its reply and the router answered it (had its
        // mailbox refused the batch, the reply was dropped and the submitter reports the hub
        // stopped): only the relayed events are left to mark.
        debug_assert!(replies.get(i).is_none_or(Option::is_none));
        if out.is_ok() {
            relayed.push(locator);
        }
    }
    if !relayed.is_empty() {
        lane.chain.do_send(MarkRelayedBatch(relayed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{encode_record, Entries, LogError};
    use crate::message::{CrossChainMessage, SourceEvidence};
    use futures::future::BoxFuture;
    use std::ops::Range;
    use tokio::sync::watch;

    /// A log of fixed records, or one whose reads fail.
    struct FixedLog(Result<Vec<Vec<u8>>, LogError>);

    impl CommitLog for FixedLog {
        fn try_append(&self, _: Vec<Vec<u8>>) -> BoxFuture<'static, Result<Range<u64>, LogError>> {
            Box::pin(async { Err(LogError::Closed) })
        }
        fn read(&self, from: u64, max: usize) -> BoxFuture<'static, Result<Entries, LogError>> {
            let r = self.0.clone().map(|recs| {
                (0u64..)
                    .zip(recs)
                    .skip(usize::try_from(from).unwrap_or(usize::MAX))
                    .take(max)
                    .collect()
            });
            Box::pin(async move { r })
        }
        fn next_seq(&self) -> u64 {
            self.0.as_ref().map_or(0, |r| r.len() as u64)
        }
        fn subscribe(&self) -> watch::Receiver<u64> {
            watch::channel(self.next_seq()).1
        }
    }

    fn evidence(tag: u8) -> Evidence {
        Evidence {
            locator: vec![1, 2],
            header: vec![tag; 3],
            proof: vec![tag; 4],
            event: vec![tag; 5],
        }
    }

    fn accepted(ev: &Evidence) -> Vec<u8> {
        let msg = CrossChainMessage {
            id: MessageId([9; 32]),
            source: ChainId("a".into()),
            destination: ChainId("b".into()),
            route_nonce: 0,
            sender: "s".into(),
            recipient: "r".into(),
            asset: "CNY".into(),
            amount: 1,
            timeout_secs: 60,
            evidence: SourceEvidence {
                locator: ev.locator.clone(),
                header: ev.header.clone(),
                proof: ev.proof.clone(),
                event: ev.event.clone(),
            },
            tenant: "t".into(),
        };
        encode_record(&LogRecord::Accepted { msg, at_ms: 1 }).expect("encode")
    }

    /// The same bytes match; other bytes do not; a log that cannot say is an error (the
    /// submitter is told to retry, not that its evidence is bad).
    #[tokio::test]
    async fn a_replay_matches_only_its_records_bytes_and_log_failures_are_errors() {
        let log = FixedLog(Ok(vec![
            accepted(&evidence(1)),
            encode_record(&LogRecord::TimedOut {
                id: MessageId([9; 32]),
                at_ms: 2,
            })
            .expect("encode"),
        ]));
        assert_eq!(same_evidence(&log, 0, &evidence(1)).await, Ok(true));
        assert_eq!(same_evidence(&log, 0, &evidence(2)).await, Ok(false));
        for seq in [1, 7] {
            let r = same_evidence(&log, seq, &evidence(1)).await;
            assert!(matches!(r, Err(SubmitError::Log(_))), "seq {seq}: {r:?}");
        }
        let broken = FixedLog(Err(LogError::Storage("disk".into())));
        let r = same_evidence(&broken, 0, &evidence(1)).await;
        assert!(matches!(r, Err(SubmitError::Log(_))), "{r:?}");
    }
}
