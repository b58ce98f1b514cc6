// Sign-in: as a guest (one click), with an account, or by creating one.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, replace } from "../dom.js";

export function render(main, { next }, ctx) {
  const goOn = (created) => {
    session.set(created);
    ctx.navigate(next && next.startsWith("#/") && !next.startsWith("#/signin") ? next : "#/", { replace: true });
  };

  const guestError = h("p", { class: "alert", role: "alert" });
  const guestButton = h(
    "button",
    {
      type: "button",
      class: "button button-large",
      id: "guest-signin",
      onclick: async () => {
        guestButton.disabled = true;
        guestError.textContent = "";
        try {
          goOn(await api.signInAsGuest());
        } catch (e) {
          guestError.textContent = e.message;
          guestButton.disabled = false;
        }
      },
    },
    "Continue as a guest",
  );

  const login = accountForm({
    id: "login",
    title: "Sign in",
    submitLabel: "Sign in",
    fields: [
      { name: "username", label: "Username", autocomplete: "username" },
      { name: "password", label: "Password", type: "password", autocomplete: "current-password" },
    ],
    send: ({ username, password }) => api.signIn(username, password),
    done: goOn,
  });
  const registration = accountForm({
    id: "register",
    title: "Create an account",
    submitLabel: "Create account",
    fields: [
      { name: "username", label: "Username", autocomplete: "username", hint: "3 to 32 letters, digits, '.', '_' or '-'." },
      { name: "display_name", label: "Your name", autocomplete: "name", optional: true },
      { name: "password", label: "Password", type: "password", autocomplete: "new-password", hint: "At least 8 characters." },
    ],
    send: ({ username, password, display_name }) => api.register(username, password, display_name),
    done: goOn,
  });

  replace(
    main,
    h(
      "div",
      { class: "signin" },
      h(
        "div",
        { class: "signin-intro" },
        h("h1", { tabindex: "-1" }, "Learn to program, one exercise at a time"),
        h("p", {}, "Read the task, write Python in the browser, and get a verdict in about a second."),
      ),
      h(
        "section",
        { class: "card signin-guest", "aria-label": "Guest access" },
        guestButton,
        h("p", { class: "hint" }, "No account needed: your progress is kept as long as this browser stays signed in."),
        guestError,
      ),
      h("div", { class: "signin-forms" }, login, registration),
    ),
  );
}

function accountForm({ id, title, submitLabel, fields, send, done }) {
  const headingId = `${id}-title`;
  const formError = h("p", { class: "alert", role: "alert" });
  const inputs = {};
  const errors = {};
  const rows = fields.map((field) => {
    const inputId = `${id}-${field.name}`;
    const errorId = `${inputId}-error`;
    const hintId = field.hint ? `${inputId}-hint` : null;
    inputs[field.name] = h("input", {
      id: inputId,
      name: field.name,
      type: field.type ?? "text",
      autocomplete: field.autocomplete,
      required: !field.optional,
      "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    });
    errors[field.name] = h("p", { class: "field-error", id: errorId });
    return [
      h("label", { for: inputId }, field.label, field.optional ? h("span", { class: "hint" }, " (optional)") : null),
      inputs[field.name],
      hintId ? h("p", { class: "hint", id: hintId }, field.hint) : null,
      errors[field.name],
    ];
  });
  const button = h("button", { type: "submit", class: "button" }, submitLabel);
  const form = h(
    "form",
    {
      id,
      class: "card",
      "aria-labelledby": headingId,
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        formError.textContent = "";
        for (const name of Object.keys(inputs)) {
          inputs[name].removeAttribute("aria-invalid");
          errors[name].textContent = "";
        }
        // Passwords are taken as typed; spaces around them count.
        const values = Object.fromEntries(
          Object.entries(inputs).map(([k, input]) => [k, input.type === "password" ? input.value : input.value.trim()]),
        );
        const missing = fields.find((f) => !f.optional && !values[f.name]);
        if (missing) {
          showFieldError(missing.name, `Please enter your ${missing.label.toLowerCase()}.`);
          return;
        }
        button.disabled = true;
        try {
          done(await send(values));
        } catch (e) {
          if (e.field && inputs[e.field]) showFieldError(e.field, e.message);
          else formError.textContent = e.message;
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", { id: headingId }, title),
    rows,
    button,
    formError,
  );
  function showFieldError(name, message) {
    inputs[name].setAttribute("aria-invalid", "true");
    errors[name].textContent = message;
    inputs[name].focus();
  }
  return form;
}
