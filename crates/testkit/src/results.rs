//! Result events' contents of a chosen size, for tests of what carries them (the relay's byte
//! budgets): one text may not be longer than [`ShownText::MAX_CHARS`], so a large event holds
//! many test outcomes.

use contracts::{ShownText, TestOutcome, TestStatus};

/// Failed test outcomes that take about `bytes` bytes as JSON (never more, at most a hundred
/// fewer).
pub fn outcomes_of_size(bytes: usize) -> Vec<TestOutcome> {
    let outcome = |i: usize, message: usize| TestOutcome {
        name: format!("test {i}").into(),
        status: TestStatus::Failed,
        message: Some("f".repeat(message).into()),
        duration_ms: 1,
    };
    let json = |outcome: &TestOutcome| serde_json::to_string(outcome).map_or(0, |j| j.len());
    let mut outcomes = Vec::new();
    // The brackets of the list.
    let mut left = bytes.saturating_sub(2);
    loop {
        // Its own size without a message, and the comma before it.
        let overhead = json(&outcome(outcomes.len(), 0)) + usize::from(!outcomes.is_empty());
        if left <= overhead {
            return outcomes;
        }
        let message = (left - overhead).min(ShownText::MAX_CHARS);
        outcomes.push(outcome(outcomes.len(), message));
        left -= overhead + message;
    }
}

#[cfg(test)]
mod tests {
    use super::outcomes_of_size;

    #[test]
    fn the_outcomes_take_about_the_size_asked_for() {
        for bytes in [0, 100, 511, 3_000, 20_000] {
            let json = serde_json::to_string(&outcomes_of_size(bytes)).unwrap();
            assert!(
                json.len() <= bytes.max(2) && json.len() + 100 >= bytes,
                "{bytes}: {}",
                json.len()
            );
        }
    }
}
