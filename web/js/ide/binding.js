// CodeMirror 5 bound to a Y.Text, both ways without echo: a local change becomes one Yjs
// transaction whose origin is the binding (so its own observer skips it), a remote change is
// applied to CodeMirror while the binding ignores CodeMirror's change events. Undo and redo
// are Yjs's, over local edits only (CodeMirror's own history would undo other people's typing).
// Our cursor and selection go into awareness as Yjs relative positions, which stay put as
// others type; other people's are drawn in their colour with their name.

import * as Y from "yjs";
import { opFromChange, opsFromDelta } from "./text-ops.js";
import { peers, selectionColour } from "./presence.js";

/**
 * Binds `cm` to `ytext` and `awareness`. `onPeers(list)` is called with the people in this
 * document (presence.js's `peers`) whenever they change. Returns {destroy, undo, redo, caretOf}.
 */
export function bind(cm, ytext, awareness, { onPeers } = {}) {
  const doc = ytext.doc;
  const binding = {};
  const undoManager = new Y.UndoManager(ytext, { trackedOrigins: new Set([binding]) });
  let applyingRemote = false;
  let marks = [];

  applyingRemote = true;
  cm.setValue(ytext.toString());
  cm.clearHistory();
  applyingRemote = false;

  const onChange = (_cm, change) => {
    if (applyingRemote) return;
    const op = opFromChange(cm.indexFromPos(change.from), change.removed, change.text);
    if (!op) return;
    doc.transact(() => {
      if (op.remove) ytext.delete(op.index, op.remove);
      if (op.insert) ytext.insert(op.index, op.insert);
    }, binding);
  };

  const onText = (event, transaction) => {
    if (transaction.origin === binding) return;
    applyingRemote = true;
    try {
      cm.operation(() => {
        for (const op of opsFromDelta(event.delta)) {
          const from = cm.posFromIndex(op.index);
          if (op.remove) cm.replaceRange("", from, cm.posFromIndex(op.index + op.remove), "+remote");
          if (op.insert) cm.replaceRange(op.insert, from, undefined, "+remote");
        }
      });
    } finally {
      applyingRemote = false;
    }
    drawPeers();
  };

  const onCursor = () => {
    // Remote edits move our cursor in CodeMirror, not in Yjs terms: nothing to tell anyone.
    if (applyingRemote) return;
    const selection = cm.listSelections()[0];
    const relative = (pos) => Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, cm.indexFromPos(pos)));
    awareness.setLocalStateField("cursor", { anchor: relative(selection.anchor), head: relative(selection.head) });
  };

  /** Where a relative position (as JSON) is now, as a CodeMirror position; null if gone. */
  const toPos = (json) => {
    try {
      const absolute = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), doc);
      return absolute && absolute.type === ytext ? cm.posFromIndex(absolute.index) : null;
    } catch {
      return null; // a malformed position from a foreign client
    }
  };

  function drawPeers() {
    for (const mark of marks) mark.clear();
    marks = [];
    const list = peers(awareness.getStates(), doc.clientID);
    for (const peer of list) {
      if (!peer.cursor) continue;
      const head = toPos(peer.cursor.head);
      const anchor = toPos(peer.cursor.anchor) ?? head;
      if (!head) continue;
      const [from, to] = cmpPos(anchor, head) <= 0 ? [anchor, head] : [head, anchor];
      if (cmpPos(from, to) !== 0) {
        marks.push(cm.markText(from, to, { css: `background-color: ${selectionColour(peer.colour)}`, className: "remote-selection" }));
      }
      marks.push(cm.setBookmark(head, { widget: caret(peer, head), insertLeft: true }));
    }
    onPeers?.(list);
  }

  const onAwareness = ({ added, updated, removed }, origin) => {
    // Our own cursor moving changes nothing on screen.
    if (origin === "local" && added.length + removed.length === 0 && updated.every((id) => id === doc.clientID)) return;
    drawPeers();
  };

  cm.on("change", onChange);
  cm.on("cursorActivity", onCursor);
  cm.on("focus", onCursor);
  ytext.observe(onText);
  awareness.on("change", onAwareness);
  drawPeers();

  return {
    undo: () => undoManager.undo(),
    redo: () => undoManager.redo(),
    /** Where the caret of user `userId` (their latest socket here) is, or null. */
    caretOf(userId) {
      const mine = peers(awareness.getStates(), doc.clientID).filter((p) => p.userId === userId && p.cursor);
      const latest = mine[mine.length - 1];
      return latest ? toPos(latest.cursor.head) : null;
    },
    destroy() {
      cm.off("change", onChange);
      cm.off("cursorActivity", onCursor);
      cm.off("focus", onCursor);
      ytext.unobserve(onText);
      awareness.off("change", onAwareness);
      for (const mark of marks) mark.clear();
      undoManager.destroy();
    },
  };
}

function cmpPos(a, b) {
  return a.line - b.line || a.ch - b.ch;
}

/** The caret of another person: a coloured bar with their name above it. */
function caret(peer, pos) {
  const el = document.createElement("span");
  el.className = "remote-caret";
  el.style.borderColor = peer.colour;
  el.dataset.clientId = String(peer.clientId);
  el.dataset.line = String(pos.line);
  el.dataset.ch = String(pos.ch);
  el.setAttribute("aria-hidden", "true");
  const label = document.createElement("span");
  label.className = "remote-caret-name";
  label.style.backgroundColor = peer.colour;
  label.textContent = peer.name;
  el.append(label);
  return el;
}
