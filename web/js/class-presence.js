// The hub's class presence socket for one course: who of the course is online, where and doing
// what, and whom they follow. One socket per page; the tab keeps its id in sessionStorage so a
// reconnect (after sleep, or a new page of the same tab) takes its old place on the hub instead
// of leaving a ghost. What this page says (where it is, typing or idle, whom it follows) is
// sent again after each reconnect.

import { Reconnects } from "./ide/connection.js";

/** Typing stops counting this long after the last key. */
const TYPING_MS = 4_000;
/** No input for this long (or a hidden page) is idle. */
const IDLE_MS = 60_000;
/** The close of a socket whose tab opened a newer one: reconnecting would take its place back. */
const REPLACED = 4011;

function tabId() {
  let id = sessionStorage.getItem("cp.tab");
  if (!id) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("cp.tab", id);
  }
  return id;
}

/** Whom this tab follows in `courseId` (kept across the pages a follow moves through). */
export function rememberedFollow(courseId) {
  const id = Number(sessionStorage.getItem(`cp.follow.${courseId}`));
  return Number.isInteger(id) && id > 0 ? id : null;
}

export class ClassPresence {
  /** `token()` gives the current token; `onPeople(people, me)` gets every change (people: a
   *  Map user id → person); `onState(state, reason)` the connection's state; a teacher's
   *  `onProgress(userId)` hears that a student's progress changed, and `onProgress(null)` that
   *  anyone's may have (the socket (re)connected, announcements may have been missed). */
  constructor({ courseId, token, onPeople, onState = () => {}, onProgress = () => {} }) {
    this.courseId = courseId;
    this.token = token;
    this.onPeople = onPeople;
    this.onState = onState;
    this.onProgress = onProgress;
    this.people = new Map();
    this.me = null;
    this.said = { move: null, activity: { type: "activity", activity: "active" }, follow: null };
    const following = rememberedFollow(courseId);
    if (following) this.said.follow = { type: "follow", user_id: following };
    this.reconnects = new Reconnects();
    this.closed = false;
    this.lastInput = Date.now();
    this.onKey = () => this.typed();
    this.onVisible = () => this.setActivity(document.visibilityState === "visible" ? "active" : "idle");
    // A page put in the back-forward cache is gone for the others; brought back, it returns.
    this.onHide = () => this.socket?.close(1000);
    this.onShow = (event) => event.persisted && !this.closed && this.connect();
    document.addEventListener("keydown", this.onKey, true);
    document.addEventListener("visibilitychange", this.onVisible);
    window.addEventListener("pagehide", this.onHide);
    window.addEventListener("pageshow", this.onShow);
    this.idleTimer = setInterval(() => {
      if (Date.now() - this.lastInput > IDLE_MS) this.setActivity("idle");
    }, 5_000);
    this.connect();
  }

  get following() {
    return this.said.follow?.user_id ?? null;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const token = this.token();
    const query = `token=${encodeURIComponent(token)}&tab=${tabId()}`;
    const socket = new WebSocket(`${scheme}//${location.host}/hub/courses/${this.courseId}/presence?${query}`);
    socket.tokenUsed = token;
    this.socket = socket;
    this.onState("connecting");
    socket.onopen = () => {
      socket.openedAt = Date.now();
      this.onState("live");
      for (const command of Object.values(this.said)) if (command) this.send(command);
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = (event) => {
      if (this.closed || this.socket !== socket || event.code === 1000) return;
      if (event.code === REPLACED) {
        this.onState("offline", event.reason);
        return;
      }
      // The document sockets' policy: an expired token reconnects with the refreshed one.
      const next = this.reconnects.next(socket, event, this.token());
      if (next.action === "end") {
        this.onState("offline", next.reason);
        return;
      }
      this.onState("reconnecting", next.reason);
      this.retry = setTimeout(() => this.connect(), next.action === "now" ? 0 : next.delay);
    };
  }

  receive(frame) {
    if (frame.type === "progress") {
      this.onProgress(frame.user_id);
      return;
    }
    if (frame.type === "people") {
      this.me = frame.you;
      this.people = new Map(frame.people.map((p) => [p.user_id, p]));
      this.onProgress(null);
    } else if (frame.type === "person") {
      this.people.set(frame.person.user_id, frame.person);
    } else {
      return;
    }
    this.onPeople(this.people, this.me);
  }

  send(command) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(command));
  }

  /** Tells where this page is (a project and file, or nowhere). */
  moveTo(projectId, fileId) {
    const move = { type: "move", project_id: projectId ?? null, file_id: fileId ?? null };
    if (JSON.stringify(move) === JSON.stringify(this.said.move)) return;
    this.said.move = move;
    this.send(move);
  }

  setActivity(activity) {
    if (this.said.activity.activity === activity) return;
    this.said.activity = { type: "activity", activity };
    this.send(this.said.activity);
  }

  typed() {
    this.lastInput = Date.now();
    this.setActivity("typing");
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.setActivity("active"), TYPING_MS);
  }

  follow(userId) {
    const key = `cp.follow.${this.courseId}`;
    if (userId) sessionStorage.setItem(key, String(userId));
    else sessionStorage.removeItem(key);
    this.said.follow = { type: "follow", user_id: userId ?? null };
    this.send(this.said.follow);
    this.onPeople(this.people, this.me);
  }

  destroy() {
    this.closed = true;
    clearTimeout(this.retry);
    clearTimeout(this.typingTimer);
    clearInterval(this.idleTimer);
    document.removeEventListener("keydown", this.onKey, true);
    document.removeEventListener("visibilitychange", this.onVisible);
    window.removeEventListener("pagehide", this.onHide);
    window.removeEventListener("pageshow", this.onShow);
    this.socket?.close(1000);
  }
}
