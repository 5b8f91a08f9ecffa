//! Floor for `benches/load.sh`: a plain actix-web 4 server that takes the hub's
//! `POST /v1/transfers` requests and does no work with them: it reads the body and answers
//! `202` with a JSON body of the hub's shape. The same requests and wrk script as the hub run
//! measure what the HTTP traffic alone costs (2 KB bodies instead of hello-world's none).
//! `GET /healthz` answers like the hub's (the wrk script's filler). Usage: `sink 127.0.0.1:PORT`
//! (2 workers).

use actix_web::{web, App, HttpResponse, HttpServer};
use std::sync::atomic::{AtomicU64, Ordering};

static SEQ: AtomicU64 = AtomicU64::new(0);

async fn transfer(body: web::Bytes) -> HttpResponse {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Accepted()
        .content_type("application/json")
        .body(format!(
            r#"{{"id":"0x{:064x}","status":"committed","seq":{seq},"existing":false}}"#,
            body.len()
        ))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8082".to_string());
    HttpServer::new(|| {
        App::new()
            .app_data(web::PayloadConfig::new(1 << 20))
            .route("/v1/transfers", web::post().to(transfer))
            .route("/healthz", web::get().to(healthz))
    })
    .workers(2)
    .bind(addr)?
    .run()
    .await
}
