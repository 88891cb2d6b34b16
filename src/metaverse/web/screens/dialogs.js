// Modal dialogs shared by the screens: a confirmation that makes you type a name, a plain
// confirmation, and a one-field prompt. Each is a <dialog> shown with showModal() and
// removed when it closes; each returns a promise of the answer (null or false: cancelled).

import { h } from "../dom.js";

/** The <dialog> itself: Escape and Cancel resolve `cancelled`; `settle(value)` closes it. */
function modal({ testid, title, body, actions, initialFocus }, cancelled) {
  let settle;
  const done = new Promise((resolve) => {
    settle = resolve;
  });
  const titleId = `dialog-${Math.random().toString(36).slice(2, 9)}`;
  const dialog = h(
    "dialog",
    { class: "modal", testid, aria: { labelledby: titleId } },
    h("form", { method: "dialog", class: "modal-form" }, h("h2", { id: titleId, class: "modal-title" }, title), body, h("div", { class: "modal-actions" }, actions)),
  );
  let value = cancelled;
  const finish = (result) => {
    value = result;
    dialog.close();
  };
  dialog.addEventListener("close", () => {
    dialog.remove();
    settle(value);
  });
  document.body.append(dialog);
  dialog.showModal();
  initialFocus?.focus();
  return { dialog, finish, done };
}

function cancelButton(finish, cancelled) {
  return h("button", { type: "button", class: "button button-quiet", testid: "dialog-cancel", on: { click: () => finish(cancelled) } }, "Cancel");
}

/** What `name` must look like when typed to confirm: trimmed, case as given. */
export function namesMatch(typed, name) {
  return typed.trim() === String(name).trim() && typed.trim() !== "";
}

/**
 * Ask before deleting something named `name`: the button works once the name is typed.
 * Resolves true to go ahead.
 */
export function confirmByName({ title, text, name, confirmLabel = "Delete", testid = "confirm-delete" }) {
  const input = h("input", { type: "text", name: "confirm", autocomplete: "off", spellcheck: "false", testid: `${testid}-input` });
  const go = h("button", { type: "submit", class: "button button-danger-solid", testid: `${testid}-submit`, disabled: true }, confirmLabel);
  const { finish, done } = modal(
    {
      testid,
      title,
      body: [
        h("p", {}, text),
        h("label", { class: "modal-label" }, h("span", {}, "Type ", h("strong", { class: "modal-name" }, name), " to confirm"), input),
      ],
      actions: [cancelButton((v) => finish(v), false), go],
      initialFocus: input,
    },
    false,
  );
  input.addEventListener("input", () => {
    go.disabled = !namesMatch(input.value, name);
  });
  go.closest("form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (namesMatch(input.value, name)) finish(true);
  });
  return done;
}

/** A yes/no question; resolves true for yes. */
/** Ask before deleting a space: the person types its name. Resolves to whether to go on. */
export function confirmDeleteSpace(space) {
  return confirmByName({
    title: `Delete “${space.name}”?`,
    text: "The space, its map, members, invite links and chat go for everyone, and anyone in it is sent out. This can't be undone.",
    name: space.name,
    confirmLabel: "Delete space",
  });
}

export function confirmAction({ title, text, confirmLabel, danger = false, testid = "confirm-action" }) {
  const go = h("button", { type: "submit", class: danger ? "button button-danger-solid" : "button", testid: `${testid}-submit` }, confirmLabel);
  const { finish, done } = modal({ testid, title, body: h("p", {}, text), actions: [cancelButton((v) => finish(v), false), go], initialFocus: go }, false);
  go.closest("form").addEventListener("submit", (event) => {
    event.preventDefault();
    finish(true);
  });
  return done;
}

/** One text field; resolves its trimmed value, or null when cancelled or unchanged. */
export function promptText({ title, label, value = "", maxLength = 64, submitLabel = "Save", testid = "prompt" }) {
  const input = h("input", { type: "text", name: "value", value, maxlength: maxLength, required: true, testid: `${testid}-input` });
  const go = h("button", { type: "submit", class: "button", testid: `${testid}-submit` }, submitLabel);
  const { finish, done } = modal(
    {
      testid,
      title,
      body: h("label", { class: "modal-label" }, h("span", {}, label), input),
      actions: [cancelButton((v) => finish(v), null), go],
      initialFocus: input,
    },
    null,
  );
  input.select();
  go.closest("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const next = input.value.trim();
    if (!next) {
      input.focus();
      return;
    }
    finish(next === value.trim() ? null : next);
  });
  return done;
}
