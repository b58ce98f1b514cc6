//! Benchmarks that print figures next to their limit, measured in the same run.
//!
//! `cargo run --release -p bench -- grading [--submissions N] [--concurrency C]`
//! starts the real api and grader in-process against the local Redis, Postgres and Docker,
//! submits N correct solutions at concurrency C, and compares submit-to-verdict latency with
//! a bare `docker run --rm` of the same sandbox image; then compares cached and uncached
//! assignment-list reads.

mod grading;
mod stats;

use anyhow::{bail, Context};

fn flag(args: &[String], name: &str, default: usize) -> anyhow::Result<usize> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .context(format!("{name} needs a value"))?
            .parse()
            .context(format!("{name} needs a number")),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("grading") => {
            let options = grading::Options {
                submissions: flag(&args, "--submissions", 40)?,
                concurrency: flag(&args, "--concurrency", 4)?,
                list_seconds: flag(&args, "--list-seconds", 5)?,
            };
            grading::run(options).await
        }
        _ => bail!("usage: bench grading [--submissions N] [--concurrency C] [--list-seconds S]"),
    }
}
