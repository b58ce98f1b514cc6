// The code editor: CodeMirror 5 (put in web/vendor by deploy/web/vendor.sh) with Python
// highlighting, or a plain textarea when CodeMirror is not there. Keyboard: Ctrl/Cmd+Enter
// submits, Tab indents with spaces, Esc leaves the editor (so Tab never traps the focus),
// Ctrl+/ comments lines.

/**
 * Creates the editor inside `host`. Options: `value`, `label` (accessible name),
 * `onSubmit()`, `onEscape()`. Returns {getValue, setValue, focus, destroy}.
 */
export function createEditor(host, { value, label, onSubmit, onEscape }) {
  const CodeMirror = window.CodeMirror;
  if (!CodeMirror) return plainEditor(host, { value, label, onSubmit, onEscape });

  const submit = () => onSubmit();
  const cm = CodeMirror(host, {
    value,
    mode: "python",
    lineNumbers: true,
    indentUnit: 4,
    tabSize: 4,
    indentWithTabs: false,
    matchBrackets: true,
    autoCloseBrackets: true,
    styleActiveLine: true,
    viewportMargin: Infinity,
    // contenteditable input works with screen readers; the label names the field.
    inputStyle: "contenteditable",
    screenReaderLabel: label,
    extraKeys: {
      "Ctrl-Enter": submit,
      "Cmd-Enter": submit,
      Tab: (editor) => {
        if (editor.somethingSelected()) editor.indentSelection("add");
        else editor.replaceSelection(" ".repeat(editor.getOption("indentUnit")), "end");
      },
      "Shift-Tab": (editor) => editor.indentSelection("subtract"),
      Esc: () => onEscape(),
      "Ctrl-/": "toggleComment",
      "Cmd-/": "toggleComment",
    },
  });
  // The wrapper is scrolled to and measured once it is in the page.
  requestAnimationFrame(() => cm.refresh());
  return {
    getValue: () => cm.getValue(),
    setValue: (text) => {
      cm.setValue(text);
      cm.clearHistory();
    },
    focus: () => cm.focus(),
    destroy: () => cm.getWrapperElement().remove(),
  };
}

function plainEditor(host, { value, label, onSubmit, onEscape }) {
  const area = document.createElement("textarea");
  area.className = "plain-editor";
  area.spellcheck = false;
  area.value = value;
  area.setAttribute("aria-label", label);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onSubmit();
    } else if (event.key === "Escape") {
      onEscape();
    } else if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      area.setRangeText("    ", area.selectionStart, area.selectionEnd, "end");
    }
  });
  host.append(area);
  return {
    getValue: () => area.value,
    setValue: (text) => {
      area.value = text;
    },
    focus: () => area.focus(),
    destroy: () => area.remove(),
  };
}
