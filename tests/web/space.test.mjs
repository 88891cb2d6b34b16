// The space screen's pure helpers: camera, tweens, keyboard walking, chat addressing.
import { test } from "node:test";
import assert from "node:assert/strict";

import { cameraFor, createTweens, STEP_MS, TILE_PX, visibleTiles } from "../../src/metaverse/web/render/camera.js";
import { createWalker, directionOf, MIN_STEP_MS, REPEAT_DELAY_MS, REPEAT_MS } from "../../src/metaverse/web/space/keyboard.js";
import { addressOf, historyPath } from "../../src/metaverse/web/space/chat.js";
import { areasAt, buildGrid, chatAreaAt, isFree, parseDimensions } from "../../src/metaverse/web/state/grid.js";
import * as protocol from "../../src/metaverse/web/protocol.js";

test("the camera centres me, stops at the world's edges, and centres a small world", () => {
  const world = { width: 40, height: 30 };
  const view = { width: 640, height: 480 };
  assert.deepEqual(cameraFor({ x: 20, y: 15 }, view, world), { left: 20.5 * TILE_PX - 320, top: 15.5 * TILE_PX - 240 });
  assert.deepEqual(cameraFor({ x: 0, y: 0 }, view, world), { left: 0, top: 0 });
  assert.deepEqual(cameraFor({ x: 39, y: 29 }, view, world), { left: 40 * TILE_PX - 640, top: 30 * TILE_PX - 480 });
  assert.deepEqual(cameraFor({ x: 1, y: 1 }, view, { width: 10, height: 10 }), { left: -160, top: -80 });
});

test("the visible tiles cover partly shown cells and stay inside the world", () => {
  const world = { width: 40, height: 30 };
  assert.deepEqual(visibleTiles({ left: 16, top: 0 }, { width: 640, height: 480 }, world), { x: 0, y: 0, width: 21, height: 15 });
  assert.deepEqual(visibleTiles({ left: -160, top: -80 }, { width: 640, height: 480 }, { width: 10, height: 10 }), {
    x: 0,
    y: 0,
    width: 10,
    height: 10,
  });
});

test("tweens slide one step over STEP_MS and jump on long corrections", () => {
  const tweens = createTweens();
  tweens.track("a", 0, 0, 0);
  tweens.track("a", 1, 0, 1000);
  assert.deepEqual(tweens.at("a", 1000 + STEP_MS / 2), { x: 0.5, y: 0, moving: true });
  assert.deepEqual(tweens.at("a", 1000 + STEP_MS), { x: 1, y: 0, moving: false });
  tweens.track("a", 9, 9, 2000);
  assert.deepEqual(tweens.at("a", 2000), { x: 9, y: 9, moving: false });
  tweens.forget("a");
  assert.equal(tweens.at("a", 3000), null);
});

function fakeClock() {
  let now = 0;
  const timers = new Map();
  let next = 1;
  const add = (fn, ms, every) => {
    timers.set(next, { fn, at: now + ms, every });
    return next++;
  };
  return {
    now: () => now,
    timers: {
      setTimeout: (fn, ms) => add(fn, ms, 0),
      clearTimeout: (id) => timers.delete(id),
      setInterval: (fn, ms) => add(fn, ms, ms),
      clearInterval: (id) => timers.delete(id),
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        const [id, timer] = due;
        now = timer.at;
        if (timer.every) timer.at += timer.every;
        else timers.delete(id);
        timer.fn();
      }
      now = end;
    },
  };
}

const key = (k, extra = {}) => ({ key: k, target: { tagName: "CANVAS", closest: () => null }, preventDefault() {}, ...extra });

/** A walker on a fake clock at t = 1000 ms, recording its steps as [dx, dy, t]. */
function walkingOnAFakeClock() {
  const clock = fakeClock();
  const steps = [];
  const walker = createWalker({
    step: (dx, dy) => steps.push([dx, dy, clock.now()]),
    focusChat() {},
    leaveChat() {},
    isChatInput: () => false,
    now: clock.now,
    timers: clock.timers,
  });
  clock.advance(1000);
  return { clock, steps, walker };
}

test("arrow keys and WASD map to steps; modified keys do not", () => {
  assert.deepEqual(directionOf({ key: "ArrowLeft" }), [-1, 0]);
  assert.deepEqual(directionOf({ key: "W" }), [0, -1]);
  assert.deepEqual(directionOf({ key: "d" }), [1, 0]);
  assert.equal(directionOf({ key: "d", ctrlKey: true }), null);
  assert.equal(directionOf({ key: "x" }), null);
});

test("one step per press, repeating at ~8 a second once held, never faster than 20 a second", () => {
  const { clock, steps, walker } = walkingOnAFakeClock();
  walker.onKeyDown(key("ArrowRight"));
  assert.deepEqual(steps, [[1, 0, 1000]]);
  walker.onKeyDown(key("ArrowRight", { repeat: true })); // the keyboard's own repeat is ignored
  clock.advance(1000);
  walker.onKeyUp(key("ArrowRight"));
  const times = steps.map((s) => s[2]);
  // One step at once, then nothing until the repeat delay, then ~8 a second.
  const repeats = Math.floor((1000 - REPEAT_DELAY_MS) / REPEAT_MS);
  assert.ok(steps.length >= repeats && steps.length <= repeats + 2, `${steps.length} steps in a held second`);
  assert.ok(times[1] - times[0] >= REPEAT_DELAY_MS, "no repeat before the repeat delay");
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= REPEAT_MS - 5);
  const held = steps.length;
  clock.advance(1000);
  assert.equal(steps.length, held, "releasing the key stops the walk");
  // Quick separate presses are queued and spaced out, not dropped.
  for (const k of ["a", "a", "a"]) {
    walker.onKeyDown(key(k));
    walker.onKeyUp(key(k));
  }
  clock.advance(500);
  const presses = steps.slice(held);
  assert.equal(presses.length, 3);
  for (let i = 1; i < presses.length; i++) assert.ok(presses[i][2] - presses[i - 1][2] >= MIN_STEP_MS);
  walker.dispose();
});

test("a tap, even a slow one, is exactly one step", () => {
  const { clock, steps, walker } = walkingOnAFakeClock();
  walker.onKeyDown(key("w"));
  clock.advance(REPEAT_DELAY_MS - 20); // a slow tap, or a busy machine between keydown and keyup
  walker.onKeyUp(key("w"));
  clock.advance(1000);
  assert.deepEqual(steps, [[0, -1, 1000]]);
  walker.dispose();
});

test("keys typed into a text field are not steps; Enter opens the chat, Escape leaves it", () => {
  const calls = [];
  const input = { tagName: "INPUT", type: "text", closest: () => null };
  const walker = createWalker({
    step: () => calls.push("step"),
    focusChat: () => calls.push("chat"),
    leaveChat: () => calls.push("leave"),
    isChatInput: (el) => el === input,
  });
  walker.onKeyDown(key("ArrowUp", { target: input }));
  walker.onKeyDown(key("w", { target: input }));
  walker.onKeyDown(key("Escape", { target: input }));
  walker.onKeyDown(key("Enter"));
  walker.onKeyDown(key("Enter", { target: { tagName: "BUTTON", closest: () => null } }));
  assert.deepEqual(calls, ["leave", "chat"]);
  walker.dispose();
});

test("chat conversations map to frames and history paths", () => {
  assert.deepEqual(addressOf("nearby"), { scope: "nearby" });
  assert.deepEqual(addressOf("area:Lounge"), { scope: "area" });
  assert.deepEqual(addressOf("room:r1"), { scope: "room", roomId: "r1" });
  assert.deepEqual(addressOf("direct:u2"), { scope: "direct", to: "u2" });
  assert.equal(addressOf(null), null);
  assert.equal(addressOf("direct:"), null);
  assert.equal(historyPath("s1", "nearby"), null);
  assert.equal(historyPath("s1", "space"), "/space/s1/messages?limit=50");
  assert.equal(historyPath("s1", "area:Town hall"), "/space/s1/messages?area=Town%20hall&limit=50");
  assert.equal(historyPath("s1", "room:r1"), "/chatroom/r1/messages?limit=50");
  assert.equal(historyPath("s1", "direct:u2"), "/dm/u2/messages?limit=50");
  assert.deepEqual(protocol.chat({ scope: "room", text: "x", clientId: "c", roomId: "r1", to: "ignored" }).payload, {
    scope: "room",
    text: "x",
    clientId: "c",
    roomId: "r1",
  });
});

test("the collision grid: static elements block the cells they cover; areas are found by cell", () => {
  const grid = buildGrid({
    dimensions: "5x4",
    elements: [
      { element: { width: 2, height: 2, static: true }, x: 3, y: 3 },
      { element: { width: 1, height: 1, static: false }, x: 0, y: 0 },
    ],
    areas: [
      { name: "Entrance", x: 0, y: 0, width: 2, height: 2, kind: "spawn" },
      { name: "Lounge", x: 1, y: 1, width: 2, height: 2, kind: "room" },
    ],
  });
  assert.deepEqual(parseDimensions("40x30"), { width: 40, height: 30 });
  assert.equal(parseDimensions("0x3"), null);
  assert.equal(parseDimensions("big"), null);
  assert.equal(isFree(grid, 0, 0), true);
  assert.equal(isFree(grid, 3, 3), false);
  assert.equal(isFree(grid, 4, 3), false, "clipped to the space");
  assert.equal(isFree(grid, 5, 0), false);
  assert.equal(isFree(grid, -1, 0), false);
  assert.deepEqual(areasAt(grid, 1, 1).map((a) => a.name), ["Entrance", "Lounge"]);
  assert.equal(chatAreaAt(grid, 1, 1), "Lounge");
  assert.equal(chatAreaAt(grid, 0, 0), null, "spawn areas have no chat");
});

test("protocol: frames are checked on the way in, batches unpacked in order, never nested", () => {
  assert.equal(protocol.decode("not json"), null);
  assert.equal(protocol.decode(JSON.stringify({ type: "unknown", payload: {} })), null);
  assert.equal(protocol.decode(JSON.stringify({ type: "movement" })), null);
  const batch = protocol.decode(
    JSON.stringify({
      type: "batch",
      payload: {
        messages: [
          { type: "movement", payload: { userId: "a", x: 1, y: 1 } },
          { type: "batch", payload: { messages: [] } },
          { type: "user-left", payload: { userId: "a" } },
        ],
      },
    }),
  );
  assert.deepEqual(protocol.unbatch(batch).map((f) => f.type), ["movement", "user-left"]);
  assert.deepEqual(protocol.viewport({ x: 1.2, y: 2, width: 0, height: 900 }).payload, { x: 1, y: 2, width: 1, height: 500 });
  assert.throws(() => protocol.status("sleeping"));
  assert.equal(protocol.terminalCloseReason(4009), "replaced");
  assert.equal(protocol.terminalCloseReason(1006), null);
});
