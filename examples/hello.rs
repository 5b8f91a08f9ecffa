//! Baseline for `benches/load.sh`: a plain actix-web 4 hello-world server.
//! `GET /` answers "hello". Usage: `hello 127.0.0.1:PORT` (2 workers).

use actix_web::{web, App, HttpServer, Responder};

async fn hello() -> impl Responder {
    "hello"
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_string());
    HttpServer::new(|| App::new().route("/", web::get().to(hello)))
        .workers(2)
        .bind(addr)?
        .run()
        .await
}
