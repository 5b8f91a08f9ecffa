//! `ChainActor`: owns one chain's adapter and serves requests one at a time. A panic inside
//! the adapter is caught, answered as an error, and the actor stops; its supervisor restarts
//! it with a fresh adapter restored from the last persisted light-client state.

use actix::prelude::*;
use meridian_adapters::{
    AdapterError, ChainAdapter, Delivery, Evidence, HeaderInfo, LockEvent, Receipt,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// Builds a chain's adapter; called at start and after every restart.
pub type AdapterFactory =
    Arc<dyn Fn() -> Result<Box<dyn ChainAdapter>, AdapterError> + Send + Sync>;

/// One connected chain.
pub struct ChainActor {
    chain_id: String,
    factory: AdapterFactory,
    adapter: Option<Box<dyn ChainAdapter>>,
    /// Last light-client state, shared with the hub so it survives restarts of this actor.
    light_client: Arc<Mutex<Option<Vec<u8>>>>,
    restarts: Arc<std::sync::atomic::AtomicU64>,
}

impl ChainActor {
    /// A chain actor for `chain_id`, building its adapter with `factory` and restoring
    /// `light_client` state if any.
    pub fn new(
        chain_id: &str,
        factory: AdapterFactory,
        light_client: Arc<Mutex<Option<Vec<u8>>>>,
        restarts: Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        ChainActor {
            chain_id: chain_id.to_string(),
            factory,
            adapter: None,
            light_client,
            restarts,
        }
    }

    fn build(&mut self) {
        match (self.factory)() {
            Ok(mut a) => {
                let saved = self
                    .light_client
                    .lock()
                    .map(|g| g.clone())
                    .unwrap_or_default();
                if let Some(state) = saved {
                    if let Err(e) = a.restore_light_client(&state) {
                        tracing::warn!(chain = %self.chain_id, error = %e, "light-client state not restored");
                    }
                }
                self.adapter = Some(a);
            }
            Err(e) => {
                tracing::error!(chain = %self.chain_id, error = %e, "adapter could not be built");
                self.adapter = None;
            }
        }
    }

    /// Run `f` on the adapter; a panic stops the actor (to be restarted) and becomes an error.
    fn call<T>(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut dyn ChainAdapter) -> Result<T, AdapterError>,
    ) -> Result<T, AdapterError> {
        if self.adapter.is_none() {
            // The factory failed before (e.g. its node was unreachable): try again.
            self.build();
        }
        let Some(adapter) = self.adapter.as_mut() else {
            return Err(AdapterError::Unavailable(format!(
                "{}: adapter not available",
                self.chain_id
            )));
        };
        match catch_unwind(AssertUnwindSafe(|| f(adapter.as_mut()))) {
            Ok(r) => r,
            Err(_) => {
                tracing::error!(chain = %self.chain_id, "adapter panicked; restarting the chain actor");
                self.adapter = None;
                ctx.stop();
                Err(AdapterError::Unavailable(format!(
                    "{}: adapter panicked; restarting",
                    self.chain_id
                )))
            }
        }
    }
}

impl Actor for ChainActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(1024);
        if self.adapter.is_none() {
            self.build();
        }
    }
}

impl Supervised for ChainActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.restarts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.build();
    }
}

/// Verify several pieces of evidence; each comes back with its event key and result, in order.
#[derive(Message)]
#[rtype(result = "Vec<(Evidence, Vec<u8>, Result<LockEvent, AdapterError>)>")]
pub struct VerifyBatch(pub Vec<Evidence>);

impl Handler<VerifyBatch> for ChainActor {
    /// Per piece of evidence: it, its event key (what its message id is derived from, by the
    /// chain's family: [`meridian_adapters::Family::event_key`]) and the verification.
    type Result = Vec<(Evidence, Vec<u8>, Result<LockEvent, AdapterError>)>;
    fn handle(&mut self, msg: VerifyBatch, ctx: &mut Context<Self>) -> Self::Result {
        let mut out = Vec::with_capacity(msg.0.len());
        // Each piece of evidence's verification (looked up per batch, not held: the recorder is
        // installed after the hub, and so after this actor, starts).
        let verify_seconds =
            metrics::histogram!("meridian_verify_seconds", "chain" => self.chain_id.clone());
        // Once the adapter is gone (a panic stopped the actor, or it cannot be built), the rest
        // of the batch gets the same error: no rebuild per item on a stopping actor.
        let mut down: Option<AdapterError> = None;
        for ev in msg.0 {
            let r = match &down {
                Some(e) => Err(e.clone()),
                // Timed inside the call: an adapter rebuilt first is not a verification.
                None => self.call(ctx, |a| {
                    let started = std::time::Instant::now();
                    let r = a.verify_event(&ev);
                    verify_seconds.record(started.elapsed().as_secs_f64());
                    r
                }),
            };
            if let (Err(e), None) = (&r, &self.adapter) {
                down = Some(e.clone());
            }
            let key = match &self.adapter {
                Some(a) => a.family().event_key(&ev),
                None => ev.locator.clone(),
            };
            out.push((ev, key, r));
        }
        out
    }
}

/// Whether this chain could ever apply each delivery (see
/// [`ChainAdapter::check_delivery`]); one result per delivery, in order.
#[derive(Message)]
#[rtype(result = "Vec<Result<(), AdapterError>>")]
pub struct CheckDeliveries(pub Vec<Delivery>);

impl Handler<CheckDeliveries> for ChainActor {
    type Result = Vec<Result<(), AdapterError>>;
    fn handle(&mut self, msg: CheckDeliveries, ctx: &mut Context<Self>) -> Self::Result {
        let n = msg.0.len();
        let r = self.call(ctx, |a| {
            Ok(msg
                .0
                .iter()
                .map(|d| a.check_delivery(d))
                .collect::<Vec<_>>())
        });
        match r {
            Ok(v) => v,
            Err(e) => vec![Err(e); n],
        }
    }
}

/// Verify and adopt a header; answers the header facts and the new light-client state.
#[derive(Message)]
#[rtype(result = "Result<(HeaderInfo, Vec<u8>), AdapterError>")]
pub struct VerifyHeader(pub Vec<u8>);

impl Handler<VerifyHeader> for ChainActor {
    type Result = Result<(HeaderInfo, Vec<u8>), AdapterError>;
    fn handle(&mut self, msg: VerifyHeader, ctx: &mut Context<Self>) -> Self::Result {
        let r = self.call(ctx, |a| {
            let info = a.verify_header(&msg.0)?;
            Ok((info, a.light_client_state()))
        })?;
        if let Ok(mut g) = self.light_client.lock() {
            *g = Some(r.1.clone());
        }
        Ok(r)
    }
}

/// Deliver (release or refund) on this chain.
#[derive(Message)]
#[rtype(result = "Result<Receipt, AdapterError>")]
pub struct Deliver(pub Delivery);

impl Handler<Deliver> for ChainActor {
    type Result = Result<Receipt, AdapterError>;
    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) -> Self::Result {
        self.call(ctx, |a| a.deliver(&msg.0))
    }
}

/// Deliver several messages on this chain; one result per delivery, in order.
#[derive(Message)]
#[rtype(result = "Vec<Result<Receipt, AdapterError>>")]
pub struct DeliverBatch(pub Vec<Delivery>);

impl Handler<DeliverBatch> for ChainActor {
    type Result = Vec<Result<Receipt, AdapterError>>;
    fn handle(&mut self, msg: DeliverBatch, ctx: &mut Context<Self>) -> Self::Result {
        let n = msg.0.len();
        match self.call(ctx, |a| Ok(a.deliver_batch(&msg.0))) {
            Ok(v) if v.len() == n => v,
            Ok(v) => {
                let e = AdapterError::Unavailable(format!(
                    "{}: {} results for {n} deliveries",
                    self.chain_id,
                    v.len()
                ));
                vec![Err(e); n]
            }
            Err(e) => vec![Err(e); n],
        }
    }
}

/// Where a delivery past its deadline stands on this chain (see
/// [`meridian_adapters::ChainAdapter::settlement`]): message id and deadline (ms).
#[derive(Message)]
#[rtype(result = "Result<meridian_adapters::Settlement, AdapterError>")]
pub struct Settle(pub [u8; 32], pub u64);

impl Handler<Settle> for ChainActor {
    type Result = Result<meridian_adapters::Settlement, AdapterError>;
    fn handle(&mut self, msg: Settle, ctx: &mut Context<Self>) -> Self::Result {
        self.call(ctx, |a| a.settlement(&msg.0, msg.1))
    }
}

/// The events at these locators are committed: later evidence of them is a replay.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MarkRelayedBatch(pub Vec<Vec<u8>>);

impl Handler<MarkRelayedBatch> for ChainActor {
    type Result = ();
    fn handle(&mut self, msg: MarkRelayedBatch, ctx: &mut Context<Self>) {
        let _ = self.call(ctx, |a| {
            for l in &msg.0 {
                a.mark_relayed(l);
            }
            Ok(())
        });
    }
}
