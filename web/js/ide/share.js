// The share dialog: the owner grants a classmate read or write access by username (typed, or
// picked from the course's participants), changes it, revokes it. Everyone is shown by name.

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { openDialog } from "./dialog.js";

const ACCESS_LABELS = { read: "Can read", write: "Can edit" };

/**
 * Opens the dialog for `projectId`. `members` (Map userId → {access, name}) is updated in
 * place; `classmates` ([{user_id, username, display_name}], the course's other participants)
 * are offered; `announce(text)` reads changes out.
 */
export function openShareDialog({ projectId, members, classmates, announce }) {
  const list = h("ul", { class: "member-list", id: "share-members", "aria-label": "People with access" });
  const problem = h("p", { class: "field-error", role: "alert" });

  const draw = () =>
    replace(
      list,
      members.size === 0 ? h("li", { class: "hint" }, "Nobody else has access yet.") : null,
      [...members].map(([userId, member]) => {
        const name = member.name;
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
    classmates.map((c) => h("option", { value: c.username }, c.display_name)),
  );
  return openDialog({
    id: "share-dialog",
    title: "Share this project",
    submitLabel: "Share",
    body: [
      list,
      problem,
      h("label", { for: "share-user" }, "Classmate's username"),
      h("input", { id: "share-user", type: "text", list: "share-people", autocomplete: "off", spellcheck: "false", required: true }),
      suggestions,
      h("p", { class: "hint" }, "Type a username, or pick one of the course's participants."),
      h("label", { for: "share-access" }, "Access"),
      h(
        "select",
        { id: "share-access" },
        Object.entries(ACCESS_LABELS).map(([value, label]) => h("option", { value }, label)),
      ),
    ],
    onSubmit: async (form) => {
      const input = form.querySelector("#share-user");
      const username = input.value.trim();
      if (!username) return "Enter the username of a classmate.";
      const access = form.querySelector("#share-access").value;
      let member;
      try {
        member = await api.hub.share(projectId, username, access);
      } catch (e) {
        return e.message;
      }
      members.set(member.user_id, { access: member.access, name: member.display_name });
      input.value = "";
      draw();
      announce(`Shared with ${member.display_name}: ${ACCESS_LABELS[access].toLowerCase()}.`);
      return false;
    },
  });
}
