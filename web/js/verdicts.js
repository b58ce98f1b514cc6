// How submission states, verdicts and test results are named and coloured.

const VERDICTS = {
  accepted: "Accepted",
  wrong_answer: "Wrong answer",
  compile_error: "Compile error",
  runtime_error: "Runtime error",
  time_limit: "Time limit exceeded",
  memory_limit: "Memory limit exceeded",
  output_limit: "Output limit exceeded",
  internal_error: "Internal error",
};

const TEST_STATUSES = {
  passed: "Passed",
  failed: "Failed",
  error: "Error",
  time_limit: "Time limit",
  memory_limit: "Memory limit",
  output_limit: "Output limit",
  skipped: "Skipped",
};

/** How far along a submission is; events never move one backwards. */
export const STATUS_RANK = { queued: 0, grading: 1, graded: 2, error: 2 };

/** The label and badge style of a submission's current state. */
export function describe(submission) {
  switch (submission.status) {
    case "queued":
      return { label: "Queued", tone: "pending", icon: "" };
    case "grading":
      return { label: "Grading", tone: "pending", icon: "" };
    case "error":
      return { label: "Not graded", tone: "warn", icon: "!" };
    case "graded": {
      const label = VERDICTS[submission.verdict] ?? submission.verdict ?? "Graded";
      return submission.verdict === "accepted"
        ? { label, tone: "ok", icon: "✓" }
        : { label, tone: "bad", icon: "✗" };
    }
    default:
      return { label: submission.status, tone: "warn", icon: "" };
  }
}

export function testStatusLabel(status) {
  return TEST_STATUSES[status] ?? status;
}

export function testStatusTone(status) {
  if (status === "passed") return "passed";
  if (status === "failed" || status === "error") return "failed";
  return "other";
}

/** One sentence for screen readers about where `submission` stands. */
export function announcement(submission) {
  const name = `Submission ${submission.id}`;
  switch (submission.status) {
    case "queued":
      return `${name} is queued.`;
    case "grading":
      return `${name} is being graded.`;
    case "error":
      return `${name} could not be graded: ${submission.feedback || "no reason given"}.`;
    case "graded": {
      const tests = submission.tests ?? [];
      const passed = tests.filter((t) => t.status === "passed").length;
      const { label } = describe(submission);
      const counts = tests.length ? ` ${passed} of ${tests.length} tests passed.` : "";
      return `${name}: ${label}.${counts}`;
    }
    default:
      return `${name}: ${submission.status}.`;
  }
}
