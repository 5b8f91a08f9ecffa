//! DApp routes: submit a transfer, follow it, fetch its finality proof, stream status events.

use super::{parse_json, ApiError, ApiState, Caller, MAX_BODY};
use crate::actors::router::{may_see, EventFilter, ListMessages, StatusEvent};
use crate::actors::SubmitError;
use crate::hub::ProofRequestError;
use crate::message::{ChainId, MessageId, MessageState};
use crate::state::{EventKey, MessageEntry};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use meridian_adapters::Evidence;
use meridian_proofs::document::HexBytes;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use utoipa::{IntoParams, ToSchema};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    use super::resource;
    cfg.service(
        resource("/v1/transfers", "GET, POST")
            .route(web::post().to(submit))
            .route(web::get().to(list)),
    )
    .service(resource("/v1/transfers/{id}", "GET").route(web::get().to(get)))
    .service(resource("/v1/transfers/{id}/proof", "GET").route(web::get().to(proof)))
    .service(resource("/v1/events", "GET").route(web::get().to(events)));
}

use crate::config::MAX_TIMEOUT_SECS;

/// Longest an event stream goes without writing: then it writes an SSE comment.
pub const SSE_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(15);

/// The source-chain evidence of a transfer, as the source chain's adapter defines it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    /// Chain-native locator of the lock event (hex).
    #[schema(value_type = String, example = "0x…")]
    pub locator: HexBytes,
    /// The source chain's header(s) (hex).
    #[schema(value_type = String)]
    pub header: HexBytes,
    /// The native inclusion proof of the event (hex).
    #[schema(value_type = String)]
    pub proof: HexBytes,
    /// The lock event in the chain's native encoding (hex).
    #[schema(value_type = String)]
    pub event: HexBytes,
}

/// `POST /v1/transfers` body.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Id of the source chain (where the asset was locked).
    pub source: String,
    /// Its evidence (an object: serde would also take a struct from an array, by position).
    #[serde(deserialize_with = "super::object_only")]
    pub evidence: EvidenceBody,
    /// Seconds within which delivery must happen, else the transfer is refunded (1 … 604800).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// The answer to a submission.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferAccepted {
    /// Message id (hex).
    pub id: String,
    /// Its state.
    pub status: String,
    /// Its commit-log sequence number.
    pub seq: u64,
    /// Whether this evidence had already been submitted (the answer is the first message).
    pub existing: bool,
}

/// One state change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    /// The state entered.
    pub status: String,
    /// When, ms since the epoch.
    pub at_ms: u64,
    /// Log sequence of the record.
    pub seq: u64,
}

/// A transfer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferView {
    /// Message id (hex).
    pub id: String,
    /// Current state.
    pub status: String,
    /// Source chain.
    pub source: String,
    /// Destination chain.
    pub destination: String,
    /// Position on its route.
    pub route_nonce: u64,
    /// Sender on the source chain.
    pub sender: String,
    /// Recipient on the destination chain.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount in the smallest unit (decimal string).
    pub amount: String,
    /// Commit-log sequence number.
    pub seq: u64,
    /// Reference-chain block height, once sealed.
    pub block: Option<u64>,
    /// Delivery deadline, ms since the epoch.
    pub deadline_ms: u64,
    /// Every state change with its time.
    pub timeline: Vec<TimelineEntry>,
}

/// A page of transfers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransferPage {
    /// The transfers, in commit order.
    pub items: Vec<TransferView>,
    /// Pass as `cursor` for the next page; absent on the last page. One request looks at no
    /// more than 20,000 transfers, so with a filter that few match a page can hold fewer
    /// than `limit` transfers, even none, and still name a next page: follow `next_cursor`
    /// until it is absent.
    pub next_cursor: Option<String>,
}

/// Filters of `GET /v1/transfers`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only transfers from or to this chain.
    pub chain: Option<String>,
    /// Only transfers in this state.
    pub status: Option<String>,
    /// Only transfers from this sender.
    pub sender: Option<String>,
    /// Continue after this cursor.
    pub cursor: Option<String>,
    /// Page size, 1 … 500 (default 100).
    pub limit: Option<usize>,
}

/// Filters of `GET /v1/events`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events of transfers from or to this chain.
    pub chain: Option<String>,
    /// Only events entering this state.
    pub status: Option<String>,
    /// Start after this event id (`EPOCH.SEQ.MSG_SEQ`); a `Last-Event-ID` header wins over it.
    pub after: Option<String>,
}

/// The API name of a state.
pub fn state_name(s: MessageState) -> &'static str {
    match s {
        MessageState::Submitted => "submitted",
        MessageState::Verified => "verified",
        MessageState::Committed => "committed",
        MessageState::Finalized => "finalized",
        MessageState::Delivered => "delivered",
        MessageState::Rejected => "rejected",
        MessageState::TimedOut => "timed_out",
        MessageState::Refunded => "refunded",
    }
}

fn parse_state(field: &str, s: &str) -> Result<MessageState, ApiError> {
    Ok(match s {
        "submitted" => MessageState::Submitted,
        "verified" => MessageState::Verified,
        "committed" => MessageState::Committed,
        "finalized" => MessageState::Finalized,
        "delivered" => MessageState::Delivered,
        "rejected" => MessageState::Rejected,
        "timed_out" => MessageState::TimedOut,
        "refunded" => MessageState::Refunded,
        _ => {
            return Err(ApiError::bad(
                field,
                format!(
                    "unknown status {s:?} (submitted, verified, committed, finalized, delivered, rejected, timed_out, refunded)"
                ),
            ))
        }
    })
}

fn view(m: &MessageEntry) -> TransferView {
    TransferView {
        id: m.msg.id.to_hex(),
        status: state_name(m.state).into(),
        source: m.msg.source.0.clone(),
        destination: m.msg.destination.0.clone(),
        route_nonce: m.msg.route_nonce,
        sender: m.msg.sender.clone(),
        recipient: m.msg.recipient.clone(),
        asset: m.msg.asset.clone(),
        amount: m.msg.amount.to_string(),
        seq: m.seq,
        block: m.block,
        deadline_ms: m.deadline_ms(),
        timeline: m
            .timeline
            .iter()
            .map(|t| TimelineEntry {
                status: state_name(t.state).into(),
                at_ms: t.at_ms,
                seq: t.seq,
            })
            .collect(),
    }
}

/// Read the body, refusing more than [`MAX_BODY`] bytes with 413.
pub(super) async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<Vec<u8>, ApiError> {
    let too_big = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("body"),
            format!("request body is larger than {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY) {
        return Err(too_big());
    }
    // Bodies are read as sent: a compressed one would only fail to parse.
    if let Some(enc) = req.headers().get("content-encoding") {
        if !enc.as_bytes().eq_ignore_ascii_case(b"identity") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("Content-Encoding"),
                "request bodies are read uncompressed (identity)",
            ));
        }
    }
    // One allocation for a body of the declared length (no growth while chunks arrive).
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    let read = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad("body", e.to_string()))?;
            if body.len() + chunk.len() > MAX_BODY {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    // A client that stops sending mid-body would hold the connection and its buffer for
    // good (actix times out only the request head). A body already received, as nearly all
    // are, completes on the first poll: no timer is armed.
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(r) => r.map(|()| body),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            Some("body"),
            format!(
                "the body did not arrive within {} s",
                BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// How long a request body may take to arrive.
pub(super) const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn tenant_of(caller: &Caller) -> String {
    match caller {
        Caller::Tenant(t) => t.clone(),
        Caller::Admin => String::new(),
    }
}

fn submit_error(e: SubmitError) -> ApiError {
    match e {
        SubmitError::Rejected(r) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("evidence"),
            format!("evidence does not verify: {r}"),
        ),
        // The source was checked before: the router names the event's destination.
        SubmitError::UnknownChain(c) => ApiError::bad(
            "evidence.event",
            format!("the event's destination {c:?} is not a connected chain"),
        ),
        SubmitError::SameChain(c) => ApiError::bad(
            "evidence.event",
            format!("the event's destination is its source chain {c:?}"),
        ),
        SubmitError::ZeroAmount => ApiError::bad("evidence.event", "amount must be positive"),
        SubmitError::Paused(route) => ApiError::new(
            StatusCode::CONFLICT,
            Some("evidence.event"),
            format!("route {route} is paused by the operator"),
        ),
        SubmitError::RateLimited {
            route,
            retry_after_ms,
        } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Some("evidence.event"),
            format!("route {route} is over its rate limit"),
        )
        .retry_after(retry_after_ms.div_ceil(1000).max(1)),
        SubmitError::Overloaded(r) => ApiError::unavailable(format!("hub overloaded: {r}")),
        SubmitError::Log(r) => ApiError::unavailable(format!("commit log: {r}")),
        e @ SubmitError::LogFailed(_) => ApiError::unavailable(e.to_string()),
        SubmitError::OtherTenant => ApiError::new(
            StatusCode::CONFLICT,
            Some("evidence.locator"),
            "this evidence was submitted by another tenant",
        ),
        e @ SubmitError::Undeliverable { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("evidence.event"),
            format!("the transfer could never be delivered: {e}"),
        ),
    }
}

/// Submit a transfer with its source-chain evidence.
#[utoipa::path(post, path = "/v1/transfers", request_body = TransferRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key and body")),
    responses(
        (status = 202, description = "durable in the commit log", body = TransferAccepted),
        (status = 200, description = "this evidence was submitted before: the first message", body = TransferAccepted),
        (status = 400, description = "malformed: names the field", body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 413, body = super::ErrorBody),
        (status = 422, description = "the proof does not verify", body = super::ErrorBody),
        (status = 409, description = "the route is paused, the evidence is another tenant's transfer, or a request with this Idempotency-Key is still being answered", body = super::ErrorBody),
        (status = 429, body = super::ErrorBody), (status = 503, body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn submit(
    state: web::Data<ApiState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req)?;
    let tenant = tenant_of(&caller);
    let body = read_body(&req, payload).await?;
    let idem = req
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| ApiError::bad("Idempotency-Key", "not visible ASCII"))
        })
        .transpose()?;
    // Only an Idempotency-Key needs the body's hash.
    let body_hash = if idem.is_some() {
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&body))
    } else {
        String::new()
    };
    // Held until the answer is kept (or dropped, freeing the key, if this request fails).
    let mut claim = None;
    if let Some(k) = &idem {
        if k.is_empty() || k.len() > 255 {
            return Err(ApiError::bad("Idempotency-Key", "1 to 255 characters"));
        }
        match ApiState::claim(&state, &tenant, k, &body_hash)? {
            Ok(c) => claim = Some(c),
            Err(replay) => return Ok(replay),
        }
    }
    let r: TransferRequest = match super::submit_body::parse(&body) {
        Some(r) => r,
        None => parse_json(&body)?,
    };
    if let Some(t) = r.timeout_secs {
        if t == 0 || t > MAX_TIMEOUT_SECS {
            return Err(ApiError::bad(
                "timeout_secs",
                format!("must be 1 … {MAX_TIMEOUT_SECS}, got {t}"),
            ));
        }
    }
    let source = ChainId(r.source.clone());
    if !state.hub.has_chain(&source) {
        return Err(ApiError::bad(
            "source",
            format!("unknown chain {:?}", r.source),
        ));
    }
    let evidence = Evidence {
        locator: r.evidence.locator.0,
        header: r.evidence.header.0,
        proof: r.evidence.proof.0,
        event: r.evidence.event.0,
    };
    let started = Instant::now();
    let out = state
        .hub
        .submit_for(&tenant, &source, evidence, r.timeout_secs)
        .await;
    record_submit_seconds(&r.source, started.elapsed().as_secs_f64());
    let out = out.map_err(submit_error)?;
    let status = if out.existing {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let body = accepted_body(&out.id, out.state, out.seq, out.existing);
    if let Some(c) = claim {
        c.answer(body_hash, status.as_u16(), body.clone());
    }
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .body(body))
}

/// The JSON of a [`TransferAccepted`], written directly: the same bytes as serde_json writes
/// for it (the fields in order, no spaces; a state name needs no escaping), without its three
/// intermediate strings (~2.7% of an HTTP worker's time under load went to them).
fn accepted_body(id: &MessageId, state: MessageState, seq: u64, existing: bool) -> String {
    let mut out = String::with_capacity(128);
    out.push_str(r#"{"id":""#);
    let mut hex = [0u8; 64];
    match faster_hex::hex_encode(&id.0, &mut hex) {
        Ok(h) => {
            out.push_str("0x");
            out.push_str(h);
        }
        Err(_) => out.push_str(&id.to_hex()),
    }
    out.push_str(r#"","status":""#);
    out.push_str(state_name(state));
    out.push_str(r#"","seq":"#);
    out.push_str(itoa::Buffer::new().format(seq));
    out.push_str(if existing {
        r#","existing":true}"#
    } else {
        r#","existing":false}"#
    });
    out
}

thread_local! {
    /// This worker's `meridian_submit_seconds` handle per source chain.
    static SUBMIT_SECONDS: std::cell::RefCell<std::collections::HashMap<String, metrics::Histogram>> =
        std::cell::RefCell::default();
}

/// Record a submission's latency (the labelled handle is looked up once per worker and chain).
fn record_submit_seconds(source: &str, secs: f64) {
    SUBMIT_SECONDS.with(|m| {
        let mut m = m.borrow_mut();
        if let Some(h) = m.get(source) {
            h.record(secs);
        } else {
            let h = metrics::histogram!("meridian_submit_seconds", "source" => source.to_string());
            h.record(secs);
            m.insert(source.to_string(), h);
        }
    });
}

fn parse_id(s: &str) -> Result<MessageId, ApiError> {
    MessageId::from_hex(s).ok_or_else(|| ApiError::bad("id", "a message id is 64 hex digits"))
}

async fn visible(state: &ApiState, req: &HttpRequest, id: &str) -> Result<MessageEntry, ApiError> {
    let caller = state.caller(req)?;
    let id = parse_id(id)?;
    let m = state.hub.message(id).await;
    match m {
        Some(m) if may_see(&m.msg.tenant, &tenant_of(&caller)) => Ok(m),
        // Another tenant's transfer is answered exactly like a missing one.
        _ => Err(ApiError::not_found("id", format!("no transfer {id}"))),
    }
}

/// A transfer: its status and the timeline of its state changes.
#[utoipa::path(get, path = "/v1/transfers/{id}", params(("id" = String, Path)),
    responses((status = 200, body = TransferView), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(
    state: web::Data<ApiState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let m = visible(&state, &req, &id).await?;
    Ok(HttpResponse::Ok().json(view(&m)))
}

/// The transfer's finality proof: a `meridian-finality` document for `meridian proof verify`.
#[utoipa::path(get, path = "/v1/transfers/{id}/proof", params(("id" = String, Path)),
    responses((status = 200, description = "a meridian-finality proof document"),
        (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 409, description = "not final yet", body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn proof(
    state: web::Data<ApiState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let m = visible(&state, &req, &id).await?;
    match state.hub.finality_proof(m.msg.id).await {
        Ok(p) => Ok(HttpResponse::Ok().json(p)),
        Err(ProofRequestError::NotFinal(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("id"),
            format!(
                "transfer {} is {}, not final yet",
                m.msg.id,
                state_name(m.state)
            ),
        )),
        Err(ProofRequestError::UnknownMessage(_)) => Err(ApiError::not_found(
            "id",
            format!("no transfer {}", m.msg.id),
        )),
        Err(e) => Err(ApiError::unavailable(e.to_string())),
    }
}

/// Transfers in commit order, filtered; cursor pagination.
#[utoipa::path(get, path = "/v1/transfers", params(ListQuery),
    responses((status = 200, body = TransferPage), (status = 400, body = super::ErrorBody),
        (status = 401, body = super::ErrorBody), (status = 503, body = super::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    state: web::Data<ApiState>,
    req: HttpRequest,
    q: super::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.caller(&req)?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad("limit", "1 … 500"));
    }
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<u64>()
                .map_err(|_| ApiError::bad("cursor", "not a cursor from a previous page"))
        })
        .transpose()?;
    let status = q
        .status
        .as_deref()
        .map(|s| parse_state("status", s))
        .transpose()?;
    let page = state
        .hub
        .list(ListMessages {
            after,
            limit: limit + 1,
            tenant: match &caller {
                Caller::Tenant(t) => Some(t.clone()),
                Caller::Admin => None,
            },
            chain: q.chain.clone().map(ChainId),
            state: status,
            sender: q.sender.clone(),
        })
        .await
        .ok_or_else(|| ApiError::unavailable("the router does not answer"))?;
    let more = page.items.len() > limit;
    let items: Vec<_> = page.items.iter().take(limit).map(view).collect();
    let next_cursor = if more {
        items.last().map(|v| v.seq.to_string())
    } else {
        // The look stopped at its bound: more may match further on.
        page.scanned_to.map(|s| s.to_string())
    };
    Ok(HttpResponse::Ok().json(TransferPage { items, next_cursor }))
}

/// Most changes one catch-up step of an event stream asks the router for.
const REPLAY_PAGE: usize = 1000;

/// A stream's resume point: `EPOCH.SEQ.MSG_SEQ`, the `id` of one of its events.
fn event_key<'a>(field: &str, s: &'a str) -> Result<(&'a str, EventKey), ApiError> {
    let bad = || {
        ApiError::bad(
            field,
            "not an event id of this hub's stream (EPOCH.SEQ.MSG_SEQ)",
        )
    };
    let mut parts = s.trim().split('.');
    let (Some(e), Some(a), Some(b), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if e.len() != 8 || !e.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let num = |x: &str| {
        (!x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
            .then(|| x.parse::<u64>().ok())
            .flatten()
            .ok_or_else(bad)
    };
    Ok((e, (num(a)?, num(b)?)))
}

/// An event id: `EPOCH.SEQ.MSG_SEQ` (see [`crate::actors::router::EventsPage::epoch`]).
fn event_id(epoch: &str, k: EventKey) -> String {
    format!("{epoch}.{}.{}", k.0, k.1)
}

/// The SSE frame of a change that passed the stream's filter: with its id for a keyed stream,
/// without ids of any kind for the anonymous one.
fn status_frame(ev: &StatusEvent, keyed: bool, epoch: &str) -> web::Bytes {
    let mut json = serde_json::json!({
        "status": state_name(ev.state), "seq": ev.seq,
        "source": &*ev.source, "destination": &*ev.destination,
    });
    if !keyed {
        return web::Bytes::from(format!("event: status\ndata: {json}\n\n"));
    }
    json["id"] = ev.id.to_hex().into();
    web::Bytes::from(format!(
        "id: {}\nevent: status\ndata: {json}\n\n",
        event_id(epoch, (ev.seq, ev.msg_seq))
    ))
}

/// The `reset` event of a keyed stream (the anonymous one neither resumes nor catches up):
/// the changes after `after` up to `through` are not in the hub's history (let go, or never
/// this hub's). The stream goes on after `through`.
fn reset_frame(after: &str, through: &str, reason: &str) -> web::Bytes {
    let json = serde_json::json!({
        "missed_after": after,
        "missed_through": through,
        "reason": reason,
    });
    web::Bytes::from(format!("id: {through}\nevent: reset\ndata: {json}\n\n"))
}

/// An event stream between steps.
struct EventStream {
    hub: std::sync::Arc<crate::hub::Hub>,
    /// The log's epoch, the first part of every id.
    epoch: std::sync::Arc<str>,
    catch_ups: std::sync::Arc<tokio::sync::Semaphore>,
    rx: tokio::sync::broadcast::Receiver<StatusEvent>,
    filter: EventFilter,
    /// The newest change this stream has passed over (sent or filtered out).
    last: EventKey,
    /// The last id the client was given (keyed streams), by an event or a keep-alive.
    told: EventKey,
    /// Catch up from the hub's history before reading live changes again.
    catching_up: bool,
    /// Frames ready to go.
    out: std::collections::VecDeque<web::Bytes>,
    /// Its place among the streams open (given back when the stream ends).
    _slot: super::StreamSlot,
}

impl EventStream {
    /// Whether the stream carries ids (a tenant's or the operator's; not the anonymous one).
    fn keyed(&self) -> bool {
        self.filter.viewer.is_some()
    }

    /// One catch-up step: the next page of changes after `last` from the hub's history, the
    /// router passing on only those this stream shows. `false` when the router does not
    /// answer (the stream ends).
    async fn catch_up(&mut self) -> bool {
        let Some(page) = self
            .hub
            .events_after(self.last, REPLAY_PAGE, self.filter.clone())
            .await
        else {
            return false;
        };
        if let Some(dropped) = page.gap {
            let f = reset_frame(
                &event_id(&self.epoch, self.last),
                &event_id(&self.epoch, dropped),
                "these status changes are no longer held; GET /v1/transfers catches up",
            );
            self.out.push_back(f);
            self.last = dropped;
            self.told = dropped;
        }
        let keyed = self.keyed();
        for ev in &page.events {
            self.out.push_back(status_frame(ev, keyed, &self.epoch));
            self.told = (ev.seq, ev.msg_seq);
        }
        self.last = page.last.unwrap_or(self.last).max(self.last);
        self.catching_up = page.more;
        true
    }

    /// A keep-alive comment. A keyed stream's also moves the client's Last-Event-ID up to the
    /// changes passed over (an id without data dispatches no event): a quiet tenant on a busy
    /// hub resumes from there, not from its last own change, which the history may have let
    /// go meanwhile. Only when nothing is waiting to be written (`out` empty).
    fn keep_alive(&mut self) -> web::Bytes {
        if self.keyed() && self.told != self.last {
            self.told = self.last;
            let id = event_id(&self.epoch, self.last);
            return web::Bytes::from(format!(": keep-alive\nid: {id}\n\n"));
        }
        web::Bytes::from_static(b": keep-alive\n\n")
    }

    /// The next frame, or `None` when the stream ends.
    async fn next_frame(&mut self) -> Option<web::Bytes> {
        use tokio::sync::broadcast::error::RecvError;
        // Something is written at least every SSE_KEEPALIVE, whatever the filter lets
        // through: a client that went away is noticed (the write fails) and the stream ends,
        // and proxies do not cut an idle stream.
        let deadline = tokio::time::Instant::now() + SSE_KEEPALIVE;
        loop {
            if let Some(f) = self.out.pop_front() {
                return Some(f);
            }
            if self.catching_up {
                // A long catch-up keeps writing too (pages its filter empties write nothing):
                // a keep-alive, with the id it has got to, at least every SSE_KEEPALIVE,
                // whether it waits for its turn or for pages.
                let turn = self.catch_ups.clone();
                let turn = match tokio::time::timeout_at(deadline, turn.acquire_owned()).await {
                    Ok(Ok(t)) => t,
                    Ok(Err(_)) => return None,
                    Err(_) => return Some(self.keep_alive()),
                };
                let more = self.catch_up().await;
                drop(turn);
                if !more {
                    return None;
                }
                if self.out.is_empty() && tokio::time::Instant::now() >= deadline {
                    return Some(self.keep_alive());
                }
                continue;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Some(self.keep_alive()),
                // Changes were dropped from this reader's queue: a keyed stream takes them
                // from the history; the anonymous one (a live picture, no ids) goes on with
                // what comes next and says how many it skipped, costing the router nothing.
                Ok(Err(RecvError::Lagged(n))) if !self.keyed() => {
                    let line = format!(": {n} changes skipped (slow reader)\n\n");
                    return Some(web::Bytes::from(line));
                }
                Ok(Err(RecvError::Lagged(_))) => self.catching_up = true,
                Ok(Err(RecvError::Closed)) => return None,
                Ok(Ok(ev)) => {
                    let key = (ev.seq, ev.msg_seq);
                    // Already passed over while catching up (the live queue holds changes
                    // from before the catch-up's last page too).
                    if key <= self.last {
                        continue;
                    }
                    self.last = key;
                    if self.filter.passes(&ev) {
                        self.told = key;
                        return Some(status_frame(&ev, self.keyed(), &self.epoch));
                    }
                }
            }
        }
    }
}

/// Server-Sent Events of status changes: a tenant sees its own transfers; without a key the
/// stream is anonymous (chains and states, no ids of any kind), for the status page. A keyed
/// stream's events have an `id` (`EPOCH.SEQ.MSG_SEQ`); opened with `Last-Event-ID` (what
/// `EventSource` sends when it reconnects) or `?after=`, it starts with the changes after that
/// one. A reader too slow for the live queue is caught up from the same history instead of
/// losing changes. The hub holds the last 1,048,576 changes; from further back, or from an id
/// this hub never made (a new data directory), the stream starts with a `reset` event naming
/// what it missed.
#[utoipa::path(get, path = "/v1/events", params(EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "resume after this event id (wins over `after`; needs a key)")),
    responses((status = 200, description = "text/event-stream: `status` events of {id, status, seq, source, destination} and `reset` events, each with an SSE id EPOCH.SEQ.MSG_SEQ on a keyed stream"),
        (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
        (status = 503, body = super::ErrorBody)))]
pub async fn events(
    state: web::Data<ApiState>,
    req: HttpRequest,
    q: super::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    // Whose events the stream shows (`None`: anonymous, without ids).
    let viewer = if req.headers().contains_key("authorization") {
        Some(tenant_of(&state.caller(&req)?))
    } else {
        None
    };
    let status = q
        .status
        .as_deref()
        .map(|s| parse_state("status", s))
        .transpose()?;
    let (field, resume) = match req.headers().get("last-event-id") {
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| ApiError::bad("Last-Event-ID", "not visible ASCII"))?;
            ("Last-Event-ID", Some(event_key("Last-Event-ID", s)?))
        }
        None => (
            "after",
            q.after
                .as_deref()
                .map(|s| event_key("after", s))
                .transpose()?,
        ),
    };
    if resume.is_some() && viewer.is_none() {
        return Err(ApiError::bad(
            field,
            "resuming a stream needs an API key (the anonymous stream carries no ids)",
        ));
    }
    let slot = state.streams.take(super::client_address(&req))?;
    let filter = EventFilter {
        viewer,
        status,
        chain: q.chain.clone(),
    };
    // Subscribe first, then ask where the history stands: a change made in between is in
    // both, and the stream passes over it once (by its key).
    let rx = state.hub.subscribe();
    let now = state
        .hub
        .events_after((u64::MAX, u64::MAX), 0, EventFilter::default())
        .await
        .ok_or_else(|| ApiError::unavailable("the router does not answer"))?;
    let newest = now.newest.unwrap_or((0, 0));
    let epoch = now.epoch;
    let mut out = std::collections::VecDeque::new();
    let (last, catching_up) = match resume {
        // Not a change of this log (another data directory's, or beyond this log): say so,
        // and go on with the changes from now on.
        Some((e, after)) if !e.eq_ignore_ascii_case(&epoch) || after > newest => {
            let given = event_id(e, after);
            out.push_back(reset_frame(
                &given,
                &event_id(&epoch, newest),
                "not a change of this hub's log (a new data directory?); GET /v1/transfers catches up",
            ));
            (newest, false)
        }
        Some((_, after)) => (after, true),
        None => (newest, false),
    };
    let stream = EventStream {
        hub: state.hub.clone(),
        epoch,
        catch_ups: state.catch_ups.clone(),
        rx,
        filter,
        last,
        told: last,
        catching_up,
        out,
        _slot: slot,
    };
    let stream = futures::stream::unfold(stream, |mut st| async move {
        let f = st.next_frame().await?;
        Some((Ok::<_, actix_web::Error>(f), st))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The directly written 202/200 body is byte for byte what serde_json writes for it.
    #[test]
    fn accepted_body_is_what_serde_writes() {
        for (i, state) in MessageState::ALL.into_iter().enumerate() {
            for seq in [0, 7, 1_000_000 + i as u64, u64::MAX] {
                for existing in [false, true] {
                    let id = MessageId([(i as u8).wrapping_mul(31).wrapping_add(0xa5); 32]);
                    let want = serde_json::to_string(&TransferAccepted {
                        id: id.to_hex(),
                        status: state_name(state).into(),
                        seq,
                        existing,
                    })
                    .expect("serialize");
                    assert_eq!(accepted_body(&id, state, seq, existing), want);
                }
            }
        }
    }
}
