//! One row per fault, the rule that passes or fails it, and the table the campaign prints (in
//! Markdown, so it can be pasted into an issue as it is).

use std::fmt::Write as _;
use std::time::Duration;

/// The goal: back to work within this long after the fault is healed.
pub const RECOVERY_GOAL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Row {
    pub fault: String,
    pub sent: u64,
    pub graded: u64,
    pub lost: u64,
    pub graded_twice: u64,
    pub edits_acknowledged: u64,
    pub edits_lost: u64,
    /// From healing the fault until a fresh submission was graded and a fresh edit crossed
    /// replicas; `None` when that did not happen within the probe's limit.
    pub recovery: Option<Duration>,
    /// What the reader should know: how lost work ended, what exited by itself, …
    pub notes: Vec<String>,
    /// The phase could not be carried out (the campaign's own error).
    pub broken: Option<String>,
}

impl Row {
    /// Why the row fails; empty when it passes.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if let Some(error) = &self.broken {
            failures.push(format!("the phase could not be run: {error}"));
            return failures;
        }
        if self.sent == 0 {
            failures.push("no submission was accepted during the phase".to_owned());
        }
        if self.edits_acknowledged == 0 {
            failures.push("no edit was acknowledged during the phase".to_owned());
        }
        if self.lost > 0 {
            failures.push(format!("{} submissions lost", self.lost));
        }
        if self.graded_twice > 0 {
            failures.push(format!("{} submissions graded twice", self.graded_twice));
        }
        if self.edits_lost > 0 {
            failures.push(format!("{} edits lost", self.edits_lost));
        }
        match self.recovery {
            None => failures.push("did not recover".to_owned()),
            Some(took) if took > RECOVERY_GOAL => failures.push(format!(
                "recovered in {:.1} s, over {} s",
                took.as_secs_f64(),
                RECOVERY_GOAL.as_secs()
            )),
            Some(_) => {}
        }
        failures
    }

    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }
}

/// The table, the notes of each row that has any, and the closing `N passed, N failed` line.
pub fn render(rows: &[Row], probe_limit: Duration) -> String {
    let mut out = String::new();
    out.push_str(
        "| fault | submissions sent | graded | lost | graded twice | edits acknowledged \
         | edits lost | seconds to recover | result |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for row in rows {
        let recovery = match row.recovery {
            Some(took) => format!("{:.1}", took.as_secs_f64()),
            None => format!("> {}", probe_limit.as_secs()),
        };
        let result = if row.passed() { "passed" } else { "FAILED" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {recovery} | {result} |",
            row.fault,
            row.sent,
            row.graded,
            row.lost,
            row.graded_twice,
            row.edits_acknowledged,
            row.edits_lost,
        );
    }
    for row in rows {
        let failures = row.failures();
        if failures.is_empty() && row.notes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{}:", row.fault);
        for line in failures.iter().chain(&row.notes) {
            let _ = writeln!(out, "- {line}");
        }
    }
    let passed = rows.iter().filter(|row| row.passed()).count();
    let _ = writeln!(out, "\n{passed} passed, {} failed", rows.len() - passed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> Row {
        Row {
            fault: "SIGKILL api".into(),
            sent: 10,
            graded: 10,
            edits_acknowledged: 50,
            recovery: Some(Duration::from_secs(3)),
            ..Row::default()
        }
    }

    #[test]
    fn a_clean_row_passes() {
        assert!(clean().passed(), "{:?}", clean().failures());
    }

    #[test]
    fn each_goal_missed_fails_the_row() {
        let misses = [
            Row {
                lost: 1,
                graded: 9,
                ..clean()
            },
            Row {
                graded_twice: 1,
                ..clean()
            },
            Row {
                edits_lost: 1,
                ..clean()
            },
            Row {
                recovery: None,
                ..clean()
            },
            Row {
                recovery: Some(Duration::from_secs(31)),
                ..clean()
            },
            Row {
                sent: 0,
                graded: 0,
                ..clean()
            },
            Row {
                edits_acknowledged: 0,
                ..clean()
            },
            Row {
                broken: Some("Postgres did not start".into()),
                ..clean()
            },
        ];
        for row in misses {
            assert!(!row.passed(), "{row:?} passed");
        }
    }

    #[test]
    fn the_table_has_a_row_per_fault_and_the_closing_count() {
        let rows = [
            clean(),
            Row {
                fault: "restart Redis".into(),
                lost: 2,
                ..clean()
            },
        ];
        let table = render(&rows, Duration::from_secs(60));
        assert!(
            table.contains("| SIGKILL api | 10 | 10 | 0 | 0 | 50 | 0 | 3.0 | passed |"),
            "{table}"
        );
        assert!(
            table.contains("| restart Redis | 10 | 10 | 2 | 0 | 50 | 0 | 3.0 | FAILED |"),
            "{table}"
        );
        assert!(
            table.contains("restart Redis:\n- 2 submissions lost"),
            "{table}"
        );
        assert!(table.ends_with("1 passed, 1 failed\n"), "{table}");
    }
}
