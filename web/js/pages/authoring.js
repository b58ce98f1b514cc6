// A teacher's authoring page for one course: its assignments in order (create, edit, move,
// delete after a confirmation), the editor (title, Markdown handout with the api's own
// rendering as a live preview, tests with their visibility, limits, runtime), trying a
// reference solution against the tests before saving (read until graded, and at once when the
// relay pushes one of its events), and publishing the course. An api refusal is shown next to
// the field it names. The logic lives in ../authoring.js.

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import {
  FIELDS,
  assignmentRequest,
  draftFromAssignment,
  draftProblem,
  emptyDraft,
  emptyTest,
  errorField,
  moved,
  snapshot,
  trialPending,
  trialRequest,
  trialSummary,
} from "../authoring.js";
import { describe, testStatusLabel, testStatusTone } from "../verdicts.js";
import { teaches } from "../roles.js";

/** How long typing pauses before the handout preview is asked for. */
const PREVIEW_DELAY_MS = 300;
/** How often a trial is read while it waits for its verdict. */
const TRIAL_POLL_MS = 500;

export async function render(main, { courseId }, ctx) {
  const [courses, listing, runtimes] = await Promise.all([
    api.courses(),
    api.courseAssignments(courseId),
    api.runtimes().catch(() => ["python3"]),
  ]);
  if (!ctx.active()) return undefined;
  const course = courses.find((c) => c.id === courseId);
  if (!course || !teaches(course)) {
    throw new api.ApiError(404, "not_found", "You do not teach this course.");
  }
  const page = new AuthoringPage(main, ctx, { course, assignments: listing.assignments, runtimes });
  return () => page.destroy();
}

/** The id of the control of the api field `field` (`a-time-limit-ms`). */
function controlId(field) {
  return `a-${field.replaceAll("_", "-")}`;
}

class AuthoringPage {
  constructor(main, ctx, { course, assignments, runtimes }) {
    this.ctx = ctx;
    this.course = course;
    this.assignments = assignments;
    this.runtimes = runtimes.length ? runtimes : ["python3"];
    this.confirming = null; // the id whose deletion awaits confirmation
    this.draft = emptyDraft(this.runtimes[0]);
    this.pristine = snapshot(this.draft);
    this.previewTimer = null;
    this.trialTimer = null;
    this.trialId = null;
    this.build(main);
    this.renderList();
    this.renderEditor();
    // Leaving or reloading the page asks first while the editor holds unsaved changes.
    this.onBeforeUnload = (event) => {
      if (this.dirty()) event.preventDefault();
    };
    window.addEventListener("beforeunload", this.onBeforeUnload);
    // The relay pushes the trial's events as it does a submission's: read it at once rather
    // than at the next poll (the api may record the event a moment later; polling goes on).
    this.unsubscribe = ctx.live.subscribe({
      event: (event) => {
        if (this.trialId !== null && event.submission_id === this.trialId) this.pollTrial(this.trialId);
      },
    });
  }

  destroy() {
    clearTimeout(this.previewTimer);
    this.stopTrial();
    window.removeEventListener("beforeunload", this.onBeforeUnload);
    this.unsubscribe();
  }

  /** Whether the editor holds changes that saving would send. */
  dirty() {
    return snapshot(this.draft) !== this.pristine;
  }

  // ----- layout -----

  build(main) {
    const c = this.course;
    this.publishState = h("p", { class: "hint", id: "publish-state" });
    this.publishButton = h("button", { type: "button", class: "button button-secondary", id: "publish", onclick: () => this.togglePublished() });
    this.publishError = h("p", { class: "alert", role: "alert", id: "publish-error" });
    this.list = h("ol", { class: "authoring-list", id: "authoring-list" });
    this.listError = h("p", { class: "alert", role: "alert", id: "list-error" });
    this.editor = h("form", { class: "card authoring-editor", id: "assignment-form", "aria-labelledby": "editor-title", novalidate: true });
    // "Saved" stays true only until the next change.
    this.editor.addEventListener("input", () => this.editor.querySelector("#saved")?.remove());
    this.editor.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    replace(
      main,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/courses" }, "Courses"), " / ", h("a", { href: `#/courses/${c.id}` }, c.title)),
      h(
        "div",
        { class: "page-head" },
        h("div", {}, h("h1", { tabindex: "-1" }, `Assignments of ${c.title}`), this.publishState),
        c.my_role === "owner" ? this.publishButton : null,
      ),
      this.publishError,
      h(
        "div",
        { class: "authoring" },
        h(
          "section",
          { class: "card", "aria-labelledby": "list-title" },
          h("div", { class: "page-head" }, h("h2", { id: "list-title" }, "Assignments"), h("button", { type: "button", class: "button button-secondary", id: "new-assignment", onclick: () => this.open(null) }, "New assignment")),
          this.listError,
          this.list,
        ),
        this.editor,
      ),
    );
    this.renderPublished();
  }

  renderPublished() {
    const { published } = this.course;
    this.publishState.textContent = published
      ? "Published: every user's catalogue lists this course."
      : "Not published: only its teachers and students see this course.";
    this.publishButton.textContent = published ? "Unpublish course" : "Publish course";
  }

  async togglePublished() {
    this.publishButton.disabled = true;
    this.publishError.textContent = "";
    try {
      this.course = { ...this.course, ...(await api.publishCourse(this.course.id, !this.course.published)) };
      this.renderPublished();
      this.ctx.announce(this.course.published ? "The course is published." : "The course is no longer published.");
    } catch (e) {
      this.publishError.textContent = e.message;
    } finally {
      this.publishButton.disabled = false;
    }
  }

  // ----- the list -----

  renderList() {
    const all = this.assignments;
    replace(
      this.list,
      all.length === 0 ? h("li", { class: "empty" }, "No assignments yet.") : null,
      all.map((a, index) => {
        const label = (verb) => `${verb} “${a.title}”`;
        const row = h(
          "li",
          { class: "authoring-row", dataset: { assignmentId: String(a.id) }, "aria-current": this.draft.id === a.id ? "true" : null },
          h("span", { class: "position" }, `${index + 1}.`),
          h("span", { class: "title" }, a.title),
          h(
            "span",
            { class: "row-actions" },
            h("button", { type: "button", class: "button button-quiet move-up", "aria-label": label("Move up"), disabled: index === 0, onclick: () => this.move(index, -1) }, "↑"),
            h("button", { type: "button", class: "button button-quiet move-down", "aria-label": label("Move down"), disabled: index === all.length - 1, onclick: () => this.move(index, 1) }, "↓"),
            h("button", { type: "button", class: "button button-quiet edit", "aria-label": label("Edit"), onclick: () => this.open(a.id) }, "Edit"),
            h("button", { type: "button", class: "button button-danger delete", "aria-label": label("Delete"), onclick: () => this.askDelete(a.id) }, "Delete"),
          ),
        );
        if (this.confirming !== a.id) return row;
        return [
          row,
          h(
            "li",
            { class: "confirm-row", role: "group", "aria-label": label("Delete") },
            h("span", {}, `Delete “${a.title}” and every submission to it? This cannot be undone.`),
            h("button", { type: "button", class: "button button-danger-solid confirm-delete", onclick: () => this.remove(a.id) }, "Delete for good"),
            h("button", { type: "button", class: "button button-quiet cancel-delete", onclick: () => this.askDelete(null) }, "Keep it"),
          ),
        ];
      }),
    );
  }

  /** Focuses `selector` in the row of `id` once the list is drawn again. */
  focusRow(id, selector) {
    const row = this.list.querySelector(`[data-assignment-id="${id}"]`);
    const target = row?.querySelector(`${selector}:not(:disabled)`) ?? row?.querySelector(".edit");
    target?.focus();
  }

  async move(index, delta) {
    const ids = moved(this.assignments.map((a) => a.id), index, delta);
    if (!ids) return;
    const id = this.assignments[index].id;
    this.listError.textContent = "";
    try {
      const order = await api.reorderAssignments(this.course.id, ids);
      this.assignments = order;
      this.renderList();
      this.focusRow(id, delta < 0 ? ".move-up" : ".move-down");
      this.ctx.announce(`Moved to position ${ids.indexOf(id) + 1}.`);
    } catch (e) {
      this.listError.textContent = e.message;
    }
  }

  askDelete(id) {
    const previous = this.confirming;
    this.confirming = id;
    this.renderList();
    if (id !== null) this.list.querySelector(".confirm-delete")?.focus();
    else if (previous !== null) this.focusRow(previous, ".delete");
  }

  async remove(id) {
    this.listError.textContent = "";
    try {
      await api.deleteAssignment(id);
      const title = this.assignments.find((a) => a.id === id)?.title;
      this.assignments = this.assignments.filter((a) => a.id !== id);
      this.confirming = null;
      if (this.draft.id === id) this.open(null, { discard: true });
      this.renderList();
      document.getElementById("new-assignment")?.focus();
      this.ctx.announce(`Deleted “${title}”.`);
    } catch (e) {
      this.listError.textContent = e.message;
    }
  }

  // ----- the editor -----

  /** Opens the assignment `id` (null: a new one), asking first unless `discard`. */
  async open(id, { discard = false } = {}) {
    if (!discard && this.dirty() && !window.confirm("Discard the changes you have not saved?")) return;
    this.stopTrial();
    if (id === null) {
      this.draft = emptyDraft(this.runtimes[0]);
    } else {
      try {
        this.draft = draftFromAssignment(await api.assignment(id));
      } catch (e) {
        this.listError.textContent = e.message;
        return;
      }
    }
    this.pristine = snapshot(this.draft);
    this.renderList();
    this.renderEditor();
    this.editor.querySelector("#a-title")?.focus();
  }

  /**
   * A labelled control bound to `this.draft[field]`, with the error slot of the api field
   * `errorFor` (the reference solution is the api's `code`).
   */
  field(field, label, control, hint, errorFor = field) {
    const id = controlId(errorFor);
    control.id = id;
    control.name = field;
    control.value = this.draft[field];
    control.setAttribute("aria-describedby", `${id}-error${hint ? ` ${id}-hint` : ""}`);
    control.addEventListener("input", () => {
      this.draft[field] = control.value;
      if (field === "handout") this.schedulePreview();
    });
    return h(
      "div",
      { class: "authoring-field" },
      h("label", { for: id }, label),
      control,
      hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null,
      this.errorSlot(errorFor),
    );
  }

  errorSlot(field) {
    return h("p", { class: "field-error", id: `${controlId(field)}-error`, tabindex: "-1", dataset: { errorFor: field } });
  }

  renderEditor() {
    const d = this.draft;
    this.preview = h("div", { class: "handout-body authoring-preview", id: "handout-preview", "aria-live": "polite", "aria-label": "Handout preview" });
    this.formError = h("p", { class: "alert", role: "alert", id: "form-error" });
    this.tests = h("div", { class: "authoring-tests", id: "tests" });
    this.trialResult = h("div", { class: "trial-result", id: "trial-result", "aria-live": "polite" });
    this.saveButton = h("button", { type: "submit", class: "button", id: "save" }, d.id ? "Save changes" : "Create assignment");
    this.trialButton = h("button", { type: "button", class: "button button-secondary", id: "try-reference", onclick: () => this.tryReference() }, "Try the reference solution");
    const runtime = h("select", {}, this.runtimes.map((name) => h("option", { value: name }, name)));
    const number = (min) => h("input", { type: "number", inputmode: "numeric", min, step: 1 });
    const code = (rows) => h("textarea", { class: "code-input", rows, spellcheck: "false" });
    replace(
      this.editor,
      h("h2", { id: "editor-title" }, d.id ? `Edit “${d.title}”` : "New assignment"),
      this.formError,
      this.field("title", "Title", h("input", { type: "text", autocomplete: "off" })),
      this.field("runtime", "Runtime", runtime),
      h(
        "div",
        { class: "handout-pair" },
        this.field("handout", "Handout (Markdown)", h("textarea", { rows: 12 }), "Students see it as the preview shows it."),
        h("div", { class: "authoring-field" }, h("p", { class: "label", "aria-hidden": "true" }, "Preview"), this.preview),
      ),
      this.field("starter_code", "Starter code", code(5), "What a student's editor starts with."),
      h(
        "fieldset",
        { class: "authoring-fieldset" },
        h("legend", {}, "Tests"),
        h("p", { class: "hint" }, "Students see a hidden test's name and outcome only: never its input, expected value or output."),
        this.errorSlot("tests"),
        this.tests,
        h("button", { type: "button", class: "button button-secondary", id: "add-test", onclick: () => this.addTest() }, "Add test"),
      ),
      h(
        "fieldset",
        { class: "authoring-fieldset limits" },
        h("legend", {}, "Limits"),
        this.field("time_limit_ms", "Time per test (ms)", number(100)),
        this.field("memory_limit_mb", "Memory (MiB)", number(16)),
        this.field("output_limit_kb", "Output per test (KiB)", number(1)),
      ),
      h(
        "fieldset",
        { class: "authoring-fieldset" },
        h("legend", {}, "Reference solution"),
        this.field("reference", "A solution that should pass every test", code(8), "Not saved: tried against the tests as they are above.", "code"),
        this.trialButton,
        this.trialResult,
      ),
      h("div", { class: "editor-actions" }, this.saveButton, d.id ? h("button", { type: "button", class: "button button-quiet", onclick: () => this.open(null) }, "New assignment instead") : null),
    );
    this.renderTests();
    this.showPreview();
  }

  renderTests() {
    const tests = this.draft.tests;
    replace(
      this.tests,
      tests.map((test, index) => {
        const n = index + 1;
        const id = (what) => `test-${n}-${what}`;
        const input = (what, label, control) => {
          control.id = id(what);
          control.value = test[what];
          control.addEventListener("input", () => {
            test[what] = control.value;
          });
          return h("div", { class: "authoring-field" }, h("label", { for: id(what) }, label), control);
        };
        const kind = h("select", {}, h("option", { value: "io" }, "Input and expected output"), h("option", { value: "call" }, "Call and expected value"));
        kind.addEventListener("change", () => {
          test.kind = kind.value;
          this.renderTests();
          this.tests.querySelector(`#${id("kind")}`)?.focus();
        });
        const hidden = h("input", { type: "checkbox", id: id("hidden"), checked: test.hidden });
        hidden.addEventListener("change", () => {
          test.hidden = hidden.checked;
        });
        const text = (rows = 2) => h("textarea", { rows, class: "code-input", spellcheck: "false" });
        return h(
          "fieldset",
          { class: "test-editor", dataset: { test: String(n) } },
          h("legend", {}, `Test ${n}`),
          input("name", "Name", h("input", { type: "text", autocomplete: "off" })),
          input("kind", "Kind", kind),
          test.kind === "call"
            ? [
                input("call", "Call, e.g. add(2, 3)", h("input", { type: "text", class: "code-input", autocomplete: "off" })),
                input("expected", "Expected value (a literal)", h("input", { type: "text", class: "code-input", autocomplete: "off" })),
                input("raises", "Or the exception it raises", h("input", { type: "text", class: "code-input", autocomplete: "off" })),
              ]
            : [input("stdin", "Input (stdin)", text()), input("expected_stdout", "Expected output", text())],
          h("div", { class: "checkbox" }, hidden, h("label", { for: id("hidden") }, "Hidden from students")),
          h("button", { type: "button", class: "button button-danger remove-test", disabled: tests.length === 1, onclick: () => this.removeTest(index) }, `Remove test ${n}`),
        );
      }),
    );
  }

  addTest() {
    this.draft.tests.push(emptyTest(this.draft.tests.at(-1)?.kind ?? "io"));
    this.renderTests();
    this.tests.querySelector(`#test-${this.draft.tests.length}-name`)?.focus();
  }

  removeTest(index) {
    this.draft.tests.splice(index, 1);
    this.renderTests();
    document.getElementById("add-test")?.focus();
  }

  schedulePreview() {
    clearTimeout(this.previewTimer);
    this.previewTimer = setTimeout(() => this.showPreview(), PREVIEW_DELAY_MS);
  }

  async showPreview() {
    const markdown = this.draft.handout;
    const preview = this.preview;
    if (!markdown.trim()) {
      replace(preview, h("p", { class: "empty" }, "The handout appears here as students will see it."));
      return;
    }
    try {
      const { html } = await api.handoutPreview(markdown);
      // Typed on since, or another assignment opened: a newer preview is on its way.
      if (markdown !== this.draft.handout || preview !== this.preview) return;
      // Rendered and sanitised by the api (ammonia), as the exercise page's handout is.
      preview.innerHTML = html;
      this.showErrors(null, ["handout"]);
    } catch (e) {
      if (preview === this.preview) this.showErrors(e, ["handout"]);
    }
  }

  /**
   * Shows `error` next to the field it names (or at the form's top), clearing the other
   * slots of `fields`; `null` clears them.
   */
  showErrors(error, fields = FIELDS) {
    const target = errorField(error);
    for (const field of fields) {
      const slot = this.editor.querySelector(`[data-error-for="${field}"]`);
      if (!slot) continue;
      slot.textContent = field === target ? error.message : "";
      const control = document.getElementById(controlId(field));
      if (control) control.setAttribute("aria-invalid", String(field === target));
    }
    if (fields === FIELDS) this.formError.textContent = error && !target ? error.message : "";
    if (target) (document.getElementById(controlId(target)) ?? this.editor.querySelector(`[data-error-for="${target}"]`))?.focus();
  }

  /** Refuses a draft the api could not name the fault of; true when it may be sent. */
  checked() {
    const problem = draftProblem(this.draft);
    this.showErrors(problem, FIELDS);
    return problem === null;
  }

  async save() {
    if (!this.checked()) return;
    this.saveButton.disabled = true;
    try {
      const body = assignmentRequest(this.draft);
      const saved = this.draft.id
        ? await api.updateAssignment(this.draft.id, body)
        : await api.createAssignment(this.course.id, body);
      const created = !this.draft.id;
      const reference = this.draft.reference;
      this.draft = { ...draftFromAssignment(saved), reference };
      this.pristine = snapshot(this.draft);
      const summary = { id: saved.id, position: saved.position, title: saved.title, runtime: saved.runtime };
      this.assignments = created
        ? [...this.assignments, summary]
        : this.assignments.map((a) => (a.id === saved.id ? summary : a));
      this.renderList();
      this.renderEditor();
      this.ctx.announce(created ? `Created “${saved.title}”.` : `Saved “${saved.title}”.`);
      replace(this.formError);
      this.editor.querySelector("#editor-title")?.after(h("p", { class: "badge badge-ok", id: "saved", role: "status" }, "Saved"));
    } catch (e) {
      this.showErrors(e);
    } finally {
      this.saveButton.disabled = false;
    }
  }

  // ----- trying the reference solution -----

  stopTrial() {
    clearTimeout(this.trialTimer);
    this.trialId = null;
  }

  async tryReference() {
    if (!this.checked()) return;
    this.stopTrial();
    this.trialButton.disabled = true;
    try {
      const trial = await api.tryReference(this.course.id, trialRequest(this.draft));
      this.trialId = trial.id;
      this.showTrial(trial);
    } catch (e) {
      this.showErrors(e);
      this.trialButton.disabled = false;
    }
  }

  showTrial(trial) {
    if (trial.id !== this.trialId) return;
    const pending = trialPending(trial);
    this.trialButton.disabled = pending;
    const { label, tone } = describe(trial);
    replace(
      this.trialResult,
      h("p", { class: "result-head" }, h("span", { class: `badge badge-${tone}`, id: "trial-verdict" }, label), h("span", {}, trialSummary(trial))),
      trial.tests.length
        ? h(
            "table",
            { class: "tests", id: "trial-tests" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Test"), h("th", { scope: "col" }, "Shown to students"), h("th", { scope: "col" }, "Result"))),
            h(
              "tbody",
              {},
              trial.tests.map((t) =>
                h(
                  "tr",
                  {},
                  h("td", {}, t.name, t.message ? h("span", { class: "message" }, t.message) : null),
                  h("td", {}, t.hidden ? "Hidden" : "Visible"),
                  h("td", {}, h("span", { class: `test-status ${testStatusTone(t.status)}` }, testStatusLabel(t.status))),
                ),
              ),
            ),
          )
        : null,
    );
    clearTimeout(this.trialTimer);
    if (pending) {
      this.trialTimer = setTimeout(() => this.pollTrial(trial.id), TRIAL_POLL_MS);
    } else {
      this.ctx.announce(trialSummary(trial));
    }
  }

  async pollTrial(id) {
    try {
      this.showTrial(await api.trial(id));
    } catch (e) {
      if (id !== this.trialId) return;
      this.trialButton.disabled = false;
      replace(this.trialResult, h("p", { class: "alert", role: "alert" }, e.message));
    }
  }
}
