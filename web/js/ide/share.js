// The share dialog: the owner grants a classmate read or write access, changes it, revokes it.
// The hub does not list a project's members yet, so the list holds the people this page
// shared with, plus those the hub lists once it does (`members` on the project).

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { openDialog } from "./dialog.js";

const ACCESS_LABELS = { read: "Can read", write: "Can edit" };

/**
 * Opens the dialog for `projectId`. `members` (Map userId → {access, name}) is updated in
 * place; `people` ([{userId, name}]) are suggestions (people seen in the project's files);
 * `announce(text)` reads changes out.
 */
export function openShareDialog({ projectId, members, people, announce }) {
  const list = h("ul", { class: "member-list", id: "share-members", "aria-label": "People with access" });
  const problem = h("p", { class: "field-error", role: "alert" });

  const draw = () =>
    replace(
      list,
      members.size === 0 ? h("li", { class: "hint" }, "Nobody else has access yet.") : null,
      [...members].map(([userId, member]) => {
        const name = member.name ? `${member.name} (#${userId})` : `User #${userId}`;
        const select = h(
          "select",
          {
            "aria-label": `Access of ${name}`,
            dataset: { userId: String(userId) },
            onchange: () => change(userId, select.value),
          },
          Object.entries(ACCESS_LABELS).map(([value, label]) =>
            h("option", { value, selected: member.access === value }, label),
          ),
        );
        return h(
          "li",
          { dataset: { userId: String(userId), access: member.access } },
          h("span", { class: "member-name" }, name),
          select,
          h("button", { type: "button", class: "button button-danger", onclick: () => revoke(userId), "aria-label": `Remove ${name}` }, "Remove"),
        );
      }),
    );

  const attempt = async (action) => {
    problem.textContent = "";
    try {
      await action();
      draw();
    } catch (e) {
      problem.textContent = e.message;
    }
  };
  const change = (userId, access) =>
    attempt(async () => {
      await api.hub.grant(projectId, userId, access);
      members.get(userId).access = access;
      announce(`Access changed to ${ACCESS_LABELS[access].toLowerCase()}.`);
    });
  const revoke = (userId) =>
    attempt(async () => {
      await api.hub.revoke(projectId, userId);
      members.delete(userId);
      announce("Access removed.");
    });

  draw();
  const suggestions = h(
    "datalist",
    { id: "share-people" },
    people.map((p) => h("option", { value: String(p.userId) }, p.name)),
  );
  return openDialog({
    id: "share-dialog",
    title: "Share this project",
    submitLabel: "Share",
    body: [
      list,
      problem,
      h("label", { for: "share-user" }, "Classmate's user number"),
      h("input", { id: "share-user", type: "text", inputmode: "numeric", list: "share-people", autocomplete: "off", required: true }),
      suggestions,
      h("p", { class: "hint" }, "People working in this project's files are suggested."),
      h("label", { for: "share-access" }, "Access"),
      h(
        "select",
        { id: "share-access" },
        Object.entries(ACCESS_LABELS).map(([value, label]) => h("option", { value }, label)),
      ),
    ],
    onSubmit: async (form) => {
      const input = form.querySelector("#share-user");
      const userId = Number(input.value.trim());
      if (!Number.isInteger(userId) || userId < 1) return "Enter the user number of a classmate.";
      const access = form.querySelector("#share-access").value;
      try {
        await api.hub.grant(projectId, userId, access);
      } catch (e) {
        return e.message;
      }
      const name = people.find((p) => p.userId === userId)?.name ?? members.get(userId)?.name ?? null;
      members.set(userId, { access, name });
      input.value = "";
      draw();
      announce(`Shared: ${ACCESS_LABELS[access].toLowerCase()}.`);
      return false;
    },
  });
}
