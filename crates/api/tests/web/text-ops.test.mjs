// web/js/ide/text-ops.js against real Yjs documents: CodeMirror-style changes become Y.Text
// edits that leave the same text, and Y.Text events become editor edits that leave the same
// text, for random edits with newlines, deletions and multi-byte characters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { applyOps, opFromChange, opsFromDelta } from "../../../../web/js/ide/text-ops.js";

const require = createRequire(import.meta.url);
const Y = require("yjs");

const PIECES = ["a", "bc", "\n", "é", "字", "😀", "x\ny", "\n\n", "🎉z", " "];

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** A CodeMirror change on `text`: {fromIndex, removed, text} as CodeMirror reports them. */
function randomChange(text, random) {
  let from = Math.floor(random() * (text.length + 1));
  let to = Math.min(text.length, from + Math.floor(random() * 4));
  // CodeMirror never splits a surrogate pair.
  const inPair = (i) => i > 0 && i < text.length && /[\uDC00-\uDFFF]/.test(text[i]);
  if (inPair(from)) from -= 1;
  if (inPair(to)) to += 1;
  const inserted = random() < 0.7 ? PIECES[Math.floor(random() * PIECES.length)] : "";
  return { fromIndex: from, removed: text.slice(from, to).split("\n"), text: inserted.split("\n") };
}

test("a CodeMirror change applied to Y.Text leaves the editor's text", () => {
  const random = rng(7);
  const doc = new Y.Doc();
  const ytext = doc.getText("content");
  let editor = "";
  for (let i = 0; i < 2000; i++) {
    const change = randomChange(editor, random);
    const op = opFromChange(change.fromIndex, change.removed, change.text);
    const removedLength = change.removed.join("\n").length;
    editor = editor.slice(0, change.fromIndex) + change.text.join("\n") + editor.slice(change.fromIndex + removedLength);
    if (!op) {
      assert.equal(removedLength, 0);
      continue;
    }
    if (op.remove) ytext.delete(op.index, op.remove);
    if (op.insert) ytext.insert(op.index, op.insert);
    assert.equal(ytext.toString(), editor);
  }
  assert.ok(editor.length > 0);
});

test("a change that changes nothing is no op", () => {
  assert.equal(opFromChange(3, [""], [""]), null);
  assert.deepEqual(opFromChange(2, ["ab", "c"], ["Z"]), { index: 2, remove: 4, insert: "Z" });
});

test("Y.Text events from concurrent editors replay onto an editor's copy", () => {
  const random = rng(11);
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on("update", (u, origin) => origin !== "sync" && pending.push(["b", u]));
  b.on("update", (u, origin) => origin !== "sync" && pending.push(["a", u]));
  let pending = [];
  let mirror = "";
  b.getText("content").observe((event) => {
    mirror = applyOps(mirror, opsFromDelta(event.delta));
  });
  for (let round = 0; round < 300; round++) {
    for (const doc of [a, b]) {
      const text = doc.getText("content");
      const change = randomChange(text.toString(), random);
      const op = opFromChange(change.fromIndex, change.removed, change.text);
      if (!op) continue;
      doc.transact(() => {
        if (op.remove) text.delete(op.index, op.remove);
        if (op.insert) text.insert(op.index, op.insert);
      });
    }
    // Deliver some of what is in flight, in order, as a socket would.
    const deliver = pending.splice(0, Math.floor(random() * (pending.length + 1)));
    for (const [to, update] of deliver) Y.applyUpdate(to === "a" ? a : b, update, "sync");
    assert.equal(mirror, b.getText("content").toString());
  }
  for (const [to, update] of pending.splice(0)) Y.applyUpdate(to === "a" ? a : b, update, "sync");
  assert.equal(a.getText("content").toString(), b.getText("content").toString());
  assert.equal(mirror, b.getText("content").toString());
});
