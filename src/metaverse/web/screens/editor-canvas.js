// The editor's grid: draws the model on a <canvas> and turns pointer and keyboard input
// into editor actions. Holds no document state of its own.

import { drawPlaceholder } from "../render/images.js";
import { cellsBetween, drawOrder, moveCursor, overflowing, rectBetween } from "./editor-model.js";

export const FLOOR_COLOR = "#e9e2d4"; // the demo art's floor (cells without a floor element)
export const AREA_COLORS = { room: "#2563eb", private: "#7c3aed", silent: "#475569", spawn: "#16a34a" };
const GRID_COLOR = "rgb(60 50 30 / 14%)";

/** Loads element images once; `onChange` runs when one finishes (or fails) loading. */
export function createImageCache(onChange) {
  const images = new Map();
  return {
    get(url) {
      if (!url) return { status: "failed" };
      let entry = images.get(url);
      if (!entry) {
        const img = new Image();
        entry = { img, status: "loading" };
        images.set(url, entry);
        img.onload = () => {
          entry.status = "ready";
          onChange();
        };
        img.onerror = () => {
          entry.status = "failed";
          onChange();
        };
        img.src = url;
      }
      return entry;
    },
  };
}

function drawArea(ctx, area, z, { dashed = false, label = area.name } = {}) {
  const color = AREA_COLORS[area.kind] ?? "#2563eb";
  const [x, y, w, h] = [area.x * z, area.y * z, area.width * z, area.height * z];
  ctx.fillStyle = `${color}22`;
  ctx.fillRect(x, y, w, h);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  if (dashed) ctx.setLineDash([6, 4]);
  ctx.strokeRect(x + 1, y + 1, w - 2, h - 2);
  ctx.setLineDash([]);
  if (!label) return;
  ctx.font = "600 12px system-ui, sans-serif";
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  const text = `${label} · ${area.kind}`;
  const width = Math.min(ctx.measureText(text).width + 10, w);
  ctx.fillStyle = color;
  ctx.fillRect(x, y, width, 18);
  ctx.fillStyle = "#fff";
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, width, 18);
  ctx.clip();
  ctx.fillText(text, x + 5, y + 3);
  ctx.restore();
}

/**
 * createGridCanvas(view, actions) → { element, draw(), fit(container) }.
 * `view()` returns { model, elementsById, selected, tool, cursor, zoom, pendingArea };
 * `actions` has place(x, y), erase(x, y), areaDrawn(rect), cursorMoved(cell), hovered(cell|null).
 */
export function createGridCanvas(view, actions) {
  const canvas = document.createElement("canvas");
  canvas.tabIndex = 0;
  canvas.className = "editor-canvas";
  canvas.dataset.testid = "editor-canvas";
  const ctx = canvas.getContext("2d");
  const images = createImageCache(() => draw());
  let hover = null;
  let drag = null; // {mode: "place"|"erase"|"area", start, last}
  let areaCorner = null; // keyboard: first corner of an area being drawn

  function draw() {
    const { model, elementsById, selected, tool, cursor, zoom: z, pendingArea } = view();
    const ratio = window.devicePixelRatio || 1;
    const cssW = model.width * z;
    const cssH = model.height * z;
    if (canvas.width !== Math.round(cssW * ratio) || canvas.height !== Math.round(cssH * ratio)) {
      canvas.width = Math.round(cssW * ratio);
      canvas.height = Math.round(cssH * ratio);
      canvas.style.width = `${cssW}px`;
      canvas.style.height = `${cssH}px`;
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = FLOOR_COLOR;
    ctx.fillRect(0, 0, cssW, cssH);

    for (const p of drawOrder(model, elementsById)) {
      const element = elementsById.get(p.elementId);
      const [w, h] = [(element?.width ?? 1) * z, (element?.height ?? 1) * z];
      const image = images.get(element?.imageUrl);
      if (image.status === "ready") ctx.drawImage(image.img, p.x * z, p.y * z, w, h);
      else if (image.status === "failed") drawPlaceholder(ctx, p.x * z, p.y * z, w, h);
    }

    ctx.strokeStyle = GRID_COLOR;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 0; x <= model.width; x += 1) {
      ctx.moveTo(x * z + 0.5, 0);
      ctx.lineTo(x * z + 0.5, cssH);
    }
    for (let y = 0; y <= model.height; y += 1) {
      ctx.moveTo(0, y * z + 0.5);
      ctx.lineTo(cssW, y * z + 0.5);
    }
    ctx.stroke();

    // Elements that run past the edge are kept but outlined.
    ctx.strokeStyle = "#c9302c";
    ctx.lineWidth = 2;
    for (const p of overflowing(model, elementsById)) {
      const element = elementsById.get(p.elementId);
      ctx.strokeRect(p.x * z + 1, p.y * z + 1, (element?.width ?? 1) * z - 2, (element?.height ?? 1) * z - 2);
    }

    for (const area of model.areas) drawArea(ctx, area, z);
    if (pendingArea) drawArea(ctx, { ...pendingArea, kind: pendingArea.kind ?? "room" }, z, { dashed: true, label: "new area" });
    if (drag?.mode === "area") drawArea(ctx, { ...rectBetween(model, drag.start, drag.last), kind: "room" }, z, { dashed: true, label: "" });
    if (areaCorner) drawArea(ctx, { ...rectBetween(model, areaCorner, cursor), kind: "room" }, z, { dashed: true, label: "" });

    // The selected element's ghost under the pointer.
    const element = elementsById.get(selected);
    if (hover && tool === "place" && element && !drag) {
      const image = images.get(element.imageUrl);
      ctx.globalAlpha = 0.55;
      if (image.status === "ready") ctx.drawImage(image.img, hover.x * z, hover.y * z, element.width * z, element.height * z);
      ctx.globalAlpha = 1;
    }

    // The keyboard cursor: only while the grid has focus.
    if (document.activeElement === canvas) {
      const w = tool === "place" && element ? element.width : 1;
      const h = tool === "place" && element ? element.height : 1;
      ctx.strokeStyle = "#111827";
      ctx.lineWidth = 2;
      ctx.setLineDash([5, 3]);
      ctx.strokeRect(cursor.x * z + 1, cursor.y * z + 1, w * z - 2, h * z - 2);
      ctx.setLineDash([]);
    }
  }

  function cellAt(event) {
    const { model, zoom: z } = view();
    const box = canvas.getBoundingClientRect();
    const x = Math.floor((event.clientX - box.left) / z);
    const y = Math.floor((event.clientY - box.top) / z);
    return x >= 0 && y >= 0 && x < model.width && y < model.height ? { x, y } : null;
  }

  function footprintCovers(start, cell) {
    const { elementsById, selected } = view();
    const element = elementsById.get(selected);
    const [w, h] = [element?.width ?? 1, element?.height ?? 1];
    return cell.x >= start.x && cell.y >= start.y && cell.x < start.x + w && cell.y < start.y + h;
  }

  function apply(mode, cell) {
    if (mode === "place") actions.place(cell.x, cell.y);
    else if (mode === "erase") actions.erase(cell.x, cell.y);
  }

  canvas.addEventListener("pointerdown", (event) => {
    const cell = cellAt(event);
    if (!cell || (event.button !== 0 && event.button !== 2)) return;
    canvas.focus({ preventScroll: true });
    canvas.setPointerCapture(event.pointerId);
    const tool = view().tool;
    const mode = event.button === 2 ? "erase" : tool;
    drag = { mode, start: cell, last: cell, placedAt: cell };
    actions.cursorMoved(cell);
    apply(mode, cell);
    draw();
  });
  canvas.addEventListener("pointermove", (event) => {
    const cell = cellAt(event);
    hover = cell;
    actions.hovered(cell);
    if (drag && cell && (cell.x !== drag.last.x || cell.y !== drag.last.y)) {
      // Dragging paints every cell on the way, however fast the pointer went: a new
      // copy each time the path leaves the last copy's footprint.
      const path = drag.mode === "area" ? [cell] : cellsBetween(drag.last, cell);
      drag.last = cell;
      for (const step of path) {
        if (drag.mode === "place" && !footprintCovers(drag.placedAt, step)) {
          drag.placedAt = step;
          apply("place", step);
        } else if (drag.mode === "erase") {
          apply("erase", step);
        }
      }
    }
    draw();
  });
  const endDrag = () => {
    if (drag?.mode === "area") actions.areaDrawn(rectBetween(view().model, drag.start, drag.last));
    drag = null;
    draw();
  };
  canvas.addEventListener("pointerup", endDrag);
  canvas.addEventListener("pointercancel", () => {
    drag = null;
    draw();
  });
  canvas.addEventListener("pointerleave", () => {
    hover = null;
    actions.hovered(null);
    draw();
  });
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  canvas.addEventListener("focus", () => draw());
  canvas.addEventListener("blur", () => draw());

  canvas.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const { model, cursor, tool } = view();
    const moved = moveCursor(model, cursor, event.key);
    if (moved) {
      event.preventDefault();
      actions.cursorMoved(moved);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (tool === "area") {
        if (!areaCorner) {
          areaCorner = cursor;
          actions.announce("First corner set: move to the opposite corner and press Enter.");
        } else {
          const rect = rectBetween(model, areaCorner, cursor);
          areaCorner = null;
          actions.areaDrawn(rect);
        }
      } else {
        apply(tool, cursor);
      }
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      actions.erase(cursor.x, cursor.y);
    } else if (event.key === "Escape" && areaCorner) {
      areaCorner = null;
      actions.announce("Area cancelled.");
    } else if (["p", "e", "a"].includes(event.key.toLowerCase())) {
      areaCorner = null;
      actions.setTool({ p: "place", e: "erase", a: "area" }[event.key.toLowerCase()]);
    } else {
      return;
    }
    draw();
  });

  return { element: canvas, draw };
}
