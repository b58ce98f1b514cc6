// web/js/ide/presence.js: colours and the people in a document.
import { test } from "node:test";
import assert from "node:assert/strict";
import { colourFor, peers, presenceSentence, selectionColour } from "../../../../web/js/ide/presence.js";

test("a client's colour is stable and neighbours differ", () => {
  assert.equal(colourFor(12345), colourFor(12345));
  const colours = new Set(Array.from({ length: 20 }, (_, i) => colourFor(1000 + i)));
  assert.equal(colours.size, 20);
  assert.match(colourFor(7), /^hsl\(\d+, 70%, 38%\)$/);
  assert.equal(selectionColour("hsl(10, 70%, 38%)"), "hsla(10, 70%, 38%, 0.22)");
});

test("peers leave out ourselves and the unnamed, and never take a foreign colour", () => {
  const states = new Map([
    [1, { user: { id: 5, name: "Me", colour: colourFor(1) } }],
    [2, { user: { id: 6, name: "Bob", colour: "red; background: url(x)" }, cursor: { anchor: 1, head: 2 } }],
    [3, {}],
    [4, { user: { id: 7, name: "  Ada ", colour: colourFor(4) } }],
  ]);
  const list = peers(states, 1);
  assert.deepEqual(list.map((p) => p.name), ["Ada", "Bob"]);
  assert.equal(list[1].colour, colourFor(2));
  assert.equal(list[0].userId, 7);
  assert.equal(presenceSentence(list), "Ada and Bob are in this file.");
  assert.equal(presenceSentence([]), "Nobody else is in this file.");
});
