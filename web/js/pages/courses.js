// The course catalogue, and one course's exercises with the student's progress.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, replace } from "../dom.js";
import { ClassPresence } from "../class-presence.js";
import { renderPeople } from "../people-panel.js";
import { teaches } from "../roles.js";

const PROGRESS = {
  solved: { label: "Solved", icon: "✓" },
  attempted: { label: "Attempted", icon: "…" },
  untried: { label: "Not tried yet", icon: "" },
};

/** The mark of one exercise's progress, with its meaning for screen readers. */
export function progressIcon(progress) {
  const { label, icon } = PROGRESS[progress] ?? PROGRESS.untried;
  return h(
    "span",
    { class: `progress-icon progress-${progress}`, title: label },
    h("span", { "aria-hidden": "true" }, icon),
    h("span", { class: "visually-hidden" }, label),
  );
}

/** What the catalogue says of the caller's part in a course, if they have one. */
export function roleHint(course) {
  const unpublished = course.published ? "" : " It is not published yet: only its teachers and students see it.";
  switch (course.my_role) {
    case "owner":
    case "teacher":
      return `You teach this course.${unpublished}`;
    case "invited":
      return "You are invited to teach this course.";
    case "student":
      return "You are taking this course.";
    default:
      return null;
  }
}

export async function renderList(main, _params, ctx) {
  const courses = await api.courses();
  if (!ctx.active()) return;
  replace(
    main,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, "Courses"), h("p", {}, "Pick a course to see its exercises."))),
    courses.length === 0
      ? h("p", { class: "empty" }, "There are no courses yet.")
      : h(
          "ul",
          { class: "course-list" },
          courses.map((course) =>
            h(
              "li",
              { class: "card" },
              h("h2", {}, h("a", { href: `#/courses/${course.id}` }, course.title)),
              h("p", {}, course.description || ""),
              roleHint(course) ? h("p", { class: "hint" }, roleHint(course)) : null,
            ),
          ),
        ),
  );
}

export async function renderCourse(main, { courseId }, ctx) {
  const [courses, list] = await Promise.all([api.courses(), api.courseAssignments(courseId)]);
  if (!ctx.active()) return;
  localStorage.setItem("cp.lastCourse", String(courseId));
  const course = courses.find((c) => c.id === courseId);
  const solved = list.assignments.filter((a) => a.progress === "solved").length;
  const total = list.assignments.length;
  const next = list.next_unsolved;
  const people = h("section", { class: "card", id: "people", "aria-labelledby": "people-title", hidden: !course?.my_role || course.my_role === "invited" });
  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/courses" }, "Courses")),
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("h1", { tabindex: "-1" }, course?.title ?? `Course ${courseId}`),
        h("p", {}, course?.description ?? ""),
      ),
      teaches(course)
        ? h("a", { class: "button button-secondary", href: `#/courses/${courseId}/projects`, id: "course-projects" }, "Template and students' projects")
        : null,
      teaches(course)
        ? h("a", { class: "button button-secondary", href: `#/courses/${courseId}/roster`, id: "roster-link" }, "Roster")
        : null,
      teaches(course)
        ? h("a", { class: "button button-secondary", href: `#/courses/${courseId}/authoring`, id: "course-authoring" }, "Edit assignments")
        : null,
      next
        ? h("a", { class: "button", href: `#/courses/${courseId}/assignments/${next}`, id: "continue" }, solved ? "Continue" : "Start")
        : total
          ? h("p", { class: "badge badge-ok" }, "Course complete")
          : null,
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "exercises-title" },
      h(
        "div",
        { class: "page-head" },
        h("h2", { id: "exercises-title" }, "Exercises"),
        h(
          "div",
          { class: "progress-meter" },
          h("progress", { max: total || 1, value: solved, "aria-label": "Exercises solved" }),
          `${solved} of ${total} solved`,
        ),
      ),
      total === 0
        ? h("p", { class: "empty" }, "This course has no exercises yet.")
        : h(
            "ol",
            { class: "exercise-list" },
            list.assignments.map((a) =>
              h(
                "li",
                {},
                h(
                  "a",
                  { href: `#/courses/${courseId}/assignments/${a.id}` },
                  progressIcon(a.progress),
                  h("span", { class: "position", "aria-hidden": "true" }, `${a.position}.`),
                  h("span", { class: "title" }, a.title),
                  a.id === next ? h("span", { class: "next-tag" }, "Up next") : null,
                ),
              ),
            ),
          ),
    ),
    people,
  );
  return people.hidden ? undefined : coursePeople(people, courseId, ctx);
}

/** The course's people on its page; following someone takes the page to their project. */
function coursePeople(panel, courseId, ctx) {
  const presence = new ClassPresence({
    courseId,
    token: session.token,
    onPeople: (people, me) => {
      renderPeople(panel, { people, me, following: presence.following, onFollow: (id) => presence.follow(id) });
      const target = people.get(presence.following);
      if (target?.online && target.project_id) ctx.navigate(`#/projects/${target.project_id}`);
    },
  });
  return () => presence.destroy();
}
