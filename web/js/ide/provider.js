// The document socket of one file: y-protocols over a WebSocket to the hub
// (`/hub/projects/{project}/docs/{file}?token=…`, one message per binary frame). It syncs
// (step 1/2, then updates both ways), carries awareness (ours is renewed every 15 s by
// y-protocols' Awareness itself, and sent whenever it changes), reports the hub's
// permission-denied message, reconnects with backoff and syncs again after a reconnect: edits
// made meanwhile stay in the Y.Doc and reach the hub then. It also knows which local edits the
// hub has logged (see connection.js), so the page can warn before they would be lost.

import * as encoding from "lib0/encoding";
import * as decoding from "lib0/decoding";
import * as syncProtocol from "y-protocols/sync.js";
import * as awarenessProtocol from "y-protocols/awareness.js";
import * as authProtocol from "y-protocols/auth.js";
import { AckTracker, Reconnects } from "./connection.js";

const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_AUTH = 2;
const MESSAGE_QUERY_AWARENESS = 3;

/** How long local edits may wait for an acknowledgement probe (a sync step 1). */
const PROBE_AFTER_MS = 150;
/** A socket that says nothing for this long (the hub pings every 20 s) is taken as dead. */
const SILENCE_LIMIT_MS = 45_000;

/**
 * The connection of one Y.Doc to the hub. `url` is the socket's address without the token,
 * `token()` the current session token. Callbacks (all optional): `onState(state, detail)` with
 * `connecting`, `live`, `reconnecting` or `offline`; `onSynced()` after each (re)sync;
 * `onPending(count)` when the number of unacknowledged local edits changes; `onDenied(reason)`
 * for the hub's permission-denied; `onEnd(kind, reason)` when the hub closed for good (`auth`,
 * `no-access`, `gone`, `fatal`).
 */
export class HubProvider {
  constructor({ url, token, doc, awareness, readOnly = false, onState, onSynced, onPending, onDenied, onEnd }) {
    this.url = url;
    // A reader sends no document data at all (the hub would answer each with "permission
    // denied"): only its state vector and its awareness.
    this.readOnly = readOnly;
    this.token = token;
    this.doc = doc;
    this.awareness = awareness;
    this.callbacks = { onState, onSynced, onPending, onDenied, onEnd };
    this.acks = new AckTracker();
    this.socket = null;
    this.state = "connecting";
    this.synced = false;
    // Whether we answered this socket's sync step 1 from the hub: from then on, edits go out
    // as updates (before, that answer carries them).
    this.greeted = false;
    this.reconnects = new Reconnects();
    this.stopped = false;
    this.retryTimer = null;
    this.probeTimer = null;
    this.silenceTimer = null;

    this.onDocUpdate = (update, origin) => {
      if (origin === this) return;
      if (this.readOnly) return;
      this.acks.edited();
      this.pendingChanged();
      if (this.greeted) {
        this.send(encodeMessage(MESSAGE_SYNC, (e) => syncProtocol.writeUpdate(e, update)));
        this.scheduleProbe();
      }
    };
    this.onAwarenessUpdate = ({ added, updated, removed }, origin) => {
      if (origin === this) return;
      const changed = added.concat(updated, removed);
      this.send(encodeMessage(MESSAGE_AWARENESS, (e) =>
        encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed)),
      ));
    };
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.socket?.close(4100, "the browser went offline");
    doc.on("update", this.onDocUpdate);
    awareness.on("update", this.onAwarenessUpdate);
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connect();
  }

  /** Local edits the hub has not acknowledged yet. */
  get pending() {
    return this.acks.pending;
  }

  destroy() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    clearTimeout(this.silenceTimer);
    this.doc.off("update", this.onDocUpdate);
    this.awareness.off("update", this.onAwarenessUpdate);
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    // Tell the others we left, while the socket is still there to say it.
    awarenessProtocol.removeAwarenessStates(this.awareness, [this.doc.clientID], "destroy");
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      if (socket.readyState === WebSocket.OPEN) {
        socket.send(encodeMessage(MESSAGE_AWARENESS, (e) =>
          encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID])),
        ));
      }
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close(1000, "closed");
    }
  }

  /** Drops the socket as a network failure would (for tests and the "go offline" control). */
  disconnect() {
    this.socket?.close(4100, "disconnected");
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
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
    this.setState(this.reconnects.attempts === 0 && !this.everLive ? "connecting" : "reconnecting");
    const socket = new WebSocket(`${this.url}?token=${encodeURIComponent(token)}`);
    socket.binaryType = "arraybuffer";
    socket.tokenUsed = token;
    this.socket = socket;
    socket.onopen = () => {
      socket.openedAt = Date.now();
      this.watchSilence(socket);
      // Our state vector: the hub answers with what we lack. Our edits go out when we answer
      // its step 1, so this probe covers none of them.
      this.acks.probe(false);
      socket.send(encodeMessage(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, this.doc)));
      if (this.awareness.getLocalState() !== null) {
        socket.send(encodeMessage(MESSAGE_AWARENESS, (e) =>
          encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(this.awareness, [this.doc.clientID])),
        ));
      }
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      this.watchSilence(socket);
      this.receive(new Uint8Array(event.data));
    };
    socket.onclose = (event) => this.closed(socket, event);
    // An error is always followed by a close, which decides what to do.
    socket.onerror = () => {};
  }

  receive(bytes) {
    const decoder = decoding.createDecoder(bytes);
    const encoder = encoding.createEncoder();
    const type = decoding.readVarUint(decoder);
    switch (type) {
      case MESSAGE_SYNC: {
        encoding.writeVarUint(encoder, MESSAGE_SYNC);
        const kind = syncProtocol.readSyncMessage(decoder, encoder, this.doc, this);
        if (encoding.length(encoder) > 1 && !this.readOnly) this.send(encoding.toUint8Array(encoder));
        if (kind === syncProtocol.messageYjsSyncStep1) {
          // We just sent the hub what it lacks (our edits from while we were away): a probe
          // now covers them.
          this.greeted = true;
          this.acks.probe();
          this.send(encodeMessage(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, this.doc)));
        } else if (kind === syncProtocol.messageYjsSyncStep2) {
          this.acks.answered();
          this.pendingChanged();
          if (!this.synced) {
            this.synced = true;
            this.everLive = true;
            this.setState("live");
            this.callbacks.onSynced?.();
          }
        }
        break;
      }
      case MESSAGE_AWARENESS:
        awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), this);
        break;
      case MESSAGE_AUTH:
        authProtocol.readAuthMessage(decoder, this.doc, (_doc, reason) => this.callbacks.onDenied?.(reason));
        break;
      case MESSAGE_QUERY_AWARENESS:
        this.send(encodeMessage(MESSAGE_AWARENESS, (e) =>
          encoding.writeVarUint8Array(
            e,
            awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...this.awareness.getStates().keys()]),
          ),
        ));
        break;
      default:
        break;
    }
  }

  send(bytes) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes);
  }

  /** After local edits settle, asks the hub a question it answers only after logging them. */
  scheduleProbe() {
    if (this.probeTimer) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (!this.greeted || this.acks.covered || this.pending === 0) return;
      this.acks.probe();
      this.send(encodeMessage(MESSAGE_SYNC, (e) => syncProtocol.writeSyncStep1(e, this.doc)));
    }, PROBE_AFTER_MS);
  }

  pendingChanged() {
    this.callbacks.onPending?.(this.pending);
  }

  watchSilence(socket) {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      if (socket === this.socket) socket.close(4100, "the hub went silent");
    }, SILENCE_LIMIT_MS);
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.synced = false;
    this.greeted = false;
    this.acks.reset();
    clearTimeout(this.silenceTimer);
    // Everyone else's presence is unknown until we are back.
    const others = [...this.awareness.getStates().keys()].filter((id) => id !== this.doc.clientID);
    awarenessProtocol.removeAwarenessStates(this.awareness, others, this);
    if (this.stopped) return;
    const next = this.reconnects.next(socket, event, this.token());
    if (next.action === "now") {
      this.connect();
      return;
    }
    if (next.action === "end") {
      this.end(next.kind, next.reason);
      return;
    }
    this.setState(navigator.onLine === false ? "offline" : "reconnecting", `${next.reason}; retrying in ${Math.ceil(next.delay / 1000)} s`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, next.delay);
  }

  end(kind, reason) {
    this.stopped = true;
    this.setState("offline", reason);
    this.callbacks.onEnd?.(kind, reason);
  }

  setState(state, detail = "") {
    this.state = state;
    this.callbacks.onState?.(state, detail);
  }
}

function encodeMessage(type, write) {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}
