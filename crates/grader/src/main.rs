//! The grader binary: tracing, settings, the listener, and SIGTERM/SIGINT → graceful shutdown.

use anyhow::Context;
use grader::Settings;
use std::process::ExitCode;
use tokio::signal::unix::{signal, SignalKind};
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

    let shutdown = CancellationToken::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: finishing jobs in flight"),
            _ = interrupt.recv() => tracing::info!("SIGINT: finishing jobs in flight"),
        }
        on_signal.cancel();
    });

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
