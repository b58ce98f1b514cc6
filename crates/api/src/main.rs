//! Starts the api: tracing, settings, the listener, then [`api::run`] until SIGTERM/SIGINT.

use api::settings::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = http_edge::listen("api", &settings.listen)?;
    api::run(settings, listener)
        .await?
        .until_signalled()
        .await?;
    Ok(())
}
