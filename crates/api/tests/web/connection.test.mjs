// web/js/ide/connection.js: close codes, backoff, acknowledgements.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AckTracker, Reconnects, backoffDelay, closeKind } from "../../../../web/js/ide/connection.js";

test("close codes", () => {
  assert.equal(closeKind(4003), "auth");
  assert.equal(closeKind(4005), "no-access");
  assert.equal(closeKind(4006), "gone");
  assert.equal(closeKind(4000), "fatal");
  for (const code of [1001, 1006, 1011, 4004, 4008, 4009]) assert.equal(closeKind(code), "retry");
});

test("backoff doubles, is jittered and capped", () => {
  assert.equal(backoffDelay(0, 0), 125);
  assert.equal(backoffDelay(0, 1), 250);
  assert.ok(backoffDelay(3, 0.5) > backoffDelay(2, 0.5));
  assert.equal(backoffDelay(30, 1), 10_000);
});

test("edits are acknowledged by the answer to a probe sent after them", () => {
  const acks = new AckTracker();
  acks.probe(false); // the step 1 sent on connect
  acks.edited();
  acks.edited();
  assert.equal(acks.pending, 2);
  acks.answered(); // answers the connect probe: covers nothing
  assert.equal(acks.pending, 2);
  acks.probe();
  assert.ok(acks.covered);
  acks.edited();
  assert.ok(!acks.covered);
  acks.answered();
  assert.equal(acks.pending, 1);
});

test("probes lost with a socket acknowledge nothing", () => {
  const acks = new AckTracker();
  acks.edited();
  acks.probe();
  acks.reset();
  acks.answered();
  assert.equal(acks.pending, 1);
});

test("after a close: now with a refreshed token, end for good, or wait longer each time", () => {
  let now = 10_000;
  const reconnects = new Reconnects(() => now);
  const socket = { tokenUsed: "old", openedAt: 9_000 };
  assert.deepEqual(reconnects.next(socket, { code: 4003, reason: "token expired" }, "new"), { action: "now" });
  assert.deepEqual(reconnects.next(socket, { code: 4003, reason: "token expired" }, "old"), { action: "end", kind: "auth", reason: "token expired" });
  assert.deepEqual(reconnects.next(socket, { code: 4005, reason: "" }, "old"), { action: "end", kind: "no-access", reason: "closed (4005)" });
  const waits = [1, 2, 3, 4].map(() => reconnects.next(socket, { code: 1006, reason: "" }, "old"));
  assert.ok(waits.every((w) => w.action === "wait"));
  assert.ok(waits[3].delay > waits[0].delay, JSON.stringify(waits));
  now = 20_000;
  const fresh = reconnects.next(socket, { code: 1001, reason: "server shutting down" }, "old");
  assert.ok(fresh.delay <= 250, "a connection that lasted starts the backoff again");
});
