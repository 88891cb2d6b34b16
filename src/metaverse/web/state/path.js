// Finding one's way: the shortest walk (one cell up, down, left or right at a time, on
// free cells of the client's collision grid) to a cell, or to stand next to someone.
// Breadth-first search over the grid. Pure: no DOM, no I/O.

import { isFree } from "./grid.js";

const STEPS = [
  [0, -1],
  [1, 0],
  [0, 1],
  [-1, 0],
];
/** The most cells a search looks at (a 300 × 300 space). */
export const MAX_SEARCH_CELLS = 90_000;

/**
 * The cells to step through, in order, from `from` to the nearest of `goals` (each `{x, y}`,
 * free), `from` excluded; [] when `from` is a goal; null when none can be reached.
 */
export function pathToAny(grid, from, goals) {
  const key = (x, y) => y * grid.width + x;
  const wanted = new Set(goals.filter((g) => isFree(grid, g.x, g.y)).map((g) => key(g.x, g.y)));
  if (wanted.size === 0) return null;
  const start = key(from.x, from.y);
  if (wanted.has(start)) return [];
  const previous = new Map([[start, -1]]);
  let frontier = [start];
  while (frontier.length && previous.size < MAX_SEARCH_CELLS) {
    const next = [];
    for (const cell of frontier) {
      const x = cell % grid.width;
      const y = (cell - x) / grid.width;
      for (const [dx, dy] of STEPS) {
        const nx = x + dx;
        const ny = y + dy;
        if (!isFree(grid, nx, ny)) continue;
        const id = key(nx, ny);
        if (previous.has(id)) continue;
        previous.set(id, cell);
        if (wanted.has(id)) return unwind(previous, id, grid.width);
        next.push(id);
      }
    }
    frontier = next;
  }
  return null;
}

function unwind(previous, end, width) {
  const cells = [];
  for (let cell = end; previous.get(cell) !== -1; cell = previous.get(cell)) {
    cells.push({ x: cell % width, y: Math.floor(cell / width) });
  }
  return cells.reverse();
}

/** The way to a cell. */
export function pathTo(grid, from, to) {
  return pathToAny(grid, from, [to]);
}

/** The way to stand next to someone at `at` (up, down, left or right of them). */
export function pathNextTo(grid, from, at) {
  if (Math.abs(from.x - at.x) + Math.abs(from.y - at.y) === 1) return [];
  return pathToAny(
    grid,
    from,
    STEPS.map(([dx, dy]) => ({ x: at.x + dx, y: at.y + dy })),
  );
}
