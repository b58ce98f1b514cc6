//! Asking a running service: is it ready, and what does a metric say.

use crate::WAIT;
use std::time::Duration;

/// Waits until `GET {base}/readyz` answers 200; panics after [`WAIT`].
pub async fn wait_until_ready(http: &reqwest::Client, base: &str) {
    wait_until_answering(http, base, "/readyz").await;
}

/// Waits until `GET {base}{path}` answers 200; panics after [`WAIT`].
pub async fn wait_until_answering(http: &reqwest::Client, base: &str, path: &str) {
    let url = format!("{base}{path}");
    let ready = async {
        loop {
            if let Ok(response) = http.get(&url).send().await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    };
    tokio::time::timeout(WAIT, ready)
        .await
        .unwrap_or_else(|_| panic!("{url} never answered 200"));
}

/// The value of the series `series` (its name and labels exactly as rendered, e.g.
/// `grader_verdicts_total{verdict="accepted"}`) at `GET {base}/metrics`; 0 when absent.
pub async fn metric(http: &reqwest::Client, base: &str, series: &str) -> f64 {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics has a body");
    read_metric(&text, series)
}

/// The value of `series` in Prometheus text; 0 when absent.
pub fn read_metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| {
            value
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{series} has value {value:?}"))
        })
}

#[cfg(test)]
mod tests {
    use super::read_metric;

    #[test]
    fn a_series_is_read_by_its_exact_name_and_labels() {
        let text = "# HELP x\nx_total{a=\"1\"} 3\nx_total{a=\"10\"} 7\nx_total 2.5\n";
        assert_eq!(read_metric(text, "x_total{a=\"1\"}"), 3.0);
        assert_eq!(read_metric(text, "x_total{a=\"10\"}"), 7.0);
        assert_eq!(read_metric(text, "x_total"), 2.5);
        assert_eq!(read_metric(text, "y_total"), 0.0);
    }
}
