// web/js/ide/tree.js: nesting, order, visible rows, path arithmetic, modes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyTreeEvent, buildTree, visibleRows, movedPath, normalisePath, nameProblem, modeFor, languageName, parentOf, baseName, join } from "../../../../web/js/ide/tree.js";

const entries = [
  { id: 1, path: "README.md", directory: false },
  { id: 2, path: "src", directory: true },
  { id: 3, path: "src/main.py", directory: false },
  { id: 4, path: "src/Util.py", directory: false },
  { id: 5, path: "src/lib", directory: true },
  { id: 6, path: "src/lib/a.py", directory: false },
  { id: 7, path: "b.txt", directory: false },
  { id: 8, path: "orphan/x.py", directory: false },
];

test("folders come first, then names in a case-insensitive order", () => {
  const tree = buildTree(entries);
  assert.deepEqual(tree.map((n) => n.name), ["src", "b.txt", "README.md", "x.py"]);
  const src = tree.find((n) => n.name === "src");
  assert.deepEqual(src.children.map((n) => n.name), ["lib", "main.py", "Util.py"]);
});

test("an entry whose folder is missing is kept at the top", () => {
  assert.ok(buildTree(entries).some((n) => n.path === "orphan/x.py"));
});

test("collapsed folders hide what is in them", () => {
  const tree = buildTree(entries);
  const open = visibleRows(tree, new Set(["src", "src/lib"])).map((r) => `${r.depth}:${r.node.path}`);
  assert.deepEqual(open.slice(0, 5), ["1:src", "2:src/lib", "3:src/lib/a.py", "2:src/main.py", "2:src/Util.py"]);
  const closed = visibleRows(tree, new Set()).map((r) => r.node.path);
  assert.ok(!closed.includes("src/main.py"));
});

test("path arithmetic", () => {
  assert.equal(parentOf("a/b/c.py"), "a/b");
  assert.equal(parentOf("c.py"), "");
  assert.equal(baseName("a/b/c.py"), "c.py");
  assert.equal(join("", "x"), "x");
  assert.equal(join("a", "x"), "a/x");
  assert.equal(movedPath("src/lib/a.py", "src", "code"), "code/lib/a.py");
  assert.equal(movedPath("srcx/a.py", "src", "code"), "srcx/a.py");
  assert.equal(movedPath("src", "src", "code"), "code");
});

test("typed paths are tidied or refused", () => {
  assert.equal(normalisePath(" /src//util.py "), "src/util.py");
  assert.equal(normalisePath("a/../b"), null);
  assert.equal(normalisePath("a\\b"), null);
  assert.equal(normalisePath(""), null);
  assert.ok(nameProblem("a\u0007b"));
  assert.equal(nameProblem("héllo wörld.py"), null);
});

test("each file gets its language's mode", () => {
  assert.equal(modeFor("src/main.py"), "python");
  assert.equal(modeFor("app.js"), "javascript");
  assert.deepEqual(modeFor("data.json"), { name: "javascript", json: true });
  assert.equal(modeFor("main.rs"), "rust");
  assert.equal(modeFor("Main.java"), "text/x-java");
  assert.equal(modeFor("notes"), "text/plain");
  assert.equal(languageName("x.py"), "Python");
  assert.equal(languageName("data.json"), "JSON");
  assert.equal(languageName("notes"), "Plain text");
});

test("tree events create, move a folder with its contents, and delete", () => {
  let files = entries.slice(0, 6);
  files = applyTreeEvent(files, { event: "file_created", file: { id: 9, path: "src/new.py", directory: false } });
  files = applyTreeEvent(files, { event: "file_created", file: { id: 9, path: "src/new.py", directory: false } });
  assert.equal(files.filter((f) => f.id === 9).length, 1, "a repeated event is kept once");
  files = applyTreeEvent(files, { event: "file_moved", from: "src/lib", file: { id: 5, path: "lib", directory: true } });
  assert.deepEqual(files.filter((f) => f.id >= 5).map((f) => f.path), ["lib", "lib/a.py", "src/new.py"]);
  assert.equal(files.find((f) => f.id === 3).path, "src/main.py", "others stay");
  files = applyTreeEvent(files, { event: "files_deleted", file_ids: [5, 6] });
  assert.deepEqual(files.map((f) => f.id), [1, 2, 3, 4, 9]);
  assert.equal(applyTreeEvent(files, { event: "access_changed", user_id: 3, access: "read" }), files);
});
