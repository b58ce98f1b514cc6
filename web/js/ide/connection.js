// Pure rules of a document connection, apart from the WebSocket code that follows them: what a
// close code means, how long to wait before the next attempt, and which local edits the hub
// has acknowledged.

import { jitteredBackoff } from "../backoff.js";

/** Close codes of the hub's document socket (see the README's "The hub") and what follows. */
export function closeKind(code) {
  if (code === 4001 || code === 4002 || code === 4003) return "auth"; // a fresh token may help
  if (code === 4005) return "no-access"; // access taken away: the project closes
  if (code === 4006) return "gone"; // the file was deleted
  if (code === 1003 || code === 1009 || code === 4000) return "fatal"; // retrying repeats it
  return "retry"; // 1001 stopping, 1006 lost, 1011 storage, 4004 idle, 4008 slow, 4009 many
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10_000;

/** The wait before attempt `attempt` (0-based) of reconnecting to the hub. */
export function backoffDelay(attempt, random = Math.random()) {
  return jitteredBackoff(attempt, BACKOFF_MIN_MS, BACKOFF_MAX_MS, random);
}

/** A connection that lasted this long starts the backoff from the beginning again. */
const STABLE_AFTER_MS = 5_000;

/**
 * What a hub socket does after it closed, for the document and the project events sockets
 * alike. `next(socket, event, token)` (the closed socket with the `tokenUsed` and `openedAt`
 * it was given, its close event, the session's token now) returns `{action: "now"}` (the token
 * was refreshed meanwhile), `{action: "end", kind, reason}` or `{action: "wait", delay, reason}`.
 */
export class Reconnects {
  constructor(now = () => Date.now()) {
    this.attempts = 0;
    this.now = now;
  }

  next(socket, event, token) {
    const reason = event.reason || `closed (${event.code})`;
    const kind = closeKind(event.code);
    if (kind === "auth" && token && token !== socket.tokenUsed) return { action: "now" };
    if (kind !== "retry") return { action: "end", kind, reason };
    if (socket.openedAt && this.now() - socket.openedAt > STABLE_AFTER_MS) this.attempts = 0;
    const delay = backoffDelay(this.attempts);
    this.attempts += 1;
    return { action: "wait", delay, reason };
  }
}

/**
 * Which local edits the hub has acknowledged. The hub handles one socket's messages in order
 * and logs an update before it reads the next message, so its answer to a sync step 1 sent
 * after some updates (a sync step 2: every socket gets one) says those are logged. `edited()`
 * counts a local edit; `probe()` is called when a step 1 goes out, `answered()` when a step 2
 * comes in; `reset()` when the socket goes (probes in flight will never be answered).
 */
export class AckTracker {
  constructor() {
    this.edits = 0;
    this.acked = 0;
    this.probes = [];
  }

  edited() {
    this.edits += 1;
  }

  /** A step 1 goes out now; `covers` false for one that is sent before the edits are. */
  probe(covers = true) {
    this.probes.push(covers ? this.edits : this.acked);
  }

  answered() {
    const covered = this.probes.shift();
    if (covered !== undefined && covered > this.acked) this.acked = covered;
  }

  reset() {
    this.probes = [];
  }

  /** Local edits not yet known to be in the hub's log. */
  get pending() {
    return this.edits - this.acked;
  }

  /** Whether a step 1 is out that will cover every edit made so far. */
  get covered() {
    return this.probes.length > 0 && this.probes[this.probes.length - 1] === this.edits;
  }
}
