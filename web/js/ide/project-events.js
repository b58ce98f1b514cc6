// The project's events socket (`/hub/projects/{p}/events?token=…`): the hub sends every change
// of the project's tree and members as one JSON text frame, after a `ready` frame once it
// follows the project. `ready` comes again after each reconnect (and whenever the hub may have
// missed events), so the page reads the project then and misses nothing in between.

import { Reconnects } from "./connection.js";

/**
 * Follows one project. `url` is the socket's address without the token, `token()` the current
 * session token. Callbacks: `onReady(access)` (read the project now), `onEvent(event)` for each
 * other event, `onEnd(kind, reason)` when the hub closed for good (`auth`, `no-access`, `gone`,
 * `fatal`; see connection.js); the page may call `reconnect()` after refreshing the token.
 */
export class ProjectEvents {
  constructor({ url, token, onReady, onEvent, onEnd }) {
    this.url = url;
    this.token = token;
    this.callbacks = { onReady, onEvent, onEnd };
    this.socket = null;
    // Whether the hub follows the project for us now: from `ready` until the socket closes.
    this.following = false;
    this.reconnects = new Reconnects();
    this.stopped = false;
    this.retryTimer = null;
    this.onOnline = () => this.reconnect();
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  destroy() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    window.removeEventListener("online", this.onOnline);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close(1000, "closed");
    }
  }

  /** Connects now (again) unless a socket is open or the events ended. */
  reconnect() {
    if (this.socket) return;
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  connect() {
    const token = this.token();
    if (!token) {
      this.end("auth", "not signed in");
      return;
    }
    const socket = new WebSocket(`${this.url}?token=${encodeURIComponent(token)}`);
    socket.tokenUsed = token;
    this.socket = socket;
    socket.onopen = () => {
      socket.openedAt = Date.now();
    };
    socket.onmessage = (message) => {
      if (socket !== this.socket || typeof message.data !== "string") return;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.event === "ready") {
        this.following = true;
        this.callbacks.onReady?.(event.access);
      } else this.callbacks.onEvent?.(event);
    };
    socket.onclose = (event) => this.closed(socket, event);
    // An error is always followed by a close, which decides what to do.
    socket.onerror = () => {};
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.following = false;
    if (this.stopped) return;
    const next = this.reconnects.next(socket, event, this.token());
    if (next.action === "now") this.connect();
    else if (next.action === "end") this.end(next.kind, next.reason);
    else {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        if (!this.stopped) this.connect();
      }, next.delay);
    }
  }

  end(kind, reason) {
    this.stopped = true;
    this.callbacks.onEnd?.(kind, reason);
  }
}
