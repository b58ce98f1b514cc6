//! Stopping: SIGTERM or SIGINT cancels one token; everything long-running listens to it, and
//! the HTTP server stops when it is cancelled (so that sockets get their close frames first).

use actix_web::dev::ServerHandle;
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGTERM or SIGINT.
pub fn cancel_on_signals(token: CancellationToken) -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: stopping"),
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
            () = token.cancelled() => return,
        }
        token.cancel();
    });
    Ok(())
}

/// Stops `server` gracefully once `token` is cancelled.
pub fn stop_server_on(token: CancellationToken, server: ServerHandle) {
    tokio::spawn(async move {
        token.cancelled().await;
        server.stop(true).await;
    });
}
