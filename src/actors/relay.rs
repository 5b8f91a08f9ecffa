//! `CityRelayActor`: one per city. As a validator of the reference chain it signs a proposed
//! block only after checking it against the commit log itself: the relay-set hash, the link to
//! the last block it signed, and the RFC 6962 root of the log entries the block claims.

use crate::log::CommitLog;
use crate::refchain::{BlockHeader, RelayKey, RelaySets, RelaySignature};
use actix::prelude::*;
use meridian_proofs::hash::Hash32;
use meridian_proofs::rfc6962::MerkleTree;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How a relay behaves: honest, or one of the faults the tests inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayBehaviour {
    /// Checks every proposal against the log.
    Honest,
    /// Never answers (a crashed node).
    Crashed,
    /// Answers with a garbage signature.
    Garbage,
    /// Signs whatever it is sent, unchecked.
    SignAnything,
}

/// Roots of log ranges and of the whole log, computed from the log. In this process every
/// relay reads the same log file, so one computation serves them all; a proposal never fills it.
#[derive(Debug, Clone, Default)]
pub struct RootCache {
    ranges: Arc<Mutex<HashMap<(u64, u64), Hash32>>>,
    /// The RFC 6962 tree of every log entry read so far (append-only, like the log).
    whole: Arc<Mutex<MerkleTree>>,
}

impl RootCache {
    /// The RFC 6962 root of log entries `start..end`, read from `log`.
    pub async fn root(&self, log: &dyn CommitLog, start: u64, end: u64) -> Result<Hash32, String> {
        if let Some(r) = self
            .ranges
            .lock()
            .ok()
            .and_then(|m| m.get(&(start, end)).copied())
        {
            return Ok(r);
        }
        // The block's leaves are the whole-log tree's leaves start..end: read the log once.
        self.extend_to(log, end).await?;
        let whole = self.whole.clone();
        let root = off_thread(move || {
            let leaves: Vec<Hash32> = {
                let whole = whole.lock().map_err(|e| e.to_string())?;
                (start..end)
                    .map(|i| {
                        whole
                            .leaf(i)
                            .ok_or_else(|| format!("log ends before entry {i}"))
                    })
                    .collect::<Result<_, _>>()?
            };
            let mut tree = MerkleTree::new();
            for leaf in leaves {
                tree.push_hash(leaf);
            }
            Ok(tree.root())
        })
        .await?;
        if let Ok(mut m) = self.ranges.lock() {
            if m.len() > 4096 {
                m.clear();
            }
            m.insert((start, end), root);
        }
        Ok(root)
    }

    /// Bring the whole-log tree up to `end` entries.
    async fn extend_to(&self, log: &dyn CommitLog, end: u64) -> Result<(), String> {
        let have = self.whole.lock().map_err(|e| e.to_string())?.len();
        if have >= end {
            return Ok(());
        }
        let mut hashes = Vec::new();
        let mut next = have;
        while next < end {
            let want = usize::try_from((end - next).min(65536)).unwrap_or(65536);
            let got = log
                .leaf_hashes(next, want)
                .await
                .map_err(|e| e.to_string())?;
            if got.is_empty() {
                return Err(format!("log ends at {next}, block claims up to {end}"));
            }
            next += got.len() as u64;
            hashes.extend(got);
        }
        hashes.truncate(usize::try_from(end - have).unwrap_or(usize::MAX));
        let whole = self.whole.clone();
        off_thread(move || {
            let mut t = whole.lock().map_err(|e| e.to_string())?;
            // Another caller may have extended it meanwhile: append only what is still missing.
            let len = t.len();
            for h in hashes
                .into_iter()
                .skip(usize::try_from(len - have).unwrap_or(0))
            {
                t.push_hash(h);
            }
            Ok(())
        })
        .await
    }

    /// The RFC 6962 root of the whole log `0..end`.
    pub async fn log_root(&self, log: &dyn CommitLog, end: u64) -> Result<Hash32, String> {
        self.extend_to(log, end).await?;
        let t = self.whole.lock().map_err(|e| e.to_string())?;
        t.root_at(end).map_err(|e| e.to_string())
    }

    /// The inclusion proof of log entry `seq` in the whole-log tree of `size` entries.
    pub async fn inclusion(
        &self,
        log: &dyn CommitLog,
        seq: u64,
        size: u64,
    ) -> Result<Vec<Hash32>, String> {
        self.extend_to(log, size).await?;
        let t = self.whole.lock().map_err(|e| e.to_string())?;
        t.inclusion_proof(seq, size).map_err(|e| e.to_string())
    }

    /// The consistency proof between the whole log at `old` and at `new` entries.
    pub async fn consistency(
        &self,
        log: &dyn CommitLog,
        old: u64,
        new: u64,
    ) -> Result<Vec<Hash32>, String> {
        self.extend_to(log, new).await?;
        let t = self.whole.lock().map_err(|e| e.to_string())?;
        t.consistency_proof(old, new).map_err(|e| e.to_string())
    }
}

/// Run `f` on the runtime's blocking pool when there is a runtime, else here. A block's trees
/// are tens of thousands of hashes (~10–20 ms at 25,000 entries), and the relays and the
/// reference chain run on the actor system's thread: hashing there stalled the ingest, the
/// router and every commit behind it, and left the other core idle meanwhile.
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => rt
            .spawn_blocking(f)
            .await
            .map_err(|e| format!("tree computation failed: {e}"))?,
        Err(_) => f(),
    }
}

/// One city relay.
pub struct CityRelayActor {
    index: u16,
    key: RelayKey,
    log: Arc<dyn CommitLog>,
    sets: RelaySets,
    behaviour: RelayBehaviour,
    cache: RootCache,
    /// (height, hash, log_end) of the last block this relay accepted.
    last: Option<(u64, Hash32, u64)>,
}

impl CityRelayActor {
    /// A relay at `index` of the relay set, trusting `last` (from the replayed log) as the
    /// previous finalized block.
    pub fn new(
        index: u16,
        key: RelayKey,
        log: Arc<dyn CommitLog>,
        sets: RelaySets,
        behaviour: RelayBehaviour,
        cache: RootCache,
        last: Option<(u64, Hash32, u64)>,
    ) -> Self {
        CityRelayActor {
            index,
            key,
            log,
            sets,
            behaviour,
            cache,
            last,
        }
    }
}

impl Actor for CityRelayActor {
    type Context = Context<Self>;
}

/// A block proposed for signature.
#[derive(Message, Clone)]
#[rtype(result = "Result<RelaySignature, String>")]
pub struct Propose(pub BlockHeader);

impl Handler<Propose> for CityRelayActor {
    type Result = ResponseActFuture<Self, Result<RelaySignature, String>>;

    fn handle(&mut self, Propose(h): Propose, _ctx: &mut Context<Self>) -> Self::Result {
        match self.behaviour {
            RelayBehaviour::Crashed => {
                return Box::pin(
                    async {
                        std::future::pending::<()>().await;
                        Err("crashed".to_string())
                    }
                    .into_actor(self),
                )
            }
            RelayBehaviour::Garbage => {
                let sig = RelaySignature {
                    relay: self.index,
                    signature: [0x5a; 64],
                };
                return Box::pin(actix::fut::ready(Ok(sig)));
            }
            RelayBehaviour::SignAnything => {
                return Box::pin(actix::fut::ready(Ok(self.key.vote(self.index, &h))));
            }
            RelayBehaviour::Honest => {}
        }
        // A block sealed before a key rotation names the earlier set; any set the chain has
        // adopted is acceptable, an unknown one is not.
        if self.sets.get(&h.relay_set_hash).is_none() {
            return Box::pin(actix::fut::ready(Err("unknown relay set".to_string())));
        }
        if let Some((height, hash, end)) = self.last {
            let same = h.height == height && h.hash() == hash;
            let next = h.height == height + 1 && h.prev_hash == hash && h.log_start == end;
            if !same && !next {
                return Box::pin(actix::fut::ready(Err(format!(
                    "block {} does not extend block {height}",
                    h.height
                ))));
            }
        } else if h.height == 0 && (h.prev_hash != [0; 32] || h.log_start != 0) {
            return Box::pin(actix::fut::ready(Err(
                "genesis block must start the log".to_string()
            )));
        }
        let log = self.log.clone();
        let cache = self.cache.clone();
        Box::pin(
            async move {
                let root = cache.root(log.as_ref(), h.log_start, h.log_end).await?;
                let log_root = cache.log_root(log.as_ref(), h.log_end).await?;
                Ok((root, log_root, h))
            }
            .into_actor(self)
            .map(
                |res: Result<(Hash32, Hash32, BlockHeader), String>, act, _| {
                    let (root, log_root, h) = res?;
                    if root != h.entries_root {
                        return Err(format!(
                            "entries root {} differs from the log's {}",
                            hex::encode(h.entries_root),
                            hex::encode(root)
                        ));
                    }
                    if log_root != h.log_root {
                        return Err(format!(
                            "log root {} differs from the log's {}",
                            hex::encode(h.log_root),
                            hex::encode(log_root)
                        ));
                    }
                    act.last = Some((h.height, h.hash(), h.log_end));
                    Ok(act.key.vote(act.index, &h))
                },
            ),
        )
    }
}

/// Replace this relay's signing key (after a rotation).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetKey(pub RelayKey);

impl Handler<SetKey> for CityRelayActor {
    type Result = ();
    fn handle(&mut self, m: SetKey, _ctx: &mut Context<Self>) {
        self.key = m.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::RedbLog;

    #[test]
    fn trees_are_hashed_off_the_callers_thread_inside_a_runtime() {
        let here = std::thread::current().id();
        let inline = futures::executor::block_on(off_thread(|| Ok(std::thread::current().id())));
        assert_eq!(
            inline.expect("ran"),
            here,
            "no runtime: runs where it is called"
        );
        actix_rt::System::new().block_on(async move {
            let there = off_thread(|| Ok(std::thread::current().id()))
                .await
                .expect("ran");
            assert_ne!(there, here, "inside a runtime: on its blocking pool");
            let failed: Result<(), String> = off_thread(|| Err("no".to_string())).await;
            assert_eq!(failed, Err("no".to_string()));
        });
    }

    /// The cache's roots, computed off the thread in pieces (a range, then one overlapping it,
    /// then the whole log), equal trees built directly over the records' leaf hashes.
    #[actix_rt::test]
    async fn cached_roots_equal_trees_over_the_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = RedbLog::open(&dir.path().join("log.redb"), 64, 1000).expect("open");
        let records: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().repeat(3)).collect();
        log.try_append(records.clone()).await.expect("append");
        let cache = RootCache::default();
        for (start, end) in [(100u64, 600u64), (300, 1000), (0, 1000), (999, 1000)] {
            let got = cache.root(&log, start, end).await.expect("root");
            let want = MerkleTree::from_leaves(&records[start as usize..end as usize]).root();
            assert_eq!(got, want, "{start}..{end}");
        }
        let whole = MerkleTree::from_leaves(&records);
        for end in [1u64, 600, 1000] {
            let got = cache.log_root(&log, end).await.expect("log root");
            assert_eq!(got, whole.root_at(end).expect("root at"), "0..{end}");
        }
        assert!(
            cache.root(&log, 900, 1001).await.is_err(),
            "past the log's end"
        );
    }
}
