// The signed-in session ({token, expires_at, user, final}) in localStorage, shared by every
// tab, and when to refresh its token. A session has a maximum age: once a refresh no longer
// moves the expiry, the session is `final` and simply ends when its token expires.

const KEY = "cp.session";
const listeners = new Set();
let current = read();

function read() {
  try {
    const session = JSON.parse(localStorage.getItem(KEY));
    if (session && session.token && session.expires_at && Date.parse(session.expires_at) > Date.now()) {
      return session;
    }
  } catch {
    // A malformed entry is the same as none.
  }
  return null;
}

// Another tab signed in, refreshed or signed out.
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  current = read();
  notify();
});

function notify() {
  for (const listener of listeners) listener(current);
}

/** The current session, or null when signed out or expired. */
export function get() {
  if (current && Date.parse(current.expires_at) <= Date.now()) {
    current = null;
  }
  return current;
}

export function token() {
  return get()?.token ?? null;
}

/** Stores a session as the api returns it from sign-in or refresh. */
export function set(session) {
  const extended =
    !current ||
    current.user.id !== session.user.id ||
    Date.parse(session.expires_at) > Date.parse(current.expires_at);
  current = { token: session.token, expires_at: session.expires_at, user: session.user, final: !extended };
  localStorage.setItem(KEY, JSON.stringify(current));
  notify();
}

export function clear() {
  current = null;
  localStorage.removeItem(KEY);
  notify();
}

/** Calls `listener(session|null)` on every change; returns the unsubscribe function. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * When the current token should be exchanged for a fresh one, in milliseconds from now: a
 * tenth of what is left before it expires (at least a minute, at most ten), but never sooner
 * than halfway, so that short-lived tokens do not make a refresh loop. Null when signed out or
 * when the session has reached its maximum age (no refresh would extend it).
 */
export function refreshDelay(now = Date.now()) {
  const session = get();
  if (!session || session.final) return null;
  const left = Date.parse(session.expires_at) - now;
  const margin = Math.min(10 * 60_000, Math.max(60_000, left / 10), left / 2);
  return Math.max(0, Math.round(left - margin));
}
