//! Starts the hub: tracing, settings, the listener, then [`hub::Application`] until
//! SIGTERM/SIGINT, which closes every socket with 1001, writes changed documents and stops.

use anyhow::Context;
use hub::settings::Settings;
use hub::Application;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on `listen` = {}", settings.listen))?;
    tracing::info!(address = %listener.local_addr()?, "hub listening on /hub");
    let app = Application::build(settings, listener).await?;
    http_edge::shutdown::cancel_on_signals(app.shutdown_token())?;
    app.run_until_stopped().await?;
    Ok(())
}
