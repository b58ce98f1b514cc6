//! Starts the relay: tracing, settings, the listener, then [`relay::Application`] until
//! SIGTERM/SIGINT, which closes every socket with 1001 and stops.

use anyhow::Context;
use relay::settings::Settings;
use relay::Application;
use tokio::signal::unix::{signal, SignalKind};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on `listen` = {}", settings.listen))?;
    tracing::info!(address = %listener.local_addr()?, "relay listening on /ws");
    let app = Application::build(settings, listener).await?;

    let shutdown = app.shutdown_token();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: closing sockets"),
            _ = interrupt.recv() => tracing::info!("SIGINT: closing sockets"),
        }
        shutdown.cancel();
    });
    app.run_until_stopped().await?;
    Ok(())
}
