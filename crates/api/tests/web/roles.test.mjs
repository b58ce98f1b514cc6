// web/js/roles.js: what a course role lets the page offer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { teaches, takes } from "../../../../web/js/roles.js";

test("owners and co-teachers teach; students take; invitees and strangers do neither", () => {
  const as = (my_role) => ({ id: 1, my_role });
  assert.deepEqual(
    ["owner", "teacher", "student", "invited", null].map((role) => [teaches(as(role)), takes(as(role))]),
    [[true, false], [true, false], [false, true], [false, false], [false, false]],
  );
  assert.equal(teaches(undefined), false);
  assert.equal(takes(null), false);
});
