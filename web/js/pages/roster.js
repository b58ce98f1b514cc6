// A course's roster for its teachers: every student's progress per exercise (attempts, last
// submission, opening it), their project, and who is online and where from the class presence
// socket. The same socket tells a teacher when a student's progress changed (the api announces
// every submission it records) and when announcements may have been missed (on connecting):
// the progress is read again then, and only then.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, replace } from "../dom.js";
import { ClassPresence } from "../class-presence.js";
import { renderPeople, whereabouts } from "../people-panel.js";
import { openDialog } from "../ide/dialog.js";
import { progressIcon } from "./courses.js";

export async function render(main, { courseId }, ctx) {
  const [courses, roster] = await Promise.all([api.courses(), api.roster(courseId)]);
  if (!ctx.active()) return undefined;
  const course = courses.find((c) => c.id === courseId);
  const table = h("div", { id: "roster-table" });
  const panel = h("section", { class: "card", id: "people", "aria-labelledby": "people-title" });
  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/courses" }, "Courses"), " / ", h("a", { href: `#/courses/${courseId}` }, course?.title ?? `Course ${courseId}`)),
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, "Roster"), h("p", {}, "Each student's progress, live, and where they are."))),
    h("section", { class: "card", "aria-label": "Progress" }, table),
    panel,
  );
  let current = roster;
  let people = new Map();
  let me = null;
  const draw = () => replace(table, rosterTable(current, people, me));
  // One read at a time; announcements during it make one more.
  let reading = false;
  let stale = false;
  const refresh = async () => {
    stale = true;
    if (reading) return;
    reading = true;
    while (stale && ctx.active()) {
      stale = false;
      try {
        current = await api.roster(courseId);
        if (ctx.active()) draw();
      } catch {
        // The table keeps what it showed; the next announcement or reconnection reads again.
      }
    }
    reading = false;
  };
  const presence = new ClassPresence({
    courseId,
    token: session.token,
    onPeople: (all, you) => {
      people = all;
      me = you;
      renderPeople(panel, { people, me, following: presence.following, onFollow: (id) => presence.follow(id) });
      draw();
    },
    onProgress: refresh,
  });
  draw();
  return () => presence.destroy();
}

function rosterTable(roster, people, me) {
  if (!roster.students.length) return h("p", { class: "empty" }, "No students have joined this course yet.");
  return h(
    "table",
    { class: "roster" },
    h(
      "thead",
      {},
      h("tr", {}, h("th", { scope: "col" }, "Student"), h("th", { scope: "col" }, "Now"),
        roster.assignments.map((a) => h("th", { scope: "col", title: a.title }, `${a.position}. ${a.title}`)),
        h("th", { scope: "col" }, "Solved"), h("th", { scope: "col" }, "Project")),
    ),
    h(
      "tbody",
      {},
      roster.students.map((student) => {
        const person = people.get(student.user_id);
        return h(
          "tr",
          { dataset: { userId: String(student.user_id), online: String(Boolean(person?.online)) } },
          h("th", { scope: "row" }, student.display_name),
          h("td", { class: "roster-now" }, person ? whereabouts(person, people, me) : "not seen yet"),
          student.progress.map((p) => progressCell(p)),
          h("td", {}, `${student.solved} of ${roster.assignments.length}`),
          h("td", {}, student.project_id ? h("a", { href: `#/projects/${student.project_id}` }, "Open") : "—"),
        );
      }),
    ),
  );
}

function progressCell(p) {
  const cell = h("td", { class: `cell-${p.progress}`, dataset: { assignmentId: String(p.assignment_id), progress: p.progress } }, progressIcon(p.progress));
  if (p.attempts) {
    cell.append(
      " ",
      h("span", { class: "hint" }, `${p.attempts} ${p.attempts === 1 ? "try" : "tries"}, `),
      h("button", { type: "button", class: "link-button", onclick: () => showSubmission(p.solved_submission_id ?? p.last_submission_id) },
        new Date(p.last_submitted_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    );
  }
  return cell;
}

async function showSubmission(id) {
  const submission = await api.submission(id);
  await openDialog({
    id: "submission-dialog",
    title: `Submission ${id}: ${submission.verdict ?? submission.status}`,
    body: h("pre", { class: "code-view" }, submission.code),
    submitLabel: "Close",
    onSubmit: () => null,
  });
}
