// Modal dialogs of the IDE (create, rename or move, delete, share) on the native <dialog>:
// focus moves in and back, Esc cancels, Tab stays inside, and the page behind is inert.

import { h } from "../dom.js";

/**
 * Opens a modal titled `title` with `body` (nodes) and buttons; resolves with "ok" or
 * "cancel" (also for Esc). `onSubmit(form)` (may be async) returns null to close, an error
 * message to show and stay open, or `false` to stay open without one.
 */
export function openDialog({ id, title, body, submitLabel, danger = false, onSubmit }) {
  return new Promise((resolve) => {
    const error = h("p", { class: "field-error", role: "alert", id: `${id}-error` });
    const submit = h("button", { type: "submit", class: danger ? "button button-danger-solid" : "button", id: `${id}-submit` }, submitLabel);
    const form = h(
      "form",
      { method: "dialog", "aria-describedby": `${id}-error` },
      h("h2", { id: `${id}-title` }, title),
      body,
      error,
      h(
        "div",
        { class: "dialog-buttons" },
        h("button", { type: "button", class: "button button-secondary", value: "cancel", onclick: () => dialog.close("cancel") }, "Cancel"),
        submit,
      ),
    );
    const dialog = h("dialog", { class: "dialog", id, "aria-labelledby": `${id}-title` }, form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const problem = onSubmit ? await onSubmit(form) : null;
        if (problem === false) {
          error.textContent = "";
          return;
        }
        if (problem) {
          error.textContent = problem;
          return;
        }
        dialog.close("ok");
      } finally {
        submit.disabled = false;
      }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue || "cancel");
    });
    document.body.append(dialog);
    dialog.showModal();
    (form.querySelector("input, select") ?? submit).focus();
  });
}
