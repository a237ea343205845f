//! Builds the actix application and binds the server.

use std::net::{SocketAddr, TcpListener};

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use gov_facades::Gov;
use utoipa_actix_web::AppExt;

use crate::drain::{Drain, gate};
use crate::extract::{json_config, path_config, query_config};
use crate::guard::Classes;
use crate::metrics::Metrics;
use crate::observe::observe;
use crate::routes;
use crate::state::AppState;

/// Settings of the HTTP server itself.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: String,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Refuse guarded requests of tenants that are not live (seed 004 `GO_LIVE_ENFORCE`).
    pub go_live_enforce: bool,
    /// How often this process seals the audit trail into checkpoints (`None`: never).
    pub audit_seal_interval: Option<std::time::Duration>,
}

/// A bound, not yet awaited server. It does not react to signals itself:
/// [`crate::drain::serve_until_signalled`] does, for `gov serve`.
pub struct Server {
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    /// Whether it is draining for shutdown, and its open connections.
    pub drain: Drain,
}

/// The OpenAPI document of every registered endpoint, with the error responses each can answer.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = routes::register(App::new().into_utoipa_app()).split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    crate::openapi::add_error_responses(&mut api);
    api
}

pub fn start(gov: Gov, config: &ServerConfig) -> anyhow::Result<Server> {
    let listener =
        TcpListener::bind(&config.listen).with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    gov.log_startup(env!("CARGO_PKG_VERSION"), &addr.to_string()).context("recording the start-up")?;
    let api = openapi();
    let classes = Classes::of_document(&api);
    let openapi_json = api.to_json().context("rendering the OpenAPI document")?;
    if let Some(every) = config.audit_seal_interval {
        crate::sealer::spawn(gov.clone(), every);
    }
    let state = web::Data::new(AppState {
        gov,
        metrics: Metrics::new()?,
        openapi_json,
        max_body_bytes: config.max_body_bytes,
        go_live_enforce: config.go_live_enforce,
        classes,
    });
    let limit = config.max_body_bytes;
    let drain = Drain::default();
    let (app_drain, conn_drain) = (web::Data::new(drain.clone()), drain.clone());
    let mut server = HttpServer::new(move || {
        let (app, _) = routes::register(App::new().into_utoipa_app()).split_for_parts();
        app.app_data(state.clone())
            .app_data(json_config(limit))
            .app_data(web::PayloadConfig::new(limit))
            .app_data(path_config())
            .app_data(query_config())
            .app_data(app_drain.clone())
            .default_service(routes::not_found_config())
            .wrap(from_fn(gate))
            .wrap(from_fn(observe))
    })
    .on_connect(move |_, extensions| {
        extensions.insert(conn_drain.connection());
    })
    .disable_signals()
    .listen(listener)?;
    if let Some(workers) = config.workers {
        server = server.workers(workers.max(1));
    }
    Ok(Server { addr, server: server.run(), drain })
}
