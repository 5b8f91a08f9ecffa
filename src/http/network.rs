//! Public network routes: chains, cities, the reference chain, counters, the status page.

use super::transfers::state_name;
use super::{ApiError, ApiState};
use crate::state::BlockEntry;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    use super::resource;
    cfg.service(resource("/", "GET").route(web::get().to(status_page)))
        .service(resource("/v1/chains", "GET").route(web::get().to(chains)))
        .service(resource("/v1/cities", "GET").route(web::get().to(cities)))
        .service(resource("/v1/refchain/head", "GET").route(web::get().to(head)))
        .service(resource("/v1/refchain/blocks", "GET").route(web::get().to(blocks)))
        .service(resource("/v1/refchain/blocks/{height}", "GET").route(web::get().to(block)))
        .service(resource("/v1/stats", "GET").route(web::get().to(stats)));
}

const STATUS_PAGE: &str = include_str!("status.html");

async fn status_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(STATUS_PAGE)
}

/// A connected chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainView {
    /// Chain id.
    pub id: String,
    /// Family (ethereum, fisco, eosio, fabric, xuper, chainsql, mock).
    pub family: String,
    /// City relay it is homed at.
    pub home_city: String,
    /// Its head block height as the hub sees it.
    pub head_height: u64,
    /// `online`; `unreachable` (its node does not answer); `offline` (no chain actor).
    pub status: String,
}

/// The connected chains.
#[utoipa::path(get, path = "/v1/chains", responses((status = 200, body = [ChainView]), (status = 503, body = super::ErrorBody)))]
pub async fn chains(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    // A chain on a node answers its head over the network: asked off the HTTP worker (a slow
    // or dead node would otherwise hold it, and with it every request it serves).
    let chains: Vec<_> = state
        .config
        .chains
        .iter()
        .map(|c| {
            let actor = state
                .hub
                .chain_actor(&crate::message::ChainId(c.id.clone()))
                .is_some();
            (c.clone(), state.mocks.get(&c.id).cloned(), actor)
        })
        .collect();
    let v = web::block(move || {
        chains
            .into_iter()
            .map(|(c, chain, actor)| {
                let head = chain.map(|m| m.head());
                ChainView {
                    id: c.id,
                    family: c.family,
                    home_city: c.home_city,
                    head_height: match &head {
                        Some(Ok(h)) => *h,
                        _ => 0,
                    },
                    status: match (actor, head) {
                        (false, _) => "offline",
                        (true, Some(Err(_))) => "unreachable",
                        (true, _) => "online",
                    }
                    .into(),
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::unavailable(format!("asking the chains: {e}")))?;
    Ok(HttpResponse::Ok().json(v))
}

/// A city relay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CityView {
    /// City id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Name in the local script.
    pub local_name: String,
    /// ISO country code.
    pub country: String,
    /// Province or region.
    pub region: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Its relay's ed25519 public key (hex).
    pub public_key: String,
    /// Whether its relay is running.
    pub online: bool,
}

/// The 135 city relays.
#[utoipa::path(get, path = "/v1/cities", responses((status = 200, body = [CityView])))]
pub async fn cities(state: web::Data<ApiState>) -> HttpResponse {
    let set = state.hub.relay_set();
    let relays = state.hub.relays();
    let v: Vec<CityView> = state
        .config
        .cities
        .iter()
        .enumerate()
        .map(|(i, c)| CityView {
            id: c.id.clone(),
            name: c.name.clone(),
            local_name: c.local_name.clone(),
            country: c.country.clone(),
            region: c.region.clone(),
            lat: c.lat,
            lon: c.lon,
            public_key: set
                .relays
                .get(i)
                .map(|r| hex::encode(r.public_key))
                .unwrap_or_default(),
            online: relays.get(i).is_some_and(|a| a.connected()),
        })
        .collect();
    HttpResponse::Ok().json(v)
}

/// A reference-chain block.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Header hash (hex).
    pub hash: String,
    /// Previous header hash (hex).
    pub prev_hash: String,
    /// First log entry covered.
    pub log_start: u64,
    /// One past the last log entry covered.
    pub log_end: u64,
    /// Entries in the block.
    pub entries: u64,
    /// RFC 6962 root of its entries (hex).
    pub entries_root: String,
    /// RFC 6962 root of the whole log up to it (hex).
    pub log_root: String,
    /// SHA-256 of the city-relay set whose quorum signs this block (hex): the trust anchor to
    /// pin with `meridian proof verify --relay-set`.
    pub relay_set_hash: String,
    /// Seal time, ms since the epoch.
    pub time_ms: u64,
    /// Relay signatures in its quorum certificate (0 until final).
    pub signatures: usize,
    /// Whether a quorum signed it.
    #[serde(rename = "final")]
    pub is_final: bool,
}

fn block_view(b: &BlockEntry) -> BlockView {
    BlockView {
        height: b.header.height,
        hash: hex::encode(b.header.hash()),
        prev_hash: hex::encode(b.header.prev_hash),
        log_start: b.header.log_start,
        log_end: b.header.log_end,
        entries: b.header.len(),
        entries_root: hex::encode(b.header.entries_root),
        log_root: hex::encode(b.header.log_root),
        relay_set_hash: hex::encode(b.header.relay_set_hash),
        time_ms: b.header.time_ms,
        signatures: b.qc.as_ref().map_or(0, |q| q.signatures.len()),
        is_final: b.qc.is_some(),
    }
}

/// The newest block (`null` before the first).
#[utoipa::path(get, path = "/v1/refchain/head", responses((status = 200, body = Option<BlockView>)))]
pub async fn head(state: web::Data<ApiState>) -> HttpResponse {
    let b = state.hub.blocks(None, 1).await;
    HttpResponse::Ok().json(b.first().map(block_view))
}

/// Query of `GET /v1/refchain/blocks`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BlocksQuery {
    /// Highest height wanted (default: the head).
    pub before: Option<u64>,
    /// How many, 1 … 100 (default 10).
    pub limit: Option<usize>,
}

/// Blocks, newest first.
#[utoipa::path(get, path = "/v1/refchain/blocks", params(BlocksQuery), responses((status = 200, body = [BlockView]), (status = 400, body = super::ErrorBody)))]
pub async fn blocks(
    state: web::Data<ApiState>,
    q: super::Query<BlocksQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if limit == 0 || limit > 100 {
        return Err(ApiError::bad("limit", "1 … 100"));
    }
    let b = state.hub.blocks(q.before, limit).await;
    Ok(HttpResponse::Ok().json(b.iter().map(block_view).collect::<Vec<_>>()))
}

/// One block with its header and quorum certificate.
#[utoipa::path(get, path = "/v1/refchain/blocks/{height}", params(("height" = u64, Path)),
    responses((status = 400, body = super::ErrorBody), (status = 200, description = "header, quorum certificate and summary"), (status = 404, body = super::ErrorBody)))]
pub async fn block(
    state: web::Data<ApiState>,
    height: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    let h = height.into_inner();
    let b = state.hub.blocks(Some(h), 1).await;
    match b.into_iter().next().filter(|b| b.header.height == h) {
        Some(b) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "summary": block_view(&b),
            "header": b.header,
            "qc": b.qc,
        }))),
        None => Err(ApiError::not_found(
            "height",
            format!("no block at height {h}"),
        )),
    }
}

/// Counters.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatsView {
    /// Transfers per state.
    pub transfers: std::collections::BTreeMap<String, usize>,
    /// Next commit-log sequence number.
    pub log_next_seq: u64,
    /// Blocks sealed.
    pub blocks: usize,
    /// Finalized transfers awaiting delivery.
    pub backlog: usize,
}

/// Counters for the status page.
#[utoipa::path(get, path = "/v1/stats", responses((status = 200, body = StatsView), (status = 503, body = super::ErrorBody)))]
pub async fn stats(state: web::Data<ApiState>) -> Result<HttpResponse, ApiError> {
    let s = state
        .hub
        .stats()
        .await
        .ok_or_else(|| ApiError::unavailable("the router does not answer"))?;
    Ok(HttpResponse::Ok().json(StatsView {
        transfers: s
            .by_state
            .iter()
            .map(|(st, n)| (state_name(*st).to_string(), *n))
            .collect(),
        log_next_seq: s.next_seq,
        blocks: s.blocks,
        backlog: s.undelivered,
    }))
}
