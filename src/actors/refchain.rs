//! `ReferenceChainActor`: seals blocks over the commit log every `seal_interval_ms` or
//! `seal_max_entries` entries, proposes each to every city relay, and records the block as
//! finalized once more than two thirds have signed it. An unfinalized head is proposed again
//! on every tick; no new block is sealed on top of it.

use super::relay::{CityRelayActor, Propose, RootCache};
use super::router::{now_ms, AppendRecords, GetChainView, Router};
use crate::config::RefchainSection;
use crate::log::CommitLog;
use crate::record::LogRecord;
use crate::refchain::{BlockHeader, QuorumCertificate, RelaySets};
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The reference-chain actor.
pub struct ReferenceChainActor {
    router: Addr<Router>,
    log: Arc<dyn CommitLog>,
    relays: Vec<Addr<CityRelayActor>>,
    sets: RelaySets,
    cfg: RefchainSection,
    cache: RootCache,
    busy: bool,
    last_seal: Instant,
    vote_timeout: Duration,
    /// The last tick failed (its failure was logged; the next ones are not, until one works).
    failing: bool,
}

impl ReferenceChainActor {
    /// A reference chain sealing `log` and collecting votes from `relays` (in relay-set order).
    pub fn new(
        router: Addr<Router>,
        log: Arc<dyn CommitLog>,
        relays: Vec<Addr<CityRelayActor>>,
        sets: RelaySets,
        cfg: RefchainSection,
        cache: RootCache,
    ) -> Self {
        ReferenceChainActor {
            router,
            log,
            relays,
            sets,
            cfg,
            cache,
            busy: false,
            last_seal: Instant::now(),
            vote_timeout: Duration::from_secs(2),
            failing: false,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        self.busy = true;
        let router = self.router.clone();
        let log = self.log.clone();
        let relays = self.relays.clone();
        let sets = self.sets.clone();
        let cache = self.cache.clone();
        let cfg = self.cfg.clone();
        let due = self.last_seal.elapsed() >= Duration::from_millis(cfg.seal_interval_ms);
        let vote_timeout = self.vote_timeout;
        ctx.spawn(
            async move {
                let view = router.send(GetChainView).await.map_err(|e| e.to_string())?;
                let header = match view.head {
                    Some((h, false)) => h,
                    _ => {
                        let waiting = view.next_seq.saturating_sub(view.sealed_end);
                        // Only block records since the last block: nothing to seal.
                        if view.payload_end <= view.sealed_end
                            || (!due && waiting < cfg.seal_max_entries)
                        {
                            return Ok(false);
                        }
                        let end = view.sealed_end + waiting.min(cfg.seal_max_entries);
                        let root = cache.root(log.as_ref(), view.sealed_end, end).await?;
                        let log_root = cache.log_root(log.as_ref(), end).await?;
                        let (height, prev_hash) = match &view.head {
                            Some((h, _)) => (h.height + 1, h.hash()),
                            None => (0, [0u8; 32]),
                        };
                        let header = BlockHeader {
                            height,
                            prev_hash,
                            log_start: view.sealed_end,
                            log_end: end,
                            entries_root: root,
                            log_root,
                            time_ms: now_ms(),
                            relay_set_hash: sets.current().hash(),
                        };
                        router
                            .send(AppendRecords(vec![LogRecord::BlockSealed {
                                header: header.clone(),
                            }]))
                            .await
                            .map_err(|e| e.to_string())??;
                        header
                    }
                };
                let votes = futures::future::join_all(relays.iter().map(|r| {
                    let r = r.clone();
                    let h = header.clone();
                    async move { tokio::time::timeout(vote_timeout, r.send(Propose(h))).await }
                }))
                .await;
                let mut signatures: Vec<_> = votes
                    .into_iter()
                    .filter_map(|v| match v {
                        Ok(Ok(Ok(sig))) => Some(sig),
                        _ => None,
                    })
                    .collect();
                signatures.sort_by_key(|s| s.relay);
                let (height, block_hash) = (header.height, header.hash());
                let set = sets
                    .get(&header.relay_set_hash)
                    .ok_or_else(|| "the block names an unknown relay set".to_string())?;
                // Keep only what verifies, so the certificate in the log is exactly the quorum's.
                let vote = crate::refchain::vote_message(&block_hash);
                signatures.retain(|s| s.verifies(&set, &vote));
                // One vote per relay (after dropping invalid ones, so a bad duplicate cannot
                // displace a good vote).
                signatures.dedup_by_key(|s| s.relay);
                // Each signature was just checked, the block is `header` and its relay set is
                // `set`: what is left to know is whether enough signed (no second check of
                // every signature, as `QuorumCertificate::verify` would do).
                if signatures.len() < set.quorum() {
                    tracing::warn!(
                        height = header.height,
                        valid = signatures.len(),
                        needed = set.quorum(),
                        "block not finalized: below quorum"
                    );
                    return Ok(true);
                }
                let qc = QuorumCertificate {
                    height,
                    block_hash,
                    signatures,
                };
                router
                    .send(AppendRecords(vec![LogRecord::BlockFinalized {
                        qc,
                        at_ms: now_ms(),
                    }]))
                    .await
                    .map_err(|e| e.to_string())??;
                Ok(true)
            }
            .into_actor(self)
            .map(|res: Result<bool, String>, act, _| {
                act.busy = false;
                match res {
                    Ok(sealed) => {
                        if sealed {
                            act.last_seal = Instant::now();
                        }
                        if std::mem::take(&mut act.failing) {
                            tracing::info!("reference chain ticks work again");
                        }
                    }
                    // Once per run of failures: a tick runs every 100 ms.
                    Err(e) if !act.failing => {
                        act.failing = true;
                        tracing::warn!(error = %e, "reference chain tick failed (retrying)");
                    }
                    Err(e) => tracing::debug!(error = %e, "reference chain tick failed again"),
                }
            }),
        );
    }
}

impl Actor for ReferenceChainActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let every = Duration::from_millis(self.cfg.seal_interval_ms.clamp(10, 100));
        ctx.run_interval(every, |act, ctx| act.tick(ctx));
    }
}
