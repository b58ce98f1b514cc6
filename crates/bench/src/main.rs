//! Benchmarks that print figures next to their limit, measured in the same run.
//!
//! `cargo run --release -p bench -- grading [--submissions N] [--concurrency C]`
//! starts the real api and grader in-process against the local Redis, Postgres and Docker,
//! submits N correct solutions at concurrency C, and compares submit-to-verdict latency with
//! a bare `docker run --rm` of the same sandbox image; then compares cached and uncached
//! assignment-list reads.
//!
//! `cargo run --release -p bench -- hub [--rooms R] [--editors E] [--seconds S] [--interval-ms I]`
//! has R rooms of E editors each type into a shared Yjs document every I ms for S seconds
//! through Debian's reference y-websocket server, and reports edit-to-peer latency, updates and
//! deliveries per second, losses, convergence, server memory per document and CPU.
//!
//! `cargo run --release -p bench -- ide [--keystrokes N] [--gap-ms G]` types N keystrokes in
//! one headless Chromium into a file another Chromium has open in the web IDE, and reports
//! keystroke-to-rendered latency next to two bare Yjs clients through the hub, with the ratio.
//! `cargo run --release -p bench -- class [--students N] [--seconds S] [--move-ms M]` puts a
//! course of N students on the hub's class presence socket across two hub replicas, each
//! moving to another file every M ms for S seconds, and reports move-to-arrival latency at the
//! others, Redis commands per second and hub memory per online student.
//! `cargo run --release -p bench -- faults [--only NAME,…] [--students N] [--writers W]
//! [--work-dir DIR]` is the fault campaign (`deploy/faults.sh`): the release binaries as
//! separate processes under a steady load, one fault after another, and a table of what each
//! did to submissions and edits and how long the platform took to recover.

mod class;
mod faults;
mod grading;
mod hub;
mod ide;
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

/// The value after `name`, if given.
fn text_flag(args: &[String], name: &str) -> anyhow::Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(Some(
            args.get(i + 1)
                .context(format!("{name} needs a value"))?
                .clone(),
        )),
        None => Ok(None),
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
        Some("hub") => {
            let options = hub::Options {
                rooms: flag(&args, "--rooms", 200)?,
                editors: flag(&args, "--editors", 5)?,
                seconds: flag(&args, "--seconds", 20)? as u64,
                interval_ms: flag(&args, "--interval-ms", 100)? as u64,
            };
            hub::run(options).await
        }
        Some("class") => {
            let options = class::Options {
                students: flag(&args, "--students", 300)?,
                seconds: flag(&args, "--seconds", 20)? as u64,
                move_ms: flag(&args, "--move-ms", 3000)? as u64,
            };
            class::run(options).await
        }
        Some("ide") => {
            let options = ide::Options {
                keystrokes: flag(&args, "--keystrokes", 500)?,
                gap_ms: flag(&args, "--gap-ms", 30)? as u64,
            };
            ide::run(options).await
        }
        Some("faults") => {
            let options = faults::Options {
                only: text_flag(&args, "--only")?
                    .map(|names| names.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                students: flag(&args, "--students", 3)?,
                writers: flag(&args, "--writers", 4)?,
                work_dir: text_flag(&args, "--work-dir")?.map(Into::into),
            };
            // The table says what failed; a failed fault is no error of the command's.
            if !faults::run(options).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        _ => bail!(
            "usage: bench grading [--submissions N] [--concurrency C] [--list-seconds S]\n       \
             bench hub [--rooms R] [--editors E] [--seconds S] [--interval-ms I]\n       \
             bench ide [--keystrokes N] [--gap-ms G]\n       \
             bench class [--students N] [--seconds S] [--move-ms M]\n       \
             bench faults [--only NAME,…] [--students N] [--writers W] [--work-dir DIR]"
        ),
    }
}
