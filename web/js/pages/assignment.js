// One exercise: the handout, the editor (restored with the last submission's code, or the
// starter code), submitting, the live status of each submission as the relay pushes it
// (queued → grading → verdict), per-test results, the history, and the way on.

import * as api from "../api.js";
import { h, replace, relativeTime } from "../dom.js";
import { createEditor } from "../editor.js";
import { announcement, describe, STATUS_RANK, testStatusLabel, testStatusTone } from "../verdicts.js";

export async function render(main, { courseId, assignmentId }, ctx) {
  const [assignment, submissions, courses, course] = await Promise.all([
    api.assignment(assignmentId),
    api.submissions(assignmentId),
    api.courses().catch(() => []),
    api.courseAssignments(courseId).catch(() => null),
  ]);
  if (!ctx.active()) return undefined;
  if (assignment.course_id !== courseId) {
    ctx.navigate(`#/courses/${assignment.course_id}/assignments/${assignmentId}`, { replace: true });
    return undefined;
  }
  localStorage.setItem("cp.lastCourse", String(courseId));
  const courseTitle = courses.find((c) => c.id === courseId)?.title ?? "Course";
  const page = new ExercisePage(main, ctx, { assignment, submissions, course, courseTitle });
  return () => page.destroy();
}

class ExercisePage {
  constructor(main, ctx, { assignment, submissions, course, courseTitle }) {
    this.ctx = ctx;
    this.assignment = assignment;
    this.course = course;
    this.courseTitle = courseTitle;
    this.subs = [];
    this.selectedId = null; // null: follow the newest submission
    this.lastAnnounced = new Map();
    this.deleted = new Set();
    this.submitting = false;
    // Events for submissions not listed yet, held while our own POST has not answered.
    this.early = [];
    this.refetching = null;
    for (const s of submissions) this.merge(s);
    for (const s of this.subs) this.lastAnnounced.set(s.id, stateKey(s));

    this.build(main);
    this.editor = createEditor(this.editorHost, {
      value: this.subs[0]?.code ?? assignment.starter_code,
      label: `Your solution to ${assignment.title} (Python)`,
      onSubmit: () => this.submit(),
      onEscape: () => this.submitButton.focus(),
    });
    this.renderAll();

    this.unsubscribe = ctx.live.subscribe({
      event: (event) => this.applyEvent(event),
      resync: () => this.refetch(),
    });
    this.onKeyDown = (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.defaultPrevented) {
        event.preventDefault();
        this.submit();
      }
    };
    document.addEventListener("keydown", this.onKeyDown);
    // Keeps "2 minutes ago" true.
    this.clock = setInterval(() => this.renderHistory(), 30_000);
  }

  destroy() {
    this.unsubscribe();
    document.removeEventListener("keydown", this.onKeyDown);
    clearInterval(this.clock);
    this.editor.destroy();
  }

  // ----- state -----

  /** Adds or updates a submission; a stale copy never moves one backwards. */
  merge(incoming) {
    if (this.deleted.has(incoming.id)) return;
    const index = this.subs.findIndex((s) => s.id === incoming.id);
    if (index === -1) {
      this.subs.push(incoming);
      this.subs.sort((a, b) => b.id - a.id);
      return;
    }
    const current = this.subs[index];
    if ((STATUS_RANK[incoming.status] ?? 0) >= (STATUS_RANK[current.status] ?? 0)) {
      this.subs[index] = { ...current, ...incoming };
    }
  }

  applyEvent(event) {
    if (event.assignment_id !== this.assignment.id || this.deleted.has(event.submission_id)) return;
    const known = this.subs.some((s) => s.id === event.submission_id);
    if (!known) {
      // Probably the submission whose POST has not answered yet (a grader can be that
      // quick); otherwise one sent from another tab, which the api knows about.
      if (this.submitting) this.early.push(event);
      else this.refetch();
      return;
    }
    const patch = { id: event.submission_id, status: event.status };
    if (event.started_at) patch.started_at = event.started_at;
    if (event.finished_at) patch.finished_at = event.finished_at;
    if (event.status === "graded") {
      Object.assign(patch, { verdict: event.verdict, tests: event.tests ?? [], feedback: event.feedback ?? "" });
    } else if (event.status === "error") {
      patch.feedback = event.reason ?? "";
    }
    this.merge(patch);
    this.afterChange();
  }

  /** Reloads the list from the api (after a reconnect or `resync`), keeping newer local states. */
  refetch() {
    if (this.refetching) return this.refetching;
    this.refetching = api
      .submissions(this.assignment.id)
      .then((list) => {
        const local = new Map(this.subs.map((s) => [s.id, s]));
        this.subs = [];
        for (const s of list) {
          if (local.has(s.id)) this.subs.push(local.get(s.id));
          this.merge(s);
        }
        this.subs.sort((a, b) => b.id - a.id);
        this.afterChange();
      })
      .catch((e) => this.ctx.notify(`Could not refresh your submissions: ${e.message}`))
      .finally(() => {
        this.refetching = null;
      });
    return this.refetching;
  }

  afterChange() {
    for (const s of this.subs) {
      const key = stateKey(s);
      if (this.lastAnnounced.get(s.id) !== key) {
        this.lastAnnounced.set(s.id, key);
        this.ctx.announce(announcement(s) + (s.verdict === "accepted" && this.next() ? " The next exercise is open." : ""));
        if (s.status === "graded") this.markProgress(s.verdict === "accepted");
      }
    }
    this.renderAll();
  }

  markProgress(solved) {
    const mine = this.course?.assignments.find((a) => a.id === this.assignment.id);
    if (!mine) return;
    if (solved) mine.progress = "solved";
    else if (mine.progress !== "solved") mine.progress = "attempted";
    this.course.next_unsolved = this.course.assignments.find((a) => a.progress !== "solved")?.id ?? null;
  }

  /** The exercise after this one in the course, or the first unsolved one after the last. */
  next() {
    const list = this.course?.assignments ?? [];
    const index = list.findIndex((a) => a.id === this.assignment.id);
    if (index >= 0 && index + 1 < list.length) return list[index + 1];
    const unsolved = this.course?.next_unsolved;
    return unsolved && unsolved !== this.assignment.id ? list.find((a) => a.id === unsolved) : null;
  }

  selected() {
    return this.subs.find((s) => s.id === this.selectedId) ?? this.subs[0] ?? null;
  }

  // ----- actions -----

  async submit() {
    if (this.submitting) return;
    const code = this.editor.getValue();
    this.submitError.textContent = "";
    if (!code.trim()) {
      this.submitError.textContent = "Write some code first: the editor is empty.";
      return;
    }
    this.submitting = true;
    this.submitButton.setAttribute("aria-disabled", "true");
    this.submitButton.textContent = "Submitting…";
    try {
      const submission = await api.submit(this.assignment.id, code);
      if (!this.ctx.active()) return;
      this.selectedId = null;
      this.merge(submission);
      this.afterChange();
    } catch (e) {
      if (!this.ctx.active()) return;
      this.submitError.textContent = `Not submitted. ${e.message}`;
    } finally {
      this.submitting = false;
      this.submitButton.removeAttribute("aria-disabled");
      this.submitButton.textContent = "Submit";
      const early = this.early;
      this.early = [];
      // Anything still unknown now goes through applyEvent's refetch.
      if (this.ctx.active()) for (const event of early) this.applyEvent(event);
    }
  }

  async remove(submission) {
    const pending = STATUS_RANK[submission.status] < 2;
    const question = pending
      ? `Cancel and delete submission ${submission.id}? It is still being graded.`
      : `Delete submission ${submission.id}? This cannot be undone.`;
    if (!window.confirm(question)) return;
    this.historyError.textContent = "";
    try {
      await api.deleteSubmission(submission.id);
    } catch (e) {
      if (e.status !== 404) {
        this.historyError.textContent = `Could not delete submission ${submission.id}. ${e.message}`;
        return;
      }
    }
    if (!this.ctx.active()) return;
    this.deleted.add(submission.id);
    this.subs = this.subs.filter((s) => s.id !== submission.id);
    if (this.selectedId === submission.id) this.selectedId = null;
    this.ctx.announce(`Submission ${submission.id} deleted.`);
    this.renderAll();
    this.historyHeading.focus();
  }

  // ----- view -----

  build(main) {
    const a = this.assignment;
    const total = this.course?.assignments.length ?? 0;
    this.stepper = h("ol", {});
    this.submitButton = h("button", { type: "button", class: "button", id: "submit", onclick: () => this.submit() }, "Submit");
    this.submitError = h("p", { class: "alert", role: "alert", id: "submit-error" });
    this.editorHost = h("div", { class: "editor-host" });
    this.result = h("section", { class: "card result", id: "result", "aria-labelledby": "result-title" });
    this.historyList = h("div", {});
    this.historyError = h("p", { class: "alert", role: "alert" });
    this.historyHeading = h("h2", { id: "history-title", tabindex: "-1" }, "Your submissions");
    const handout = h("div", { class: "handout-body" });
    // Rendered and sanitised by the api (ammonia): the one place HTML from outside is inserted.
    handout.innerHTML = a.handout_html;

    replace(
      main,
      h(
        "div",
        { class: "exercise-nav" },
        h(
          "nav",
          { class: "crumbs", "aria-label": "Breadcrumb" },
          h("a", { href: "#/courses" }, "Courses"),
          " / ",
          h("a", { href: `#/courses/${a.course_id}` }, this.courseTitle),
        ),
        h("nav", { class: "stepper", "aria-label": "Exercises in this course" }, this.stepper),
      ),
      h(
        "div",
        { class: "exercise" },
        h(
          "article",
          { class: "card handout", "aria-labelledby": "assignment-title" },
          h("p", { class: "eyebrow" }, total ? `Exercise ${a.position} of ${total}` : `Exercise ${a.position}`),
          h("h1", { id: "assignment-title", tabindex: "-1" }, a.title),
          handout,
          a.test_names.length
            ? [h("h2", {}, "Tests"), h("ul", { class: "test-names" }, a.test_names.map((n) => h("li", {}, n)))]
            : null,
          h(
            "ul",
            { class: "facts", "aria-label": "Limits" },
            h("li", {}, a.runtime === "python3" ? "Python 3" : a.runtime),
            h("li", {}, `${formatSeconds(a.limits.time_ms)} per test`),
            h("li", {}, `${a.limits.memory_mb} MB memory`),
          ),
        ),
        h(
          "div",
          { class: "workspace" },
          h(
            "section",
            { class: "card editor-card", "aria-labelledby": "editor-title" },
            h(
              "div",
              { class: "editor-head" },
              h("h2", { id: "editor-title" }, "Your solution"),
              h("button", { type: "button", class: "button button-quiet", onclick: () => this.reset() }, "Reset to starter code"),
            ),
            this.editorHost,
            h(
              "div",
              { class: "editor-actions" },
              this.submitButton,
              h("span", { class: "hint" }, h("kbd", {}, "Ctrl"), "+", h("kbd", {}, "Enter"), " submits · ", h("kbd", {}, "Esc"), " leaves the editor"),
            ),
            h("div", { class: "editor-error" }, this.submitError),
          ),
          this.result,
          h("section", { class: "card", "aria-labelledby": "history-title" }, this.historyHeading, this.historyError, this.historyList),
        ),
      ),
    );
  }

  reset() {
    if (this.editor.getValue() === this.assignment.starter_code) return;
    if (window.confirm("Replace your code with the starter code?")) {
      this.editor.setValue(this.assignment.starter_code);
      this.editor.focus();
    }
  }

  renderAll() {
    this.renderStepper();
    this.renderResult();
    this.renderHistory();
  }

  renderStepper() {
    const list = this.course?.assignments ?? [];
    replace(
      this.stepper,
      list.map((a) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: `#/courses/${this.assignment.course_id}/assignments/${a.id}`,
              class: a.progress,
              "aria-current": a.id === this.assignment.id ? "page" : null,
              "aria-label": `Exercise ${a.position}: ${a.title} (${progressLabel(a.progress)})`,
              title: `${a.title} (${progressLabel(a.progress)})`,
            },
            a.progress === "solved" ? "✓" : String(a.position),
          ),
        ),
      ),
    );
  }

  renderResult() {
    const s = this.selected();
    const el = this.result;
    el.dataset.submissionId = s ? String(s.id) : "";
    el.dataset.status = s ? s.status : "none";
    el.dataset.verdict = s?.verdict ?? "";
    if (!s) {
      replace(
        el,
        h("h2", { id: "result-title" }, "Result"),
        h("p", { class: "empty" }, "No submissions yet. Write your solution, then press Submit (Ctrl+Enter)."),
      );
      return;
    }
    const { label, tone, icon } = describe(s);
    const pending = STATUS_RANK[s.status] < 2;
    const tests = s.tests?.length ? s.tests : null;
    const failed = s.status === "graded" && s.verdict !== "accepted";
    const meta = [`Submission ${s.id}`, `sent ${relativeTime(s.created_at)}`];
    if (s.finished_at) meta.push(`verdict after ${formatSeconds(Date.parse(s.finished_at) - Date.parse(s.created_at))}`);

    replace(
      el,
      h(
        "div",
        { class: "result-head" },
        h("h2", { id: "result-title" }, "Result"),
        h("span", { class: `badge badge-${tone}`, id: "verdict" }, icon ? h("span", { "aria-hidden": "true" }, icon) : null, label),
        h("span", { class: "result-meta" }, meta.join(" · ")),
      ),
      pending
        ? h("p", { class: "hint" }, s.status === "queued" ? "Waiting for a grader…" : `Running ${this.assignment.test_names.length || "the"} tests…`)
        : null,
      s.status === "error" ? h("pre", { class: "feedback" }, s.feedback || "The submission could not be graded.") : null,
      failed && s.feedback ? [h("h3", {}, "What went wrong"), h("pre", { class: "feedback", id: "feedback" }, s.feedback)] : null,
      tests ? testTable(tests) : null,
      s.verdict === "accepted" ? this.nextStep() : null,
    );
  }

  nextStep() {
    const next = this.next();
    const courseUrl = `#/courses/${this.assignment.course_id}`;
    return h(
      "div",
      { class: "next-step" },
      h("p", {}, next ? "Solved! On to the next one." : "Solved! That was the last exercise of this course."),
      next
        ? h(
            "a",
            { class: "button", id: "next-exercise", href: `#/courses/${this.assignment.course_id}/assignments/${next.id}` },
            `Next exercise: ${next.title} →`,
          )
        : h("a", { class: "button button-secondary", href: courseUrl }, "Back to the course"),
    );
  }

  renderHistory() {
    if (!this.subs.length) {
      replace(this.historyList, h("p", { class: "empty" }, "Nothing submitted yet."));
      return;
    }
    const shown = this.selected();
    replace(
      this.historyList,
      h(
        "ul",
        { class: "history-list", id: "history" },
        this.subs.map((s) => {
          const { label, tone, icon } = describe(s);
          const current = shown && shown.id === s.id;
          return h(
            "li",
            { "aria-current": current ? "true" : null, dataset: { submissionId: String(s.id) } },
            h("span", { class: `badge badge-${tone}` }, icon ? h("span", { "aria-hidden": "true" }, icon) : null, label),
            h("span", { class: "when", title: new Date(s.created_at).toLocaleString() }, `#${s.id} · ${relativeTime(s.created_at)}`),
            h(
              "span",
              { class: "actions" },
              h(
                "button",
                {
                  type: "button",
                  class: "button button-quiet",
                  "aria-pressed": current ? "true" : "false",
                  "aria-label": `Show the result of submission ${s.id}`,
                  onclick: () => {
                    this.selectedId = s.id;
                    this.renderResult();
                    this.renderHistory();
                    this.result.scrollIntoView({ block: "nearest" });
                  },
                },
                "Show",
              ),
              h(
                "button",
                {
                  type: "button",
                  class: "button button-quiet",
                  "aria-label": `Load the code of submission ${s.id} into the editor`,
                  onclick: () => {
                    if (this.editor.getValue() === s.code || window.confirm(`Replace the code in the editor with submission ${s.id}?`)) {
                      this.editor.setValue(s.code);
                      this.editor.focus();
                    }
                  },
                },
                "Load code",
              ),
              h(
                "button",
                { type: "button", class: "button button-danger", "aria-label": `Delete submission ${s.id}`, onclick: () => this.remove(s) },
                "Delete",
              ),
            ),
          );
        }),
      ),
    );
  }
}

function testTable(tests) {
  return h(
    "table",
    { class: "tests", id: "tests" },
    h("caption", { class: "visually-hidden" }, "Test results"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Test"), h("th", { scope: "col" }, "Result"), h("th", { scope: "col", class: "duration" }, "Time"))),
    h(
      "tbody",
      {},
      tests.map((t) =>
        h(
          "tr",
          { dataset: { status: t.status } },
          h("td", {}, t.name, t.message && t.status !== "passed" ? h("span", { class: "message" }, t.message) : null),
          h("td", {}, h("span", { class: `test-status ${testStatusTone(t.status)}` }, testStatusLabel(t.status))),
          h("td", { class: "duration" }, `${t.duration_ms} ms`),
        ),
      ),
    ),
  );
}

function stateKey(s) {
  return `${s.status}:${s.verdict ?? ""}`;
}

function progressLabel(progress) {
  return { solved: "solved", attempted: "attempted", untried: "not tried yet" }[progress] ?? progress;
}

function formatSeconds(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const seconds = ms / 1000;
  return `${seconds < 10 ? seconds.toFixed(1).replace(/\.0$/, "") : Math.round(seconds)} s`;
}
