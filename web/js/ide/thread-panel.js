// Questions pinned to code in the project page: markers in the editor's gutter on the lines
// that have threads (placed from the threads' Yjs relative positions, so they move as the text
// changes under them), the project's open questions, "Ask about these lines" from the
// selection, and one thread at a time with its comments, a reply box, edit and delete of one's
// own comments and resolve. The hub decides everything (lines, who may do what); this shows it.
// Threads are read again when the project's events socket says one changed (or may have
// missed changes) and after each of our own changes.

import * as Y from "yjs";
import * as api from "../api.js";
import { h, replace, relativeTime } from "../dom.js";
import { openDialog } from "./dialog.js";
import { askedRange, linesOf, markerLabel, markersByLine, openQuestions, permissions, summary, whereText } from "./threads.js";

const GUTTER = "thread-gutter";

const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** Where `encoded` (a thread's anchor end) is in `doc` now, or null. */
function indexOf(encoded, doc) {
  const position = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromBase64(encoded)), doc);
  return position ? position.index : null;
}

export class ThreadPanel {
  /**
   * `host` is the element the panel fills; `me` the user's id; `owner`/`teacher` their part
   * in the project; `openAt(fileId, line)` opens a file of the project at a line.
   */
  constructor({ host, projectId, me, owner, teacher, announce, openAt }) {
    Object.assign(this, { host, projectId, me, owner, teacher, announce, openAt });
    this.threads = [];
    this.session = null;
    this.selected = null;
    this.editing = null; // the comment whose edit box is open: refreshes leave it alone
    this.build();
    this.refresh();
  }

  destroy() {
    this.attach(null);
  }

  build() {
    this.askButton = h("button", { type: "button", class: "button button-secondary", id: "ask-question", onclick: () => this.startAsking() }, "Ask about these lines");
    this.list = h("ul", { class: "thread-list", id: "open-questions", "aria-label": "Open questions" });
    this.form = h("form", { class: "thread-form", id: "ask-form", hidden: true, onsubmit: (e) => this.ask(e) });
    this.detail = h("div", { class: "thread-detail", id: "thread-panel", hidden: true, "aria-live": "polite" });
    replace(
      this.host,
      h("div", { class: "threads-head" }, h("h2", { id: "threads-title" }, "Questions"), this.askButton),
      this.form,
      this.detail,
      h("h3", {}, "Open questions in this project"),
      this.list,
    );
  }

  // ----- the file in the editor -----

  /** Shows the markers of `session`'s file (a file-session.js session), or of none. */
  attach(session) {
    if (this.session) {
      this.session.doc.off("update", this.onUpdate);
      this.session.cm.clearGutter(GUTTER);
    }
    this.session = session;
    if (!session) return;
    const gutters = session.cm.getOption("gutters");
    if (!gutters.includes(GUTTER)) session.cm.setOption("gutters", [...gutters, GUTTER]);
    this.onUpdate = () => this.scheduleMarkers();
    session.doc.on("update", this.onUpdate);
    this.drawMarkers();
  }

  scheduleMarkers() {
    if (this.markersDue) return;
    this.markersDue = true;
    requestAnimationFrame(() => {
      this.markersDue = false;
      this.drawMarkers();
    });
  }

  /** The lines `thread` covers in the open document now; null once its text is gone. */
  place(thread) {
    const doc = this.session.doc;
    const start = indexOf(thread.anchor.start, doc);
    const end = indexOf(thread.anchor.end, doc);
    // Not synced yet (positions the local document does not hold): the hub's answer.
    if (start === null || end === null) return thread.lines;
    if (start >= end) return null;
    return linesOf(this.session.text.toString(), start, end);
  }

  /** `thread` with its lines as the open file has them now, if it is in that file. */
  live(thread) {
    if (!this.session || thread.file_id !== this.session.file.id) return thread;
    const lines = this.place(thread);
    return { ...thread, lines, outdated: lines === null };
  }

  drawMarkers() {
    const session = this.session;
    if (!session) return;
    const mine = this.threads.filter((t) => t.file_id === session.file.id);
    const marks = markersByLine(mine, (t) => this.place(t)?.start);
    session.cm.clearGutter(GUTTER);
    for (const [line, list] of marks) {
      const open = list.some((t) => !t.resolved);
      const label = markerLabel(list);
      const marker = h(
        "button",
        {
          type: "button",
          class: `thread-marker${open ? "" : " thread-marker-resolved"}`,
          title: label,
          "aria-label": `Line ${line}: ${label}`,
          dataset: { line: String(line), threadId: String(list[0].id) },
          onclick: () => this.show(list[0].id),
        },
        open ? "?" : "✓",
      );
      session.cm.setGutterMarker(line - 1, GUTTER, marker);
    }
    if (this.selected !== null) this.renderThread();
  }

  // ----- reading -----

  async refresh() {
    try {
      const { threads } = await api.hub.threads(this.projectId);
      this.threads = threads;
    } catch {
      return; // The next change or reconnection reads again.
    }
    this.renderList();
    this.drawMarkers();
    if (this.selected !== null) this.renderThread();
  }

  renderList() {
    const open = openQuestions(this.threads.map((t) => this.live(t)));
    replace(
      this.list,
      open.length
        ? open.map((t) =>
            h(
              "li",
              { dataset: { threadId: String(t.id) } },
              h("button", { type: "button", class: "link-button", onclick: () => this.show(t.id, true) }, summary(t)),
              h("span", { class: "hint" }, ` ${whereText(t)} · ${t.author.name}`),
            ),
          )
        : h("li", { class: "hint" }, "No open questions."),
    );
  }

  /** Opens thread `id` in the panel; `reveal` also opens its file at its line. */
  show(id, reveal = false) {
    this.selected = id;
    this.form.hidden = true;
    this.renderThread();
    const thread = this.threads.find((t) => t.id === id);
    if (reveal && thread) {
      const now = this.live(thread);
      this.openAt(now.file_id, now.lines ? now.lines.start : now.quote.line);
    }
  }

  renderThread() {
    const found = this.threads.find((t) => t.id === this.selected);
    const thread = found && this.live(found);
    if (!thread) {
      this.detail.hidden = true;
      return;
    }
    if (this.editing !== null) return;
    // A refresh that changed nothing leaves the panel (and the reply being typed) alone.
    const shown = JSON.stringify(thread);
    if (shown === this.shown && !this.detail.hidden) return;
    this.shown = shown;
    const draft = this.detail.querySelector("#reply-body")?.value ?? "";
    const may = permissions(thread, this.me, { owner: this.owner, teacher: this.teacher });
    this.detail.hidden = false;
    this.detail.dataset.threadId = String(thread.id);
    replace(
      this.detail,
      h(
        "div",
        { class: "thread-head" },
        h("h3", {}, whereText(thread)),
        h("span", { class: `badge ${thread.resolved ? "badge-ok" : "badge-open"}`, id: "thread-state" }, thread.resolved ? "Resolved" : "Open"),
        thread.visibility === "course" ? h("span", { class: "badge", id: "thread-course-wide" }, "Visible to the course") : null,
        h("button", { type: "button", class: "button button-quiet", "aria-label": "Close the thread", onclick: () => this.close() }, "×"),
      ),
      h("pre", { class: "thread-quote", "aria-label": `Quoted from line ${thread.quote.line}` }, thread.quote.text),
      thread.outdated ? h("p", { class: "hint" }, "The lines this question was about have been deleted.") : null,
      h("ol", { class: "comments", id: "thread-comments" }, thread.comments.map((c) => this.comment(c, may))),
      h(
        "form",
        { class: "reply", onsubmit: (e) => this.reply(e, thread) },
        h("label", { for: "reply-body" }, "Reply"),
        h("textarea", { id: "reply-body", rows: "3", required: true }, draft),
        h(
          "div",
          { class: "form-actions" },
          h("button", { type: "submit", class: "button", id: "reply-submit" }, "Reply"),
          may.resolve
            ? h(
                "button",
                { type: "button", class: "button button-secondary", id: "resolve-thread", onclick: () => this.resolve(thread, !thread.resolved) },
                thread.resolved ? "Reopen" : "Resolve",
              )
            : null,
          may.resolve
            ? h(
                "button",
                { type: "button", class: "button button-quiet", id: "thread-visibility", onclick: () => this.share(thread) },
                thread.visibility === "course" ? "Make private" : "Show to the course",
              )
            : null,
        ),
      ),
    );
  }

  comment(comment, may) {
    return h(
      "li",
      { class: "comment", dataset: { commentId: String(comment.id) } },
      h(
        "p",
        { class: "comment-meta" },
        h("strong", {}, comment.author.name),
        " ",
        h("time", { datetime: comment.created_at }, relativeTime(comment.created_at)),
        comment.edited_at ? " (edited)" : "",
      ),
      h("p", { class: "comment-body" }, comment.body),
      may.edit(comment)
        ? h("button", { type: "button", class: "link-button edit-comment", onclick: () => this.edit(comment) }, "Edit")
        : null,
      may.remove(comment)
        ? h("button", { type: "button", class: "link-button delete-comment", onclick: () => this.remove(comment) }, "Delete")
        : null,
    );
  }

  close() {
    this.selected = null;
    this.detail.hidden = true;
  }

  // ----- our own changes -----

  startAsking() {
    const session = this.session;
    if (!session) {
      this.announce("Open a file and select the lines to ask about first.");
      return;
    }
    const cm = session.cm;
    const text = session.text.toString();
    const range = askedRange(text, cm.indexFromPos(cm.getCursor("from")), cm.indexFromPos(cm.getCursor("to")));
    if (!range) {
      this.announce("Select the lines to ask about first.");
      return;
    }
    const lines = linesOf(text, range.from, range.to);
    const encode = (index, assoc) => toBase64(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(session.text, index, assoc)));
    this.asking = { file_id: session.file.id, anchor: { start: encode(range.from, 0), end: encode(range.to, -1) } };
    this.close();
    this.form.hidden = false;
    const about = lines.start === lines.end ? `line ${lines.start}` : `lines ${lines.start}–${lines.end}`;
    replace(
      this.form,
      h("h3", {}, `Ask about ${about} of ${session.file.path}`),
      h("label", { for: "question-body" }, "Your question"),
      h("textarea", { id: "question-body", rows: "4", required: true }),
      h("label", { for: "question-visibility" }, "Who sees it"),
      h(
        "select",
        { id: "question-visibility" },
        h("option", { value: "private" }, "Teachers and people with access to this project"),
        h("option", { value: "course" }, "Everyone in the course"),
      ),
      h("p", { class: "field-error", id: "ask-error", role: "alert", hidden: true }),
      h(
        "div",
        { class: "form-actions" },
        h("button", { type: "submit", class: "button", id: "question-submit" }, "Ask"),
        h("button", { type: "button", class: "button button-quiet", onclick: () => (this.form.hidden = true) }, "Cancel"),
      ),
    );
    this.form.querySelector("#question-body").focus();
  }

  async ask(event) {
    event.preventDefault();
    const body = this.form.querySelector("#question-body").value;
    const visibility = this.form.querySelector("#question-visibility").value;
    try {
      const thread = await api.hub.ask(this.projectId, { ...this.asking, body, visibility });
      this.form.hidden = true;
      this.threads.push(thread);
      this.show(thread.id);
      this.renderList();
      this.drawMarkers();
      this.announce(`Question asked about ${whereText(thread)}.`);
    } catch (e) {
      const error = this.form.querySelector("#ask-error");
      error.hidden = false;
      error.textContent = e.message;
    }
  }

  async reply(event, thread) {
    event.preventDefault();
    const box = this.detail.querySelector("#reply-body");
    await this.act(() => api.hub.reply(thread.id, box.value), "Reply sent.", () => (box.value = ""));
  }

  async resolve(thread, resolved) {
    await this.act(() => api.hub.updateThread(thread.id, { resolved }), resolved ? "Resolved." : "Reopened.");
  }

  async share(thread) {
    const visibility = thread.visibility === "course" ? "private" : "course";
    const done = visibility === "course" ? "Everyone in the course sees this question now." : "Only the project's people and teachers see this question now.";
    await this.act(() => api.hub.updateThread(thread.id, { visibility }), done);
  }

  /** Turns the comment into a box to change it in. */
  edit(comment) {
    const item = this.detail.querySelector(`[data-comment-id="${comment.id}"]`);
    const box = h("textarea", { id: "edit-comment-body", rows: "3", "aria-label": "Your comment" }, comment.body);
    const done = () => {
      this.editing = null;
      this.shown = null;
      this.renderThread();
    };
    this.editing = comment.id;
    replace(
      item,
      h(
        "form",
        {
          class: "edit-comment-form",
          onsubmit: async (event) => {
            event.preventDefault();
            await this.act(() => api.hub.editComment(comment.id, box.value), "Comment changed.", done);
          },
        },
        box,
        h(
          "div",
          { class: "form-actions" },
          h("button", { type: "submit", class: "button", id: "edit-comment-save" }, "Save"),
          h("button", { type: "button", class: "button button-quiet", onclick: done }, "Cancel"),
        ),
      ),
    );
    box.focus();
  }

  async remove(comment) {
    let removed = false;
    await openDialog({
      id: "delete-comment-dialog",
      title: "Delete this comment?",
      submitLabel: "Delete",
      danger: true,
      body: h("p", {}, `“${comment.body.slice(0, 80)}” will be removed for everyone.`),
      onSubmit: async () => {
        try {
          await api.hub.deleteComment(comment.id);
          removed = true;
          return null;
        } catch (e) {
          return e.message;
        }
      },
    });
    if (removed) {
      this.announce("Comment deleted.");
      await this.refresh();
    }
  }

  /** Runs `change` against the hub, then reads the threads again and says how it went. */
  async act(change, done, after = () => {}) {
    try {
      await change();
      after();
      this.announce(done);
    } catch (e) {
      this.announce(e.message);
    }
    await this.refresh();
  }
}
