// One open file of a project: its Y.Doc and awareness, the socket to the hub, a CodeMirror
// editor bound to the text, and what the page shows about it (connection state, edits not yet
// acknowledged, who else is here). The page keeps one per tab.

import * as Y from "yjs";
import { Awareness } from "y-protocols/awareness.js";
import { HubProvider } from "./provider.js";
import { bind } from "./binding.js";
import { colourFor } from "./presence.js";
import { modeFor } from "./tree.js";

/**
 * Opens `file` ({id, path}) of `projectId` into `host`. `user` is {id, name}; `readOnly`
 * whether to refuse typing; `listener` gets `state(state, detail)`, `pending(count)`,
 * `peers(list)`, `denied(reason)`, `ended(kind, reason)`.
 */
export function openFile({ projectId, file, host, user, token, readOnly, listener }) {
  const doc = new Y.Doc();
  const text = doc.getText("content");
  const awareness = new Awareness(doc);
  awareness.setLocalState({ user: { id: user.id, name: user.name, colour: colourFor(doc.clientID) }, cursor: null });

  const cm = window.CodeMirror(host, {
    value: "",
    mode: modeFor(file.path),
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    matchBrackets: true,
    styleActiveLine: true,
    undoDepth: 0,
    readOnly,
    inputStyle: "contenteditable",
    screenReaderLabel: `${file.path}${readOnly ? " (read-only)" : ""}`,
    extraKeys: {
      Tab: (editor) => {
        if (editor.somethingSelected()) editor.indentSelection("add");
        else editor.replaceSelection(" ".repeat(editor.getOption("indentUnit")), "end");
      },
      "Shift-Tab": (editor) => editor.indentSelection("subtract"),
      // Esc leaves the editor, so that Tab (which indents here) never traps keyboard users.
      Esc: () => listener.escape?.(),
      "Ctrl-Z": () => binding.undo(),
      "Cmd-Z": () => binding.undo(),
      "Shift-Ctrl-Z": () => binding.redo(),
      "Ctrl-Y": () => binding.redo(),
      "Shift-Cmd-Z": () => binding.redo(),
      "Ctrl-/": "toggleComment",
      "Cmd-/": "toggleComment",
    },
  });
  cm.getWrapperElement().dataset.readonly = String(readOnly);
  const binding = bind(cm, text, awareness, { onPeers: (list) => listener.peers(list) });
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const provider = new HubProvider({
    url: `${scheme}//${location.host}/hub/projects/${projectId}/docs/${file.id}`,
    token,
    doc,
    awareness,
    readOnly,
    onState: (state, detail) => listener.state(state, detail),
    onPending: (count) => listener.pending(count),
    onDenied: (reason) => listener.denied(reason),
    onEnd: (kind, reason) => listener.ended(kind, reason),
  });
  requestAnimationFrame(() => cm.refresh());

  return {
    file,
    cm,
    doc,
    text,
    awareness,
    provider,
    get pending() {
      return provider.pending;
    },
    get state() {
      return provider.state;
    },
    setPath(path) {
      this.file = { ...this.file, path };
      cm.setOption("mode", modeFor(path));
    },
    setReadOnly(value) {
      provider.readOnly = value;
      cm.setOption("readOnly", value);
      cm.getWrapperElement().dataset.readonly = String(value);
    },
    focus: () => cm.focus(),
    /** Scrolls user `userId`'s caret into view (a follower keeps it there); false if absent. */
    reveal(userId) {
      const pos = binding.caretOf(userId);
      if (pos) cm.scrollIntoView(pos, 60);
      return Boolean(pos);
    },
    refresh: () => cm.refresh(),
    destroy() {
      binding.destroy();
      provider.destroy();
      awareness.destroy();
      doc.destroy();
      cm.getWrapperElement().remove();
    },
  };
}
