// "Projects": the caller's own projects, those shared with them, one "open my project" per
// course they take (created from the course's template on first open), and for teachers the
// way to each course's template and students' projects.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, replace, relativeTime } from "../dom.js";
import { ownerName } from "./project.js";
import { takes, teaches } from "../roles.js";

const ACCESS_LABELS = { read: "can read", write: "can edit" };

export async function renderList(main, _params, ctx) {
  let listing;
  let courses;
  try {
    [listing, courses] = await Promise.all([api.hub.projects(), api.courses()]);
  } catch (e) {
    // The api answers for a path it does not know: this site serves no hub under /hub.
    if (e.status !== 404) throw e;
    replace(
      main,
      h("h1", { tabindex: "-1" }, "Projects"),
      h("p", { class: "alert", role: "alert" }, "Projects are not available on this site: it serves no hub under /hub."),
    );
    return;
  }
  if (!ctx.active()) return;
  const me = session.get().user;
  const title = (courseId) => courses.find((c) => c.id === courseId)?.title ?? `Course ${courseId}`;
  const taught = new Set(courses.filter(teaches).map((c) => c.id));
  const own = listing.projects.filter((p) => p.owner_id === me.id);
  const shared = listing.projects.filter((p) => p.owner_id !== me.id && !taught.has(p.course_id));
  const taking = courses.filter(takes);

  const open = async (course, button) => {
    button.disabled = true;
    try {
      const detail = await api.hub.openProject(course.id);
      ctx.navigate(`#/projects/${detail.project.id}`);
    } catch (e) {
      button.disabled = false;
      ctx.notify(e.message);
    }
  };

  replace(
    main,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, "Projects"), h("p", {}, "Multi-file projects you edit live, alone or with classmates."))),
    h(
      "section",
      { class: "card", "aria-labelledby": "own-title" },
      h("h2", { id: "own-title" }, "Your projects"),
      taking.length === 0 && own.length === 0
        ? h("p", { class: "empty" }, "Join a course to get a project in it. ", h("a", { href: "#/courses" }, "See all courses"), ".")
        : h(
            "ul",
            { class: "project-list", id: "own-projects" },
            taking.map((course) => {
              const project = own.find((p) => p.course_id === course.id);
              const button = h("button", { type: "button", class: "button", dataset: { courseId: String(course.id) } }, project ? "Open" : "Start my project");
              button.addEventListener("click", () => open(course, button));
              return h(
                "li",
                { class: "project-row" },
                h("span", { class: "project-title" }, course.title),
                h("span", { class: "hint" }, project ? `created ${relativeTime(project.created_at)}` : "created from the course's template"),
                button,
              );
            }),
          ),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "shared-title" },
      h("h2", { id: "shared-title" }, "Shared with you"),
      shared.length === 0
        ? h("p", { class: "empty" }, "Nobody has shared a project with you yet.")
        : h(
            "ul",
            { class: "project-list", id: "shared-projects" },
            shared.map((p) =>
              h(
                "li",
                { class: "project-row" },
                h("a", { class: "project-title", href: `#/projects/${p.id}` }, `Project of ${ownerName(p, me)}`),
                h("span", { class: "hint" }, `${title(p.course_id)} · you ${ACCESS_LABELS[p.access]}`),
              ),
            ),
          ),
    ),
    taught.size
      ? h(
          "section",
          { class: "card", "aria-labelledby": "taught-title" },
          h("h2", { id: "taught-title" }, "Courses you teach"),
          h(
            "ul",
            { class: "project-list" },
            [...taught].map((courseId) =>
              h(
                "li",
                { class: "project-row" },
                h("a", { class: "project-title", href: `#/courses/${courseId}/projects` }, title(courseId)),
                h("span", { class: "hint" }, `template and ${listing.projects.filter((p) => p.course_id === courseId && p.owner_id !== me.id).length} students' projects`),
              ),
            ),
          ),
        )
      : null,
  );
}
