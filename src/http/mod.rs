//! The HTTP API (actix-web): DApps submit transfers and follow them; operators watch the hub.
//!
//! # Layout
//! - this file — the server, shared state, errors (4xx bodies name the field), auth and limits.
//! - `transfers` — `/v1/transfers…` and `/v1/events` (tenant routes).
//! - `submit_body` — a direct parse of the usual submission body (serde_json for the rest).
//! - `network` — `/v1/chains`, `/v1/cities`, `/v1/refchain/…`, `/v1/stats`, the status page.
//! - `ops` — `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, admin routes, the dev lock route.

mod network;
mod ops;
mod submit_body;
mod transfers;

pub use ops::{spawn_metrics_upkeep, ApiDoc, METRICS_UPKEEP};
pub use transfers::state_name;

use crate::config::Config;
use crate::hub::Hub;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use meridian_adapters::demo::DemoChain;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Largest request body accepted (413 beyond).
pub const MAX_BODY: usize = 256 * 1024;

/// A DApp tenant, as configured in `config/tenants.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// SHA-256 of its API key, hex (keys are never stored).
    pub key_sha256: String,
    /// Requests per second.
    #[serde(default = "default_rate")]
    pub rate_per_sec: u64,
    /// Burst size.
    #[serde(default = "default_burst")]
    pub burst: u64,
}

fn default_rate() -> u64 {
    5000
}
fn default_burst() -> u64 {
    10000
}

/// `config/tenants.toml`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantsFile {
    /// SHA-256 of the admin key, hex.
    #[serde(default)]
    pub admin_key_sha256: Option<String>,
    /// The tenants.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<Tenant>,
}

impl TenantsFile {
    /// Load `dir/tenants.toml` (no file: no tenants, no admin).
    pub fn load(dir: &Path) -> Result<Self, String> {
        let path = dir.join("tenants.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let f: TenantsFile =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for t in &f.tenants {
            if configured_hash(&t.key_sha256).is_none() {
                return Err(format!(
                    "{}: tenant {:?}: key_sha256 must be 64 hex digits",
                    path.display(),
                    t.id
                ));
            }
        }
        Ok(f)
    }
}

/// SHA-256 of an API key (what `config/tenants.toml` holds, in hex).
pub fn key_hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A configured key hash (64 hex digits, either case, no `0x`) as bytes; `None` when it is not
/// one (`TenantsFile::load` and `config::check_tenants` refuse such a hash).
pub(crate) fn configured_hash(hex_digits: &str) -> Option<[u8; 32]> {
    hex::decode(hex_digits).ok()?.try_into().ok()
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A DApp tenant.
    Tenant(String),
    /// The operator.
    Admin,
}

/// Most answers kept for `Idempotency-Key`s (all tenants); past it the oldest of the tenant
/// holding the most are forgotten (each tenant keeps at least its newest `IDEMPOTENCY_KEYS /
/// tenants`).
pub const IDEMPOTENCY_KEYS: usize = 200_000;

/// What is kept for one `(tenant, Idempotency-Key)`.
enum Remembered {
    /// A request with this key is being answered (its body's hash).
    Pending(String),
    /// The answer given: body hash, status, body.
    Done(String, u16, String),
}

/// The answers kept for `Idempotency-Key`s: at most `cap` in all; past it the oldest answer of
/// the tenant holding the most is forgotten, so that one tenant's flood of keys pushes out
/// another's answers only down to an even share (each keeps at least its newest
/// `cap / tenants`).
struct IdempotencyStore {
    map: HashMap<(String, String), Remembered>,
    /// Per tenant, the keys of its `Done` entries, oldest first.
    order: HashMap<String, std::collections::VecDeque<String>>,
    /// `Done` entries in all.
    done: usize,
    cap: usize,
}

impl Default for IdempotencyStore {
    fn default() -> Self {
        IdempotencyStore {
            map: HashMap::new(),
            order: HashMap::new(),
            done: 0,
            cap: IDEMPOTENCY_KEYS,
        }
    }
}

impl IdempotencyStore {
    /// Keep `answer` for `(tenant, key)`, forgetting past the cap as the type says.
    fn remember(&mut self, (tenant, key): (String, String), answer: Remembered) {
        let keys = self.order.entry(tenant.clone()).or_default();
        keys.push_back(key.clone());
        self.map.insert((tenant, key), answer);
        self.done += 1;
        while self.done > self.cap {
            let Some((tenant, keys)) = self.order.iter_mut().max_by_key(|(_, k)| k.len()) else {
                break;
            };
            let tenant = tenant.clone();
            let Some(old) = keys.pop_front() else {
                // (Emptied queues are removed; this one cannot be empty.)
                self.order.remove(&tenant);
                continue;
            };
            self.done -= 1;
            if keys.is_empty() {
                self.order.remove(&tenant);
            }
            self.map.remove(&(tenant, old));
        }
    }
}

/// A key reserved by [`ApiState::claim`] for the request that holds it. Dropped without
/// [`Claim::answer`] (the request failed, or its client went away), it frees the key again.
pub struct Claim {
    state: web::Data<ApiState>,
    key: Option<(String, String)>,
}

impl Claim {
    /// Keep `status` and `body` as the key's answer.
    pub fn answer(mut self, body_hash: String, status: u16, body: String) {
        let Some(key) = self.key.take() else { return };
        if let Ok(mut store) = self.state.idempotency.lock() {
            store.remember(key, Remembered::Done(body_hash, status, body));
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            if let Ok(mut store) = self.state.idempotency.lock() {
                if matches!(store.map.get(&key), Some(Remembered::Pending(_))) {
                    store.map.remove(&key);
                }
            }
        }
    }
}

/// A token bucket: `burst` tokens at most, refilled at `rate` per second.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    fn full(burst: f64, now: Instant) -> Self {
        Bucket {
            tokens: burst,
            last: now,
        }
    }

    /// Add what `rate` refilled since the last look, up to `burst`.
    fn refill(&mut self, now: Instant, rate: f64, burst: f64) {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(burst);
        self.last = now;
    }

    /// Whole seconds until a token is there (at least 1), for `Retry-After`.
    fn retry_after(&self, rate: f64) -> u64 {
        ((1.0 - self.tokens) / rate).ceil().max(1.0) as u64
    }
}

/// Everything the handlers share.
pub struct ApiState {
    /// The hub.
    pub hub: Arc<Hub>,
    /// Its configuration.
    pub config: Arc<Config>,
    /// In-process mock chains by id (the dev lock route and `meridian send` use them).
    pub mocks: HashMap<String, Arc<dyn DemoChain>>,
    /// By the SHA-256 of their key.
    tenants: HashMap<[u8; 32], Tenant, foldhash::fast::RandomState>,
    admin: Option<[u8; 32]>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Unknown keys per peer address (see [`ApiState::guess_allowed`]); `guessing` is set
    /// while it holds any, so requests with good keys skip the lock otherwise.
    guesses: Mutex<(HashMap<std::net::IpAddr, Bucket>, Instant)>,
    guessing: AtomicBool,
    idempotency: Mutex<IdempotencyStore>,
    /// Routes (source, destination) paused by the operator.
    pub paused: Mutex<HashSet<(String, String)>>,
    /// The Prometheus recorder's handle, if installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Set once the hub has replayed its log and started.
    pub ready: AtomicBool,
    /// Event streams catching up from the history at once, each a page at a time (up to
    /// 1,000 changes looked at on the router's thread per page): however many streams
    /// resume, the router answers submissions between a few pages.
    pub catch_ups: Arc<tokio::sync::Semaphore>,
    /// Event streams open, in all and per client address.
    pub streams: Arc<StreamSlots>,
    /// `POST /v1/dev/lock-batch` calls making their locks (one at a time; the others wait).
    pub dev_batches: tokio::sync::Semaphore,
}

/// The open-file limit (soft), raised to the hard limit where it is lower; `None` when it
/// cannot be read (no limit is applied then).
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if l.current < l.maximum {
        let raised = rustix::process::Rlimit {
            current: l.maximum,
            maximum: l.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            l = getrlimit(Resource::Nofile);
        }
    }
    l.current
}

/// Connections each HTTP worker may hold and how many of them event streams may take, for
/// `workers` workers under an open-file limit of `open_files` (see [`ConnectionBudget`]).
pub fn connection_budget(open_files: Option<u64>, workers: u64) -> ConnectionBudget {
    /// actix's default connections per worker.
    const ACTIX_DEFAULT: u64 = 25_000;
    /// Files the hub keeps open besides connections (the log, journals, epoll and the like).
    const OWN_FILES: u64 = 256;
    /// Connections kept for requests other than event streams (submissions, reads).
    const KEPT_FROM_STREAMS: u64 = 1024;
    let workers = workers.max(1);
    let total = open_files.map_or(ACTIX_DEFAULT * workers, |f| {
        f.saturating_sub(OWN_FILES)
            .clamp(workers, ACTIX_DEFAULT * workers)
    });
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    ConnectionBudget {
        per_worker: size(total / workers),
        streams: size(total.saturating_sub(KEPT_FROM_STREAMS).max(total / 2)),
    }
}

/// What [`connection_budget`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionBudget {
    /// Connections per HTTP worker: at that many actix stops accepting for a while (new
    /// clients wait in the listen backlog) instead of failing every accept with `EMFILE`.
    pub per_worker: usize,
    /// Most event streams: they hold their connections for as long as they are open, and
    /// streams that took every connection would leave none to accept a submission on.
    pub streams: usize,
}

/// The address a client's per-address limits (unknown keys, event streams) count under: its
/// IPv4 address, or the /64 network of an IPv6 one (one host is usually given a whole /64, so
/// counting single IPv6 addresses would let it take 2^64 shares).
pub fn client_address(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| address_group(a.ip()))
}

fn address_group(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V4(v4) => v4.into(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.into(),
            None => std::net::Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX)).into(),
        },
    }
}

/// Event streams open at once: at most `total`, and `per_address` for one client address.
#[derive(Debug)]
pub struct StreamSlots {
    total: usize,
    per_address: usize,
    held: Mutex<(usize, HashMap<std::net::IpAddr, usize>)>,
}

/// One open event stream's place; given back when the stream is dropped.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    ip: Option<std::net::IpAddr>,
}

impl StreamSlots {
    /// Room for `total` streams, `per_address` from one address.
    pub fn new(total: usize, per_address: usize) -> Self {
        StreamSlots {
            total,
            per_address,
            held: Mutex::new((0, HashMap::new())),
        }
    }

    /// The most streams open at once.
    pub fn total(&self) -> usize {
        self.total
    }

    /// A place for one more stream from `ip`: 503 when every place is taken, 429 when `ip`
    /// holds its share (both with `Retry-After`).
    pub fn take(self: &Arc<Self>, ip: Option<std::net::IpAddr>) -> Result<StreamSlot, ApiError> {
        let mut held = self
            .held
            .lock()
            .map_err(|_| ApiError::unavailable("event streams unavailable"))?;
        let (open, by_ip) = &mut *held;
        if *open >= self.total {
            return Err(ApiError::unavailable(format!(
                "{} event streams are open, as many as this hub holds; try again later",
                self.total
            ))
            .retry_after(RETRY_STREAM_SECS));
        }
        if let Some(ip) = ip {
            let mine = by_ip.entry(ip).or_insert(0);
            if *mine >= self.per_address {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    format!(
                        "{} event streams are open from this address, as many as one address may hold",
                        self.per_address
                    ),
                )
                .retry_after(RETRY_STREAM_SECS));
            }
            *mine += 1;
        }
        *open += 1;
        metrics::gauge!("meridian_event_streams").set(*open as f64);
        Ok(StreamSlot {
            slots: self.clone(),
            ip,
        })
    }
}

/// The `Retry-After` of a refused event stream.
const RETRY_STREAM_SECS: u64 = 5;

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let Ok(mut held) = self.slots.held.lock() else {
            return;
        };
        let (open, by_ip) = &mut *held;
        *open = open.saturating_sub(1);
        if let Some(ip) = self.ip {
            if let Some(n) = by_ip.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    by_ip.remove(&ip);
                }
            }
        }
        metrics::gauge!("meridian_event_streams").set(*open as f64);
    }
}

/// Unknown API keys one address may send at once, and per second after that.
pub const GUESS_BURST: f64 = 100.0;
/// See [`GUESS_BURST`].
pub const GUESS_RATE: f64 = 10.0;
/// How often addresses that stopped guessing are let go.
const GUESS_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);
/// Addresses whose unknown keys are counted at most.
const MAX_GUESSERS: usize = 65_536;

/// Event-stream catch-up pages asked of the router at once (see [`ApiState::catch_ups`]).
pub const CATCH_UPS: usize = 2;

impl ApiState {
    /// Shared state over a started hub.
    pub fn new(
        hub: Arc<Hub>,
        config: Arc<Config>,
        mocks: HashMap<String, Arc<dyn DemoChain>>,
        tenants: TenantsFile,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
        let streams = Arc::new(StreamSlots::new(
            config.hub.hub.max_event_streams,
            config.hub.hub.max_event_streams_per_address,
        ));
        ApiState {
            hub,
            config,
            mocks,
            tenants: tenants
                .tenants
                .into_iter()
                .filter_map(|t| Some((configured_hash(&t.key_sha256)?, t)))
                .collect(),
            admin: tenants
                .admin_key_sha256
                .as_deref()
                .and_then(configured_hash),
            buckets: Mutex::new(HashMap::new()),
            guesses: Mutex::new((HashMap::new(), Instant::now())),
            guessing: AtomicBool::new(false),
            idempotency: Mutex::new(IdempotencyStore::default()),
            paused: Mutex::new(HashSet::new()),
            metrics,
            ready: AtomicBool::new(true),
            catch_ups: Arc::new(tokio::sync::Semaphore::new(CATCH_UPS)),
            streams,
            dev_batches: tokio::sync::Semaphore::new(1),
        }
    }

    /// Authenticate `Authorization: Bearer KEY`.
    pub fn caller(&self, req: &HttpRequest) -> Result<Caller, ApiError> {
        let mut all = req.headers().get_all("authorization");
        let Some(h) = all.next() else {
            return Err(ApiError::unauthorized(
                "missing Authorization: Bearer <api key>",
            ));
        };
        // Two keys: which one is meant cannot be told (a proxy may have added one).
        if all.next().is_some() {
            return Err(ApiError::bad(
                "Authorization",
                "more than one Authorization header",
            ));
        }
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let key = h
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|key| !key.is_empty())
            .ok_or_else(|| ApiError::unauthorized("Authorization must be `Bearer <api key>`"))?;
        let peer = client_address(req);
        // An address that sent too many unknown keys is refused whatever its key (answering
        // a right guess would leave guessing as fast as ever).
        if self.guessing.load(Ordering::Relaxed) {
            if let Some(ip) = peer {
                self.guess_allowed(ip, false)?;
            }
        }
        let hash = key_hash(key);
        if self.admin == Some(hash) {
            return Ok(Caller::Admin);
        }
        match self.tenants.get(&hash) {
            Some(t) => {
                self.take_token(t)?;
                Ok(Caller::Tenant(t.id.clone()))
            }
            None => {
                if let Some(ip) = peer {
                    self.guess_allowed(ip, true)?;
                }
                Err(ApiError::unauthorized("unknown API key"))
            }
        }
    }

    /// Unknown keys an address may send: [`GUESS_BURST`], then [`GUESS_RATE`] per second;
    /// beyond that every request from it is 429 until its bucket refills. `take`: an unknown
    /// key was sent (else only whether the address may be heard).
    fn guess_allowed(&self, ip: std::net::IpAddr, take: bool) -> Result<(), ApiError> {
        let mut held = self
            .guesses
            .lock()
            .map_err(|_| ApiError::unavailable("rate limiter unavailable"))?;
        let (guesses, swept) = &mut *held;
        let now = Instant::now();
        let refill = |b: &mut Bucket| b.refill(now, GUESS_RATE, GUESS_BURST);
        // Full buckets (addresses that stopped guessing) are let go every few seconds, and at
        // once when there are many: one unknown key from an address that never comes back
        // must not keep every request on this lock.
        if guesses.len() >= MAX_GUESSERS || now.duration_since(*swept) > GUESS_SWEEP {
            guesses.retain(|_, b| {
                refill(b);
                b.tokens < GUESS_BURST
            });
            *swept = now;
            self.guessing.store(!guesses.is_empty(), Ordering::Relaxed);
        }
        let b = match guesses.get_mut(&ip) {
            Some(b) => b,
            None if !take => return Ok(()),
            None => guesses
                .entry(ip)
                .or_insert_with(|| Bucket::full(GUESS_BURST, now)),
        };
        refill(b);
        let out = if b.tokens >= 1.0 {
            if take {
                b.tokens -= 1.0;
            }
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                Some("Authorization"),
                "too many unknown API keys from this address",
            )
            .retry_after(b.retry_after(GUESS_RATE)))
        };
        if !take && b.tokens >= GUESS_BURST {
            guesses.remove(&ip);
        }
        self.guessing.store(!guesses.is_empty(), Ordering::Relaxed);
        out
    }

    /// The caller, only if the operator.
    pub fn admin(&self, req: &HttpRequest) -> Result<(), ApiError> {
        match self.caller(req)? {
            Caller::Admin => Ok(()),
            Caller::Tenant(_) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                Some("Authorization"),
                "operator route: the admin key is required",
            )),
        }
    }

    fn take_token(&self, t: &Tenant) -> Result<(), ApiError> {
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| ApiError::unavailable("rate limiter unavailable"))?;
        let now = Instant::now();
        let (rate, burst) = (t.rate_per_sec.max(1) as f64, t.burst.max(1) as f64);
        if !buckets.contains_key(&t.id) {
            buckets.insert(t.id.clone(), Bucket::full(burst, now));
        }
        let Some(b) = buckets.get_mut(&t.id) else {
            return Err(ApiError::unavailable("rate limiter unavailable"));
        };
        b.refill(now, rate, burst);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let secs = b.retry_after(rate);
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                Some("Authorization"),
                format!(
                    "tenant {} is over its rate limit of {} requests/s",
                    t.id, t.rate_per_sec
                ),
            )
            .retry_after(secs))
        }
    }

    /// Reserve `(tenant, Idempotency-Key)` for this request: `Ok(Err(answer))` replays the
    /// answer kept for it; a key in use with another body is 422, a key whose first request is
    /// still being answered 409 (retry shortly: it then replays that answer).
    pub fn claim(
        state: &web::Data<ApiState>,
        tenant: &str,
        key: &str,
        body_hash: &str,
    ) -> Result<Result<Claim, HttpResponse>, ApiError> {
        let mut store = state
            .idempotency
            .lock()
            .map_err(|_| ApiError::unavailable("idempotency store unavailable"))?;
        let k = (tenant.to_string(), key.to_string());
        let other_body = || {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Idempotency-Key"),
                "this Idempotency-Key was used with a different request body",
            )
        };
        match store.map.get(&k) {
            Some(Remembered::Done(h, status, body)) if h == body_hash => Ok(Err(
                HttpResponse::build(StatusCode::from_u16(*status).unwrap_or(StatusCode::OK))
                    .content_type("application/json")
                    .insert_header(("Idempotent-Replayed", "true"))
                    .body(body.clone()),
            )),
            Some(Remembered::Pending(h)) if h == body_hash => Err(ApiError::new(
                StatusCode::CONFLICT,
                Some("Idempotency-Key"),
                "a request with this Idempotency-Key is still being answered; retry",
            )
            .retry_after(1)),
            Some(_) => Err(other_body()),
            None => {
                store
                    .map
                    .insert(k.clone(), Remembered::Pending(body_hash.to_string()));
                Ok(Ok(Claim {
                    state: state.clone(),
                    key: Some(k),
                }))
            }
        }
    }
}

/// The JSON body of every error: `{"error": {"status": 400, "field": "evidence.proof", "reason": "…"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, and where.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// HTTP status.
    pub status: u16,
    /// The request field (JSON path, header or path parameter) at fault, if one is.
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

/// An error answered as JSON with its status.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    reason: String,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a field and a reason.
    pub fn new(status: StatusCode, field: Option<&str>, reason: impl Into<String>) -> Self {
        ApiError {
            status,
            field: field.map(str::to_string),
            reason: reason.into(),
            retry_after: None,
        }
    }
    /// 400 naming `field`.
    pub fn bad(field: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(field), reason)
    }
    /// 401.
    pub fn unauthorized(reason: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, Some("Authorization"), reason)
    }
    /// 404.
    pub fn not_found(field: &str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, Some(field), reason)
    }
    /// 503 with `Retry-After: 1`.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, None, reason).retry_after(1)
    }
    /// Add a `Retry-After` header.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                status: self.status.as_u16(),
                field: self.field.clone(),
                reason: self.reason.clone(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after {
            r.insert_header(("Retry-After", s.to_string()));
        }
        r.json(self.body())
    }
}

/// Parse a JSON body, naming the field at fault (`evidence.proof`, `timeout_secs`, …).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // Every body is an object (serde would also take a struct from an array, by position).
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(ApiError::bad("body", "empty body: expected a JSON object")),
        Some(_) => return Err(ApiError::bad("body", "expected a JSON object")),
    }
    // Well-formed bodies (nearly all) parse without tracking the path; only a body that fails
    // is parsed again with tracking, to name the field.
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let v: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| ApiError::bad(&field_of(&e, "body"), e.inner().to_string()))?;
    de.end().map_err(|e| ApiError::bad("body", e.to_string()))?;
    Ok(v)
}

/// Deserialize a struct only from a JSON object (serde's derive also takes one from an array
/// of its fields in order, which the API does not document and nobody should rely on).
pub(crate) fn object_only<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct Object<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Object(std::marker::PhantomData))
}

/// Name the field at fault from a `serde_path_to_error` error: its path (segments serde could
/// not name, `?`, cut off), or the field serde names in its message (missing, unknown or
/// duplicate fields); `whole` when neither says more.
fn field_of<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>, whole: &str) -> String {
    let path: Vec<String> = e
        .path()
        .iter()
        .map(|s| s.to_string())
        .take_while(|s| s != "?")
        .collect();
    let msg = e.inner().to_string();
    let named = ["missing field", "unknown field", "duplicate field"]
        .iter()
        .any(|p| msg.starts_with(p))
        .then(|| msg.split('`').nth(1).map(str::to_string))
        .flatten();
    let path = path.join(".");
    match (path.is_empty(), named) {
        (true, Some(n)) => n,
        (true, None) => whole.to_string(),
        (false, Some(n)) if !path.ends_with(&n) => format!("{path}.{n}"),
        (false, _) => path,
    }
}

/// A query string deserialized into `T`, with errors naming the parameter at fault (actix's
/// own `web::Query` reports only that the query did not parse).
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Parse a query string into `T`, naming the parameter at fault.
pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError::bad(&field_of(&e, "query"), e.inner().to_string()))
}

impl<T: serde::de::DeserializeOwned> actix_web::FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Register every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY)).app_data(
        web::PathConfig::default().error_handler(|e, req| {
            // A route with one parameter names it (`height`, `id`, …).
            let mut names = req.match_info().iter().map(|(k, _)| k);
            let field = match (names.next(), names.next()) {
                (Some(name), None) => name.to_string(),
                _ => "path".to_string(),
            };
            ApiError::bad(&field, e.to_string()).into()
        }),
    );
    transfers::routes(cfg);
    network::routes(cfg);
    ops::routes(cfg);
}

/// A resource at `path` answering any method it has no route for with 405, `Allow: allow`
/// and the JSON error body (a bare `cfg.route` per method falls through to the 404 of an
/// unknown path instead).
pub(super) fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        let mut r = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            Some("method"),
            format!(
                "{} is not allowed on {}; allowed: {allow}",
                req.method(),
                req.path()
            ),
        )
        .error_response();
        r.headers_mut().insert(
            actix_web::http::header::ALLOW,
            actix_web::http::header::HeaderValue::from_static(allow),
        );
        r
    }))
}

/// Body-size errors (413) and unknown routes (404) as JSON, and HTTP metrics.
pub fn default_service() -> actix_web::Route {
    web::to(|req: HttpRequest| async move {
        ApiError::not_found("path", format!("no route {} {}", req.method(), req.path()))
            .error_response()
    })
}

/// The Prometheus exporter as `serve` installs it: latencies (`*_seconds`) and the commit
/// log's batch sizes as histograms with buckets (so quantiles can be taken with
/// `histogram_quantile` and summed across hubs), not the exporter's default summaries.
pub fn metrics_builder(
) -> Result<metrics_exporter_prometheus::PrometheusBuilder, metrics_exporter_prometheus::BuildError>
{
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    const SECONDS: &[f64] = &[
        0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
        2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ];
    const ENTRIES: &[f64] = &[
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0,
    ];
    // Verifying one piece of evidence takes microseconds on most chains: buckets from 1 µs.
    const VERIFY: &[f64] = &[
        0.000_001,
        0.000_002_5,
        0.000_005,
        0.000_01,
        0.000_025,
        0.000_05,
        0.000_1,
        0.000_25,
        0.000_5,
        0.001,
        0.002_5,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1.0,
        5.0,
    ];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full("meridian_verify_seconds".into()), VERIFY)?
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS)?
        .set_buckets_for_metric(Matcher::Full("meridian_log_batch_entries".into()), ENTRIES)
}

/// Register every labelled series whose labels are known at start-up (the chains, their
/// routes, the states a transfer enters on a route) at zero, so that each exists from the
/// first scrape: `rate()` and `increase()` over a series that appears with its first event
/// miss that event, and an alert on it cannot tell "none yet" from "not exported".
pub fn register_series(chains: &[crate::message::ChainId]) {
    use crate::message::MessageState;
    const ENTERED: [MessageState; 5] = [
        MessageState::Committed,
        MessageState::Finalized,
        MessageState::Delivered,
        MessageState::TimedOut,
        MessageState::Refunded,
    ];
    for c in chains {
        let chain = c.0.clone();
        let _ = metrics::histogram!("meridian_verify_seconds", "chain" => chain.clone());
        let _ = metrics::histogram!("meridian_submit_seconds", "source" => chain.clone());
        metrics::counter!("meridian_deliveries_undeliverable_total", "destination" => chain)
            .absolute(0);
        for d in chains.iter().filter(|d| *d != c) {
            let (src, dst) = (c.0.clone(), d.0.clone());
            for st in ENTERED {
                metrics::counter!(
                    "meridian_transfer_transitions_total",
                    "source" => src.clone(),
                    "destination" => dst.clone(),
                    "state" => state_name(st)
                )
                .absolute(0);
            }
            let _ = metrics::histogram!("meridian_end_to_end_seconds", "source" => src, "destination" => dst);
        }
    }
    metrics::gauge!("meridian_event_streams").set(0.0);
}

/// The `# HELP` line of every metric the hub exports (the exporter writes none without a
/// description). Called once the recorder is installed.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "meridian_http_responses_total",
        "HTTP responses by status code"
    );
    describe_gauge!("meridian_transfers", "Transfers currently in each state");
    describe_gauge!(
        "meridian_event_streams",
        "Event streams (GET /v1/events) open now"
    );
    describe_gauge!(
        "meridian_log_failing",
        "0: the commit log takes writes; 1: its store fails and is retried; 2: it failed and \
         the hub takes no new transfers until restarted (see /healthz)"
    );
    describe_counter!(
        "meridian_transfer_transitions_total",
        "State changes of transfers, by route and the state entered"
    );
    describe_gauge!(
        "meridian_route_backlog",
        "Transfers committed on a route and not yet delivered or refunded"
    );
    describe_gauge!(
        "meridian_route_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest transfer pending on a route"
    );
    describe_gauge!(
        "meridian_delivery_backlog",
        "Finalized transfers waiting for delivery"
    );
    describe_counter!(
        "meridian_deliveries_undeliverable_total",
        "Deliveries a destination refused for good (not retried; refunded at the deadline)"
    );
    describe_histogram!(
        "meridian_verify_seconds",
        Unit::Seconds,
        "Verification of one piece of evidence on its source chain's actor"
    );
    describe_histogram!(
        "meridian_submit_seconds",
        Unit::Seconds,
        "A submission from arrival to its answer (verification and durable commit)"
    );
    describe_histogram!(
        "meridian_end_to_end_seconds",
        Unit::Seconds,
        "A transfer from commit to delivered"
    );
    describe_histogram!(
        "meridian_log_fsync_seconds",
        Unit::Seconds,
        "One group commit of the commit log: journal write and fdatasync"
    );
    describe_histogram!(
        "meridian_log_batch_entries",
        "Records per group commit of the commit log"
    );
    describe_histogram!(
        "meridian_log_checkpoint_seconds",
        Unit::Seconds,
        "One checkpoint of the journal into redb"
    );
    describe_gauge!(
        "meridian_log_next_seq",
        "Sequence number the next commit-log record gets"
    );
    describe_gauge!(
        "meridian_refchain_height",
        "Height of the newest reference-chain block"
    );
    describe_gauge!("meridian_refchain_blocks", "Reference-chain blocks sealed");
    describe_gauge!(
        "meridian_refchain_signatures",
        "City-relay signatures on the newest finalized block"
    );
    describe_gauge!("meridian_relays_online", "City relays online");
}

/// Whether the hub is ready.
pub fn is_ready(state: &ApiState) -> bool {
    state.ready.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::{address_group, connection_budget, ConnectionBudget, IdempotencyStore, Remembered};

    /// A tenant sending key after key forgets its own oldest answers, not those of a tenant
    /// holding fewer: before, the store forgot the oldest answer of all, so one tenant's flood
    /// made another's retry run again (and a key reused with another body pass).
    #[test]
    fn one_tenants_idempotency_keys_never_push_out_anothers() {
        let mut s = IdempotencyStore {
            cap: 4,
            ..IdempotencyStore::default()
        };
        let done = || Remembered::Done("hash".into(), 202, "{}".into());
        let k = |t: &str, k: &str| (t.to_string(), k.to_string());
        s.remember(k("b", "b0"), done());
        for i in 0..10 {
            s.remember(k("a", &format!("a{i}")), done());
        }
        assert!(s.map.contains_key(&k("b", "b0")), "b's answer kept");
        assert_eq!((s.done, s.map.len()), (4, 4));
        for i in 7..10 {
            assert!(s.map.contains_key(&k("a", &format!("a{i}"))), "a's newest");
        }
        // Past the cap, the tenant holding the most gives way.
        s.remember(k("b", "b1"), done());
        assert!(s.map.contains_key(&k("b", "b0")) && s.map.contains_key(&k("b", "b1")));
        assert!(!s.map.contains_key(&k("a", "a7")) && s.map.contains_key(&k("a", "a8")));
        assert_eq!(s.map.len(), 4);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_network() {
        let g = |s: &str| address_group(s.parse().expect("ip")).to_string();
        assert_eq!(g("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(g("2001:db8:1:2:ffff:1:2:3"), g("2001:db8:1:2::9"));
        assert_ne!(g("2001:db8:1:3::1"), g("2001:db8:1:2::1"));
        assert_eq!(g("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(g("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn event_streams_leave_connections_for_the_rest_of_the_api() {
        let b = |files, workers| connection_budget(files, workers);
        // systemd's default soft limit, two workers: half the connections for streams.
        assert_eq!(
            b(Some(1024), 2),
            ConnectionBudget {
                per_worker: 384,
                streams: 384
            }
        );
        // A large limit: all but 1,024 connections; actix's 25,000 per worker at most.
        assert_eq!(
            b(Some(20_000), 2),
            ConnectionBudget {
                per_worker: 9_872,
                streams: 18_720
            }
        );
        assert_eq!(
            b(Some(1 << 20), 2),
            ConnectionBudget {
                per_worker: 25_000,
                streams: 48_976
            }
        );
        assert_eq!(b(None, 2), b(Some(1 << 20), 2));
        // A limit below the hub's own files still leaves each worker a connection.
        assert_eq!(
            b(Some(100), 2),
            ConnectionBudget {
                per_worker: 1,
                streams: 1
            }
        );
    }

    use super::*;

    /// A key matches the hash configured for it, written in either case; anything that is not
    /// 64 hex digits matches no key.
    #[test]
    fn configured_hashes_match_their_keys() {
        let key = "meridian-demo-key";
        let lower = hex::encode(Sha256::digest(key.as_bytes()));
        assert_eq!(configured_hash(&lower), Some(key_hash(key)));
        assert_eq!(configured_hash(&lower.to_uppercase()), Some(key_hash(key)));
        assert_ne!(
            configured_hash(&lower),
            Some(key_hash("meridian-demo-key-2"))
        );
        for bad in [
            "",
            "00",
            &lower[1..],
            &format!("{lower}00"),
            &lower.replace('a', "g"),
        ] {
            assert_eq!(configured_hash(bad), None, "{bad:?}");
        }
    }
}
