// The app shell: hash routing (`#/courses/1/assignments/4`, so the server needs no fallback
// route), the signed-in session and its token refresh, the relay connection whose events the
// pages subscribe to, the header, error notices and the screen-reader announcer.

import * as api from "./api.js";
import * as session from "./session.js";
import { RelayClient } from "./relay.js";
import { h, replace } from "./dom.js";
import * as signin from "./pages/signin.js";
import * as courses from "./pages/courses.js";
import * as exercise from "./pages/assignment.js";

const main = document.getElementById("main");
const noticeBox = document.getElementById("notice");
const announcer = document.getElementById("announcer");
const connection = document.getElementById("connection");
const whoami = document.getElementById("whoami");
const signOutButton = document.getElementById("signout");

const CONNECTION_LABELS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

/** Pages subscribe here to the relay's events: {event(resultEvent), resync(reason)}. */
const live = {
  listeners: new Set(),
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  },
  emit(kind, payload) {
    for (const listener of [...this.listeners]) listener[kind]?.(payload);
  },
};

const routes = [
  { pattern: /^\/$/, render: continueWhereLeftOff },
  { pattern: /^\/signin$/, render: (el, p, ctx) => signin.render(el, { next: p.query.get("next") }, ctx), public: true },
  { pattern: /^\/courses$/, render: courses.renderList },
  { pattern: /^\/courses\/(\d+)$/, render: (el, p, ctx) => courses.renderCourse(el, { courseId: Number(p.match[1]) }, ctx) },
  // The IDE's pages load Yjs: imported on first use, so the rest works without it.
  { pattern: /^\/projects$/, render: async (el, p, ctx) => (await import("./pages/projects.js")).renderList(el, p, ctx) },
  {
    pattern: /^\/projects\/(\d+)$/,
    render: async (el, p, ctx) =>
      (await import("./pages/project.js")).render(el, { projectId: Number(p.match[1]), query: p.query }, ctx),
  },
  { pattern: /^\/inbox$/, render: async (el, p, ctx) => (await import("./pages/inbox.js")).render(el, p, ctx) },
  {
    pattern: /^\/courses\/(\d+)\/projects$/,
    render: async (el, p, ctx) =>
      (await import("./pages/course-projects.js")).render(el, { courseId: Number(p.match[1]) }, ctx),
  },
  {
    pattern: /^\/courses\/(\d+)\/authoring$/,
    render: async (el, p, ctx) => (await import("./pages/authoring.js")).render(el, { courseId: Number(p.match[1]) }, ctx),
  },
  {
    pattern: /^\/courses\/(\d+)\/assignments\/(\d+)$/,
    render: (el, p, ctx) =>
      exercise.render(el, { courseId: Number(p.match[1]), assignmentId: Number(p.match[2]) }, ctx),
  },
];

let relayUrl = null;
let relay = null;
let relayUser = null;
let lastRelayAuthCheck = 0;
let refreshTimer = null;
let generation = 0;
let cleanup = null;
let keepNotice = false;

// ----- routing -----

function currentRoute() {
  const raw = location.hash.replace(/^#/, "");
  const [path, query = ""] = raw.split("?");
  return { path: path || "/", query: new URLSearchParams(query) };
}

function navigate(hash, { replace: replacing = false } = {}) {
  if (location.hash === hash || (hash === "#/" && !location.hash)) {
    route();
  } else if (replacing) {
    location.replace(hash);
  } else {
    location.hash = hash;
  }
}

async function route() {
  const gen = ++generation;
  const active = () => gen === generation;
  if (cleanup) {
    const done = cleanup;
    cleanup = null;
    done();
  }
  if (keepNotice) keepNotice = false;
  else hideNotice();

  const { path, query } = currentRoute();
  let target = null;
  let match = null;
  for (const candidate of routes) {
    match = candidate.pattern.exec(path);
    if (match) {
      target = candidate;
      break;
    }
  }
  const signedIn = Boolean(session.get());
  if (target && !target.public && !signedIn) {
    navigate(`#/signin?next=${encodeURIComponent(location.hash || "#/")}`, { replace: true });
    return;
  }
  if (path === "/signin" && signedIn) {
    navigate(query.get("next") || "#/", { replace: true });
    return;
  }

  const ctx = { active, navigate, announce, notify, live };
  const slow = setTimeout(() => active() && replace(main, h("p", { class: "loading" }, "Loading…")), 250);
  main.setAttribute("aria-busy", "true");
  try {
    if (!target) {
      renderNotFound();
    } else {
      const done = await target.render(main, { match, query }, ctx);
      if (typeof done === "function") {
        if (active()) cleanup = done;
        else done();
      }
    }
  } catch (e) {
    if (active() && e.status !== 401) renderFailure(e);
  } finally {
    clearTimeout(slow);
    if (active()) {
      main.removeAttribute("aria-busy");
      settleFocus();
    }
  }
}

/** Moves focus to the new page's heading, as a page load would, and names the tab after it. */
function settleFocus() {
  const heading = main.querySelector("h1");
  if (!heading) return;
  document.title = `${heading.textContent} · Code platform`;
  if (heading.getAttribute("tabindex") === null) heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/** `#/`: the first unsolved exercise of the course the student worked on last. */
async function continueWhereLeftOff(el, _params, ctx) {
  const all = await api.courses();
  if (!ctx.active()) return;
  if (!all.length) {
    navigate("#/courses", { replace: true });
    return;
  }
  const remembered = Number(localStorage.getItem("cp.lastCourse"));
  const course = all.find((c) => c.id === remembered) ?? all.find((c) => c.my_role) ?? all[0];
  const list = await api.courseAssignments(course.id);
  if (!ctx.active()) return;
  navigate(
    list.next_unsolved ? `#/courses/${course.id}/assignments/${list.next_unsolved}` : `#/courses/${course.id}`,
    { replace: true },
  );
}

function renderNotFound() {
  replace(
    main,
    h("h1", { tabindex: "-1" }, "Page not found"),
    h("p", {}, "There is nothing at this address. ", h("a", { href: "#/courses" }, "See all courses"), "."),
  );
}

function renderFailure(error) {
  const missing = error.status === 404;
  replace(
    main,
    h("h1", { tabindex: "-1" }, missing ? "Not found" : "Something went wrong"),
    h("p", { class: "alert", role: "alert" }, error.message || String(error)),
    h(
      "p",
      {},
      missing
        ? h("a", { href: "#/courses" }, "See all courses")
        : h("button", { type: "button", class: "button", onclick: route }, "Try again"),
    ),
  );
}

// ----- notices and announcements -----

function notify(message) {
  replace(
    noticeBox,
    h("span", { class: "notice-text" }, message),
    h("button", { type: "button", class: "button button-quiet", onclick: hideNotice }, "Dismiss"),
  );
  noticeBox.hidden = false;
}

function hideNotice() {
  noticeBox.hidden = true;
  noticeBox.replaceChildren();
}

/** Reads `text` out through the polite live region. */
function announce(text) {
  // Clearing first makes the same text count as a change.
  announcer.textContent = "";
  setTimeout(() => {
    announcer.textContent = text;
  }, 50);
}

// ----- session, token refresh, relay -----

function endSession(message) {
  if (message) {
    notify(message);
    keepNotice = true;
  }
  session.clear();
}

function onSessionChange(current) {
  renderHeader(current);
  clearTimeout(refreshTimer);
  if (!current) {
    stopRelay();
    const { path } = currentRoute();
    if (path !== "/signin") {
      navigate(`#/signin?next=${encodeURIComponent(location.hash || "#/")}`, { replace: true });
    }
    return;
  }
  scheduleRefresh();
  if (relayUser !== current.user.id) {
    stopRelay();
    startRelay(current.user.id);
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const current = session.get();
  if (!current) return;
  const delay = session.refreshDelay();
  if (delay === null) {
    // The session has reached its maximum age: it ends with this token.
    const left = Date.parse(current.expires_at) - Date.now();
    refreshTimer = setTimeout(
      () => endSession("Your session has reached its maximum age. Please sign in again."),
      Math.min(Math.max(0, left), 2 ** 31 - 1),
    );
    return;
  }
  refreshTimer = setTimeout(refreshToken, Math.min(delay, 2 ** 31 - 1));
}

async function refreshToken() {
  try {
    session.set(await api.refresh());
  } catch (e) {
    // A 401 has ended the session already; anything else is worth another try.
    if (e.status !== 401) refreshTimer = setTimeout(refreshToken, 30_000);
  }
}

function relayAddress() {
  if (relayUrl && /^wss?:\/\//.test(relayUrl)) return relayUrl;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${relayUrl && relayUrl.startsWith("/") ? relayUrl : "/ws"}`;
}

function startRelay(userId) {
  relayUser = userId;
  relay = new RelayClient({
    url: relayAddress(),
    token: session.token,
    onEvent: (event) => live.emit("event", event),
    onResync: (reason) => live.emit("resync", reason),
    onAuthFailure: relayRefusedToken,
    onState: showConnection,
  });
  relay.start();
}

function stopRelay() {
  relay?.stop();
  relay = null;
  relayUser = null;
  connection.hidden = true;
}

/**
 * The relay refused the token. Ask the api: if it refuses too, the session is over (the
 * api client's 401 handling signs out); if it hands out a fresh token, the relay gets that.
 */
async function relayRefusedToken(code, reason) {
  if (!session.get()) {
    endSession("Your session has ended. Please sign in again.");
    return;
  }
  if (Date.now() - lastRelayAuthCheck < 60_000) {
    showConnection("offline", `live updates refused the session: ${reason}`);
    return;
  }
  lastRelayAuthCheck = Date.now();
  try {
    session.set(await api.refresh());
    relay?.start();
  } catch (e) {
    if (e.status !== 401) showConnection("offline", `live updates unavailable: ${reason}`);
  }
}

function showConnection(state, detail) {
  connection.hidden = false;
  connection.dataset.state = state;
  connection.textContent = CONNECTION_LABELS[state] ?? state;
  connection.title = detail ? `Live updates: ${detail}` : "Live updates";
}

function renderHeader(current) {
  signOutButton.hidden = !current;
  if (!current) {
    whoami.textContent = "";
    return;
  }
  const { display_name: name, guest } = current.user;
  whoami.textContent = guest && !/guest/i.test(name) ? `${name} (guest)` : name;
}

signOutButton.addEventListener("click", async () => {
  const current = session.get();
  if (
    current?.user.guest &&
    !window.confirm("You are signed in as a guest. After signing out you cannot get back to this guest's progress. Sign out?")
  ) {
    return;
  }
  signOutButton.disabled = true;
  try {
    // Revoked everywhere, so a copy of the token (another tab, a leaked log) is useless too.
    await api.signOut();
  } catch {
    // Unreachable or already refused: this browser forgets the session all the same.
  } finally {
    signOutButton.disabled = false;
  }
  session.clear();
});

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || !session.get()) return;
  if (session.refreshDelay() === 0) refreshToken();
  if (relay && relay.retryTimer) relay.reconnectNow();
});

async function start() {
  api.onUnauthorized(() => endSession("Your session has ended. Please sign in again."));
  session.subscribe(onSessionChange);
  try {
    relayUrl = (await api.config()).relay_url ?? null;
  } catch {
    relayUrl = null; // the edge proxy's /ws on this origin
  }
  const current = session.get();
  renderHeader(current);
  if (current) {
    scheduleRefresh();
    startRelay(current.user.id);
  }
  window.addEventListener("hashchange", route);
  route();
}

start();
