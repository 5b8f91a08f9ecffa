//! Operator routes: health, readiness, Prometheus metrics, the OpenAPI document, admin
//! controls; and the development route that locks funds on a built-in mock chain.

use super::transfers::{self, state_name, EvidenceBody, TransferRequest};
use super::{network, parse_json, ApiError, ApiState};
use crate::message::ChainId;
use actix_web::{web, HttpRequest, HttpResponse};
use meridian_adapters::mock::now_ms;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    use super::resource;
    let post = |path: &str| resource(path, "POST");
    let get = |path: &str| resource(path, "GET");
    cfg.service(get("/healthz").route(web::get().to(healthz)))
        .service(get("/readyz").route(web::get().to(readyz)))
        .service(get("/metrics").route(web::get().to(metrics_text)))
        .service(get("/openapi.json").route(web::get().to(openapi)))
        .service(post("/v1/admin/routes/{source}/{destination}/pause").route(web::post().to(pause)))
        .service(
            post("/v1/admin/routes/{source}/{destination}/resume").route(web::post().to(resume)),
        )
        .service(post("/v1/admin/relays/{city}/rotate-key").route(web::post().to(rotate_relay_key)))
        .service(post("/v1/dev/lock").route(web::post().to(dev_lock)))
        .service(post("/v1/dev/lock-batch").route(web::post().to(dev_lock_batch)));
}

/// The OpenAPI document, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "Meridian hub API", description = "Cross-chain transfers through the Meridian hub"),
    paths(
        transfers::submit, transfers::get, transfers::list, transfers::proof, transfers::events,
        network::chains, network::cities, network::head, network::blocks, network::block, network::stats,
        healthz, readyz, metrics_text, openapi, pause, resume, rotate_relay_key, dev_lock,
        dev_lock_batch
    ),
    components(schemas(
        TransferRequest, EvidenceBody, transfers::TransferAccepted, transfers::TransferView,
        transfers::TransferPage, transfers::TimelineEntry, network::ChainView, network::CityView,
        network::BlockView, network::StatsView, super::ErrorBody, super::ErrorDetail, LockRequest,
        LockBatchRequest
    )),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "api_key",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "the OpenAPI 3 document", content_type = "application/json")))]
async fn openapi() -> HttpResponse {
    // Built once: the document is the code's, and building it took ~1 ms per request on an
    // unauthenticated route.
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()));
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(doc.as_str())
}

/// Liveness: 200 while the hub can go on without a restart; 503 once its commit log has failed
/// for good (only a restart helps; reads still work meanwhile).
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive"), (status = 503, description = "the commit log failed: restart the hub", body = super::ErrorBody)))]
pub async fn healthz(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    match state.hub.health() {
        Some(u) if u.permanent => Err(ApiError::unavailable(u.reason)),
        _ => Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))),
    }
}

/// Readiness: the log is replayed, takes writes, and the actors answer.
#[utoipa::path(get, path = "/readyz", responses((status = 200), (status = 503, body = super::ErrorBody)))]
pub async fn readyz(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    if !super::is_ready(&state) {
        return Err(ApiError::unavailable("starting"));
    }
    if let Some(u) = state.hub.health() {
        return Err(ApiError::unavailable(u.reason));
    }
    match state.hub.state_probe().await {
        true => Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))),
        false => Err(ApiError::unavailable("the router does not answer")),
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain")))]
async fn metrics_text(state: web::Data<ApiState>) -> HttpResponse {
    let health = state.hub.health();
    metrics::gauge!("meridian_log_failing").set(match &health {
        None => 0.0,
        Some(u) if u.permanent => 2.0,
        Some(_) => 1.0,
    });
    // Without the router's counters (it does not answer) the gauges keep their last values.
    if let Some(s) = state.hub.stats().await {
        // Every state, so one that drained reads 0 rather than its last count.
        for st in crate::message::MessageState::ALL {
            let n = s
                .by_state
                .iter()
                .find(|(x, _)| *x == st)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!("meridian_transfers", "state" => state_name(st)).set(n as f64);
        }
        metrics::gauge!("meridian_log_next_seq").set(s.next_seq as f64);
        metrics::gauge!("meridian_refchain_blocks").set(s.blocks as f64);
        metrics::gauge!("meridian_delivery_backlog").set(s.undelivered as f64);
        if let Some(b) = state.hub.blocks(None, 1).await.first() {
            metrics::gauge!("meridian_refchain_height").set(b.header.height as f64);
            metrics::gauge!("meridian_refchain_signatures")
                .set(b.qc.as_ref().map_or(0, |q| q.signatures.len()) as f64);
        }
        // Every route, so a drained route reads 0 rather than its last backlog.
        let ids = state.hub.chain_ids();
        for a in &ids {
            for b in ids.iter().filter(|b| *b != a) {
                if !s
                    .pending_by_route
                    .iter()
                    .any(|(x, y, _, _)| x == &a.0 && y == &b.0)
                {
                    metrics::gauge!("meridian_route_backlog", "source" => a.0.clone(), "destination" => b.0.clone()).set(0.0);
                    metrics::gauge!("meridian_route_oldest_pending_seconds", "source" => a.0.clone(), "destination" => b.0.clone()).set(0.0);
                }
            }
        }
        for (src, dst, n, oldest) in &s.pending_by_route {
            metrics::gauge!("meridian_route_backlog", "source" => src.clone(), "destination" => dst.clone())
            .set(*n as f64);
            metrics::gauge!("meridian_route_oldest_pending_seconds", "source" => src.clone(), "destination" => dst.clone())
            .set(now_ms().saturating_sub(*oldest) as f64 / 1000.0);
        }
    }
    let online = state.hub.relays().iter().filter(|a| a.connected()).count();
    metrics::gauge!("meridian_relays_online").set(online as f64);
    let body = state
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

fn route_of(p: &(String, String)) -> (ChainId, ChainId) {
    (ChainId(p.0.clone()), ChainId(p.1.clone()))
}

/// Pause admission on a route (admin key).
#[utoipa::path(post, path = "/v1/admin/routes/{source}/{destination}/pause",
    params(("source" = String, Path), ("destination" = String, Path)),
    responses((status = 200), (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 404, description = "unknown chain", body = super::ErrorBody)), security(("api_key" = [])))]
pub async fn pause(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_paused(state, req, path, true).await
}

/// Resume admission on a route (admin key).
#[utoipa::path(post, path = "/v1/admin/routes/{source}/{destination}/resume",
    params(("source" = String, Path), ("destination" = String, Path)),
    responses((status = 200), (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 404, description = "unknown chain", body = super::ErrorBody)), security(("api_key" = [])))]
pub async fn resume(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    set_paused(state, req, path, false).await
}

async fn set_paused(
    state: web::Data<ApiState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    paused: bool,
) -> Result<HttpResponse, ApiError> {
    state.admin(&req)?;
    let p = path.into_inner();
    if p.0 == p.1 {
        return Err(ApiError::bad(
            "destination",
            format!("{:?} is the source chain: no such route", p.1),
        ));
    }
    let ids = state.hub.chain_ids();
    for (field, c) in [("source", &p.0), ("destination", &p.1)] {
        if !ids.contains(&ChainId(c.clone())) {
            return Err(ApiError::not_found(field, format!("unknown chain {c:?}")));
        }
    }
    let (s, d) = route_of(&p);
    state.hub.set_route_paused(s, d, paused).await;
    if let Ok(mut set) = state.paused.lock() {
        if paused {
            set.insert(p.clone());
        } else {
            set.remove(&p);
        }
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "route": format!("{}→{}", p.0, p.1), "paused": paused
    })))
}

/// `POST /v1/dev/lock` body: lock funds on a built-in mock chain.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockRequest {
    /// Source mock chain.
    pub source: String,
    /// Destination chain.
    pub destination: String,
    /// Sender account.
    pub sender: String,
    /// Recipient account.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount (decimal string, smallest unit).
    pub amount: String,
}

/// Check a lock request before anything is locked: a positive amount, a built-in mock source
/// chain, and a connected destination chain other than the source (the transfer the lock is
/// for would be refused otherwise, with the funds already locked). The source chain and the
/// amount.
fn check_lock(
    state: &ApiState,
    r: &LockRequest,
) -> Result<(std::sync::Arc<dyn meridian_adapters::demo::DemoChain>, u128), ApiError> {
    // Digits only: `parse` would also take a leading `+`.
    let amount: u128 = Some(&r.amount)
        .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| ApiError::bad("amount", "a decimal integer in the smallest unit"))?;
    if amount == 0 {
        return Err(ApiError::bad("amount", "must be positive"));
    }
    let Some(chain) = state.mocks.get(&r.source) else {
        return Err(ApiError::not_found(
            "source",
            format!("{:?} is not a built-in mock chain", r.source),
        ));
    };
    if r.destination == r.source {
        return Err(ApiError::bad(
            "destination",
            format!("{:?} is the source chain", r.destination),
        ));
    }
    if !state
        .hub
        .chain_ids()
        .contains(&ChainId(r.destination.clone()))
    {
        return Err(ApiError::bad(
            "destination",
            format!("{:?} is not a connected chain", r.destination),
        ));
    }
    // What the chain records and every reader prints back: no empty names, no control
    // characters (a line break or a terminal escape in an asset would reach operators'
    // terminals through `meridian status` and `log inspect`).
    for (field, value) in [
        ("sender", &r.sender),
        ("recipient", &r.recipient),
        ("asset", &r.asset),
    ] {
        if value.is_empty() || value.len() > MAX_LOCK_NAME || value.chars().any(char::is_control) {
            return Err(ApiError::bad(
                field,
                format!("1 … {MAX_LOCK_NAME} bytes without control characters"),
            ));
        }
    }
    // A paused route would refuse the transfer with the funds already locked.
    let paused = state
        .paused
        .lock()
        .map(|p| p.contains(&(r.source.clone(), r.destination.clone())))
        .unwrap_or(false);
    if paused {
        return Err(ApiError::new(
            actix_web::http::StatusCode::CONFLICT,
            Some("destination"),
            format!(
                "route {}→{} is paused by the operator: nothing was locked",
                r.source, r.destination
            ),
        ));
    }
    Ok((chain.clone(), amount))
}

/// How long a dev lock waits for its destination to say whether it could credit the
/// recipients (a submission's check waits [`crate::actors::ingest::CHECK_WAIT`] and then goes
/// on; a dev lock would lock funds for nothing, so it is refused instead).
const DEV_CHECK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Refuse, before anything is locked, recipients the destination chain could never credit
/// (an account name it cannot hold, an amount out of its range): the transfer would be
/// refused (422) with the funds locked.
async fn check_recipients(
    state: &ApiState,
    r: &LockRequest,
    amount: u128,
    recipients: impl Iterator<Item = String>,
) -> Result<(), ApiError> {
    let deliveries: Vec<meridian_adapters::Delivery> = recipients
        .map(|account| meridian_adapters::Delivery {
            message_id: [0; 32],
            refund: false,
            account,
            asset: r.asset.clone(),
            amount,
            refchain_height: 0,
            deadline_ms: now_ms(),
        })
        .collect();
    let destination = ChainId(r.destination.clone());
    let Some(results) = state
        .hub
        .check_deliveries(&destination, deliveries.clone(), DEV_CHECK_WAIT)
        .await
    else {
        return Err(ApiError::unavailable(format!(
            "{} does not answer within {} s (busy delivering to a slow node?); nothing was locked",
            r.destination,
            DEV_CHECK_WAIT.as_secs()
        ))
        .retry_after(DEV_CHECK_WAIT.as_secs()));
    };
    for (d, res) in deliveries.iter().zip(results) {
        match res {
            Ok(()) => {}
            Err(e @ meridian_adapters::AdapterError::Unavailable(_)) => {
                return Err(ApiError::unavailable(e.to_string()))
            }
            Err(e) => {
                // The adapters name what they refused: the amount (out of the chain's range)
                // or else the account.
                let field = if matches!(&e, meridian_adapters::AdapterError::Malformed { reason, .. } if reason.starts_with("amount"))
                {
                    "amount"
                } else {
                    "recipient"
                };
                return Err(ApiError::bad(
                    field,
                    format!(
                        "{} cannot credit {:?} with {amount} {}: {e}; nothing was locked",
                        r.destination, d.account, r.asset
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Longest sender, recipient or asset of a dev lock, in bytes.
const MAX_LOCK_NAME: usize = 128;

/// Development: lock funds on a built-in mock source chain, seal its block at once, and
/// answer the transfer request (with the chain's native evidence) ready to POST.
#[utoipa::path(post, path = "/v1/dev/lock", request_body = LockRequest,
    responses((status = 200, body = TransferRequest), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn dev_lock(
    state: web::Data<ApiState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    dev_routes_on(&state)?;
    state.caller(&req)?;
    let body = transfers::read_body(&req, payload).await?;
    let r: LockRequest = parse_json(&body)?;
    let (chain, amount) = check_lock(&state, &r)?;
    check_recipients(&state, &r, amount, std::iter::once(r.recipient.clone())).await?;
    for _ in 0..MAX_REUSED_POSITIONS {
        // A chain on a real node answers over the network: off the HTTP worker.
        let (lock, chain) = (r.clone(), chain.clone());
        let ev = web::block(move || {
            chain.lock(
                &lock.destination,
                &lock.sender,
                &lock.recipient,
                &lock.asset,
                amount,
            )
        })
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(lock_error)?;
        if !position_taken(&state, &r.source, [&ev]).await? {
            return Ok(HttpResponse::Ok().json(transfer_request(r.source, ev)));
        }
    }
    Err(reused_positions(&r.source))
}

/// The dev routes answer only where `hub.dev_routes` is set (404 naming it otherwise).
fn dev_routes_on(state: &ApiState) -> Result<(), ApiError> {
    if state.config.hub.hub.dev_routes {
        Ok(())
    } else {
        Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            None,
            "the dev lock routes are off on this hub (hub.dev_routes)",
        ))
    }
}

/// A mock chain's refusal of a lock: 503 when it cannot take locks now (a node that does not
/// answer, a journal that failed), else the amount it would not lock.
fn lock_error(e: meridian_adapters::AdapterError) -> ApiError {
    match e {
        meridian_adapters::AdapterError::Unavailable(_) => ApiError::unavailable(e.to_string()),
        _ => ApiError::bad("amount", e.to_string()),
    }
}

/// Locks a dev route makes on a chain that reissues positions the log already holds before
/// it gives up: each lock takes the chain a block further.
const MAX_REUSED_POSITIONS: usize = 64;

/// Whether the log already holds (or is appending) a message at one of these positions of
/// `source`: an in-memory demo chain begins again at its first block when the hub restarts,
/// and its lock there would be refused when submitted (another event at a known position).
/// Every position is asked, in one question to the router. A router that does not answer
/// is a 503.
async fn position_taken<'a>(
    state: &ApiState,
    source: &str,
    evidence: impl IntoIterator<Item = &'a meridian_adapters::Evidence>,
) -> Result<bool, ApiError> {
    let family = state
        .config
        .chains
        .iter()
        .find(|c| c.id == source)
        .and_then(|c| meridian_adapters::Family::parse(&c.family));
    let source = ChainId(source.to_string());
    let ids = evidence
        .into_iter()
        .map(|ev| {
            let key = family.map_or_else(|| ev.locator.clone(), |f| f.event_key(ev));
            crate::message::MessageId::derive(&source, &key)
        })
        .collect();
    state
        .hub
        .any_known(ids)
        .await
        .ok_or_else(|| ApiError::unavailable("the router does not answer"))
}

fn reused_positions(source: &str) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::CONFLICT,
        Some("source"),
        format!(
            "{source} is an in-memory demo chain that began again at its first block when the hub \
             restarted, and its next {MAX_REUSED_POSITIONS} blocks are at positions the log already \
             holds: try again (each try moves it on)"
        ),
    )
}

/// The transfer request for a lock's evidence, ready to POST.
fn transfer_request(source: String, ev: meridian_adapters::Evidence) -> TransferRequest {
    TransferRequest {
        source,
        evidence: EvidenceBody {
            locator: ev.locator.into(),
            header: ev.header.into(),
            proof: ev.proof.into(),
            event: ev.event.into(),
        },
        timeout_secs: None,
    }
}

/// `POST /v1/dev/lock-batch` body: `count` locks in one mock block (load generation).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockBatchRequest {
    /// The lock (the sender and recipient get the lock's number appended).
    #[serde(flatten)]
    pub lock: LockRequest,
    /// How many, 1 … 10000.
    pub count: usize,
}

/// Development: `count` locks in one block of a built-in mock chain; answers the transfer
/// requests, one per lock, ready to POST (used by `benches/load.sh`).
#[utoipa::path(post, path = "/v1/dev/lock-batch", request_body = LockBatchRequest,
    responses((status = 200, description = "the transfer requests, one per lock", body = [TransferRequest]),
        (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn dev_lock_batch(
    state: web::Data<ApiState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    dev_routes_on(&state)?;
    state.caller(&req)?;
    let body = transfers::read_body(&req, payload).await?;
    // The lock's fields and `count` apart: through `#[serde(flatten)]` an error in a lock
    // field would name only the body.
    let mut obj: serde_json::Map<String, serde_json::Value> = parse_json(&body)?;
    let count = obj
        .remove("count")
        .ok_or_else(|| ApiError::bad("count", "missing field `count`"))?;
    let lock: LockRequest = serde_json::to_vec(&obj)
        .map_err(|e| ApiError::bad("body", e.to_string()))
        .and_then(|b| parse_json(&b))?;
    let r = LockBatchRequest {
        lock,
        count: serde_json::from_value(count)
            .map_err(|_| ApiError::bad("count", "a whole number, 1 … 10000"))?,
    };
    if r.count == 0 || r.count > 10_000 {
        return Err(ApiError::bad("count", "1 … 10000"));
    }
    let (chain, amount) = check_lock(&state, &r.lock)?;
    // The lock's recipients are numbered (see `DemoChain::lock_batch`).
    check_recipients(
        &state,
        &r.lock,
        amount,
        (0..r.count).map(|i| format!("{}{i}", r.lock.recipient)),
    )
    .await?;
    // One batch at a time, off the HTTP workers: a family mock makes 10,000 signed blocks in
    // 1–15 s, and two such batches on the workers stopped every other request meanwhile.
    let _one = state
        .dev_batches
        .acquire()
        .await
        .map_err(|_| ApiError::unavailable("the hub is stopping"))?;
    for _ in 0..MAX_REUSED_POSITIONS {
        let (lock, chain) = (r.lock.clone(), chain.clone());
        let count = r.count;
        let evs = web::block(move || {
            chain.lock_batch(
                &lock.destination,
                &lock.sender,
                &lock.recipient,
                &lock.asset,
                amount,
                count,
            )
        })
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(lock_error)?;
        if position_taken(&state, &r.lock.source, &evs).await? {
            continue;
        }
        let out: Vec<TransferRequest> = evs
            .into_iter()
            .map(|ev| transfer_request(r.lock.source.clone(), ev))
            .collect();
        return Ok(HttpResponse::Ok().json(out));
    }
    Err(reused_positions(&r.lock.source))
}

/// Rotate a city relay's ed25519 key (admin key). Blocks from now on name the new relay set;
/// earlier blocks stay verifiable under theirs.
#[utoipa::path(post, path = "/v1/admin/relays/{city}/rotate-key", params(("city" = String, Path)),
    responses((status = 200, description = "the city's new public key and the new relay-set hash"),
        (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn rotate_relay_key(
    state: web::Data<ApiState>,
    req: HttpRequest,
    city: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.admin(&req)?;
    let city = city.into_inner();
    if !state.config.cities.iter().any(|c| c.id == city) {
        return Err(ApiError::not_found(
            "city",
            format!("no city relay {city:?}"),
        ));
    }
    let set = state
        .hub
        .rotate_relay_key(&city)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let key = set
        .relays
        .iter()
        .find(|r| r.id == city)
        .map(|r| hex::encode(r.public_key))
        .unwrap_or_default();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "city": city, "public_key": key, "relay_set_hash": hex::encode(set.hash()),
    })))
}

/// How often the metrics recorder folds recorded histogram samples into its summaries.
pub const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Run the metrics recorder's upkeep every [`METRICS_UPKEEP`] on a thread of its own
/// (`metrics-upkeep`), for as long as the process runs. `install_recorder` starts no upkeep
/// of its own: without one, every histogram sample recorded since the last scrape of
/// `/metrics` stays in memory (the hub records two per transfer), so a hub nobody scrapes grew
/// by them without a bound. Not on the actor system's thread: under load one upkeep folds a
/// few hundred thousand samples, tens of milliseconds during which that thread (ingest,
/// router, commits) would stall and the rest of the hub would wait for it.
pub fn spawn_metrics_upkeep(
    handle: metrics_exporter_prometheus::PrometheusHandle,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    spawn_every("metrics-upkeep", METRICS_UPKEEP, move || {
        handle.run_upkeep()
    })
}

/// Call `f` every `period` (the first call one period from now) on a new thread named `name`.
fn spawn_every(
    name: &str,
    period: std::time::Duration,
    mut f: impl FnMut() + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let mut next = std::time::Instant::now() + period;
            loop {
                std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
                f();
                // A late call does not make the next ones come sooner.
                next = std::cmp::max(next + period, std::time::Instant::now());
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn upkeep_runs_once_a_period_on_its_own_thread() {
        let period = Duration::from_millis(200);
        let (tx, rx) = std::sync::mpsc::channel();
        let started = std::time::Instant::now();
        spawn_every("upkeep-test", period, move || {
            let name = std::thread::current().name().map(str::to_string);
            let _ = tx.send((started.elapsed(), name));
        })
        .expect("the upkeep thread starts");
        let mut calls = Vec::new();
        for _ in 0..3 {
            calls.push(
                rx.recv_timeout(Duration::from_secs(10))
                    .expect("upkeep ran"),
            );
        }
        for (i, (at, name)) in calls.iter().enumerate() {
            assert_eq!(name.as_deref(), Some("upkeep-test"));
            // The i-th call comes no sooner than i+1 periods after the start.
            assert!(*at >= period * (i as u32 + 1), "call {i} at {at:?}");
        }
    }

    /// Upkeep folds samples into the summaries without losing any: what `/metrics` reports
    /// after it is what it reported before.
    #[test]
    fn upkeep_keeps_every_sample() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let h = metrics::histogram!("upkeep_test_seconds");
            for i in 0..10_000 {
                h.record(f64::from(i) / 1000.0);
            }
        });
        handle.run_upkeep();
        let text = handle.render();
        assert!(
            text.lines().any(|l| l == "upkeep_test_seconds_count 10000"),
            "{text}"
        );
    }
}
