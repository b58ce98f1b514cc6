// The authoring page's logic, apart from its DOM: an editable draft of an assignment and the
// api request it becomes, moving assignments in the course's order, where an api error is
// shown, and what a trial's verdict says.

/** The limits an assignment gets when the teacher names none (the api's defaults). */
export const DEFAULT_LIMITS = { time_limit_ms: 2000, memory_limit_mb: 128, output_limit_kb: 64 };

/** The fields of the editor that an api error may name; any other goes to the form's top. */
export const FIELDS = [
  "title",
  "handout",
  "runtime",
  "starter_code",
  "tests",
  "time_limit_ms",
  "memory_limit_mb",
  "output_limit_kb",
  "code",
];

/** A test as the editor holds it: every kind's inputs, so switching kind loses nothing. */
export function emptyTest(kind = "io") {
  return { kind, name: "", stdin: "", expected_stdout: "", call: "", expected: "", raises: "", hidden: false };
}

/** A new assignment's draft. */
export function emptyDraft(runtime = "python3") {
  return {
    id: null,
    title: "",
    handout: "",
    runtime,
    starter_code: "",
    tests: [emptyTest()],
    ...limitsText(DEFAULT_LIMITS),
    reference: "",
  };
}

function limitsText(limits) {
  return {
    time_limit_ms: String(limits.time_limit_ms),
    memory_limit_mb: String(limits.memory_limit_mb),
    output_limit_kb: String(limits.output_limit_kb),
  };
}

/** The draft of a saved assignment (its teacher's view, tests included). */
export function draftFromAssignment(assignment) {
  return {
    id: assignment.id,
    title: assignment.title,
    handout: assignment.handout,
    runtime: assignment.runtime,
    starter_code: assignment.starter_code,
    tests: (assignment.tests ?? []).map((test) => ({
      ...emptyTest(test.kind),
      ...test,
      stdin: test.stdin ?? "",
      expected: test.expected ?? "",
      raises: test.raises ?? "",
      hidden: Boolean(test.hidden),
    })),
    ...limitsText({
      time_limit_ms: assignment.limits.time_ms,
      memory_limit_mb: assignment.limits.memory_mb,
      output_limit_kb: assignment.limits.output_kb,
    }),
    reference: "",
  };
}

const LIMIT_FIELDS = ["time_limit_ms", "memory_limit_mb", "output_limit_kb"];

/** A limit as typed: null when blank (the api's default), else the whole number it says. */
function number(text) {
  const trimmed = String(text).trim();
  return trimmed === "" ? null : Number(trimmed);
}

/**
 * What the page refuses before asking the api, as an api refusal would name it: a limit that is
 * not a whole number (the api could only say the body is malformed). The operator's bounds are
 * the api's to check; only it knows them.
 */
export function draftProblem(draft) {
  for (const field of LIMIT_FIELDS) {
    const value = number(draft[field]);
    if (value !== null && !Number.isInteger(value)) {
      return { field, message: "Give a whole number, or leave it empty for the default." };
    }
  }
  return null;
}

/** One test as the api takes it: only the fields of its kind. */
export function testRequest(test) {
  const common = { kind: test.kind, name: test.name, hidden: Boolean(test.hidden) };
  if (test.kind === "call") {
    // A call test expects a value or an exception: the one the teacher filled in.
    const answer = test.raises.trim() ? { raises: test.raises } : { expected: test.expected };
    return { ...common, call: test.call, ...answer };
  }
  return { ...common, stdin: test.stdin, expected_stdout: test.expected_stdout };
}

/** The `AssignmentRequest` body of a draft (a saved one keeps its position). */
export function assignmentRequest(draft) {
  return {
    title: draft.title,
    handout: draft.handout,
    runtime: draft.runtime,
    starter_code: draft.starter_code,
    tests: draft.tests.map(testRequest),
    time_limit_ms: number(draft.time_limit_ms),
    memory_limit_mb: number(draft.memory_limit_mb),
    output_limit_kb: number(draft.output_limit_kb),
  };
}

/** What saving `draft` would send, as a string: two drafts that save the same compare equal. */
export function snapshot(draft) {
  return JSON.stringify(assignmentRequest(draft));
}

/** The `TrialRequest` body: the reference solution against the draft as it stands. */
export function trialRequest(draft) {
  return { code: draft.reference, assignment: assignmentRequest(draft) };
}

/** Where an api error belongs: one of {@link FIELDS}, or null for the form as a whole. */
export function errorField(error) {
  return error && FIELDS.includes(error.field) ? error.field : null;
}

/** `ids` with the one at `index` moved by `delta` places; null when it cannot move so. */
export function moved(ids, index, delta) {
  const target = index + delta;
  if (index < 0 || index >= ids.length || target < 0 || target >= ids.length) return null;
  const next = [...ids];
  const [item] = next.splice(index, 1);
  next.splice(target, 0, item);
  return next;
}

/** Whether a trial is still waiting for its verdict. */
export function trialPending(trial) {
  return trial.status === "queued" || trial.status === "grading";
}

/** One sentence on a trial, for the page and screen readers. */
export function trialSummary(trial) {
  switch (trial.status) {
    case "queued":
      return "The reference solution is queued.";
    case "grading":
      return "The reference solution is being graded.";
    case "error":
      return `The reference solution could not be graded: ${trial.feedback || "no reason given"}.`;
    default: {
      const passed = trial.tests.filter((test) => test.status === "passed").length;
      const counts = `${passed} of ${trial.tests.length} tests passed`;
      return trial.verdict === "accepted"
        ? `The reference solution passes: ${counts}.`
        : `The reference solution fails (${trial.verdict.replaceAll("_", " ")}): ${counts}.`;
    }
  }
}
