// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so data from the
// server or other users can't become markup.

/**
 * Create an element. `props` keys:
 *   class, id, type, name, for (htmlFor), href, src, alt, role, title, placeholder, ...: attributes
 *   testid: data-testid; dataset: {key: value}; aria: {label: "..."} (aria-label)
 *   value, checked, disabled, selected, hidden, tabIndex: properties
 *   on: {event: handler}
 * Children: strings/numbers (as text), nodes, arrays, null/undefined/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [type, handler] of Object.entries(value)) el.addEventListener(type, handler);
    } else if (key === "testid") {
      el.dataset.testid = value;
    } else if (key === "dataset") {
      for (const [name, data] of Object.entries(value)) el.dataset[name] = String(data);
    } else if (key === "aria") {
      for (const [name, data] of Object.entries(value)) el.setAttribute(`aria-${name}`, String(data));
    } else if (key === "style" && typeof value === "object") {
      for (const [name, data] of Object.entries(value)) el.style.setProperty(name, String(data));
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else if (value === true) {
      el.setAttribute(key, "");
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "hidden", "tabIndex", "indeterminate"]);

/** Append children (text, nodes, nested arrays; null/false skipped). */
export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Remove every child. */
export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replace every child of `el` with `children`. */
export function replace(el, ...children) {
  return append(clear(el), children);
}

/**
 * An image that swaps itself for a placeholder when it has no URL or fails to load.
 * `placeholder` builds the replacement node.
 */
export function imageOr(src, alt, placeholder, props = {}) {
  if (!src) return placeholder();
  const img = h("img", { ...props, src, alt, loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(placeholder()), { once: true });
  return img;
}

/**
 * Listeners and timers owned by one screen, all released by `dispose()`.
 */
export function createScope() {
  const disposers = [];
  return {
    on(target, type, handler, options) {
      target.addEventListener(type, handler, options);
      disposers.push(() => target.removeEventListener(type, handler, options));
    },
    timeout(fn, ms) {
      const id = setTimeout(fn, ms);
      disposers.push(() => clearTimeout(id));
      return id;
    },
    add(dispose) {
      disposers.push(dispose);
    },
    dispose() {
      while (disposers.length) {
        try {
          disposers.pop()();
        } catch (error) {
          console.error(error);
        }
      }
    },
  };
}

/** A labelled form field: `<label>` + control + optional hint, wired with ids. */
export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h("small", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, labelText), control, hintEl);
}

/** A status line that screen readers announce. */
export function statusLine(testid, kind = "info") {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status", testid, hidden: true });
}

/** Show `text` in a status line made by `statusLine` (empty text hides it). */
export function say(el, text, kind) {
  if (kind) {
    el.className = `notice notice-${kind}`;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
  }
  el.textContent = text ?? "";
  el.hidden = !text;
}
