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

/// A configured key hash (64 hex digits, either case) as bytes; `None` when it is not one
/// (`TenantsFile::load` refuses such a tenant; a hash that is not one matches no key).
fn configured_hash(hex_digits: &str) -> Option<[u8; 32]> {
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

/// An answer kept for an `Idempotency-Key`: body hash, status, body.
type Remembered = (String, u16, String);

struct Bucket {
    tokens: f64,
    last: Instant,
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
    idempotency: Mutex<HashMap<(String, String), Remembered>>,
    /// Routes (source, destination) paused by the operator.
    pub paused: Mutex<HashSet<(String, String)>>,
    /// The Prometheus recorder's handle, if installed.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Set once the hub has replayed its log and started.
    pub ready: AtomicBool,
}

impl ApiState {
    /// Shared state over a started hub.
    pub fn new(
        hub: Arc<Hub>,
        config: Arc<Config>,
        mocks: HashMap<String, Arc<dyn DemoChain>>,
        tenants: TenantsFile,
        metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    ) -> Self {
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
            idempotency: Mutex::new(HashMap::new()),
            paused: Mutex::new(HashSet::new()),
            metrics,
            ready: AtomicBool::new(true),
        }
    }

    /// Authenticate `Authorization: Bearer KEY`.
    pub fn caller(&self, req: &HttpRequest) -> Result<Caller, ApiError> {
        let Some(h) = req.headers().get("authorization") else {
            return Err(ApiError::unauthorized(
                "missing Authorization: Bearer <api key>",
            ));
        };
        let key = h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthorized("Authorization must be `Bearer <api key>`"))?;
        let hash = key_hash(key.trim());
        if self.admin == Some(hash) {
            return Ok(Caller::Admin);
        }
        match self.tenants.get(&hash) {
            Some(t) => {
                self.take_token(t)?;
                Ok(Caller::Tenant(t.id.clone()))
            }
            None => Err(ApiError::unauthorized("unknown API key")),
        }
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
        let rate = t.rate_per_sec.max(1) as f64;
        if !buckets.contains_key(&t.id) {
            buckets.insert(
                t.id.clone(),
                Bucket {
                    tokens: t.burst.max(1) as f64,
                    last: now,
                },
            );
        }
        let Some(b) = buckets.get_mut(&t.id) else {
            return Err(ApiError::unavailable("rate limiter unavailable"));
        };
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(t.burst.max(1) as f64);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let secs = ((1.0 - b.tokens) / rate).ceil().max(1.0) as u64;
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

    /// A remembered answer for `(tenant, Idempotency-Key)`: `Ok(Some)` replays it, `Err` when
    /// the key was used with another body.
    fn idempotent(
        &self,
        tenant: &str,
        key: &str,
        body_hash: &str,
    ) -> Result<Option<HttpResponse>, ApiError> {
        let map = self
            .idempotency
            .lock()
            .map_err(|_| ApiError::unavailable("idempotency store unavailable"))?;
        match map.get(&(tenant.to_string(), key.to_string())) {
            Some((h, status, body)) if h == body_hash => Ok(Some(
                HttpResponse::build(StatusCode::from_u16(*status).unwrap_or(StatusCode::OK))
                    .content_type("application/json")
                    .insert_header(("Idempotent-Replayed", "true"))
                    .body(body.clone()),
            )),
            Some(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Idempotency-Key"),
                "this Idempotency-Key was used with a different request body",
            )),
            None => Ok(None),
        }
    }

    fn remember(&self, tenant: &str, key: &str, body_hash: String, status: u16, body: String) {
        if let Ok(mut map) = self.idempotency.lock() {
            if map.len() > 200_000 {
                map.clear();
            }
            map.insert(
                (tenant.to_string(), key.to_string()),
                (body_hash, status, body),
            );
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
    // Well-formed bodies (nearly all) parse without tracking the path; only a body that fails
    // is parsed again with tracking, to name the field.
    if let Ok(v) = serde_json::from_slice(body) {
        return Ok(v);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let v: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner();
        let msg = inner.to_string();
        // serde names missing and unknown fields in its message, not in the path.
        let named = if msg.starts_with("missing field") || msg.starts_with("unknown field") {
            msg.split('`').nth(1).map(str::to_string)
        } else {
            None
        };
        let field = match (path.as_str(), named) {
            ("." | "", n) => n,
            (p, Some(n)) if !p.ends_with(&n) => Some(format!("{p}.{n}")),
            (p, _) => Some(p.to_string()),
        };
        ApiError {
            status: StatusCode::BAD_REQUEST,
            field,
            reason: inner.to_string(),
            retry_after: None,
        }
    })?;
    de.end().map_err(|e| ApiError::bad("body", e.to_string()))?;
    Ok(v)
}

/// Register every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY))
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| ApiError::bad("path", e.to_string()).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| ApiError::bad("query", e.to_string()).into()),
        );
    transfers::routes(cfg);
    network::routes(cfg);
    ops::routes(cfg);
}

/// Body-size errors (413) and unknown routes (404) as JSON, and HTTP metrics.
pub fn default_service() -> actix_web::Route {
    web::to(|req: HttpRequest| async move {
        ApiError::not_found("path", format!("no route {} {}", req.method(), req.path()))
            .error_response()
    })
}

/// Whether the hub is ready.
pub fn is_ready(state: &ApiState) -> bool {
    state.ready.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
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
