//! The grader binary: tracing, settings, the listener, and SIGTERM/SIGINT → graceful shutdown.

use anyhow::Context;
use grader::Settings;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    settings::init_tracing();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("grader stopped: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let listener = std::net::TcpListener::bind(&settings.listen)
        .with_context(|| format!("cannot listen on `listen` = {}", settings.listen))?;
    tracing::info!(address = %listener.local_addr()?, "serving /healthz, /readyz, /metrics");

    // On SIGTERM/SIGINT the grader stops taking jobs and finishes the ones in flight.
    let shutdown = CancellationToken::new();
    http_edge::shutdown::cancel_on_signals(shutdown.clone())?;

    grader::run(settings, listener, shutdown).await?;
    Ok(())
}

/// The error and its causes, each once (some errors repeat their source in their message).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain().map(ToString::to_string) {
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}
