//! The fault campaign (`bench faults`, run by `deploy/faults.sh`): the platform's release
//! binaries as separate processes on a Postgres, a Redis and a Docker socket of the campaign's
//! own ([`platform`]), a steady load of students submitting ([`students`]) and editors typing
//! ([`editors`]), and one phase per fault ([`fault`]): baseline, inject, hold, heal, time to
//! recover ([`probe`]), then what the fault did to the work sent meanwhile ([`check`]). It
//! prints one table row per fault and `N passed, N failed` ([`report`]), and fails when any
//! fault lost or doubled work or took over 30 s to recover from.

mod check;
mod docker_proxy;
mod editors;
mod fault;
mod http;
mod peer;
mod platform;
mod postgres;
mod probe;
mod redis;
mod relay;
mod report;
mod setup;
mod students;
mod supervise;

use editors::Editing;
use fault::Fault;
use http::Http;
use platform::{Build, Platform};
use probe::Prober;
use relay::RelayWatch;
use report::Row;
use setup::World;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// Each student submits this often.
const SUBMIT_EVERY: Duration = Duration::from_secs(5);
/// Each writer types a token this often.
const TYPE_EVERY: Duration = Duration::from_millis(250);
/// Load before the fault is injected.
const BASELINE: Duration = Duration::from_secs(5);
/// Load after the platform has recovered, before the load stops.
const AFTER_RECOVERY: Duration = Duration::from_secs(3);

pub struct Options {
    /// Names of the faults to run (all when empty).
    pub only: Vec<String>,
    pub students: usize,
    pub writers: usize,
    /// Where the databases and sockets live; a folder in the temp dir when unset. Removed at
    /// the end either way.
    pub work_dir: Option<PathBuf>,
}

/// Runs the campaign; whether every fault passed.
pub async fn run(options: Options) -> anyhow::Result<bool> {
    let faults = chosen(&options.only)?;
    anyhow::ensure!(options.students > 0, "--students must be at least 1");
    anyhow::ensure!(options.writers > 0, "--writers must be at least 1");
    let root = testkit::env::repo_root().canonicalize()?;
    let logs = root.join("target/faults");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs)?;
    let work = options
        .work_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("faults-{}", std::process::id())));
    std::fs::create_dir_all(&work)?;
    // The postgres user must reach its data folder inside.
    std::fs::set_permissions(&work, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let build = Build {
        bin_dir: root.join("target/release"),
        migrations: root.join("flyway/sql"),
        sandbox_tag: testkit::sandbox::tag(),
    };
    let outcome = campaign(&build, &work, &logs, &faults, &options).await;
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("[faults] logs of every process: {}", logs.display());
    Ok(outcome?.iter().all(Row::passed))
}

/// The faults `only` names, in campaign order; all of them when it is empty.
fn chosen(only: &[String]) -> anyhow::Result<Vec<Fault>> {
    if let Some(unknown) = only
        .iter()
        .find(|name| !Fault::ALL.iter().any(|f| &f.name() == *name))
    {
        let known: Vec<String> = Fault::ALL.iter().map(|f| f.name()).collect();
        anyhow::bail!("unknown fault `{unknown}`; known: {}", known.join(", "));
    }
    Ok(Fault::ALL
        .into_iter()
        .filter(|f| only.is_empty() || only.contains(&f.name()))
        .collect())
}

/// Starts the platform, runs the phases, prints the table and stops everything, also when
/// interrupted (SIGINT, SIGTERM).
async fn campaign(
    build: &Build,
    work: &Path,
    logs: &Path,
    faults: &[Fault],
    options: &Options,
) -> anyhow::Result<Vec<Row>> {
    let clock = Clock(Instant::now());
    clock.say("starting Postgres, Redis, the Docker proxy, api, grader, relay and two hubs");
    let platform = tokio::select! {
        platform = Platform::start(build, work, logs) => platform?,
        signal = interrupted() => anyhow::bail!("interrupted by {signal}"),
    };
    let outcome = tokio::select! {
        rows = phases(&platform, faults, options, &clock) => rows,
        signal = interrupted() => Err(anyhow::anyhow!("interrupted by {signal}")),
    };
    clock.say("stopping the platform");
    platform.stop().await;
    let rows = outcome?;
    println!("{}", report::render(&rows, probe::LIMIT));
    Ok(rows)
}

async fn interrupted() -> &'static str {
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

/// Progress lines with the time since the start.
struct Clock(Instant);

impl Clock {
    fn say(&self, what: &str) {
        eprintln!("[faults {:>6.1}s] {what}", self.0.elapsed().as_secs_f64());
    }
}

/// What every phase works with.
struct Campaign<'a> {
    platform: &'a Platform,
    api: Http,
    hub: Http,
    world: World,
    prober: Prober,
    writers: usize,
    clock: &'a Clock,
}

impl Campaign<'_> {
    /// Document `file`'s socket URL on each hub replica, for the user of `token`.
    fn document(&self, file: i64, token: &str) -> [String; 2] {
        self.platform.hub_urls.clone().map(|base| {
            format!(
                "{}/hub/projects/{}/docs/{file}?token={token}",
                base.replacen("http://", "ws://", 1),
                self.world.project
            )
        })
    }
}

async fn phases(
    platform: &Platform,
    faults: &[Fault],
    options: &Options,
    clock: &Clock,
) -> anyhow::Result<Vec<Row>> {
    clock.say("creating the teacher, course, students, prober and shared project");
    let api = Http::new(&platform.api_url)?;
    let hub = Http::new(&platform.hub_urls[0])?;
    let world = World::create(&api, &hub, &platform.postgres.url(), options.students).await?;
    let probe_file = world.new_document(&hub, "probe").await?;
    let relay = Arc::new(RelayWatch::default());
    let stop_relay = CancellationToken::new();
    let _stop_relay = stop_relay.clone().drop_guard();
    tokio::spawn({
        let (relay, url, token) = (
            relay.clone(),
            platform.relay_url.clone(),
            world.prober.token.clone(),
        );
        async move { relay.run(url, token, stop_relay).await }
    });
    let mut campaign = Campaign {
        platform,
        prober: Prober {
            api: api.clone(),
            relay,
            session: world.prober.clone(),
            assignment: world.assignment,
            document: [String::new(), String::new()],
            tries: Default::default(),
        },
        api,
        hub,
        world,
        writers: options.writers,
        clock,
    };
    campaign.prober.document = campaign.document(probe_file, &campaign.world.editors[0].token);

    let mut rows = Vec::with_capacity(faults.len());
    for (i, &fault) in faults.iter().enumerate() {
        let heading = format!("[{}/{}] {}", i + 1, faults.len(), fault.label());
        let mut row = Row {
            fault: fault.label(),
            ..Row::default()
        };
        if let Err(error) = phase(&campaign, fault, &heading, &mut row).await {
            row.broken = Some(format!("{error:#}"));
        }
        for process in platform.processes() {
            row.notes.extend(process.take_exits());
        }
        let verdict = match row.failures().as_slice() {
            [] => "passed".to_owned(),
            failures => format!("FAILED: {}", failures.join("; ")),
        };
        clock.say(&format!("{heading}: {verdict}"));
        rows.push(row);
    }
    Ok(rows)
}

/// One fault under load, filling in `row`.
async fn phase(c: &Campaign<'_>, fault: Fault, heading: &str, row: &mut Row) -> anyhow::Result<()> {
    let say = |what: &str| c.clock.say(&format!("{heading}: {what}"));
    let database = c.platform.postgres.url();
    say("baseline: probing");
    healthy_to_begin(c, row).await?;
    let after = check::highest_submission(&database).await?;
    let file = c.world.new_document(&c.hub, &fault.name()).await?;
    let stop = CancellationToken::new();
    let _stop_load = stop.clone().drop_guard();
    let students = tokio::spawn(students::submit_steadily(
        c.api.clone(),
        c.world.assignment,
        c.world.students.clone(),
        SUBMIT_EVERY,
        stop.clone(),
    ));
    let editors = &c.world.editors;
    let editing = Editing::start(
        |i| c.document(file, &editors[i % 2].token),
        c.writers,
        TYPE_EVERY,
        &stop,
    );
    tokio::time::sleep(BASELINE).await;

    say(&format!("injecting, holding {} s", fault.hold().as_secs()));
    let injected = fault.inject_and_hold(c.platform).await;
    say("healing");
    let healed = fault.heal(c.platform).await;
    row.notes.extend(injected?);
    healed?;
    let recovery = c.prober.recover().await;
    row.recovery = recovery.total();
    row.notes
        .extend(recovery.missing().into_iter().map(str::to_owned));
    match row.recovery {
        Some(took) => say(&format!("recovered in {:.1} s", took.as_secs_f64())),
        None => say(&format!("not recovered: {}", recovery.missing().join("; "))),
    }
    tokio::time::sleep(AFTER_RECOVERY).await;

    stop.cancel();
    let attempts = students.await?;
    let edits = editing.finish().await;
    let upto = check::highest_submission(&database).await?;
    say("load stopped; waiting for the last verdicts and document syncs");
    let count = check::submissions(&database, &c.platform.redis.url(), after, upto).await?;
    row.sent = count.sent;
    row.graded = count.graded;
    row.lost = count.lost();
    row.graded_twice = count.twice;
    row.notes.push(attempts.to_string());
    for (how, n) in &count.lost_as {
        row.notes.push(format!("{n} submissions ended {how}"));
    }
    let joiners = c.document(file, &editors[0].token);
    let (missing, notes) = check::lost_edits(&database, file, &edits.acknowledged, joiners).await?;
    let never = edits.never_acknowledged();
    row.edits_acknowledged = edits.acknowledged.len() as u64;
    row.edits_lost = (missing.len() + never.len()) as u64;
    row.notes.push(format!(
        "edits typed {}, acknowledged {}",
        edits.typed.len(),
        edits.acknowledged.len()
    ));
    if !never.is_empty() {
        row.notes.push(format!(
            "{} edits typed were never received by anyone, although the platform had \
             recovered and their writers stayed on it for up to {} s after the last edit \
             (peers without a socket then: {}); the first: {}",
            never.len(),
            editors::SETTLE.as_secs(),
            edits.offline_at_end,
            never[..never.len().min(5)].join(" ")
        ));
    }
    row.notes.extend(notes);
    Ok(())
}

/// The baseline probe; when it fails, every service is restarted once (so that one fault's
/// damage is not counted against the next) and the row says so.
async fn healthy_to_begin(c: &Campaign<'_>, row: &mut Row) -> anyhow::Result<()> {
    let baseline = c.prober.recover().await;
    if baseline.total().is_some() {
        return Ok(());
    }
    row.notes.push(format!(
        "not healthy before the fault ({}): every service was restarted first",
        baseline.missing().join("; ")
    ));
    for service in c.platform.services() {
        service.kill().await;
        service.resume()?;
    }
    c.platform.wait_until_ready().await?;
    let again = c.prober.recover().await;
    anyhow::ensure!(
        again.total().is_some(),
        "not healthy before the fault, even after restarting every service: {}",
        again.missing().join("; ")
    );
    Ok(())
}
