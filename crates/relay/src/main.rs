//! Starts the relay: tracing, settings, the listener, then [`relay::Application`] until
//! SIGTERM/SIGINT, which closes every socket with 1001 and stops.

use anyhow::Context;
use relay::settings::Settings;
use relay::Application;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on `listen` = {}", settings.listen))?;
    tracing::info!(address = %listener.local_addr()?, "relay listening on /ws");
    let app = Application::build(settings, listener).await?;
    http_edge::shutdown::cancel_on_signals(app.shutdown_token())?;
    app.run_until_stopped().await?;
    Ok(())
}
