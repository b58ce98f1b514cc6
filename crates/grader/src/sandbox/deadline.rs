//! The wall-clock budget of one container, from its creation to its end: every test (and the
//! compile step) may use its time limit plus half a second of overhead, the container gets a
//! start-up allowance on top, and no container lives longer than the configured maximum
//! (`deadline_max_ms`), whatever its tests' limits add up to: that caps a submission's total
//! grading time.

use contracts::Limits;
use std::time::Duration;

/// Overhead allowed per step on top of its time limit (interpreter start, comparison).
const STEP_OVERHEAD_MS: u64 = 500;

/// How long one container may live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub budget: Duration,
    /// The tests' limits would have allowed more: the maximum decided.
    pub capped: bool,
}

/// `(tests + 1) × (time_ms + 500 ms) + allowance`, capped at `max`.
pub fn container_deadline(
    tests: usize,
    limits: &Limits,
    allowance: Duration,
    max: Duration,
) -> Deadline {
    let steps = u64::try_from(tests).unwrap_or(u64::MAX).saturating_add(1);
    let per_step = u64::from(limits.time_ms).saturating_add(STEP_OVERHEAD_MS);
    let budget = Duration::from_millis(steps.saturating_mul(per_step)).saturating_add(allowance);
    Deadline {
        budget: budget.min(max),
        capped: budget > max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(time_ms: u32) -> Limits {
        Limits {
            time_ms,
            ..Limits::default()
        }
    }

    #[test]
    fn each_test_and_the_compile_step_get_their_limit_and_overhead() {
        let deadline = container_deadline(
            3,
            &limits(1_000),
            Duration::from_secs(5),
            Duration::from_secs(120),
        );
        // (3 + 1) × 1.5 s + 5 s
        assert_eq!(deadline.budget, Duration::from_secs(11));
        assert!(!deadline.capped);
    }

    #[test]
    fn no_tests_still_leave_room_for_the_compile_step() {
        let deadline =
            container_deadline(0, &limits(2_000), Duration::ZERO, Duration::from_secs(60));
        assert_eq!(deadline.budget, Duration::from_millis(2_500));
    }

    #[test]
    fn the_maximum_caps_the_deadline() {
        let deadline = container_deadline(
            1_000,
            &limits(u32::MAX),
            Duration::from_secs(5),
            Duration::from_secs(30),
        );
        assert_eq!(deadline.budget, Duration::from_secs(30));
        assert!(deadline.capped);
    }
}
