// web/js/authoring.js: drafts and the requests they become, moving in the course's order,
// where an api error goes, and what a trial says.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assignmentRequest,
  draftFromAssignment,
  draftProblem,
  emptyDraft,
  errorField,
  moved,
  snapshot,
  trialPending,
  trialRequest,
  trialSummary,
} from "../../../../web/js/authoring.js";

const saved = {
  id: 7,
  title: "Add",
  handout: "Write `add`.",
  runtime: "python3",
  starter_code: "def add(a, b):\n    pass\n",
  limits: { time_ms: 1500, memory_mb: 64, output_kb: 8 },
  tests: [
    { kind: "call", name: "small", call: "add(1, 2)", expected: "3", raises: null, hidden: false },
    { kind: "io", name: "big", stdin: "9\n", expected_stdout: "81", hidden: true },
  ],
};

test("a saved assignment becomes the request it was saved from", () => {
  const request = assignmentRequest(draftFromAssignment(saved));
  assert.deepEqual(request, {
    title: "Add",
    handout: "Write `add`.",
    runtime: "python3",
    starter_code: "def add(a, b):\n    pass\n",
    tests: [
      { kind: "call", name: "small", hidden: false, call: "add(1, 2)", expected: "3" },
      { kind: "io", name: "big", hidden: true, stdin: "9\n", expected_stdout: "81" },
    ],
    time_limit_ms: 1500,
    memory_limit_mb: 64,
    output_limit_kb: 8,
  });
});

test("a call test sends the exception it raises instead of a value when one is given", () => {
  const draft = draftFromAssignment(saved);
  draft.tests[0].raises = "ZeroDivisionError";
  const [call] = assignmentRequest(draft).tests;
  assert.equal(call.raises, "ZeroDivisionError");
  assert.equal("expected" in call, false);
});

test("switching a test's kind sends only the new kind's fields", () => {
  const draft = draftFromAssignment(saved);
  draft.tests[1].kind = "call";
  draft.tests[1].call = "square(9)";
  const [, switched] = assignmentRequest(draft).tests;
  assert.equal(switched.call, "square(9)");
  assert.equal("stdin" in switched, false);
  assert.equal(switched.hidden, true);
});

test("blank limits are left to the api's defaults and malformed ones are named", () => {
  const draft = emptyDraft();
  assert.equal(assignmentRequest(draft).time_limit_ms, 2000);
  draft.memory_limit_mb = " ";
  assert.equal(assignmentRequest(draft).memory_limit_mb, null);
  assert.equal(draftProblem(draft), null);
  draft.output_limit_kb = "2.5";
  assert.equal(draftProblem(draft).field, "output_limit_kb");
});

test("a trial sends the reference solution with the draft as it stands", () => {
  const draft = { ...draftFromAssignment(saved), reference: "def add(a, b):\n    return a + b\n" };
  const body = trialRequest(draft);
  assert.equal(body.code, draft.reference);
  assert.deepEqual(body.assignment, assignmentRequest(draft));
});

test("an error goes next to the field it names, or to the form when it names none", () => {
  assert.equal(errorField({ field: "time_limit_ms" }), "time_limit_ms");
  assert.equal(errorField({ field: "code" }), "code");
  assert.equal(errorField({ field: "something_else" }), null);
  assert.equal(errorField({ field: null }), null);
  assert.equal(errorField(null), null);
});

test("moving stays within the list", () => {
  assert.deepEqual(moved([1, 2, 3], 2, -1), [1, 3, 2]);
  assert.deepEqual(moved([1, 2, 3], 0, 1), [2, 1, 3]);
  assert.equal(moved([1, 2, 3], 0, -1), null);
  assert.equal(moved([1, 2, 3], 2, 1), null);
  assert.equal(moved([], 0, 1), null);
});

test("a trial's summary counts its passed tests and names the verdict", () => {
  const tests = [
    { name: "small", status: "passed", hidden: false },
    { name: "big", status: "failed", hidden: true },
  ];
  assert.equal(trialPending({ status: "grading" }), true);
  assert.equal(trialPending({ status: "graded" }), false);
  assert.equal(
    trialSummary({ status: "graded", verdict: "wrong_answer", tests }),
    "The reference solution fails (wrong answer): 1 of 2 tests passed.",
  );
  assert.equal(
    trialSummary({ status: "graded", verdict: "accepted", tests: tests.slice(0, 1) }),
    "The reference solution passes: 1 of 1 tests passed.",
  );
  assert.match(trialSummary({ status: "error", feedback: "lost", tests: [] }), /could not be graded: lost/);
});

test("a draft differs from its saved snapshot only once what saving sends has changed", () => {
  const draft = draftFromAssignment(saved);
  const pristine = snapshot(draft);
  draft.reference = "print(1)";
  assert.equal(snapshot(draft), pristine, "the reference solution is not saved");
  draft.tests[1].hidden = false;
  assert.notEqual(snapshot(draft), pristine);
  assert.equal(snapshot(draftFromAssignment(saved)), pristine);
});
