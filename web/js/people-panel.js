// The people of a course as a panel: who is online (and where, typing or idle), who is not
// (and when last seen), follow buttons, and who follows me. Pure rendering from the class
// presence socket's people.

import { h, replace } from "./dom.js";

/** "just now", "5 min ago", "3 h ago", or the date. */
export function ago(iso, now = Date.now()) {
  if (!iso) return "not seen yet";
  const minutes = Math.round((now - Date.parse(iso)) / 60_000);
  if (minutes < 1) return "seen just now";
  if (minutes < 60) return `seen ${minutes} min ago`;
  if (minutes < 24 * 60) return `seen ${Math.round(minutes / 60)} h ago`;
  return `seen ${new Date(iso).toLocaleDateString()}`;
}

/** Where a person is, in words: "typing in src/a.py", "in Ada's project", "idle". */
export function whereabouts(person, people, me) {
  if (!person.online) return ago(person.last_seen);
  const owner = person.project_owner;
  const whose = owner === null ? null : owner === person.user_id ? "own project" : owner === me ? "your project" : `${people.get(owner)?.name ?? "someone"}'s project`;
  const place = person.path ? person.path : whose;
  const doing = { typing: "typing", idle: "idle", active: "" }[person.activity] ?? "";
  if (!place) return doing || "online";
  return `${doing || "in"}${doing ? " in " : " "}${place}${person.path && whose ? ` (${whose})` : ""}`;
}

/** Online first, then by name; me first of all. */
function order(people, me) {
  return [...people.values()].sort(
    (a, b) => (b.user_id === me) - (a.user_id === me) || b.online - a.online || a.name.localeCompare(b.name),
  );
}

/**
 * Renders `people` (Map id → person) into `container`. `following` is whom this page follows;
 * `onFollow(userId | null)` is called by the buttons.
 */
export function renderPeople(container, { people, me, following, onFollow }) {
  const list = order(people, me);
  const online = list.filter((p) => p.online).length;
  const followers = list.filter((p) => p.online && p.following === me && me !== null);
  replace(
    container,
    h("h2", { id: "people-title" }, "People ", h("span", { class: "badge badge-info", id: "people-online" }, `${online} online`)),
    followers.length
      ? h("p", { class: "hint", id: "followers" }, `Following you: ${followers.map((p) => p.name).join(", ")}`)
      : null,
    h(
      "ul",
      { class: "people", "aria-labelledby": "people-title" },
      list.map((person) => {
        const mine = person.user_id === me;
        const followed = following === person.user_id;
        return h(
          "li",
          {
            class: `person${person.online ? " person-online" : ""}${followed ? " person-followed" : ""}`,
            dataset: { userId: String(person.user_id), online: String(person.online), activity: person.activity ?? "" },
          },
          h("span", { class: "person-dot", "aria-hidden": "true" }),
          h(
            "span",
            { class: "person-text" },
            h(
              "span",
              { class: "person-name" },
              h("strong", {}, person.name || `User ${person.user_id}`),
              mine ? " (you)" : null,
              person.teacher ? h("span", { class: "badge" }, "teacher") : null,
            ),
            h("span", { class: "hint person-where" }, whereabouts(person, people, me)),
          ),
          !mine && (person.online || followed)
            ? h(
                "button",
                {
                  type: "button",
                  class: `button ${followed ? "button-secondary" : "button-quiet"} follow`,
                  "aria-pressed": String(followed),
                  onclick: () => onFollow(followed ? null : person.user_id),
                },
                followed ? "Unfollow" : "Follow",
              )
            : null,
        );
      }),
    ),
  );
}
