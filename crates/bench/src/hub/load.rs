//! Drives rooms of editors against one target and summarises what they saw.

use super::editor::{Editor, Outcome, Room, Schedule, Tally};
use super::{process, Options, Target};
use crate::stats::Summary;
use futures_util::{stream, StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Handshakes in flight at once, so the server is not hit by every editor at the same instant.
const CONNECT_CONCURRENCY: usize = 32;
/// Time after the last edit for its deliveries to arrive before they count as lost.
const GRACE: Duration = Duration::from_secs(5);
/// Deliveries slower than this are reported as late.
const LATE: Duration = Duration::from_secs(1);

/// What one target did under the load.
pub struct Report {
    pub name: String,
    pub rooms: usize,
    pub editors: usize,
    pub interval: Duration,
    pub window: Duration,
    pub handshakes: Summary,
    /// Edit sent by one editor → applied by another editor of its room; `per_second` counts
    /// the deliveries applied inside the edit window.
    pub latency: Summary,
    pub sent: u64,
    pub expected: u64,
    pub lost: u64,
    pub late: usize,
    pub failed_editors: usize,
    pub first_failure: Option<String>,
    pub converged_rooms: usize,
    pub mean_text_len: usize,
    pub rss_before: u64,
    pub rss_after: u64,
    /// Socket backlogs at the end of the edits, if the target's URLs name a port.
    pub unread: Option<process::Unread>,
    pub server_cpu: Duration,
    pub generator_cpu: Duration,
    /// Everything else on the machine in the same window, e.g. a build running next to us.
    pub others_cpu: Duration,
}

impl Report {
    pub fn sent_per_second(&self) -> f64 {
        self.sent as f64 / self.window.as_secs_f64()
    }

    /// Server memory growth per document, including its editors' connections.
    pub fn memory_per_document(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.rooms as f64
    }
}

/// Connects `options.rooms × options.editors` editors to `target`, lets them edit for
/// `options.seconds`, and reports latency, throughput, losses, convergence, memory and CPU.
pub async fn load(target: &Target, options: &Options) -> anyhow::Result<Report> {
    anyhow::ensure!(options.rooms > 0, "--rooms must be at least 1");
    anyhow::ensure!(options.editors >= 2, "--editors must be at least 2");
    anyhow::ensure!(options.interval_ms > 0, "--interval-ms must be at least 1");
    anyhow::ensure!(options.seconds > 0, "--seconds must be at least 1");
    let (rooms, editors) = (options.rooms, options.editors);
    let total = rooms * editors;
    let interval = Duration::from_millis(options.interval_ms);
    let window = Duration::from_secs(options.seconds);
    let rss_before = process::rss(target.pid)?;
    let tally = Arc::new(Tally::default());
    let shared: Vec<Arc<Room>> = (0..rooms).map(|_| Arc::new(Room::new(editors))).collect();

    eprintln!("{}: connecting {total} editors…", target.name);
    let connecting = Instant::now();
    let slots = (0..rooms).flat_map(|room| (0..editors).map(move |editor| (room, editor)));
    let connected: Vec<(Editor, Duration, Duration)> = stream::iter(slots)
        .map(|(room, editor)| {
            let url = (target.url_for)(room, editor);
            let (shared, tally) = (shared[room].clone(), tally.clone());
            // Editors of a room are spread evenly over the interval, and rooms between them.
            let phase = interval.mul_f64((editor * rooms + room) as f64 / total as f64);
            async move {
                let (editor, took) = Editor::connect(&url, room, editor, shared, tally).await?;
                Ok::<_, anyhow::Error>((editor, took, phase))
            }
        })
        .buffer_unordered(CONNECT_CONCURRENCY)
        .try_collect()
        .await?;
    let handshakes = Summary::of(
        connected.iter().map(|(_, took, _)| *took).collect(),
        connecting.elapsed(),
    );

    eprintln!("{}: editing for {window:?}…", target.name);
    let start = Instant::now() + Duration::from_millis(200);
    let schedule = Arc::new(Schedule {
        start,
        interval,
        edit_until: start + window,
        finish: CancellationToken::new(),
    });
    // Editors stop on every way out of here, errors included.
    let _stop_editors = schedule.finish.clone().drop_guard();
    let tasks: Vec<_> = connected
        .into_iter()
        .map(|(editor, _, phase)| tokio::spawn(editor.run(schedule.clone(), phase)))
        .collect();
    tokio::time::sleep_until(start.into()).await;
    let (server_cpu_start, generator_cpu_start, machine_start) = (
        process::cpu_time(target.pid)?,
        process::own_cpu_time(),
        process::machine_busy()?,
    );
    tokio::time::sleep_until(schedule.edit_until.into()).await;
    let rss_after = process::rss(target.pid)?;
    let unread = process::url_port(&(target.url_for)(0, 0))
        .map(process::unread)
        .transpose()?;
    let server_cpu = process::cpu_time(target.pid)? - server_cpu_start;
    let generator_cpu = process::own_cpu_time() - generator_cpu_start;
    let others_cpu =
        (process::machine_busy()? - machine_start).saturating_sub(server_cpu + generator_cpu);

    // An edit begun just before the deadline may not be counted yet; give it one interval.
    tokio::time::sleep(interval).await;
    let grace_end = Instant::now() + GRACE;
    let everything = |tally: &Tally| {
        tally.delivered.load(Ordering::Relaxed)
            >= tally.sent.load(Ordering::Relaxed) * (editors as u64 - 1)
    };
    while !everything(&tally) && Instant::now() < grace_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    schedule.finish.cancel();
    let mut outcomes = Vec::with_capacity(total);
    for task in tasks {
        outcomes.push(task.await?);
    }
    let observed = observe(outcomes, window);
    let sent = tally.sent.load(Ordering::Relaxed);
    let expected = sent * (editors as u64 - 1);
    Ok(Report {
        name: target.name.clone(),
        rooms,
        editors,
        interval,
        window,
        handshakes,
        latency: observed.latency,
        sent,
        expected,
        lost: expected.saturating_sub(observed.delivered),
        late: observed.late,
        failed_editors: observed.failures.len(),
        first_failure: observed.failures.into_iter().next(),
        converged_rooms: observed.converged_rooms,
        mean_text_len: observed.mean_text_len,
        rss_before,
        rss_after,
        unread,
        server_cpu,
        generator_cpu,
        others_cpu,
    })
}

/// What the editors saw, put together.
struct Observed {
    latency: Summary,
    delivered: u64,
    late: usize,
    failures: Vec<String>,
    converged_rooms: usize,
    mean_text_len: usize,
}

fn observe(outcomes: Vec<Outcome>, window: Duration) -> Observed {
    let mut latencies = Vec::new();
    let mut in_window = 0;
    let mut failures = Vec::new();
    let mut texts: HashMap<usize, Vec<String>> = HashMap::new();
    for outcome in outcomes {
        latencies.extend(outcome.latencies);
        in_window += outcome.in_window;
        // A failed editor's room cannot count as converged, so it gets a text no one else has.
        let text = match outcome.failure {
            Some(failure) => {
                failures.push(format!("{failure:#}"));
                String::from("\0")
            }
            None => outcome.text,
        };
        texts.entry(outcome.room).or_default().push(text);
    }
    let delivered = latencies.len() as u64;
    let late = latencies.iter().filter(|&&l| l > LATE).count();
    let mut latency = Summary::of(latencies, window);
    latency.per_second = in_window as f64 / window.as_secs_f64();
    let converged_rooms = texts
        .values()
        .filter(|room| room.windows(2).all(|pair| pair[0] == pair[1]))
        .count();
    let lengths: Vec<usize> = texts.values().flatten().map(String::len).collect();
    Observed {
        latency,
        delivered,
        late,
        failures,
        converged_rooms,
        mean_text_len: lengths.iter().sum::<usize>() / lengths.len().max(1),
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.window.as_secs_f64();
        let share = |cpu: Duration| 100.0 * cpu.as_secs_f64() / seconds;
        writeln!(
            f,
            "\n== hub sync: {}, {} rooms × {} editors, one edit per editor every {:?} for {:?}",
            self.name, self.rooms, self.editors, self.interval, self.window
        )?;
        writeln!(f, "{}", Summary::header())?;
        writeln!(f, "{}", self.handshakes.row("connect + sync handshake"))?;
        writeln!(
            f,
            "{}",
            self.latency.row("edit → applied by another editor")
        )?;
        writeln!(
            f,
            "updates sent {} ({:.1}/s of {:.1}/s scheduled); deliveries {} of {} expected, \
             not delivered within {GRACE:?} of the end {}, late (> {LATE:?}) {}",
            self.sent,
            self.sent_per_second(),
            (self.rooms * self.editors) as f64 / self.interval.as_secs_f64(),
            self.latency.count,
            self.expected,
            self.lost,
            self.late
        )?;
        writeln!(
            f,
            "rooms converged (every editor has the same text): {}/{}, mean text {} bytes; \
             editors failed: {}",
            self.converged_rooms, self.rooms, self.mean_text_len, self.failed_editors
        )?;
        if let Some(failure) = &self.first_failure {
            writeln!(f, "first failure: {failure}")?;
        }
        writeln!(
            f,
            "server RSS {:.1} MiB before connecting, {:.1} MiB at the end of the edits: \
             {:.1} KiB per open document (with its {} connections)",
            mib(self.rss_before),
            mib(self.rss_after),
            self.memory_per_document() / 1024.0,
            self.editors
        )?;
        if let Some(unread) = &self.unread {
            writeln!(
                f,
                "unread in socket buffers at the end of the edits: by the server {:.1} KiB, \
                 by the editors {:.1} KiB",
                unread.by_server as f64 / 1024.0,
                unread.by_clients as f64 / 1024.0
            )?;
        }
        write!(
            f,
            "CPU during the edit window: server {:.1} s ({:.0}% of one core), \
             load generator {:.1} s ({:.0}%), other processes {:.1} s ({:.0}%); {} cores",
            self.server_cpu.as_secs_f64(),
            share(self.server_cpu),
            self.generator_cpu.as_secs_f64(),
            share(self.generator_cpu),
            self.others_cpu.as_secs_f64(),
            share(self.others_cpu),
            std::thread::available_parallelism().map_or(0, usize::from)
        )
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
