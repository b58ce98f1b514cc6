//! Starts the relay: tracing, settings, the listener, then [`relay::run`] until SIGTERM/SIGINT, which closes every socket with 1001 and stops.

use relay::settings::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = http_edge::listen("relay", &settings.listen)?;
    relay::run(settings, listener)
        .await?
        .until_signalled()
        .await?;
    Ok(())
}
