// The client's own collision grid and area lookup, built from `GET /space/<id>`.
// Mirrors core/grid.py: an element placed at (x, y) with size w × h covers
// [x, x+w) × [y, y+h); static elements block. Pure: no DOM, no I/O.

/** `"40x30"` → {width, height}; null when malformed. */
export function parseDimensions(text) {
  const match = /^(\d{1,4})x(\d{1,4})$/.exec(String(text ?? ""));
  if (!match) return null;
  const width = Number(match[1]);
  const height = Number(match[2]);
  return width >= 1 && height >= 1 ? { width, height } : null;
}

/**
 * The collision grid of a space as `GET /space/<id>` returns it:
 * {width, height, blocked: Uint8Array(width*height), areas: [{name, x, y, width, height, kind}]}.
 */
export function buildGrid(space) {
  const size = parseDimensions(space?.dimensions) ?? { width: 1, height: 1 };
  const { width, height } = size;
  const blocked = new Uint8Array(width * height);
  for (const placed of space?.elements ?? []) {
    const element = placed.element ?? {};
    if (!element.static) continue;
    const x0 = Math.max(0, placed.x);
    const y0 = Math.max(0, placed.y);
    const x1 = Math.min(width, placed.x + (element.width ?? 1));
    const y1 = Math.min(height, placed.y + (element.height ?? 1));
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) blocked[y * width + x] = 1;
    }
  }
  const areas = (space?.areas ?? []).map((a) => ({
    name: a.name,
    x: a.x,
    y: a.y,
    width: a.width,
    height: a.height,
    kind: a.kind,
  }));
  return { width, height, blocked, areas };
}

export function inside(grid, x, y) {
  return Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x < grid.width && y < grid.height;
}

/** Whether someone may stand on (x, y): inside the space and not under a static element. */
export function isFree(grid, x, y) {
  return inside(grid, x, y) && grid.blocked[y * grid.width + x] === 0;
}

/** The areas that contain (x, y), in map order. */
export function areasAt(grid, x, y) {
  return grid.areas.filter((a) => x >= a.x && y >= a.y && x < a.x + a.width && y < a.y + a.height);
}

/** The area whose chat the `area` scope reaches from (x, y): the first that is not a spawn. */
export function chatAreaAt(grid, x, y) {
  return areasAt(grid, x, y).find((a) => a.kind !== "spawn")?.name ?? null;
}
