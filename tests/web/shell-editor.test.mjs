// The map editor's document model and the screens' pure helpers.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  addArea,
  cellsBetween,
  createModel,
  drawOrder,
  elementLabel,
  eraseAt,
  formatDimensions,
  fromMap,
  moveCursor,
  overflowing,
  parseDimensions,
  placeElement,
  problems,
  rectBetween,
  removeArea,
  resize,
  toMapBody,
  topPlacementAt,
} from "../../src/metaverse/web/screens/editor-model.js";
import { dedupeSpaces } from "../../src/metaverse/web/screens/lobby.js";
import { profileChanges } from "../../src/metaverse/web/screens/profile.js";
import { checkImageFile } from "../../src/metaverse/web/screens/editor-panels.js";

const ELEMENTS = new Map([
  ["floor", { id: "floor", imageUrl: "/assets/elements/floor-wood.svg", width: 1, height: 1, static: false }],
  ["desk", { id: "desk", imageUrl: "/assets/elements/desk.svg", width: 2, height: 1, static: true }],
  ["rug", { id: "rug", imageUrl: "/assets/elements/rug.svg", width: 3, height: 2, static: false }],
]);

test("dimensions round-trip and reject what the API rejects", () => {
  assert.deepEqual(parseDimensions("40x30"), { width: 40, height: 30 });
  assert.equal(parseDimensions("0x5"), null);
  assert.equal(parseDimensions("12345x5"), null);
  assert.equal(parseDimensions("4 x 5"), null);
  assert.equal(formatDimensions(40, 30), "40x30");
  assert.equal(formatDimensions(0, 30), null);
  assert.equal(formatDimensions(10000, 30), null);
  assert.equal(formatDimensions(2.5, 3), null);
});

test("placing twice on one cell is ignored; outside the map is ignored", () => {
  let model = createModel({ name: "m", width: 5, height: 4 });
  model = placeElement(model, "floor", 1, 1);
  const again = placeElement(model, "floor", 1, 1);
  assert.equal(again, model);
  assert.equal(placeElement(model, "floor", 5, 0), model);
  assert.equal(placeElement(model, "floor", -1, 0), model);
  model = placeElement(model, "desk", 1, 1);
  assert.deepEqual(model.placements, [
    { elementId: "floor", x: 1, y: 1 },
    { elementId: "desk", x: 1, y: 1 },
  ]);
});

test("walkable elements draw under static ones; erase takes the top one covering the cell", () => {
  let model = createModel({ width: 6, height: 4 });
  model = placeElement(model, "desk", 1, 1); // covers (1,1) and (2,1)
  model = placeElement(model, "rug", 0, 0); // placed later but walkable: drawn below the desk
  assert.deepEqual(drawOrder(model, ELEMENTS).map((p) => p.elementId), ["rug", "desk"]);
  assert.equal(topPlacementAt(model, ELEMENTS, 2, 1), 0, "the desk's second cell");
  assert.equal(topPlacementAt(model, ELEMENTS, 0, 1), 1, "only the rug");
  assert.equal(topPlacementAt(model, ELEMENTS, 5, 3), -1);
  model = eraseAt(model, ELEMENTS, 2, 1);
  assert.deepEqual(model.placements.map((p) => p.elementId), ["rug"]);
  model = eraseAt(model, ELEMENTS, 2, 1);
  assert.deepEqual(model.placements, []);
  assert.equal(eraseAt(model, ELEMENTS, 2, 1), model);
});

test("shrinking removes elements outside, clips areas, and flags overhangs", () => {
  let model = createModel({ name: "m", width: 10, height: 10 });
  model = placeElement(model, "desk", 8, 2);
  model = placeElement(model, "floor", 9, 9);
  model = addArea(model, { name: "Lounge", kind: "room", x: 5, y: 5, width: 5, height: 5 });
  model = addArea(model, { name: "Corner", kind: "silent", x: 8, y: 8, width: 2, height: 2 });
  const result = resize(model, 8, 9);
  assert.equal(result.removedElements, 2);
  assert.equal(result.removedAreas, 1);
  assert.equal(result.clippedAreas, 1);
  assert.deepEqual(result.model.areas, [{ name: "Lounge", kind: "room", x: 5, y: 5, width: 3, height: 4 }]);
  const wider = placeElement(result.model, "desk", 7, 0);
  assert.deepEqual(overflowing(wider, ELEMENTS), [{ elementId: "desk", x: 7, y: 0 }]);
  assert.deepEqual(problems({ ...wider }), [], "an overhang is allowed: only the top-left cell must be inside");
});

test("areas need a name, a known kind and to lie inside", () => {
  const model = createModel({ width: 10, height: 8 });
  assert.throws(() => addArea(model, { name: " ", kind: "room", x: 0, y: 0, width: 2, height: 2 }), /name/);
  assert.throws(() => addArea(model, { name: "A", kind: "party", x: 0, y: 0, width: 2, height: 2 }), /room, private, silent, spawn/);
  assert.throws(() => addArea(model, { name: "A", kind: "room", x: 9, y: 0, width: 2, height: 2 }), /inside/);
  const added = addArea(model, { name: "  Spawn ", kind: "spawn", x: 1, y: 1, width: 2, height: 2 });
  assert.equal(added.areas[0].name, "Spawn");
  assert.deepEqual(removeArea(added, 0).areas, []);
});

test("a dragged rectangle is normalised and clamped to the map", () => {
  const model = createModel({ width: 10, height: 8 });
  assert.deepEqual(rectBetween(model, { x: 5, y: 6 }, { x: 2, y: 1 }), { x: 2, y: 1, width: 4, height: 6 });
  assert.deepEqual(rectBetween(model, { x: 8, y: 7 }, { x: 20, y: 20 }), { x: 8, y: 7, width: 2, height: 1 });
});

test("a drag's path between two pointer cells leaves no gaps", () => {
  assert.deepEqual(cellsBetween({ x: 2, y: 2 }, { x: 2, y: 2 }), []);
  assert.deepEqual(cellsBetween({ x: 0, y: 0 }, { x: 4, y: 0 }), [1, 2, 3, 4].map((x) => ({ x, y: 0 })));
  assert.deepEqual(cellsBetween({ x: 3, y: 3 }, { x: 3, y: 0 }), [2, 1, 0].map((y) => ({ x: 3, y })));
  assert.deepEqual(cellsBetween({ x: 0, y: 0 }, { x: 3, y: 3 }), [1, 2, 3].map((i) => ({ x: i, y: i })));
  // Shallow and steep lines in every direction: each step is to a neighbouring cell
  // (8-connected), the line ends at the target, and it never strays over a cell.
  for (const [bx, by] of [[7, 2], [-5, 3], [2, -9], [-6, -6], [1, 8]]) {
    const path = cellsBetween({ x: 0, y: 0 }, { x: bx, y: by });
    assert.equal(path.length, Math.max(Math.abs(bx), Math.abs(by)));
    assert.deepEqual(path.at(-1), { x: bx, y: by });
    let previous = { x: 0, y: 0 };
    for (const cell of path) {
      assert.ok(Math.abs(cell.x - previous.x) <= 1 && Math.abs(cell.y - previous.y) <= 1);
      previous = cell;
    }
  }
});

test("the keyboard cursor moves one cell and stops at the edges", () => {
  const model = createModel({ width: 3, height: 2 });
  assert.deepEqual(moveCursor(model, { x: 0, y: 0 }, "ArrowRight"), { x: 1, y: 0 });
  assert.deepEqual(moveCursor(model, { x: 0, y: 0 }, "ArrowLeft"), { x: 0, y: 0 });
  assert.deepEqual(moveCursor(model, { x: 2, y: 1 }, "ArrowDown"), { x: 2, y: 1 });
  assert.equal(moveCursor(model, { x: 0, y: 0 }, "Enter"), null);
});

test("the save body is what POST /admin/map takes, with an empty thumbnail", () => {
  let model = createModel({ name: " Office ", width: 12, height: 8 });
  model = placeElement(model, "desk", 2, 3);
  model = addArea(model, { name: "Room", kind: "room", x: 0, y: 0, width: 4, height: 4 });
  assert.deepEqual(toMapBody(model), {
    thumbnail: "",
    dimensions: "12x8",
    name: "Office",
    defaultElements: [{ elementId: "desk", x: 2, y: 3 }],
    areas: [{ name: "Room", x: 0, y: 0, width: 4, height: 4, kind: "room" }],
  });
  assert.deepEqual(problems(createModel({ name: "", width: 0, height: 3 })), [
    "Give the map a name.",
    "Width and height are whole numbers from 1 to 9999.",
  ]);
});

test("a saved map opens as a model", () => {
  const map = {
    id: "m1",
    name: "Demo",
    dimensions: "40x30",
    thumbnail: null,
    elements: [{ id: "p1", element: { id: "desk", imageUrl: "/d.svg", width: 2, height: 1, static: true }, x: 3, y: 4 }],
    areas: [{ name: "Lounge", x: 1, y: 2, width: 3, height: 4, kind: "room" }],
  };
  assert.deepEqual(fromMap(map), {
    name: "Demo",
    width: 40,
    height: 30,
    placements: [{ elementId: "desk", x: 3, y: 4 }],
    areas: [{ name: "Lounge", x: 1, y: 2, width: 3, height: 4, kind: "room" }],
  });
});

test("elements are named after their image when they have no name", () => {
  assert.equal(elementLabel({ imageUrl: "/assets/elements/office-chair-down.svg" }), "Office chair down");
  assert.equal(elementLabel({ imageUrl: "/media/3f9a0c1b2d4e5f60.png" }), "Uploaded 3f9a0c");
  assert.equal(elementLabel({ imageUrl: "https://x.example/a/b.png?size=2" }), "B");
  assert.equal(elementLabel({ name: "Desk", imageUrl: "/x.svg" }), "Desk");
  assert.equal(elementLabel({}), "Element");
});

test("the lobby lists each space once: mine, then joined, then public", () => {
  const mine = [{ id: "a" }];
  const joined = [{ id: "a", role: "owner" }, { id: "b", role: "member" }];
  const pub = [{ id: "a" }, { id: "b" }, { id: "c" }];
  assert.deepEqual(dedupeSpaces(mine, joined, pub), {
    mine: [{ id: "a" }],
    joined: [{ id: "b", role: "member" }],
    public: [{ id: "c" }],
  });
});

test("the profile form sends only what changed; emptied texts clear", () => {
  const me = { displayName: "Ada", statusText: null, status: "available", avatarId: "av1" };
  assert.deepEqual(profileChanges(me, { displayName: "Ada", statusText: "", status: "available", avatarId: "av1" }), {});
  assert.deepEqual(profileChanges(me, { displayName: " ", statusText: " In a meeting ", status: "dnd", avatarId: "av2" }), {
    displayName: null,
    statusText: "In a meeting",
    status: "dnd",
    avatarId: "av2",
  });
});

test("uploads are checked for type and size before they leave the page", () => {
  assert.match(checkImageFile(null, 100), /Choose an image/);
  assert.match(checkImageFile({ type: "image/gif", size: 10 }, 100), /PNG, JPEG or WebP/);
  assert.match(checkImageFile({ type: "image/png", size: 3 * 1024 * 1024 }, 2 * 1024 * 1024), /at most 2 MB/);
  assert.equal(checkImageFile({ type: "image/webp", size: 10 }, 100), null);
});
