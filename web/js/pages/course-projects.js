// A teacher's view of a course's projects: upload the template (zip or tar.gz; the hub's
// errors shown as it words them), see its files, and open any student's project live and
// read-only.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, replace, relativeTime } from "../dom.js";
import { ownerName } from "./project.js";

export async function render(main, { courseId }, ctx) {
  const [template, listing, courses] = await Promise.all([
    api.hub.template(courseId),
    api.hub.projects(),
    api.courses().catch(() => []),
  ]);
  if (!ctx.active()) return;
  const me = session.get().user;
  const course = courses.find((c) => c.id === courseId);
  const students = listing.projects.filter((p) => p.course_id === courseId && p.owner_id !== me.id);
  const files = h("ul", { class: "template-files", id: "template-files" });
  const drawTemplate = (entries) =>
    replace(
      files,
      entries.length === 0 ? h("li", { class: "empty" }, "No template yet: projects start empty.") : null,
      entries.map((e) => h("li", { class: e.directory ? "tree-dir" : "tree-file" }, e.directory ? `${e.path}/` : e.path)),
    );
  drawTemplate(template.entries);

  const input = h("input", { type: "file", id: "template-file", accept: ".zip,.tar.gz,.tgz,application/zip,application/gzip", required: true });
  const error = h("p", { class: "alert", role: "alert", id: "template-error" });
  const submit = h("button", { type: "submit", class: "button" }, "Upload template");
  const form = h(
    "form",
    { id: "template-form" },
    h("label", { for: "template-file" }, "Template archive (zip or tar.gz)"),
    input,
    h("p", { class: "hint" }, "Replaces the template. Projects already started keep their files."),
    error,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    submit.disabled = true;
    error.textContent = "";
    try {
      const view = await api.hub.uploadTemplate(courseId, file);
      drawTemplate(view.entries);
      ctx.announce(`Template uploaded: ${view.entries.length} entries.`);
    } catch (e) {
      error.textContent = e.message;
    } finally {
      submit.disabled = false;
    }
  });

  replace(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/projects" }, "Projects"), " / ", h("a", { href: `#/courses/${courseId}` }, course?.title ?? `Course ${courseId}`)),
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, `Projects of ${course?.title ?? `course ${courseId}`}`), h("p", {}, "The template every student's project starts from, and the students' projects."))),
    h("div", { class: "two-columns" },
      h("section", { class: "card", "aria-labelledby": "template-title" }, h("h2", { id: "template-title" }, "Template"), form, h("h3", {}, "Files"), files),
      h(
        "section",
        { class: "card", "aria-labelledby": "students-title" },
        h("h2", { id: "students-title" }, "Students' projects"),
        students.length === 0
          ? h("p", { class: "empty" }, "No student has started a project yet.")
          : h(
              "ul",
              { class: "project-list", id: "student-projects" },
              students.map((p) =>
                h(
                  "li",
                  { class: "project-row" },
                  h("span", { class: "project-title" }, `Project of ${ownerName(p, me)}`),
                  h("span", { class: "hint" }, `started ${relativeTime(p.created_at)}`),
                  h("a", { class: "button button-secondary", href: `#/projects/${p.id}`, dataset: { projectId: String(p.id) } }, "Watch live"),
                ),
              ),
            ),
      ),
    ),
  );
}
