// web/js/ide/threads.js: lines of a selection, gutter markers, lists, links and permissions.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  askedRange, inboxOrder, linesOf, markerLabel, markersByLine, openQuestions, permissions, summary, threadHref, whereText,
} from "../../../../web/js/ide/threads.js";

const CODE = "def f():\n    return 1\n\nprint(f())\n";

const thread = (id, extra = {}) => ({
  id,
  project_id: 3,
  file_id: 7,
  path: "main.py",
  author: { id: 10, name: "Ada" },
  resolved: false,
  outdated: false,
  lines: { start: 2, end: 2 },
  quote: { line: 2, text: "    return 1" },
  created_at: `2026-12-02T04:0${id}:00Z`,
  comments: [{ id: 100 + id, author: { id: 10, name: "Ada" }, body: `Question ${id}\nmore` }],
  ...extra,
});

test("a selection names the lines it touches, and a closing line break stays on its line", () => {
  assert.deepEqual(linesOf(CODE, 9, 21), { start: 2, end: 2 });
  assert.deepEqual(linesOf(CODE, 9, 22), { start: 2, end: 2 });
  assert.deepEqual(linesOf(CODE, 0, 23), { start: 1, end: 3 });
  assert.deepEqual(linesOf(CODE, 21, 9), { start: 2, end: 2 });
});

test("a bare cursor asks about its whole line; an empty line or text asks about nothing", () => {
  assert.deepEqual(askedRange(CODE, 12, 12), { from: 9, to: 21 });
  assert.deepEqual(askedRange(CODE, 15, 3), { from: 3, to: 15 });
  assert.equal(askedRange(CODE, 22, 22), null);
  assert.equal(askedRange("", 0, 0), null);
});

test("markers go on the line each thread starts on now, open ones first, outdated ones nowhere", () => {
  const threads = [thread(1, { resolved: true }), thread(2), thread(3, { outdated: true, lines: null })];
  const marks = markersByLine(threads, (t) => (t.outdated ? null : 4));
  assert.deepEqual([...marks.keys()], [4]);
  assert.deepEqual(marks.get(4).map((t) => t.id), [2, 1]);
  assert.equal(markerLabel(marks.get(4)), "1 open question, 1 resolved");
  assert.equal(markerLabel([thread(5), thread(6)]), "2 open questions");
});

test("open questions go by path and line with outdated last; the inbox newest first", () => {
  const threads = [
    thread(1, { path: "z.py" }),
    thread(2, { lines: { start: 9, end: 9 } }),
    thread(3, { outdated: true, lines: null }),
    thread(4),
    thread(5, { resolved: true }),
  ];
  assert.deepEqual(openQuestions(threads).map((t) => t.id), [4, 2, 3, 1]);
  assert.deepEqual(inboxOrder(threads).map((t) => t.id), [4, 3, 2, 1]);
});

test("where a thread is, its link, its summary", () => {
  assert.equal(whereText(thread(1)), "main.py, line 2");
  assert.equal(whereText(thread(1, { lines: { start: 2, end: 5 } })), "main.py, lines 2–5");
  assert.equal(whereText(thread(1, { outdated: true, lines: null })), "main.py, outdated (was line 2)");
  assert.equal(threadHref(thread(4)), "#/projects/3?file=7&line=2&thread=4");
  assert.equal(threadHref(thread(4, { lines: null })), "#/projects/3?file=7&line=2&thread=4");
  assert.equal(summary(thread(1)), "Question 1");
  assert.equal(summary(thread(1, { comments: [] })), "(question removed)");
  assert.equal(summary(thread(1, { comments: [{ body: "x".repeat(100) }] }), 10).length, 10);
});

test("the asker, the owner and teachers resolve; authors edit; teachers remove anyone's", () => {
  const t = thread(1);
  const mine = { author: { id: 10 } };
  const theirs = { author: { id: 11 } };
  assert.equal(permissions(t, 10).resolve, true);
  assert.equal(permissions(t, 11).resolve, false);
  assert.equal(permissions(t, 11, { owner: true }).resolve, true);
  assert.equal(permissions(t, 12, { teacher: true }).resolve, true);
  assert.equal(permissions(t, 10).edit(mine), true);
  assert.equal(permissions(t, 10).edit(theirs), false);
  assert.equal(permissions(t, 10).remove(theirs), false);
  assert.equal(permissions(t, 12, { teacher: true }).remove(theirs), true);
});
