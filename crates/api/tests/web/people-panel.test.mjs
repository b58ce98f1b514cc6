// web/js/people-panel.js: where a person is, in words, and when they were last seen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ago, whereabouts } from "../../../../web/js/people-panel.js";

const ada = { user_id: 1, name: "Ada", online: true, activity: "typing", project_owner: 1, project_id: 5, file_id: 9, path: "src/a.py" };
const people = new Map([
  [1, ada],
  [2, { user_id: 2, name: "Bob", online: true, activity: "idle", project_owner: 1, project_id: null, file_id: null, path: null }],
  [3, { user_id: 3, name: "Cy", online: false, last_seen: "2026-12-02T04:00:00Z" }],
]);

test("an online person is where they are, doing what they do", () => {
  assert.equal(whereabouts(ada, people, 3), "typing in src/a.py (own project)");
  assert.equal(whereabouts({ ...ada, activity: "active" }, people, 3), "in src/a.py (own project)");
  // A viewer who may not read the project is told whose it is, not the file.
  assert.equal(whereabouts(people.get(2), people, 3), "idle in Ada's project");
  assert.equal(whereabouts(people.get(2), people, 1), "idle in your project");
  assert.equal(whereabouts({ ...ada, project_owner: null, path: null, activity: "active" }, people, 3), "online");
});

test("an offline person was last seen some time ago", () => {
  const now = Date.parse("2026-12-02T04:05:00Z");
  assert.equal(ago("2026-12-02T04:04:50Z", now), "seen just now");
  assert.equal(ago("2026-12-02T04:00:00Z", now), "seen 5 min ago");
  assert.equal(ago("2026-12-02T01:00:00Z", now), "seen 3 h ago");
  assert.equal(ago(null, now), "not seen yet");
  assert.equal(whereabouts(people.get(3), people, 1).startsWith("seen"), true);
});
