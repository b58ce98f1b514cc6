// The file tree on screen: a WAI-ARIA tree (one focusable row at a time, arrows to move,
// Right/Left to open and close folders, Enter to open a file, F2 to rename or move, Delete to
// delete), drawn from the hub's flat listing with tree.js.

import { h, replace } from "../dom.js";
import { buildTree, visibleRows } from "./tree.js";

/**
 * A tree inside `list` (a <ul>). `actions`: `open(entry)`, `rename(entry)`, `remove(entry)`,
 * `selected(entry)`. `update(entries)` redraws with a new listing, keeping what is expanded,
 * selected and focused.
 */
export class TreeView {
  constructor(list, actions) {
    this.list = list;
    this.actions = actions;
    this.entries = [];
    this.expanded = new Set();
    this.known = new Set();
    this.selectedPath = null;
    list.setAttribute("role", "tree");
    list.addEventListener("keydown", (event) => this.key(event));
  }

  get selected() {
    return this.entries.find((e) => e.path === this.selectedPath) ?? null;
  }

  update(entries) {
    this.entries = entries;
    // Folders seen for the first time start open: a project is small, and a student should see
    // the files the template gave them.
    for (const entry of entries) {
      if (entry.directory && !this.known.has(entry.path)) this.expanded.add(entry.path);
      this.known.add(entry.path);
    }
    if (this.selectedPath && !entries.some((e) => e.path === this.selectedPath)) this.selectedPath = null;
    this.draw();
  }

  /** Selects (and shows) the entry at `path`, opening the folders above it. */
  reveal(path) {
    for (let i = path.indexOf("/"); i > 0; i = path.indexOf("/", i + 1)) this.expanded.add(path.slice(0, i));
    this.select(path);
  }

  select(path, focus = false) {
    this.selectedPath = path;
    this.draw();
    if (focus) this.rowOf(path)?.focus();
    this.actions.selected?.(this.selected);
  }

  rowOf(path) {
    return [...this.list.children].find((li) => li.dataset.path === path) ?? null;
  }

  /** Redraws the rows, reusing the element of each path still shown (focus and clicks stay). */
  draw() {
    const hadFocus = this.list.contains(document.activeElement);
    const rows = visibleRows(buildTree(this.entries), this.expanded);
    const focusPath = this.selectedPath ?? rows[0]?.node.path;
    const existing = new Map([...this.list.querySelectorAll("[role=treeitem]")].map((li) => [li.dataset.path, li]));
    const items = rows.map(({ node, depth }) => {
      const li = existing.get(node.path) ?? this.row(node);
      const open = this.expanded.has(node.path);
      li.dataset.fileId = String(node.id);
      li.setAttribute("aria-level", String(depth));
      if (node.directory) li.setAttribute("aria-expanded", String(open));
      li.setAttribute("aria-selected", String(node.path === this.selectedPath));
      li.tabIndex = node.path === focusPath ? 0 : -1;
      li.style.paddingLeft = `${(depth - 1) * 1.1 + 0.5}rem`;
      li.querySelector(".tree-icon").textContent = node.directory ? (open ? "▾" : "▸") : "·";
      li.node = node;
      return li;
    });
    replace(this.list, items.length ? items : h("li", { class: "tree-empty", role: "none" }, "No files yet."));
    if (hadFocus) this.rowOf(focusPath)?.focus();
  }

  row(node) {
    const li = h(
      "li",
      {
        role: "treeitem",
        class: `tree-row${node.directory ? " tree-dir" : " tree-file"}`,
        dataset: { path: node.path },
      },
      h("span", { class: "tree-icon", "aria-hidden": "true" }),
      h("span", { class: "tree-name" }, node.name),
    );
    li.addEventListener("click", () => this.activate(li.node));
    return li;
  }

  activate(node) {
    if (node.directory) {
      this.toggle(node.path);
      this.select(node.path, true);
    } else {
      this.select(node.path, true);
      this.actions.open(node);
    }
  }

  toggle(path, open = !this.expanded.has(path)) {
    if (open) this.expanded.add(path);
    else this.expanded.delete(path);
    this.draw();
  }

  key(event) {
    const rows = [...this.list.querySelectorAll("[role=treeitem]")];
    const index = rows.indexOf(document.activeElement);
    if (index < 0) return;
    const row = rows[index];
    const entry = this.entries.find((e) => e.path === row.dataset.path);
    const move = (to) => {
      const target = rows[Math.max(0, Math.min(rows.length - 1, to))];
      this.select(target.dataset.path, true);
    };
    switch (event.key) {
      case "ArrowDown":
        move(index + 1);
        break;
      case "ArrowUp":
        move(index - 1);
        break;
      case "Home":
        move(0);
        break;
      case "End":
        move(rows.length - 1);
        break;
      case "ArrowRight":
        if (entry.directory && !this.expanded.has(entry.path)) this.toggle(entry.path, true);
        else if (entry.directory) move(index + 1);
        else return;
        break;
      case "ArrowLeft": {
        if (entry.directory && this.expanded.has(entry.path)) {
          this.toggle(entry.path, false);
          this.rowOf(entry.path)?.focus();
        } else {
          const parent = entry.path.slice(0, Math.max(0, entry.path.lastIndexOf("/")));
          if (parent) this.select(parent, true);
        }
        break;
      }
      case "Enter":
      case " ":
        this.activate(entry);
        break;
      case "F2":
        this.actions.rename(entry);
        break;
      case "Delete":
        this.actions.remove(entry);
        break;
      default:
        return;
    }
    event.preventDefault();
  }
}
