// One project in the IDE: the file tree, tabs of open files each bound live to its Yjs
// document, who else is in the file, the connection state and unsaved edits, sharing, the zip.
// Others' tree and access changes arrive on the project's events socket; the project is read
// again when that socket is (re)established, after our own changes, and when a document socket
// says a file or access is gone.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, replace } from "../dom.js";
import { TreeView } from "../ide/tree-view.js";
import { openFile } from "../ide/file-session.js";
import { openDialog } from "../ide/dialog.js";
import { openShareDialog } from "../ide/share.js";
import { downloadZip } from "../ide/download.js";
import { ProjectEvents } from "../ide/project-events.js";
import { applyTreeEvent, baseName, join, languageName, movedPath, normalisePath, parentOf } from "../ide/tree.js";
import { presenceSentence } from "../ide/presence.js";
import { ClassPresence } from "../class-presence.js";
import { renderPeople } from "../people-panel.js";
import { ThreadPanel } from "../ide/thread-panel.js";
import { teaches } from "../roles.js";

const STATE_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };

/** `query` may name a file to open at a line and a thread to show (`?file=&line=&thread=`). */
export async function render(main, { projectId, query }, ctx) {
  const [detail, courses] = await Promise.all([api.hub.project(projectId), api.courses().catch(() => [])]);
  if (!ctx.active()) return undefined;
  if (!window.CodeMirror) throw new Error("The editor is not installed on this server (run deploy/web/vendor.sh).");
  const page = new ProjectPage(main, ctx, detail, courses, query);
  return () => page.destroy();
}

class ProjectPage {
  constructor(main, ctx, detail, courses, query) {
    this.main = main;
    this.ctx = ctx;
    this.project = detail.project;
    this.files = detail.files;
    this.me = session.get().user;
    this.course = courses.find((c) => c.id === this.project.course_id);
    this.tabs = new Map(); // file id → {session, tab, panel, state, pending, peers}
    this.active = null;
    this.members = new Map(detail.members.map((m) => [m.user_id, { access: m.access, name: m.display_name }]));
    this.classmates = detail.classmates ?? [];
    this.closed = false;
    this.build();
    this.tree.update(this.files);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.events = new ProjectEvents({
      url: `${scheme}//${location.host}/hub/projects/${this.project.id}/events`,
      token: session.token,
      // Events may have been missed before `ready`: the tree and the threads are read again.
      onReady: () => {
        this.refresh();
        this.threads?.refresh();
      },
      onEvent: (event) => this.follow(event),
      onEnd: (kind, reason) => this.eventsEnded(kind, reason),
    });
    this.onBeforeUnload = (event) => {
      if (this.unsaved() > 0) {
        event.preventDefault();
        event.returnValue = "";
      }
    };
    window.addEventListener("beforeunload", this.onBeforeUnload);
    // The tests' handle on the page (and a console's): read-only, nothing here depends on it.
    window.__ide = this;
    this.startPeople();
    this.threads = new ThreadPanel({
      host: this.main.querySelector("#threads"),
      projectId: this.project.id,
      me: this.me.id,
      owner: this.owned,
      teacher: teaches(this.course),
      announce: ctx.announce,
      openAt: (fileId, line) => this.openAt(fileId, line),
    });
    const asked = Number(query?.get("file"));
    if (this.files.some((f) => f.id === asked && !f.directory)) {
      this.openAt(asked, Number(query.get("line")) || 1);
      if (query.get("thread")) this.threads.show(Number(query.get("thread")));
      return;
    }
    const first = this.files.find((f) => !f.directory);
    if (first) this.openTab(first, false);
  }

  /** Opens file `fileId` and puts its line `line` in view (once the text has arrived). */
  openAt(fileId, line) {
    const file = this.files.find((f) => f.id === fileId);
    if (!file) return;
    this.openTab(file, false);
    const cm = this.tabs.get(fileId).session.cm;
    let tries = 50;
    const go = () => {
      if (cm.lineCount() < line && tries-- > 0) {
        setTimeout(go, 100);
        return;
      }
      cm.setCursor({ line: line - 1, ch: 0 });
      cm.scrollIntoView({ line: line - 1, ch: 0 }, 80);
    };
    go();
  }

  get readOnly() {
    return this.project.access !== "write";
  }

  get owned() {
    return this.project.owner_id === this.me.id;
  }

  destroy() {
    this.closed = true;
    this.events.destroy();
    this.threads?.destroy();
    window.removeEventListener("beforeunload", this.onBeforeUnload);
    this.classPresence.destroy();
    for (const id of [...this.tabs.keys()]) this.closeTab(id);
    if (window.__ide === this) window.__ide = null;
  }

  /** Edits in every open file that the hub has not acknowledged. */
  unsaved() {
    let count = 0;
    for (const tab of this.tabs.values()) count += tab.session.pending;
    return count;
  }

  // ----- layout -----

  build() {
    const title = this.owned ? "My project" : `Project of ${ownerName(this.project, this.me)}`;
    this.treeList = h("ul", { id: "file-tree", class: "file-tree", "aria-labelledby": "files-title" });
    this.tabList = h("div", { role: "tablist", id: "tabs", class: "tabs", "aria-label": "Open files" });
    this.panels = h("div", { class: "editor-panels", id: "editor-panels" });
    this.stateText = h("span", { id: "file-state", class: "connection" });
    this.pendingText = h("span", { id: "file-pending", class: "hint" });
    this.presence = h("div", { id: "presence", class: "presence", "aria-live": "polite" });
    this.peoplePanel = h("section", { class: "ide-people card", id: "people", "aria-labelledby": "people-title" });
    this.accessBadge = h("span", { id: "access-badge", class: "badge badge-info", hidden: !this.readOnly }, "Read-only");
    this.buttons = {
      newFile: h("button", { type: "button", class: "button button-quiet", id: "new-file", onclick: () => this.create(false) }, "New file"),
      newFolder: h("button", { type: "button", class: "button button-quiet", id: "new-folder", onclick: () => this.create(true) }, "New folder"),
      rename: h("button", { type: "button", class: "button button-quiet", id: "rename-entry", onclick: () => this.rename(this.tree.selected) }, "Rename or move"),
      remove: h("button", { type: "button", class: "button button-quiet", id: "delete-entry", onclick: () => this.remove(this.tree.selected) }, "Delete"),
    };
    this.tree = new TreeView(this.treeList, {
      open: (entry) => this.openTab(entry, true),
      rename: (entry) => this.rename(entry),
      remove: (entry) => this.remove(entry),
      selected: () => this.updateButtons(),
    });
    replace(
      this.main,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/projects" }, "Projects")),
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          {},
          h("h1", { tabindex: "-1" }, title, " ", this.accessBadge),
          h("p", {}, this.course ? `Course: ${this.course.title}` : `Course ${this.project.course_id}`),
        ),
        h(
          "div",
          { class: "page-actions" },
          this.owned ? h("button", { type: "button", class: "button button-secondary", id: "share", onclick: () => this.share() }, "Share…") : null,
          h("button", { type: "button", class: "button button-secondary", id: "download", onclick: () => this.download() }, "Download .zip"),
        ),
      ),
      h(
        "div",
        { class: "ide", id: "ide", dataset: { projectId: String(this.project.id), access: this.project.access } },
        h(
          "section",
          { class: "ide-files card", "aria-labelledby": "files-title" },
          h("h2", { id: "files-title" }, "Files"),
          h("div", { class: "tree-actions" }, Object.values(this.buttons)),
          this.treeList,
          h("p", { class: "hint" }, "Arrows move, Enter opens, F2 renames or moves, Delete deletes."),
        ),
        h(
          "section",
          { class: "ide-editor card", "aria-label": "Editor" },
          this.tabList,
          this.panels,
          h("div", { class: "ide-status" }, this.stateText, this.pendingText, this.presence),
        ),
        this.peoplePanel,
      ),
      h("section", { class: "ide-threads card", id: "threads", "aria-labelledby": "threads-title" }),
    );
    this.updateButtons();
    this.showStatus();
  }

  updateButtons() {
    const none = !this.tree.selected;
    this.buttons.newFile.disabled = this.readOnly;
    this.buttons.newFolder.disabled = this.readOnly;
    this.buttons.rename.disabled = this.readOnly || none;
    this.buttons.remove.disabled = this.readOnly || none;
  }

  // ----- tabs -----

  openTab(file, focus) {
    if (this.tabs.has(file.id)) {
      this.activate(file.id, focus);
      return;
    }
    const panel = h("div", { role: "tabpanel", class: "editor-panel", id: `panel-${file.id}`, "aria-labelledby": `tab-${file.id}` });
    const tab = h(
      "div",
      { class: "tab", role: "presentation", dataset: { fileId: String(file.id) } },
      h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${file.id}`,
          class: "tab-label",
          "aria-controls": `panel-${file.id}`,
          onclick: () => this.activate(file.id, true),
          onkeydown: (event) => this.tabKey(event, file.id),
        },
        baseName(file.path),
      ),
      h("button", { type: "button", class: "tab-close", "aria-label": `Close ${baseName(file.path)}`, onclick: () => this.closeTab(file.id) }, "×"),
    );
    this.tabList.append(tab);
    this.panels.append(panel);
    const entry = { tab, panel, state: "connecting", detail: "", pending: 0, peers: [], session: null };
    this.tabs.set(file.id, entry);
    entry.session = this.startSession(file, panel, entry);
    this.activate(file.id, focus);
  }

  startSession(file, panel, entry) {
    const id = file.id;
    return openFile({
      projectId: this.project.id,
      file,
      host: panel,
      user: { id: this.me.id, name: this.me.display_name },
      token: session.token,
      readOnly: this.readOnly,
      listener: {
        state: (state, detail) => {
          entry.state = state;
          entry.detail = detail;
          if (this.active === id) this.showStatus();
        },
        pending: (count) => {
          entry.pending = count;
          if (this.active === id) this.showStatus();
        },
        peers: (list) => {
          entry.peers = list;
          if (this.active === id) {
            this.showPresence();
            this.keepFollowedInView();
          }
        },
        denied: () => this.lostWrite(id),
        ended: (kind, reason) => this.ended(id, kind, reason),
        escape: () => this.tabs.get(id)?.tab.querySelector("[role=tab]").focus(),
      },
    });
  }

  activate(id, focus) {
    this.active = id;
    this.classPresence?.moveTo(this.project.id, id);
    for (const [fileId, entry] of this.tabs) {
      const on = fileId === id;
      entry.tab.classList.toggle("tab-active", on);
      const button = entry.tab.querySelector("[role=tab]");
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      entry.panel.hidden = !on;
    }
    const entry = this.tabs.get(id);
    entry?.session.refresh();
    this.threads?.attach(entry?.session ?? null);
    const file = this.files.find((f) => f.id === id);
    if (file) this.tree.reveal(file.path);
    if (focus) entry?.session.focus();
    this.showStatus();
    this.showPresence();
  }

  tabKey(event, id) {
    const ids = [...this.tabs.keys()];
    const at = ids.indexOf(id);
    const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: ids.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const target = ids[(next + ids.length) % ids.length];
    this.activate(target, false);
    this.tabs.get(target).tab.querySelector("[role=tab]").focus();
  }

  closeTab(id) {
    const entry = this.tabs.get(id);
    if (!entry) return;
    if (entry.session.pending > 0 && !this.closed && !window.confirm("Some edits in this file are not saved yet. Close it anyway?")) return;
    entry.session.destroy();
    entry.tab.remove();
    entry.panel.remove();
    this.tabs.delete(id);
    if (this.active === id) {
      const next = [...this.tabs.keys()].pop();
      this.active = null;
      if (next !== undefined && !this.closed) this.activate(next, false);
      else {
        this.classPresence.moveTo(this.project.id, null);
        this.threads?.attach(null);
        this.showStatus();
      }
    }
  }

  /** Restarts a file's session from what the hub holds (dropping refused local edits). */
  reopen(id) {
    const entry = this.tabs.get(id);
    const file = this.files.find((f) => f.id === id);
    if (!entry || !file) return;
    entry.session.destroy();
    entry.pending = 0;
    entry.session = this.startSession(file, entry.panel, entry);
    if (this.active === id) {
      entry.session.refresh();
      this.threads?.attach(entry.session);
    }
  }

  // ----- the course's people, and following one of them -----

  startPeople() {
    this.classPresence = new ClassPresence({
      courseId: this.project.course_id,
      token: session.token,
      onPeople: (people, me) => {
        renderPeople(this.peoplePanel, {
          people,
          me,
          following: this.classPresence.following,
          onFollow: (userId) => this.classPresence.follow(userId),
        });
        this.followMoves(people);
      },
      onState: (state) => (this.peoplePanel.dataset.state = state),
    });
    this.classPresence.moveTo(this.project.id, this.active);
  }

  /** Goes where the followed person is: their project, then their file, then their caret. */
  followMoves(people) {
    const target = people.get(this.classPresence.following);
    if (!target?.online || !target.project_id || this.closed) return;
    if (target.project_id !== this.project.id) {
      this.ctx.navigate(`#/projects/${target.project_id}`);
      return;
    }
    if (!target.file_id || target.file_id === this.active) return;
    const file = this.files.find((f) => f.id === target.file_id);
    if (file) this.openTab(file, false);
    else this.refresh();
  }

  keepFollowedInView() {
    const following = this.classPresence?.following;
    if (following) this.tabs.get(this.active)?.session.reveal(following);
  }

  // ----- status -----

  showStatus() {
    const entry = this.tabs.get(this.active);
    if (!entry) {
      this.stateText.hidden = true;
      this.pendingText.textContent = this.files.some((f) => !f.directory) ? "Open a file from the tree." : "";
      return;
    }
    this.stateText.hidden = false;
    this.stateText.dataset.state = entry.state;
    this.stateText.textContent = STATE_LABELS[entry.state] ?? entry.state;
    this.stateText.title = entry.detail || "";
    const file = this.files.find((f) => f.id === this.active);
    const language = file ? languageName(file.path) : "";
    let saved;
    if (this.readOnly) saved = "Read-only: you can watch, not edit.";
    else if (entry.pending === 0) saved = entry.state === "live" ? "All changes saved." : "";
    else if (entry.state === "live") saved = `Saving ${entry.pending} edit${entry.pending === 1 ? "" : "s"}…`;
    else saved = `${entry.pending} edit${entry.pending === 1 ? "" : "s"} not saved yet: kept in this tab and sent when the connection is back. Keep the tab open.`;
    this.pendingText.dataset.pending = String(entry.pending);
    this.pendingText.textContent = [language, saved].filter(Boolean).join(" · ");
  }

  showPresence() {
    const entry = this.tabs.get(this.active);
    const people = entry ? entry.peers : [];
    // Carets move all the time; the live region changes only when people come or go.
    const who = `${this.active}:${people.map((p) => `${p.clientId}/${p.name}`).join(",")}`;
    if (who === this.shownPresence) return;
    this.shownPresence = who;
    replace(
      this.presence,
      people.map((p) =>
        h("span", { class: "peer", title: p.name, dataset: { clientId: String(p.clientId) } },
          h("span", { class: "peer-dot", style: `background-color: ${p.colour}`, "aria-hidden": "true" }),
          p.name),
      ),
      h("span", { class: people.length ? "visually-hidden" : "hint" }, presenceSentence(people)),
    );
  }

  // ----- changes from elsewhere -----

  /**
   * Reads the project again and follows what changed: tree, paths of open files, access. A read
   * that events overtook (they arrived while it was under way) is made again, so that an older
   * answer never undoes a newer event.
   */
  async refresh() {
    if (this.closed) return undefined;
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false;
          const detail = await api.hub.project(this.project.id);
          if (this.closed) return;
          if (!this.refreshAgain) this.apply(detail);
        } while (this.refreshAgain);
      } catch (e) {
        if (this.closed) return;
        if (e.status === 403) this.close("Your access to this project was removed.");
        else if (e.status === 404) this.close("This project no longer exists.");
        // Anything else (the hub restarting, the network): the events socket reconnects, and
        // reading again follows its `ready`.
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  apply(detail) {
    const access = detail.project.access;
    this.project = { ...detail.project, access: this.project.access };
    this.members.clear();
    for (const m of detail.members) this.members.set(m.user_id, { access: m.access, name: m.display_name });
    this.classmates = detail.classmates ?? [];
    this.setAccess(access);
    this.applyFiles(detail.files);
  }

  /** One event of the project's events socket. */
  follow(event) {
    if (event.event === "thread_changed") {
      this.threads?.refresh();
      return;
    }
    if (this.refreshing) this.refreshAgain = true;
    if (event.event !== "access_changed") {
      this.applyFiles(applyTreeEvent(this.files, event));
    } else if (event.user_id === this.me.id) {
      // Nothing left closes the socket (4005): see eventsEnded.
      if (event.access) this.setAccess(event.access);
    } else if (this.owned) {
      // The hub names the member and what they may do now.
      this.refresh();
    }
  }

  eventsEnded(kind, reason) {
    if (kind === "no-access") this.close("Your access to this project was removed.");
    else if (kind === "gone") this.close("This project no longer exists.");
    else if (kind === "auth") {
      api
        .refresh()
        .then((fresh) => {
          session.set(fresh);
          this.events.reconnect();
        })
        .catch(() => this.ctx.notify("Your session ended: sign in again to see changes made by others."));
    } else this.ctx.notify(`Changes made by others no longer show: ${reason}. Reload the page to try again.`);
  }

  /** Follows a change of our own access: the editors turn read-only, or writable again. */
  setAccess(access) {
    const before = this.project.access;
    if (access === before) return;
    if (access !== "write") {
      this.becameReadOnly("The owner changed your access: you can read this project, not edit it.");
      return;
    }
    this.project = { ...this.project, access };
    for (const entry of this.tabs.values()) entry.session.setReadOnly(false);
    this.accessChanged();
    this.ctx.announce("You can edit this project now.");
  }

  /** Shows `files` as the project's tree: open tabs follow renames, deleted files close. */
  applyFiles(files) {
    const byId = new Map(files.map((f) => [f.id, f]));
    for (const [id, entry] of [...this.tabs]) {
      const now = byId.get(id);
      const was = this.files.find((f) => f.id === id);
      if (!now) {
        entry.session.destroy();
        entry.tab.remove();
        entry.panel.remove();
        this.tabs.delete(id);
        if (this.active === id) this.active = null;
        this.ctx.notify(`“${was?.path ?? "A file"}” was deleted.`);
      } else if (was && now.path !== was.path) {
        entry.session.setPath(now.path);
        entry.tab.querySelector("[role=tab]").textContent = baseName(now.path);
        entry.tab.querySelector(".tab-close").setAttribute("aria-label", `Close ${baseName(now.path)}`);
        this.ctx.announce(`${was.path} is now ${now.path}.`);
      }
    }
    this.files = files;
    this.tree.update(this.files);
    if (this.active === null && this.tabs.size) this.activate([...this.tabs.keys()].pop(), false);
    this.showStatus();
  }

  accessChanged() {
    this.accessBadge.hidden = !this.readOnly;
    this.main.querySelector("#ide").dataset.access = this.project.access;
    this.updateButtons();
    this.showStatus();
  }

  becameReadOnly(message) {
    this.project = { ...this.project, access: "read" };
    for (const entry of this.tabs.values()) entry.session.setReadOnly(true);
    this.accessChanged();
    this.ctx.notify(message);
  }

  /** The hub refused an edit: we may only read now. Edits it refused are dropped. */
  lostWrite(id) {
    if (!this.readOnly) this.becameReadOnly("You can only read this project now; your last edits were not saved.");
    this.reopen(id);
    this.refresh();
  }

  ended(id, kind, reason) {
    if (kind === "gone") {
      this.refresh();
    } else if (kind === "no-access") {
      // Access taken away entirely (refresh closes the project on its 403) or lowered to
      // read: then the file opens again, read-only.
      this.refresh().then(() => {
        if (this.closed) return;
        if (this.readOnly) this.reopen(id);
        else this.close("Your access to this project was removed.");
      });
    } else if (kind === "auth") {
      api
        .refresh()
        .then((fresh) => {
          session.set(fresh);
          this.reopen(id);
        })
        .catch(() => {});
    } else {
      this.ctx.notify(`This file's live connection stopped: ${reason}. Reload the page to try again.`);
    }
  }

  close(message) {
    this.destroy();
    replace(
      this.main,
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/projects" }, "Projects")),
      h("h1", { tabindex: "-1", id: "project-closed" }, "Project closed"),
      h("p", { class: "alert", role: "alert" }, message),
      h("p", {}, h("a", { href: "#/projects" }, "Back to your projects")),
    );
    this.main.querySelector("h1").focus();
  }

  // ----- our own changes -----

  async create(directory) {
    const selected = this.tree.selected;
    const base = selected ? (selected.directory ? selected.path : parentOf(selected.path)) : "";
    const what = directory ? "folder" : "file";
    let created = null;
    await openDialog({
      id: "create-dialog",
      title: `New ${what}`,
      submitLabel: "Create",
      body: [
        h("label", { for: "create-path" }, `Path of the new ${what}`),
        h("input", { id: "create-path", type: "text", value: join(base, ""), autocomplete: "off", spellcheck: "false", required: true }),
        h("p", { class: "hint" }, "Folders on the way are created too, e.g. src/util.py."),
      ],
      onSubmit: async (form) => {
        const path = normalisePath(form.querySelector("#create-path").value);
        if (!path) return "Enter a path of names without \\, control characters, . or ..";
        try {
          created = await api.hub.createFile(this.project.id, path, directory);
          return null;
        } catch (e) {
          return e.message;
        }
      },
    });
    if (!created) return;
    await this.refresh();
    this.tree.reveal(created.path);
    if (!directory) this.openTab(created, true);
    this.ctx.announce(`Created ${created.path}.`);
  }

  async rename(entry) {
    if (!entry || this.readOnly) return;
    let moved = null;
    await openDialog({
      id: "rename-dialog",
      title: `Rename or move ${entry.directory ? "folder" : "file"}`,
      submitLabel: "Rename",
      body: [
        h("label", { for: "rename-path" }, "New path"),
        h("input", { id: "rename-path", type: "text", value: entry.path, autocomplete: "off", spellcheck: "false", required: true }),
        h("p", { class: "hint" }, "Change the folders in the path to move it."),
      ],
      onSubmit: async (form) => {
        const path = normalisePath(form.querySelector("#rename-path").value);
        if (!path) return "Enter a path of names without \\, control characters, . or ..";
        if (path === entry.path) return null;
        try {
          moved = await api.hub.moveFile(this.project.id, entry.id, path);
          return null;
        } catch (e) {
          return e.message;
        }
      },
    });
    if (!moved) return;
    // Folders that were open stay open under their new name.
    for (const path of [...this.tree.expanded]) this.tree.expanded.add(movedPath(path, entry.path, moved.path));
    await this.refresh();
    this.tree.reveal(moved.path);
    this.ctx.announce(`Renamed to ${moved.path}.`);
  }

  async remove(entry) {
    if (!entry || this.readOnly) return;
    const inside = entry.directory ? this.files.filter((f) => f.path.startsWith(`${entry.path}/`)).length : 0;
    let deleted = false;
    await openDialog({
      id: "delete-dialog",
      title: `Delete ${entry.directory ? "folder" : "file"}?`,
      submitLabel: "Delete",
      danger: true,
      body: h(
        "p",
        {},
        `“${entry.path}”`,
        inside ? ` and the ${inside} entr${inside === 1 ? "y" : "ies"} in it` : "",
        " will be deleted for everyone in this project. This cannot be undone.",
      ),
      onSubmit: async () => {
        try {
          await api.hub.deleteFile(this.project.id, entry.id);
          deleted = true;
          return null;
        } catch (e) {
          return e.message;
        }
      },
    });
    if (!deleted) return;
    await this.refresh();
    this.ctx.announce(`Deleted ${entry.path}.`);
  }

  share() {
    return openShareDialog({ projectId: this.project.id, members: this.members, classmates: this.classmates, announce: this.ctx.announce });
  }

  async download() {
    const button = this.main.querySelector("#download");
    button.disabled = true;
    try {
      await downloadZip(this.project.id, this.files, (id) => this.tabs.get(id)?.session.text.toString() ?? null);
      this.ctx.announce("Download ready.");
    } catch (e) {
      this.ctx.notify(`The download failed: ${e.message}`);
    } finally {
      button.disabled = false;
    }
  }
}

/** The name the page has for a project's owner. */
export function ownerName(project, me) {
  if (project.owner_id === me.id) return "you";
  return project.owner_name;
}
