//! The floor of an actix-web request on this machine, for `cargo xtask load`: the same server
//! settings as `gov serve` (`startup.rs`: default workers unless `--workers`, signals left to
//! the caller) and one route, `POST /hello`, that reads the body and answers a small JSON.
//!
//!     cargo run --release -p gov-api --example hello -- [--listen 127.0.0.1:0] [--workers N]
//!
//! Prints `listening on ADDR` once bound.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, post, web};
use anyhow::{Context, bail};

#[post("/hello")]
async fn hello(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"hello": "world", "bytes": body.len()}))
}

fn main() -> anyhow::Result<()> {
    let (mut listen, mut workers) = ("127.0.0.1:0".to_owned(), None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value,
            "--workers" => workers = Some(value.parse::<usize>().context("--workers")?),
            other => bail!("unknown flag {other}"),
        }
    }
    let listener = TcpListener::bind(&listen).with_context(|| format!("cannot listen on {listen}"))?;
    println!("listening on {}", listener.local_addr()?);
    actix_web::rt::System::new().block_on(async move {
        let mut server = HttpServer::new(|| App::new().service(hello)).disable_signals().listen(listener)?;
        if let Some(workers) = workers {
            server = server.workers(workers.max(1));
        }
        server.run().await
    })?;
    Ok(())
}
