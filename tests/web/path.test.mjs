// Finding one's way on the client's grid: shortest walks around walls, next to someone.
import { test } from "node:test";
import assert from "node:assert/strict";

import { buildGrid } from "../../src/metaverse/web/state/grid.js";
import { pathNextTo, pathTo } from "../../src/metaverse/web/state/path.js";

const wall = { element: { width: 1, height: 1, static: true } };
// A 7x5 space with a wall down column 3, open only at the bottom row.
const grid = buildGrid({
  dimensions: "7x5",
  elements: [0, 1, 2, 3].map((y) => ({ ...wall, x: 3, y })),
  areas: [],
});

test("the shortest walk goes around a wall, one orthogonal step at a time", () => {
  const path = pathTo(grid, { x: 1, y: 1 }, { x: 5, y: 1 });
  assert.deepEqual(path.at(-1), { x: 5, y: 1 });
  assert.equal(path.length, 2 + 3 + 2 + 3); // down to row 4, across, up to row 1
  let at = { x: 1, y: 1 };
  for (const cell of path) {
    assert.equal(Math.abs(cell.x - at.x) + Math.abs(cell.y - at.y), 1);
    assert.notEqual(cell.x === 3 && cell.y < 4, true, "through the wall");
    at = cell;
  }
});

test("next to someone: the nearest free side, nothing when already there", () => {
  const path = pathNextTo(grid, { x: 1, y: 1 }, { x: 5, y: 2 });
  const end = path.at(-1);
  assert.equal(Math.abs(end.x - 5) + Math.abs(end.y - 2), 1);
  assert.deepEqual(pathNextTo(grid, { x: 4, y: 2 }, { x: 5, y: 2 }), []);
});

test("nowhere to go: a blocked goal, a walled-in goal, or the goal itself", () => {
  assert.equal(pathTo(grid, { x: 1, y: 1 }, { x: 3, y: 1 }), null);
  const closed = buildGrid({
    dimensions: "5x3",
    elements: [0, 1, 2].map((y) => ({ ...wall, x: 2, y })),
    areas: [],
  });
  assert.equal(pathTo(closed, { x: 0, y: 0 }, { x: 4, y: 0 }), null);
  assert.deepEqual(pathTo(grid, { x: 1, y: 1 }, { x: 1, y: 1 }), []);
});
