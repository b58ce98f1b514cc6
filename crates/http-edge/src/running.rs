//! A service once built: its HTTP server, bound and started, the background tasks that live as
//! long as it (stream readers, syncs) and the one token that stops them all. Every service's
//! `run` returns one, so stopping works the same everywhere: cancelling the token stops
//! the server gracefully (see [`shutdown::stop_server_on`]), and once the server has finished
//! the background tasks are cancelled too and awaited.

use crate::shutdown;
use actix_web::dev::Server;
use std::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Binds `address` (a setting named `listen`), saying so in the log.
pub fn listen(service: &str, address: &str) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(address).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on `listen` = {address}: {e}"),
        )
    })?;
    tracing::info!(address = %listener.local_addr()?, "{service} listening");
    Ok(listener)
}

/// A started HTTP server plus its background tasks and their shutdown token.
pub struct Running {
    server: Server,
    port: u16,
    background: Vec<JoinHandle<()>>,
    shutdown: CancellationToken,
}

impl Running {
    /// Takes over `server`, listening on `port`, and the `background` tasks; the server stops
    /// gracefully once `shutdown` is cancelled.
    ///
    /// Build the server with `disable_signals()`: stopping is driven by `shutdown` alone, so
    /// that sockets get their close frames before the server stops.
    pub fn new(
        server: Server,
        port: u16,
        shutdown: CancellationToken,
        background: Vec<JoinHandle<()>>,
    ) -> Self {
        shutdown::stop_server_on(shutdown.clone(), server.handle());
        Self {
            server,
            port,
            background,
            shutdown,
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The token that stops the server and the background tasks.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until SIGTERM or SIGINT (or the server fails), then stops as
    /// [`Running::run_until_stopped`] does: what a service's `main` does.
    pub async fn until_signalled(self) -> std::io::Result<()> {
        shutdown::cancel_on_signals(self.shutdown_token())?;
        self.run_until_stopped().await
    }

    /// Serves until the shutdown token is cancelled (or the server fails), then cancels it for
    /// the background tasks and waits for each of them to finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.shutdown.cancel();
        for task in self.background {
            let _ = task.await;
        }
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, HttpServer};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_stops_the_server_then_waits_for_background_tasks() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(App::new)
            .workers(1)
            .listen(listener)
            .unwrap()
            .disable_signals()
            .shutdown_timeout(1)
            .run();
        let shutdown = CancellationToken::new();
        let finished = Arc::new(AtomicBool::new(false));
        let task = {
            let (shutdown, finished) = (shutdown.clone(), finished.clone());
            tokio::spawn(async move {
                shutdown.cancelled().await;
                // Work left after the signal, which stopping has to wait for.
                tokio::time::sleep(Duration::from_millis(50)).await;
                finished.store(true, Ordering::SeqCst);
            })
        };
        let running = Running::new(server, port, shutdown, vec![task]);
        assert_eq!(running.port(), port);

        running.shutdown_token().cancel();
        tokio::time::timeout(Duration::from_secs(10), running.run_until_stopped())
            .await
            .expect("stops in time")
            .expect("served without error");
        assert!(finished.load(Ordering::SeqCst));
    }
}
