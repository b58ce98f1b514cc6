// Pure mapping between CodeMirror 5 changes and Y.Text edits, both counted in UTF-16 code
// units as JavaScript strings, CodeMirror and Yjs all count them. An op is
// {index, remove, insert}: remove `remove` units at `index`, then insert `insert` there.
// No DOM and no Yjs here, so Node's test runner checks it against real Yjs documents.

/**
 * The op for one CodeMirror `change` event: `fromIndex` is `cm.indexFromPos(change.from)`
 * (valid when the event fires, the change applied), `removed` and `text` the change's line
 * arrays. Null when the change changed nothing.
 */
export function opFromChange(fromIndex, removed, text) {
  const remove = removed.reduce((sum, line) => sum + line.length, 0) + removed.length - 1;
  const insert = text.join("\n");
  if (remove === 0 && insert === "") return null;
  return { index: fromIndex, remove, insert };
}

/**
 * The ops a Y.Text event's `delta` ([{retain}|{insert}|{delete}]) stands for, each at the
 * index it applies to once the ops before it are applied, in order.
 */
export function opsFromDelta(delta) {
  const ops = [];
  let index = 0;
  for (const part of delta) {
    if (part.retain !== undefined) {
      index += part.retain;
    } else if (part.delete !== undefined) {
      ops.push({ index, remove: part.delete, insert: "" });
    } else if (typeof part.insert === "string") {
      ops.push({ index, remove: 0, insert: part.insert });
      index += part.insert.length;
    }
    // Embeds (objects) have no place in a plain-text editor; none of our clients makes one.
  }
  return ops;
}

/** Applies ops to a string: what both sides do, for tests and for checking. */
export function applyOps(text, ops) {
  let out = text;
  for (const { index, remove, insert } of ops) {
    out = out.slice(0, index) + insert + out.slice(index + remove);
  }
  return out;
}
