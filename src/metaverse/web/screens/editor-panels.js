// The editor's element palette and its "New element" form.

import { describeError } from "../api.js";
import { field, h, imageOr, say, statusLine } from "../dom.js";
import { elementLabel } from "./editor-model.js";

export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];

/** A radio group of elements; `choose(id)` runs when one is picked. */
export function palette(elements, selected, choose) {
  if (!elements.length) return h("p", { class: "empty" }, "No elements yet: add one below.");
  const group = h(
    "div",
    { class: "palette", role: "radiogroup", aria: { label: "Element to place" }, testid: "palette" },
    elements.map((element) => {
      const label = elementLabel(element);
      return h(
        "label",
        { class: "palette-item", testid: "palette-element", dataset: { elementId: element.id }, title: `${label}: ${element.width} × ${element.height}${element.static ? ", blocks movement" : ""}` },
        h("input", { type: "radio", name: "palette", value: element.id, checked: element.id === selected }),
        h(
          "span",
          { class: "palette-image" },
          imageOr(element.imageUrl, "", () => h("span", { class: "thumb-placeholder broken", "aria-hidden": "true" }, "?")),
        ),
        h("span", { class: "palette-label" }, label),
        h("span", { class: "palette-size" }, `${element.width}×${element.height}${element.static ? " · solid" : ""}`),
      );
    }),
  );
  group.addEventListener("change", (event) => choose(event.target.value));
  return group;
}

/** Check a picked file before uploading it; a sentence when it can't be used. */
export function checkImageFile(file, maxBytes) {
  if (!file) return "Choose an image file or give an image URL.";
  if (!IMAGE_TYPES.includes(file.type)) return "Images must be PNG, JPEG or WebP.";
  if (file.size > maxBytes) return `Images may be at most ${Math.floor(maxBytes / 1024 / 1024)} MB.`;
  return null;
}

/**
 * The form that uploads an image (or takes a URL) and creates an element:
 * POST /admin/media, then POST /admin/element. `created(id)` runs after.
 */
export function newElementForm({ api, maxBytes, created }) {
  const error = statusLine("new-element-status", "error");
  const file = h("input", { type: "file", name: "file", accept: IMAGE_TYPES.join(","), testid: "new-element-file" });
  const url = h("input", { type: "text", name: "imageUrl", inputmode: "url", placeholder: "/assets/elements/desk.svg", testid: "new-element-url" });
  const name = h("input", { type: "text", name: "name", maxlength: "64", placeholder: "Named after the image", testid: "new-element-name" });
  const width = h("input", { type: "number", name: "width", min: 1, max: 20, value: "1", testid: "new-element-width" });
  const height = h("input", { type: "number", name: "height", min: 1, max: 20, value: "1", testid: "new-element-height" });
  const solid = h("input", { type: "checkbox", name: "static", id: "new-element-static", testid: "new-element-static" });
  const form = h(
    "form",
    { class: "new-element", testid: "new-element-form", novalidate: true },
    error,
    field("Image file", file, "PNG, JPEG or WebP, up to 2 MB."),
    field("…or image URL", url),
    field("Name", name, "Shown in the palette."),
    h("div", { class: "row" }, field("Width (tiles)", width), field("Height (tiles)", height)),
    h("div", { class: "check" }, solid, h("label", { for: solid.id }, "Static (blocks movement)")),
    h("button", { type: "submit", class: "button button-small button-block", testid: "new-element-submit" }, "Add element"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(error, "");
    const w = Number(width.value);
    const hgt = Number(height.value);
    if (!Number.isInteger(w) || !Number.isInteger(hgt) || w < 1 || hgt < 1 || w > 9999 || hgt > 9999) {
      say(error, "Width and height are whole numbers of tiles (at least 1).", "error");
      return;
    }
    const picked = file.files?.[0];
    const typed = url.value.trim();
    const problem = picked ? checkImageFile(picked, maxBytes) : typed ? null : checkImageFile(null, maxBytes);
    if (problem) {
      say(error, problem, "error");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      let imageUrl = typed;
      if (picked) {
        const upload = new FormData();
        upload.append("file", picked);
        imageUrl = (await api.upload("/admin/media", upload)).url;
      }
      const body = { imageUrl, width: w, height: hgt, static: solid.checked };
      if (name.value.trim()) body.name = name.value.trim();
      const { id } = await api.post("/admin/element", body);
      // The next element is often the same size: only the image and the name start over.
      for (const input of [file, url, name]) input.value = "";
      await created(id);
      say(error, "Element added and selected.", "ok");
    } catch (failure) {
      say(error, describeError(failure), "error");
    } finally {
      button.disabled = false;
    }
  });
  return h("details", { class: "new-element-box", open: true }, h("summary", {}, "New element"), form);
}
