//! Starts the api: settings, tracing, then [`api::Application`] until SIGTERM/SIGINT.

use anyhow::Context;
use api::settings::Settings;
use api::Application;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(address = %settings.listen, "api listening");
    let app = Application::build(settings, listener).await?;
    http_edge::shutdown::cancel_on_signals(app.shutdown_token())?;
    app.run_until_stopped().await?;
    Ok(())
}
