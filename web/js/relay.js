// The one WebSocket to the relay that pushes this user's grading events. It authenticates with
// the session token in its first message (never in the URL), answers the relay's pings,
// deduplicates events by their stream id, and reconnects with jittered exponential backoff,
// naming the last event it saw so the relay can send what was missed. After a reconnect, and
// when the relay says `resync`, it asks the page to refetch from the api instead.

import { jitteredBackoff } from "./backoff.js";

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const AUTH_TIMEOUT_MS = 10_000;
// The relay pings every ~25 s; this long without any message means the connection is dead.
const SILENCE_LIMIT_MS = 65_000;
// A connection has to stay up this long before the backoff starts from the beginning again.
const STABLE_AFTER_MS = 5_000;
const SEEN_IDS_KEPT = 1_000;

/** Close codes after which a new token is needed. */
const AUTH_CODES = new Set([4001, 4002, 4003]);
/** Close codes that mean this client sent something wrong: reconnecting would repeat it. */
const CLIENT_BUG_CODES = new Set([1003, 1007, 1009, 4000]);

/** Orders two stream entry ids (`<ms>-<seq>`); null when either is not one. */
export function compareIds(a, b) {
  const parse = (id) => {
    const match = /^(\d+)-(\d+)$/.exec(id ?? "");
    return match ? [BigInt(match[1]), BigInt(match[2])] : null;
  };
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return null;
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  return 0;
}

/**
 * The relay connection. Callbacks: `onEvent(event, id)` for each new event,
 * `onResync(reason)` when the page should refetch, `onAuthFailure(code, reason)` when the relay
 * refuses the token, `onState(state, detail)` with state `connecting`, `live`, `reconnecting`
 * or `offline`.
 */
export class RelayClient {
  constructor({ url, token, onEvent, onResync, onAuthFailure, onState }) {
    this.url = url;
    this.token = token;
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.onAuthFailure = onAuthFailure;
    this.onState = onState;
    this.socket = null;
    this.lastEventId = null;
    this.seen = new Set();
    this.attempts = 0;
    this.everReady = false;
    this.stopped = true;
    this.retryTimer = null;
    this.silenceTimer = null;
    this.authTimer = null;
    this.onOnline = () => {
      if (!this.stopped && this.retryTimer) this.reconnectNow();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.drop(1000, "bye");
  }

  reconnectNow() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  connect() {
    const token = this.token();
    if (!token) {
      this.stopped = true;
      this.onAuthFailure(4001, "not signed in");
      return;
    }
    this.setState(this.everReady ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (e) {
      this.scheduleReconnect(`cannot open ${this.url}: ${e.message}`);
      return;
    }
    this.socket = socket;
    socket.tokenUsed = token;
    socket.readyAt = null;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "auth", token, last_event_id: this.lastEventId }));
      this.authTimer = setTimeout(() => this.lost(socket, "no answer to auth"), AUTH_TIMEOUT_MS);
      this.watchSilence(socket);
    };
    socket.onmessage = (message) => this.receive(socket, message);
    socket.onclose = (close) => this.closed(socket, close);
    // An error is always followed by a close, which decides what to do.
    socket.onerror = () => {};
  }

  receive(socket, message) {
    if (socket !== this.socket) return;
    this.watchSilence(socket);
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    switch (data.type) {
      case "ready": {
        clearTimeout(this.authTimer);
        socket.readyAt = Date.now();
        const reconnected = this.everReady;
        this.everReady = true;
        this.setState("live");
        // Anything may have happened while there was no socket (or before the first one).
        this.onResync(reconnected ? "reconnected" : "connected");
        break;
      }
      case "event":
        this.deliver(data.id, data.event);
        break;
      case "ping":
        this.send(socket, { type: "pong" });
        break;
      case "resync":
        this.onResync(data.reason || "resync");
        break;
      default:
        break;
    }
  }

  deliver(id, event) {
    if (!event || (id && this.seen.has(id))) return;
    if (id) {
      this.seen.add(id);
      if (this.seen.size > SEEN_IDS_KEPT) {
        this.seen.delete(this.seen.values().next().value);
      }
      if (!this.lastEventId || compareIds(id, this.lastEventId) !== -1) {
        this.lastEventId = id;
      }
    }
    this.onEvent(event, id);
  }

  send(socket, message) {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  watchSilence(socket) {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.lost(socket, "the relay went silent"), SILENCE_LIMIT_MS);
  }

  /** Gives up on `socket` without waiting for a close handshake a dead peer never finishes. */
  lost(socket, reason) {
    if (socket !== this.socket) return;
    this.drop(4100, reason);
    this.afterClose(socket, reason);
  }

  drop(code, reason) {
    clearTimeout(this.authTimer);
    clearTimeout(this.silenceTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(code, reason);
      } catch {
        socket.close();
      }
    }
  }

  closed(socket, close) {
    if (socket !== this.socket) return;
    clearTimeout(this.authTimer);
    clearTimeout(this.silenceTimer);
    this.socket = null;
    if (this.stopped) return;
    const reason = close.reason || `closed (${close.code})`;
    if (AUTH_CODES.has(close.code)) {
      const token = this.token();
      // The token was refreshed since this socket authenticated: try again with the new one.
      if (token && token !== socket.tokenUsed) {
        this.connect();
        return;
      }
      this.stopped = true;
      this.setState("offline", reason);
      this.onAuthFailure(close.code, reason);
      return;
    }
    if (CLIENT_BUG_CODES.has(close.code)) {
      this.stopped = true;
      this.setState("offline", `live updates stopped: ${reason}; reload the page`);
      return;
    }
    this.afterClose(socket, reason);
  }

  afterClose(socket, reason) {
    if (this.stopped) return;
    if (socket.readyAt && Date.now() - socket.readyAt > STABLE_AFTER_MS) {
      this.attempts = 0;
    }
    this.scheduleReconnect(reason);
  }

  scheduleReconnect(reason) {
    const delay = jitteredBackoff(this.attempts, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
    this.attempts += 1;
    this.setState("reconnecting", `${reason}; retrying in ${Math.ceil(delay / 1000)} s`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }

  setState(state, detail = "") {
    this.state = state;
    this.onState(state, detail);
  }
}
