// The map editor's document: pure functions over plain values (node tests them).
// A model is { name, width, height, placements: [{elementId, x, y}], areas: [area] };
// every change returns a new model.

import { parseDimensions } from "../state/grid.js";

export { parseDimensions };

export const AREA_KINDS = ["room", "private", "silent", "spawn"];
export const MAX_SIZE = 9999; // the API's bound for sizes and coordinates
export const MAX_NAME = 64;

/** (40, 30) → "40x30"; null unless both are whole numbers in 1..9999. */
export function formatDimensions(width, height) {
  const ok = (n) => Number.isInteger(n) && n >= 1 && n <= MAX_SIZE;
  return ok(width) && ok(height) ? `${width}x${height}` : null;
}

export function createModel({ name = "", width = 20, height = 15, placements = [], areas = [] } = {}) {
  return { name, width, height, placements: [...placements], areas: [...areas] };
}

/** A model from `GET /maps/{id}`. */
export function fromMap(map) {
  const { width, height } = parseDimensions(map.dimensions) ?? { width: 20, height: 15 };
  return createModel({
    name: map.name,
    width,
    height,
    placements: (map.elements ?? []).map((p) => ({ elementId: p.element.id, x: p.x, y: p.y })),
    areas: (map.areas ?? []).map(({ name, x, y, width: w, height: hgt, kind }) => ({ name, x, y, width: w, height: hgt, kind })),
  });
}

/** The body for `POST /admin/map`; an empty thumbnail asks the server to render one. */
export function toMapBody(model) {
  return {
    thumbnail: "",
    dimensions: formatDimensions(model.width, model.height),
    name: model.name.trim(),
    defaultElements: model.placements.map(({ elementId, x, y }) => ({ elementId, x, y })),
    areas: model.areas.map(({ name, x, y, width, height, kind }) => ({ name: name.trim(), x, y, width, height, kind })),
  };
}

/** What stops the model from being saved, as sentences; empty when it can be. */
export function problems(model) {
  const found = [];
  const name = model.name.trim();
  if (!name) found.push("Give the map a name.");
  else if (name.length > MAX_NAME) found.push(`The map name is longer than ${MAX_NAME} characters.`);
  if (!formatDimensions(model.width, model.height)) found.push("Width and height are whole numbers from 1 to 9999.");
  if (model.placements.some((p) => !inside(model, p.x, p.y))) found.push("Some elements are outside the map.");
  if (model.areas.some((a) => !rectInside(model, a))) found.push("Some areas are outside the map.");
  return found;
}

export function inside(model, x, y) {
  return x >= 0 && y >= 0 && x < model.width && y < model.height;
}

function rectInside(model, r) {
  return r.x >= 0 && r.y >= 0 && r.width >= 1 && r.height >= 1 && r.x + r.width <= model.width && r.y + r.height <= model.height;
}

function sizeOf(elementsById, elementId) {
  const element = elementsById.get(elementId);
  return { width: element?.width ?? 1, height: element?.height ?? 1, static: Boolean(element?.static) };
}

/** Placements in the order to draw them: walkable ones (floors, rugs) under static ones. */
export function drawOrder(model, elementsById) {
  const indexed = model.placements.map((p, index) => ({ ...p, index }));
  return [
    ...indexed.filter((p) => !sizeOf(elementsById, p.elementId).static),
    ...indexed.filter((p) => sizeOf(elementsById, p.elementId).static),
  ];
}

function covers(elementsById, p, x, y) {
  const { width, height } = sizeOf(elementsById, p.elementId);
  return x >= p.x && y >= p.y && x < p.x + width && y < p.y + height;
}

/** Index (in model.placements) of the top-most placement covering cell (x, y), or -1. */
export function topPlacementAt(model, elementsById, x, y) {
  const order = drawOrder(model, elementsById);
  for (let i = order.length - 1; i >= 0; i -= 1) {
    if (covers(elementsById, order[i], x, y)) return order[i].index;
  }
  return -1;
}

/** Place `elementId` with its top-left cell at (x, y); the same element twice on one cell is ignored. */
export function placeElement(model, elementId, x, y) {
  if (!inside(model, x, y)) return model;
  if (model.placements.some((p) => p.elementId === elementId && p.x === x && p.y === y)) return model;
  return { ...model, placements: [...model.placements, { elementId, x, y }] };
}

/** Remove the top-most element covering (x, y). */
export function eraseAt(model, elementsById, x, y) {
  const index = topPlacementAt(model, elementsById, x, y);
  if (index < 0) return model;
  return { ...model, placements: model.placements.filter((_, i) => i !== index) };
}

/** Placements whose footprint runs past the map's right or bottom edge (flagged, kept). */
export function overflowing(model, elementsById) {
  return model.placements.filter((p) => {
    const { width, height } = sizeOf(elementsById, p.elementId);
    return p.x + width > model.width || p.y + height > model.height;
  });
}

/**
 * Change the size. Elements whose top-left cell falls outside are removed; areas are
 * clipped to the new edges, and removed when nothing of them is left.
 */
export function resize(model, width, height) {
  const next = { ...model, width, height };
  const placements = model.placements.filter((p) => inside(next, p.x, p.y));
  const areas = [];
  let clipped = 0;
  for (const area of model.areas) {
    const w = Math.min(area.x + area.width, width) - area.x;
    const hgt = Math.min(area.y + area.height, height) - area.y;
    if (w < 1 || hgt < 1) continue;
    if (w !== area.width || hgt !== area.height) clipped += 1;
    areas.push({ ...area, width: w, height: hgt });
  }
  return {
    model: { ...next, placements, areas },
    removedElements: model.placements.length - placements.length,
    removedAreas: model.areas.length - areas.length,
    clippedAreas: clipped,
  };
}

/** The rectangle spanned by two cells (inclusive), clamped to the map. */
/**
 * The cells on the straight line from `a` to `b` (Bresenham), `a` excluded and `b`
 * included: what a drag passed over between two pointer events.
 */
export function cellsBetween(a, b) {
  const cells = [];
  const dx = Math.abs(b.x - a.x);
  const dy = -Math.abs(b.y - a.y);
  const sx = a.x < b.x ? 1 : -1;
  const sy = a.y < b.y ? 1 : -1;
  let { x, y } = a;
  let error = dx + dy;
  while (x !== b.x || y !== b.y) {
    const twice = 2 * error;
    if (twice >= dy) {
      error += dy;
      x += sx;
    }
    if (twice <= dx) {
      error += dx;
      y += sy;
    }
    cells.push({ x, y });
  }
  return cells;
}

export function rectBetween(model, a, b) {
  const clampX = (v) => Math.max(0, Math.min(model.width - 1, v));
  const clampY = (v) => Math.max(0, Math.min(model.height - 1, v));
  const x0 = clampX(Math.min(a.x, b.x));
  const y0 = clampY(Math.min(a.y, b.y));
  const x1 = clampX(Math.max(a.x, b.x));
  const y1 = clampY(Math.max(a.y, b.y));
  return { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/** Add an area; throws an Error with a sentence when it is not valid. */
export function addArea(model, { name, kind, x, y, width, height }) {
  const clean = String(name ?? "").trim();
  if (!clean) throw new Error("Give the area a name.");
  if (clean.length > MAX_NAME) throw new Error(`Area names are at most ${MAX_NAME} characters.`);
  if (!AREA_KINDS.includes(kind)) throw new Error(`An area is one of: ${AREA_KINDS.join(", ")}.`);
  const area = { name: clean, kind, x, y, width, height };
  if (!rectInside(model, area)) throw new Error("The area must lie inside the map.");
  return { ...model, areas: [...model.areas, area] };
}

export function removeArea(model, index) {
  return { ...model, areas: model.areas.filter((_, i) => i !== index) };
}

const MOVES = {
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
};

/** The keyboard cursor after `key`; null when the key does not move it. */
export function moveCursor(model, cursor, key) {
  const step = MOVES[key];
  if (!step) return null;
  return {
    x: Math.max(0, Math.min(model.width - 1, cursor.x + step[0])),
    y: Math.max(0, Math.min(model.height - 1, cursor.y + step[1])),
  };
}

/** A readable name for an element: its own name, else its image's file name. */
export function elementLabel(element) {
  if (element?.name) return element.name;
  const file = String(element?.imageUrl ?? "").split(/[?#]/)[0].split("/").pop() ?? "";
  const stem = file.replace(/\.[a-z0-9]+$/i, "").replace(/[-_]+/g, " ").trim();
  if (!stem) return "Element";
  if (/^[0-9a-f]{12,}$/i.test(stem)) return `Uploaded ${stem.slice(0, 6)}`;
  return stem.charAt(0).toUpperCase() + stem.slice(1);
}
