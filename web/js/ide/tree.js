// Pure logic of a project's file tree: the hub lists entries flat ({id, path, directory}),
// parents before children; the page shows them nested, directories first, by name. Also the
// path arithmetic of create, rename and move, and the CodeMirror mode for a file name.

/** The last segment of a path. */
export function baseName(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The directory a path is in ("" at the top). */
export function parentOf(path) {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** `dir` and `name` joined ("" is the project's top). */
export function join(dir, name) {
  return dir ? `${dir}/${name}` : name;
}

/**
 * Why `name` cannot be one segment of a path, or null when it can. The hub checks again
 * (and says why in its 422); this only saves a round trip for the obvious mistakes.
 */
export function nameProblem(name) {
  if (!name || !name.trim()) return "A name cannot be empty.";
  if (name === "." || name === "..") return "A name cannot be . or ..";
  if (/[/\\]/.test(name)) return "A name cannot contain / or \\.";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "A name cannot contain control characters.";
  return null;
}

/**
 * A relative path typed by a person ("src/util.py", "/src//x.py "), or null when a segment is
 * not acceptable. Leading, trailing and doubled slashes are dropped.
 */
export function normalisePath(text) {
  const segments = String(text).trim().split("/").filter((s) => s !== "");
  if (!segments.length || segments.some((s) => nameProblem(s))) return null;
  return segments.join("/");
}

/** The path `path` has after `from` (a file or directory) moved to `to`; unchanged otherwise. */
export function movedPath(path, from, to) {
  if (path === from) return to;
  if (path.startsWith(`${from}/`)) return to + path.slice(from.length);
  return path;
}

/**
 * Nests flat entries: returns the top level as [{id, path, name, directory, children}], each
 * level directories first, then by name (case-insensitive, then as is). Entries whose parent
 * is missing (a listing taken mid-move) are shown at the top rather than lost.
 */
export function buildTree(entries) {
  const nodes = new Map();
  for (const entry of entries) {
    nodes.set(entry.path, { ...entry, name: baseName(entry.path), children: [] });
  }
  const top = [];
  for (const node of nodes.values()) {
    const parent = nodes.get(parentOf(node.path));
    if (parent && parent.directory) parent.children.push(node);
    else top.push(node);
  }
  const order = (a, b) =>
    Number(b.directory) - Number(a.directory) ||
    a.name.toLowerCase().localeCompare(b.name.toLowerCase()) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const sort = (list) => {
    list.sort(order);
    for (const node of list) sort(node.children);
    return list;
  };
  return sort(top);
}

/** The visible rows of a tree, depth first, skipping the insides of collapsed directories. */
export function visibleRows(tree, expanded, depth = 1, rows = []) {
  for (const node of tree) {
    rows.push({ node, depth });
    if (node.directory && expanded.has(node.path)) visibleRows(node.children, expanded, depth + 1, rows);
  }
  return rows;
}

const MODES = [
  [/\.py$/i, "python"],
  [/\.(m?js|cjs|jsx)$/i, "javascript"],
  [/\.json$/i, { name: "javascript", json: true }],
  [/\.tsx?$/i, "text/typescript"],
  [/\.(c|h)$/i, "text/x-csrc"],
  [/\.(cc|cpp|cxx|hpp|hh)$/i, "text/x-c++src"],
  [/\.java$/i, "text/x-java"],
  [/\.kt$/i, "text/x-kotlin"],
  [/\.cs$/i, "text/x-csharp"],
  [/\.rs$/i, "rust"],
  [/\.go$/i, "go"],
  [/\.css$/i, "css"],
  [/\.html?$/i, "htmlmixed"],
  [/\.(xml|svg)$/i, "xml"],
  [/\.(md|markdown)$/i, "markdown"],
  [/\.(sh|bash)$/i, "shell"],
  [/\.sql$/i, "sql"],
  [/\.ya?ml$/i, "yaml"],
];

/** The CodeMirror mode for a file name; "text/plain" when none fits. */
export function modeFor(path) {
  const name = baseName(path);
  if (name === "Makefile" || name === "Dockerfile") return "shell";
  for (const [pattern, mode] of MODES) if (pattern.test(name)) return mode;
  return "text/plain";
}

/** A short name of a mode for people ("Python", "Plain text"). */
export function languageName(path) {
  const mode = modeFor(path);
  const key = typeof mode === "string" ? mode : "json";
  return LANGUAGE_NAMES[key] ?? "Plain text";
}

const LANGUAGE_NAMES = {
  python: "Python",
  javascript: "JavaScript",
  json: "JSON",
  "text/typescript": "TypeScript",
  "text/x-csrc": "C",
  "text/x-c++src": "C++",
  "text/x-java": "Java",
  "text/x-kotlin": "Kotlin",
  "text/x-csharp": "C#",
  rust: "Rust",
  go: "Go",
  css: "CSS",
  htmlmixed: "HTML",
  xml: "XML",
  markdown: "Markdown",
  shell: "Shell",
  sql: "SQL",
  yaml: "YAML",
};

/**
 * The project's entries after one of the hub's tree events (`file_created`, `file_moved` — a
 * folder's contents move with it —, `files_deleted`); other events leave them as they are.
 * An entry created twice (an event also seen in a re-read project) is kept once.
 */
export function applyTreeEvent(entries, event) {
  switch (event.event) {
    case "file_created":
      return [...entries.filter((e) => e.id !== event.file.id), event.file];
    case "file_moved":
      return entries.map((e) => {
        const path = movedPath(e.path, event.from, event.file.path);
        return path === e.path ? e : { ...e, path };
      });
    case "files_deleted": {
      const gone = new Set(event.file_ids);
      return entries.filter((e) => !gone.has(e.id));
    }
    default:
      return entries;
  }
}
