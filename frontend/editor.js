// The in-browser code editor: CodeMirror 6 over every <textarea data-editor="python">.
//
// Progressive enhancement: the textarea stays in the form (hidden) and always holds the
// editor's text, so submitting, validation errors and "no JavaScript" all keep working.
// Tab indents (indentWithTab); Escape then Tab, or Ctrl-M, leaves the editor, so the
// keyboard is never trapped (WCAG 2.1.2). The help text next to each editor says so.
//
// The textarea and the editor stay in step both ways: every edit in the editor is written to
// the textarea and announced there as an "input" event (as typing into a bare textarea would),
// and a script that sets the textarea's value and dispatches "input" on it changes the editor
// too (static/js/assignment.js does, to restore a draft or the starter code).
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { indentUnit } from "@codemirror/language";
import { python } from "@codemirror/lang-python";

function enhance(textarea) {
  const label = document.querySelector(`label[for="${textarea.id}"]`);
  if (label && !label.id) label.id = `${textarea.id}-label`;
  const attributes = {};
  if (label) attributes["aria-labelledby"] = label.id;
  const describedBy = textarea.getAttribute("aria-describedby");
  if (describedBy) attributes["aria-describedby"] = describedBy;

  let following = false; // the editor is taking the textarea's text: nothing to announce
  const host = document.createElement("div");
  host.className = "editor";
  textarea.after(host);
  const view = new EditorView({
    doc: textarea.value,
    parent: host,
    extensions: [
      basicSetup,
      keymap.of([indentWithTab]),
      indentUnit.of("    "),
      python(),
      EditorView.contentAttributes.of(attributes),
      EditorView.editable.of(!textarea.readOnly),
      EditorView.updateListener.of((update) => {
        if (!update.docChanged || following) return;
        textarea.value = update.state.doc.toString();
        textarea.dispatchEvent(new Event("input", { bubbles: true }));
      }),
    ],
  });
  textarea.addEventListener("input", () => {
    const text = view.state.doc.toString();
    if (textarea.value === text) return;
    following = true;
    try {
      view.dispatch({ changes: { from: 0, to: text.length, insert: textarea.value } });
    } finally {
      following = false;
    }
  });
  // The browser cannot validate or focus a hidden required textarea: check it ourselves.
  textarea.form?.addEventListener("submit", (event) => {
    if (textarea.required && !textarea.value.trim()) {
      event.preventDefault();
      view.focus();
    }
  });
  textarea.hidden = true;
  textarea.dataset.enhanced = "1";
  label?.addEventListener("click", () => view.focus());
  return view;
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-editor]").forEach(enhance);
});
