// Walking by itself: along the shortest way, one move per tick; arriving, following, and
// stopping when the way is gone or the person left.
import { test } from "node:test";
import assert from "node:assert/strict";

import { buildGrid } from "../../src/metaverse/web/state/grid.js";
import { createFinder, STEP_MS } from "../../src/metaverse/web/space/finder.js";

function world(users = {}) {
  const state = { joined: true, me: { x: 0, y: 0 }, users, grid: buildGrid({ dimensions: "6x3", elements: [], areas: [] }) };
  const timers = {
    due: [],
    setTimeout(fn, ms) {
      this.due.push({ fn, ms });
      return this.due.length;
    },
    clearTimeout() {},
    run() {
      const next = this.due.shift();
      next?.fn();
      return Boolean(next);
    },
  };
  const steps = [];
  const changes = [];
  const finder = createFinder({
    getState: () => state,
    step(dx, dy) {
      steps.push([dx, dy]);
      state.me = { x: state.me.x + dx, y: state.me.y + dy };
      return true;
    },
    onChange: (job) => changes.push(job?.kind ?? null),
    timers,
  });
  return { state, timers, steps, changes, finder };
}

test("walking to a cell steps along the way, a step per tick, and stops there", () => {
  const { state, timers, steps, changes, finder } = world();
  finder.walkTo({ x: 3, y: 2 });
  while (timers.run());
  assert.deepEqual(state.me, { x: 3, y: 2 });
  assert.equal(steps.length, 5);
  assert.deepEqual(changes, ["walk", null]);
  assert.ok(timers.due.every((t) => t.ms === STEP_MS));
});

test("walking to someone stops next to them; following waits there, then goes on", () => {
  const { state, timers, finder } = world({ bob: { x: 4, y: 0 } });
  finder.walkToUser("bob");
  while (timers.run());
  assert.deepEqual(state.me, { x: 3, y: 0 });
  assert.equal(finder.job, null);
  finder.follow("bob");
  timers.run(); // next to bob already: it waits
  assert.deepEqual(state.me, { x: 3, y: 0 });
  state.users.bob = { x: 5, y: 2 };
  for (let i = 0; i < 5; i++) timers.run();
  assert.equal(Math.abs(state.me.x - 5) + Math.abs(state.me.y - 2), 1);
  assert.equal(finder.job.kind, "follow");
  delete state.users.bob; // they left
  timers.run();
  assert.equal(finder.job, null);
});

test("a cancelled walk, a refused step or no way at all ends the walk", () => {
  const { timers, finder } = world();
  finder.walkTo({ x: 5, y: 2 });
  finder.cancel();
  assert.equal(finder.job, null);
  finder.walkTo({ x: 9, y: 9 }); // outside the space
  assert.equal(finder.job, null);
  while (timers.run());
});
