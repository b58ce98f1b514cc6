//! Starts the hub: tracing, settings, the listener, then [`hub::run`] until SIGTERM/SIGINT, which closes every socket with 1001, writes changed documents and stops.

use hub::settings::Settings;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    settings::init_tracing();
    let settings = Settings::load()?;
    let listener = http_edge::listen("hub", &settings.listen)?;
    hub::run(settings, listener)
        .await?
        .until_signalled()
        .await?;
    Ok(())
}
