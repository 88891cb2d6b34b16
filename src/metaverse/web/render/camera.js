// Camera and movement geometry of the world view. Pure: numbers in, numbers out.
// World coordinates are CSS pixels: cell (x, y) covers [x·TILE, (x+1)·TILE).

export const TILE_PX = 32;
/** How long one step of one cell takes to draw. */
export const STEP_MS = 120;
/** A jump longer than this (a correction, a teleport) is drawn at once, not slid. */
export const SNAP_CELLS = 2.5;

/**
 * The top-left corner of the view, in world pixels, that centres `focus` (in cells,
 * fractional while moving), clamped to the world; a world smaller than the view is centred.
 */
export function cameraFor(focus, view, world) {
  const worldW = world.width * TILE_PX;
  const worldH = world.height * TILE_PX;
  const axis = (center, viewLen, worldLen) => {
    if (worldLen <= viewLen) return (worldLen - viewLen) / 2;
    const wanted = (center + 0.5) * TILE_PX - viewLen / 2;
    return Math.min(Math.max(0, wanted), worldLen - viewLen);
  };
  return { left: axis(focus.x, view.width, worldW), top: axis(focus.y, view.height, worldH) };
}

/** The tiles a view shows (partly shown tiles included), clipped to the world. */
export function visibleTiles(camera, view, world) {
  const x0 = Math.max(0, Math.floor(camera.left / TILE_PX));
  const y0 = Math.max(0, Math.floor(camera.top / TILE_PX));
  const x1 = Math.min(world.width, Math.ceil((camera.left + view.width) / TILE_PX));
  const y1 = Math.min(world.height, Math.ceil((camera.top + view.height) / TILE_PX));
  return { x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) };
}

export function sameRect(a, b) {
  return Boolean(a && b) && a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

/**
 * Tweens from cell to cell. `track(id, x, y, now)` records where someone should be; `at(id,
 * now)` says where to draw them: sliding over STEP_MS from where they were drawn when the
 * target changed, or at once for long jumps.
 */
export function createTweens(stepMs = STEP_MS) {
  const tweens = new Map();
  function at(id, now) {
    const t = tweens.get(id);
    if (!t) return null;
    const k = Math.min(1, Math.max(0, (now - t.t0) / stepMs));
    return { x: t.fx + (t.tx - t.fx) * k, y: t.fy + (t.ty - t.fy) * k, moving: k < 1 };
  }
  return {
    track(id, x, y, now) {
      const t = tweens.get(id);
      if (!t) {
        tweens.set(id, { fx: x, fy: y, tx: x, ty: y, t0: now - stepMs });
        return;
      }
      if (t.tx === x && t.ty === y) return;
      const from = at(id, now);
      const far = Math.hypot(x - from.x, y - from.y) > SNAP_CELLS;
      tweens.set(id, far ? { fx: x, fy: y, tx: x, ty: y, t0: now - stepMs } : { fx: from.x, fy: from.y, tx: x, ty: y, t0: now });
    },
    at,
    forget(id) {
      tweens.delete(id);
    },
    ids() {
      return [...tweens.keys()];
    },
  };
}
