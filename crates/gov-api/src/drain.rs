//! Graceful shutdown. On SIGTERM or SIGINT the server drains: `/readyz` and every request that
//! arrives from then on get 503 `unavailable` with `Connection: close`, requests already being
//! served finish and their responses close the connection, and once no connection is left (or
//! the grace period is over) the server stops and the process exits. A second signal stops at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use anyhow::Context;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::startup::Server;

/// Whether the server is draining, and how many connections it still has open.
#[derive(Clone, Default)]
pub struct Drain(Arc<Inner>);

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    connections: AtomicUsize,
    closed: Notify,
}

/// Held by a connection's extensions for as long as the connection is open.
pub(crate) struct Connection(Drain);

impl Drop for Connection {
    fn drop(&mut self) {
        if self.0.0.connections.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.0.closed.notify_waiters();
        }
    }
}

impl Drain {
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }

    /// Starts draining (there is no way back: the process is about to exit).
    pub fn start(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    /// Counts a new connection until the returned guard is dropped.
    pub(crate) fn connection(&self) -> Connection {
        self.0.connections.fetch_add(1, Ordering::SeqCst);
        Connection(self.clone())
    }

    pub fn open_connections(&self) -> usize {
        self.0.connections.load(Ordering::SeqCst)
    }

    /// Waits until no connection is open or `deadline` passes; true when none is open.
    async fn until_closed(&self, deadline: Instant) -> bool {
        loop {
            let closed = self.0.closed.notified();
            if self.open_connections() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                return self.open_connections() == 0;
            }
        }
    }
}

/// The middleware: refuses new requests while draining and closes the connection after the
/// response of every request that was already being served.
pub(crate) async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let drain = req.app_data::<web::Data<Drain>>().map(|d| d.get_ref().clone()).unwrap_or_default();
    if drain.is_draining() {
        let mut res = ApiError::ShuttingDown.error_response();
        res.head_mut().set_connection_type(ConnectionType::Close);
        return Ok(req.into_response(res).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    if drain.is_draining() {
        res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
    }
    Ok(res.map_into_left_body())
}

/// Serves until SIGTERM or SIGINT, then drains for at most `grace` and stops.
pub async fn serve_until_signalled(server: Server, grace: Duration) -> anyhow::Result<()> {
    let Server { addr: _, server, drain } = server;
    let handle = server.handle();
    let mut running = std::pin::pin!(server);
    tokio::select! {
        result = &mut running => return result.context("server failed"),
        signal = shutdown_signal() => signal?,
    }
    drain.start();
    let open = drain.open_connections();
    tracing::info!(open_connections = open, grace_secs = grace.as_secs(), "shutdown signal: draining");
    let deadline = Instant::now() + grace;
    let drained = tokio::select! {
        result = &mut running => return result.context("server failed"),
        drained = drain.until_closed(deadline) => drained,
        signal = shutdown_signal() => {
            signal?;
            tracing::warn!("second shutdown signal: stopping now");
            false
        }
    };
    if !drained {
        tracing::warn!(
            open_connections = drain.open_connections(),
            "grace period over: closing the remaining connections"
        );
    }
    // Drained: nothing is left to wait for; otherwise the remaining connections are closed. The
    // server's own loop (`running`) carries the stop out, so it is awaited rather than `stop`'s
    // completion, which only that loop can signal.
    drop(handle.stop(drained));
    running.await.context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// The next SIGTERM or SIGINT.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("listening for Ctrl-C")
    }
}
