// Walking somewhere by itself: to a cell (a click on the map), next to someone ("Walk
// to"), or behind someone for as long as they are here ("Follow"). Each step is an
// ordinary move, a step every STEP_MS along the shortest way round walls and furniture
// (state/path.js), the way found again at each step, so a wall placed meanwhile or a
// person who moves is taken into account. Any key press cancels (the entry module calls
// `cancel`). No DOM.

import { pathNextTo, pathTo } from "../state/path.js";

/** A step every this many ms: 6-7 a second, well under the server's 20. */
export const STEP_MS = 150;

/**
 * @param {{getState: () => object, step: (dx: number, dy: number) => boolean, onChange?: (job) => void}} options
 */
export function createFinder({ getState, step, onChange = () => {}, timers = globalThis }) {
  let job = null; // {kind: "walk" | "follow", cell?: {x, y}, userId?: string}
  let timer = null;

  function set(next) {
    timers.clearTimeout(timer);
    timer = null;
    job = next;
    onChange(job);
    if (job) tick();
  }

  function tick() {
    timer = null;
    if (!job) return;
    const state = getState();
    if (!state.joined || !state.me || !state.grid) return set(null);
    let path;
    if (job.userId) {
      const them = state.users[job.userId];
      if (!them) return set(null); // they left
      path = pathNextTo(state.grid, state.me, them);
    } else {
      path = pathTo(state.grid, state.me, job.cell);
    }
    if (path === null) return set(null); // no way there
    if (path.length === 0) {
      if (job.kind !== "follow") return set(null); // arrived
    } else if (!step(path[0].x - state.me.x, path[0].y - state.me.y)) {
      return set(null);
    }
    timer = timers.setTimeout(tick, STEP_MS);
  }

  return {
    /** Walk to a cell. */
    walkTo(cell) {
      set({ kind: "walk", cell: { x: cell.x, y: cell.y } });
    },
    /** Walk up to someone and stop next to them. */
    walkToUser(userId) {
      set({ kind: "walk", userId });
    },
    /** Keep walking behind someone until cancelled or they leave. */
    follow(userId) {
      set({ kind: "follow", userId });
    },
    cancel() {
      if (job) set(null);
    },
    get job() {
      return job;
    },
  };
}
