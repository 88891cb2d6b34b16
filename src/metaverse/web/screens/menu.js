// A small action menu: a button that opens a list of actions. Arrow keys move between
// them, Escape or a click elsewhere closes it, and choosing one closes it first.

import { h } from "../dom.js";

/**
 * menuButton({label, text, testid, items: [{label, testid, onSelect, danger}]}) → element.
 * `label` names the button for screen readers ("Actions for Team office").
 */
export function menuButton({ label, text = "⋯", testid, items }) {
  const entries = items.filter(Boolean).map((item) =>
    h(
      "button",
      {
        type: "button",
        role: "menuitem",
        class: `menu-item${item.danger ? " menu-item-danger" : ""}`,
        testid: item.testid,
        tabIndex: -1,
        on: {
          click: () => {
            close(true);
            item.onSelect();
          },
        },
      },
      item.label,
    ),
  );
  const list = h("div", { class: "menu-list", role: "menu", aria: { label }, hidden: true }, entries);
  const button = h(
    "button",
    {
      type: "button",
      class: "button button-quiet button-small menu-button",
      testid,
      aria: { label, haspopup: "menu", expanded: "false" },
      on: { click: () => (list.hidden ? open() : close(true)) },
    },
    h("span", { "aria-hidden": "true" }, text),
  );
  const root = h("div", { class: "menu" }, button, list);

  function outside(event) {
    if (!root.contains(event.target)) close(false);
  }

  function open() {
    list.hidden = false;
    button.setAttribute("aria-expanded", "true");
    document.addEventListener("pointerdown", outside, true);
    entries[0]?.focus();
  }

  function close(refocus) {
    if (list.hidden) return;
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
    document.removeEventListener("pointerdown", outside, true);
    if (refocus) button.focus();
  }

  list.addEventListener("keydown", (event) => {
    const at = entries.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      entries[(at + step + entries.length) % entries.length]?.focus();
    } else if (event.key === "Tab") {
      close(false);
    }
  });
  return root;
}

/** Put `text` on the clipboard; falls back to a selected field where the API is refused. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const field = h("textarea", { class: "visually-hidden", "aria-hidden": "true" });
    field.value = text;
    document.body.append(field);
    field.select();
    const copied = document.execCommand?.("copy") ?? false;
    field.remove();
    return copied;
  }
}
