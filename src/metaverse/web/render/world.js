// The world on a canvas: floor, elements from their images (a hatched placeholder when an
// image fails), areas tinted with their names, avatars with name, status dot and a "do not
// disturb" badge, sliding one cell per STEP_MS, and a camera that follows me. HiDPI aware.
//
// Everything that does not move is drawn once into an offscreen layer; a frame then copies
// the visible part of it and draws the people. Frames are only drawn when something changed.

import { cameraFor, createTweens, sameRect, TILE_PX, visibleTiles } from "./camera.js";
import { createImageCache, drawPlaceholder } from "./images.js";

const FLOOR = "#e9e2d4";
const GRID_LINE = "rgb(120 100 70 / 7%)";
const AREA_STYLE = {
  private: { fill: "rgb(79 70 229 / 9%)", line: "rgb(79 70 229 / 45%)", label: "#3730a3", note: "private" },
  silent: { fill: "rgb(100 116 139 / 10%)", line: "rgb(71 85 105 / 45%)", label: "#334155", note: "silent" },
  room: { fill: "rgb(14 165 233 / 8%)", line: "rgb(2 132 199 / 40%)", label: "#075985", note: "" },
  spawn: { fill: "rgb(21 128 61 / 7%)", line: "rgb(21 128 61 / 35%)", label: "#166534", note: "" },
};
const STATUS_COLOR = { available: "#15803d", busy: "#c9302c", away: "#b45309", dnd: "#c9302c" };
const AVATAR_W = 32;
const AVATAR_H = 48;
/** The largest offscreen layer drawn in one piece, in device pixels; bigger worlds draw per frame. */
const MAX_LAYER_PIXELS = 4096 * 4096;

/** How long the camera shows someone located, and a line keeps pointing at them. */
const LOCATE_MS = 2500;
const POINT_MS = 12_000;
/** Zoom levels (1: a tile is TILE_PX CSS pixels). */
export const ZOOMS = Object.freeze([0.5, 0.75, 1, 1.25, 1.5, 2]);
/** With more people than this in view, only those near me (or under the pointer) are named. */
const CROWD = 12;
const NAMED_WITHIN_TILES = 3;
/** The minimap's largest side, in CSS pixels. */
const MINIMAP_PX = 168;

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{space: object, grid: object, onViewport: (rect) => void}} options
 */
export function createWorld(canvas, { space, grid, onViewport = () => {}, minimap = null }) {
  const ctx = canvas.getContext("2d");
  const world = { width: grid.width, height: grid.height };
  let placed = orderElements(space.elements ?? []);
  const tweens = createTweens();
  let state = null;
  let view = { width: 1, height: 1 };
  let dpr = 1;
  let layer = null;
  let layerDirty = true;
  let dirty = true;
  let lastViewport = null;
  let raf = 0;
  let destroyed = false;
  let locating = null; // {userId, until}: the camera shows them
  let pointing = null; // {userId, until}: a line points at them while off screen
  let lastCamera = null;
  let zoom = 1;
  let hovered = null; // the cell under the pointer
  let minimapLayer = null; // walls and furniture of the minimap, drawn once per layout
  const images = createImageCache(() => {
    layerDirty = true;
    dirty = true;
  });

  function resize() {
    const rect = canvas.getBoundingClientRect();
    const nextDpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
    const width = Math.max(1, Math.round(rect.width));
    const height = Math.max(1, Math.round(rect.height));
    if (width === view.width && height === view.height && nextDpr === dpr) return;
    view = { width, height };
    if (nextDpr !== dpr) layerDirty = true;
    dpr = nextDpr;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    dirty = true;
  }

  const observer = new ResizeObserver(resize);
  observer.observe(canvas);

  function buildLayer() {
    layerDirty = false;
    const w = Math.round(world.width * TILE_PX * dpr);
    const h = Math.round(world.height * TILE_PX * dpr);
    if (w * h > MAX_LAYER_PIXELS) {
      layer = null;
      return;
    }
    layer = layer ?? document.createElement("canvas");
    layer.width = w;
    layer.height = h;
    const g = layer.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawStatic(g, null);
  }

  /** Floor, elements and areas; `clip` (in tiles) limits the work when drawing per frame. */
  function drawStatic(g, clip) {
    const area = clip ?? { x: 0, y: 0, width: world.width, height: world.height };
    g.fillStyle = FLOOR;
    g.fillRect(area.x * TILE_PX, area.y * TILE_PX, area.width * TILE_PX, area.height * TILE_PX);
    g.strokeStyle = GRID_LINE;
    g.lineWidth = 1;
    g.beginPath();
    for (let x = area.x; x <= area.x + area.width; x++) {
      g.moveTo(x * TILE_PX + 0.5, area.y * TILE_PX);
      g.lineTo(x * TILE_PX + 0.5, (area.y + area.height) * TILE_PX);
    }
    for (let y = area.y; y <= area.y + area.height; y++) {
      g.moveTo(area.x * TILE_PX, y * TILE_PX + 0.5);
      g.lineTo((area.x + area.width) * TILE_PX, y * TILE_PX + 0.5);
    }
    g.stroke();
    const visible = (p) =>
      !clip || (p.x < clip.x + clip.width && p.y < clip.y + clip.height && p.x + p.w > clip.x && p.y + p.h > clip.y);
    for (const p of placed.floor) if (visible(p)) drawElement(g, p);
    for (const a of grid.areas) drawAreaFill(g, a);
    for (const p of placed.furniture) if (visible(p)) drawElement(g, p);
    for (const a of grid.areas) drawAreaLabel(g, a);
  }

  function drawElement(g, p) {
    const x = p.x * TILE_PX;
    const y = p.y * TILE_PX;
    const w = p.w * TILE_PX;
    const h = p.h * TILE_PX;
    const entry = images.get(p.imageUrl);
    if (entry.state === "ok") {
      g.drawImage(entry.image, x, y, w, h);
    } else if (entry.state === "error") {
      drawPlaceholder(g, x, y, w, h);
    }
  }

  function frame(now) {
    raf = 0;
    if (destroyed) return;
    schedule();
    if (!state?.joined || !state.me || view.width < 2) return;
    const moving = trackPeople(now);
    if (!dirty && !moving) return;
    dirty = false;
    if (layerDirty) buildLayer();
    const me = tweens.at(state.me.userId, now) ?? state.me;
    const located = locating && now < locating.until ? placeOf(locating.userId, now) : null;
    if (locating && !located) locating = null;
    const seen = { width: view.width / zoom, height: view.height / zoom };
    const camera = cameraFor(located ?? me, seen, world);
    lastCamera = camera;
    const tiles = visibleTiles(camera, seen, world);
    if (!sameRect(tiles, lastViewport)) {
      lastViewport = tiles;
      onViewport(tiles);
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#d9dde6";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    const scale = dpr * zoom;
    ctx.setTransform(scale, 0, 0, scale, -camera.left * scale, -camera.top * scale);
    if (layer) {
      ctx.drawImage(layer, 0, 0, world.width * TILE_PX, world.height * TILE_PX);
    } else {
      drawStatic(ctx, tiles);
    }
    drawPeople(now, me);
    drawPointer(now, me, tiles);
    drawMinimap(now, tiles);
  }

  /** The whole map small: walls and furniture, everyone as a dot, me larger, the view. */
  function drawMinimap(now, tiles) {
    if (!minimap) return;
    const cell = Math.max(1, Math.floor(MINIMAP_PX / Math.max(world.width, world.height)));
    const w = world.width * cell;
    const h = world.height * cell;
    if (minimap.width !== w * dpr || minimap.height !== h * dpr || !minimapLayer) {
      minimap.width = w * dpr;
      minimap.height = h * dpr;
      minimap.style.width = `${w}px`;
      minimap.style.height = `${h}px`;
      minimapLayer = document.createElement("canvas");
      minimapLayer.width = w * dpr;
      minimapLayer.height = h * dpr;
      const g = minimapLayer.getContext("2d");
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.fillStyle = FLOOR;
      g.fillRect(0, 0, w, h);
      g.fillStyle = "rgb(27 33 48 / 45%)";
      for (let y = 0; y < world.height; y++) {
        for (let x = 0; x < world.width; x++) {
          if (grid.blocked[y * world.width + x]) g.fillRect(x * cell, y * cell, cell, cell);
        }
      }
    }
    const m = minimap.getContext("2d");
    m.setTransform(1, 0, 0, 1, 0, 0);
    m.drawImage(minimapLayer, 0, 0);
    m.setTransform(dpr, 0, 0, dpr, 0, 0);
    m.strokeStyle = "rgb(79 70 229 / 80%)";
    m.lineWidth = 1;
    m.strokeRect(tiles.x * cell + 0.5, tiles.y * cell + 0.5, tiles.width * cell - 1, tiles.height * cell - 1);
    for (const p of Object.values(state.users)) {
      const at = tweens.at(p.userId, now) ?? p;
      m.fillStyle = colourFor(p.userId);
      m.fillRect((at.x + 0.5) * cell - 1.5, (at.y + 0.5) * cell - 1.5, 3, 3);
    }
    const me = tweens.at(state.me.userId, now) ?? state.me;
    m.fillStyle = "#4f46e5";
    m.strokeStyle = "#fff";
    m.beginPath();
    m.arc((me.x + 0.5) * cell, (me.y + 0.5) * cell, 3.5, 0, Math.PI * 2);
    m.fill();
    m.stroke();
  }

  /** Where someone is drawn now, in cells; null when they are not here. */
  function placeOf(userId, now) {
    const person = userId === state.me?.userId ? state.me : state.users[userId];
    if (!person) return null;
    return tweens.at(userId, now) ?? { x: person.x, y: person.y };
  }

  /** While someone is being located and is off screen, a line from me towards them. */
  function drawPointer(now, me, tiles) {
    if (!pointing || now > pointing.until) {
      pointing = null;
      return;
    }
    const them = placeOf(pointing.userId, now);
    if (!them) return;
    const inside =
      them.x >= tiles.x && them.y >= tiles.y && them.x < tiles.x + tiles.width && them.y < tiles.y + tiles.height;
    if (inside) return;
    const half = TILE_PX / 2;
    ctx.save();
    ctx.strokeStyle = "rgba(79, 70, 229, 0.85)";
    ctx.lineWidth = 3;
    ctx.setLineDash([8, 6]);
    ctx.beginPath();
    ctx.moveTo(me.x * TILE_PX + half, me.y * TILE_PX + half);
    ctx.lineTo(them.x * TILE_PX + half, them.y * TILE_PX + half);
    ctx.stroke();
    ctx.restore();
    dirty = true; // keep drawing while it shows
  }

  /** Tell the tweens where everyone should be; true while anyone is still sliding. */
  function trackPeople(now) {
    const present = new Set();
    let moving = false;
    for (const person of people()) {
      present.add(person.userId);
      tweens.track(person.userId, person.x, person.y, now);
      moving ||= tweens.at(person.userId, now).moving;
    }
    for (const id of tweens.ids()) {
      if (!present.has(id)) {
        tweens.forget(id);
        dirty = true;
      }
    }
    return moving;
  }

  function people() {
    const list = Object.values(state.users).filter((u) => u.inView);
    list.push({ ...state.me, isMe: true });
    return list;
  }

  function drawPeople(now, me) {
    const inCall = new Set(Object.keys(state.call?.peers ?? {}));
    // By depth, and me on top of everyone, highlighted.
    const drawn = people()
      .map((p) => ({ ...p, at: tweens.at(p.userId, now) ?? { x: p.x, y: p.y } }))
      .sort((a, b) => Number(Boolean(a.isMe)) - Number(Boolean(b.isMe)) || a.at.y - b.at.y);
    for (const p of drawn) drawAvatar(p, inCall.has(p.userId) || (p.isMe && inCall.size > 0));
    // In a crowd, only the people near me or under the pointer are named.
    const crowded = drawn.length > CROWD;
    const named = drawn.filter(
      (p) =>
        !crowded ||
        p.isMe ||
        Math.hypot(p.at.x - me.x, p.at.y - me.y) <= NAMED_WITHIN_TILES ||
        (hovered && Math.round(p.at.x) === hovered.x && Math.round(p.at.y) === hovered.y),
    );
    canvas.dataset.named = String(named.length); // a hook for tests: how many names show
    // Labels of people standing close would overlap: nudge later ones up until they fit.
    const placedLabels = [];
    for (const p of [...named].reverse()) {
      const label = labelBox(p);
      for (let tries = 0; tries < 6 && placedLabels.some((other) => overlaps(label, other)); tries++) {
        label.y -= label.h + 2;
      }
      placedLabels.push(label);
      drawLabel(p, label);
    }
  }

  function labelBox(p) {
    const name = displayName(p);
    ctx.font = labelFont(p);
    const textW = Math.min(120, ctx.measureText(name).width);
    ctx.font = GUEST_FONT;
    const tagW = p.guest ? ctx.measureText(GUEST_TAG).width + 10 : 0;
    const w = textW + 22 + (tagW ? tagW + 4 : 0);
    const h = 17;
    const cx = (p.at.x + 0.5) * TILE_PX;
    const top = (p.at.y + 1) * TILE_PX - AVATAR_H - 6;
    return { name, textW, tagW, x: cx - w / 2, y: top - h, w, h };
  }

  function drawAvatar(p, inCall) {
    const cx = (p.at.x + 0.5) * TILE_PX;
    const feet = (p.at.y + 1) * TILE_PX;
    ctx.fillStyle = "rgb(0 0 0 / 18%)";
    ctx.beginPath();
    ctx.ellipse(cx, feet - 3, 11, 4, 0, 0, Math.PI * 2);
    ctx.fill();
    if (p.isMe) {
      ctx.fillStyle = "rgb(250 204 21 / 45%)";
      ctx.beginPath();
      ctx.ellipse(cx, feet - 3, 17, 7, 0, 0, Math.PI * 2);
      ctx.fill();
    }
    if (inCall) {
      ctx.strokeStyle = "rgb(79 70 229 / 85%)";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.ellipse(cx, feet - 3, 15, 6, 0, 0, Math.PI * 2);
      ctx.stroke();
    }
    const entry = p.avatarUrl ? images.get(p.avatarUrl) : null;
    if (entry?.state === "ok") {
      ctx.drawImage(entry.image, cx - AVATAR_W / 2, feet - AVATAR_H, AVATAR_W, AVATAR_H);
    } else {
      drawPawn(ctx, cx, feet, colourFor(p.userId), initialOf(p));
    }
    if (p.status === "dnd") drawDndBadge(ctx, cx + 11, feet - AVATAR_H + 6);
  }

  function drawLabel(p, { name, textW, tagW, x, y, w, h }) {
    ctx.font = labelFont(p);
    ctx.fillStyle = p.isMe ? "rgb(79 70 229 / 92%)" : "rgb(255 255 255 / 92%)";
    roundRect(ctx, x, y, w, h, 8);
    ctx.fill();
    ctx.strokeStyle = p.isMe ? "rgb(55 48 163)" : "rgb(27 33 48 / 18%)";
    ctx.lineWidth = 1;
    ctx.stroke();
    ctx.fillStyle = STATUS_COLOR[p.status] ?? STATUS_COLOR.available;
    ctx.beginPath();
    ctx.arc(x + 9, y + h / 2, 3.5, 0, Math.PI * 2);
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.stroke();
    ctx.fillStyle = p.isMe ? "#fff" : "#1b2130";
    ctx.textBaseline = "middle";
    ctx.textAlign = "left";
    ctx.fillText(name, x + 16, y + h / 2 + 0.5, textW);
    if (tagW) {
      // A guest: an amber "guest" pill at the end of the label.
      const tagX = x + w - tagW - 3;
      ctx.fillStyle = "#fde68a";
      roundRect(ctx, tagX, y + 2.5, tagW, h - 5, 6);
      ctx.fill();
      ctx.font = GUEST_FONT;
      ctx.fillStyle = "#78350f";
      ctx.fillText(GUEST_TAG, tagX + 5, y + h / 2 + 0.5);
    }
  }

  function schedule() {
    if (!raf && !destroyed) raf = requestAnimationFrame(frame);
  }
  resize();
  schedule();

  return {
    /** Draw this state from the next frame on. */
    update(next) {
      if (next !== state) dirty = true;
      state = next;
    },
    /** Draw these elements and this grid's areas from now on (the layout changed). */
    setLayout(elements, nextGrid) {
      placed = orderElements(elements ?? []);
      grid = nextGrid;
      minimapLayer = null;
      layerDirty = true;
      dirty = true;
    },
    /** Show where `userId` is: the camera pans to them a moment, then a line points at
     * them from me while they are off screen. */
    locate(userId) {
      const now = performance.now();
      locating = { userId, until: now + LOCATE_MS };
      pointing = { userId, until: now + POINT_MS };
      dirty = true;
    },
    /** The cell under a point of the canvas (CSS pixels from its corner), or null. */
    cellAt(offsetX, offsetY) {
      if (!lastCamera) return null;
      const x = Math.floor((offsetX / zoom + lastCamera.left) / TILE_PX);
      const y = Math.floor((offsetY / zoom + lastCamera.top) / TILE_PX);
      return x >= 0 && y >= 0 && x < world.width && y < world.height ? { x, y } : null;
    },
    /** Zoom in (+1) or out (-1) a level; the level now. */
    zoomBy(steps) {
      const index = Math.min(ZOOMS.length - 1, Math.max(0, ZOOMS.indexOf(zoom) + steps));
      zoom = ZOOMS[index];
      dirty = true;
      return zoom;
    },
    get zoom() {
      return zoom;
    },
    /** The cell under the pointer (null: none), whose person is named in a crowd. */
    hover(cell) {
      if (cell?.x === hovered?.x && cell?.y === hovered?.y) return;
      hovered = cell;
      dirty = true;
    },
    /** The last viewport drawn, in tiles. */
    get viewport() {
      return lastViewport;
    },
    /** Whether every image has loaded or failed (for tests and screenshots). */
    get settled() {
      return images.settled() && !layerDirty;
    },
    destroy() {
      destroyed = true;
      observer.disconnect();
      if (raf) cancelAnimationFrame(raf);
      images.clear();
      layer = null;
    },
  };
}

const GUEST_TAG = "guest";
const GUEST_FONT = `600 9.5px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;

function labelFont(p) {
  return `${p.isMe ? 600 : 500} 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function orderElements(elements) {
  const all = elements.map((e) => ({
    x: e.x,
    y: e.y,
    w: e.element?.width ?? 1,
    h: e.element?.height ?? 1,
    imageUrl: e.element?.imageUrl ?? null,
    static: Boolean(e.element?.static),
  }));
  // Walkable things (floors, rugs, chairs) lie under furniture; furniture overlaps by depth.
  const floor = all.filter((e) => !e.static);
  const furniture = all.filter((e) => e.static).sort((a, b) => a.y + a.h - (b.y + b.h) || a.x - b.x);
  return { floor, furniture };
}

function drawAreaFill(g, a) {
  const style = AREA_STYLE[a.kind] ?? AREA_STYLE.room;
  g.fillStyle = style.fill;
  g.fillRect(a.x * TILE_PX, a.y * TILE_PX, a.width * TILE_PX, a.height * TILE_PX);
  g.strokeStyle = style.line;
  g.lineWidth = 1.5;
  g.setLineDash([6, 4]);
  g.strokeRect(a.x * TILE_PX + 1, a.y * TILE_PX + 1, a.width * TILE_PX - 2, a.height * TILE_PX - 2);
  g.setLineDash([]);
}

function drawAreaLabel(g, a) {
  const style = AREA_STYLE[a.kind] ?? AREA_STYLE.room;
  const text = style.note ? `${a.name} · ${style.note}` : a.name;
  g.font = '600 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  g.textBaseline = "middle";
  g.textAlign = "left";
  const w = Math.min(a.width * TILE_PX - 8, g.measureText(text).width + 12);
  const x = a.x * TILE_PX + 4;
  const y = a.y * TILE_PX + 4;
  g.fillStyle = "rgb(255 255 255 / 85%)";
  roundRect(g, x, y, w, 16, 5);
  g.fill();
  g.fillStyle = style.label;
  g.fillText(text, x + 6, y + 8.5, w - 12);
}

/** The stand-in for an avatar without an image: a body and a head in the person's colour. */
function drawPawn(g, cx, feet, colour, initial) {
  g.fillStyle = colour;
  roundRect(g, cx - 10, feet - 24, 20, 21, 8);
  g.fill();
  g.beginPath();
  g.arc(cx, feet - 33, 10, 0, Math.PI * 2);
  g.fill();
  g.strokeStyle = "rgb(255 255 255 / 85%)";
  g.lineWidth = 2;
  g.stroke();
  g.fillStyle = "#fff";
  g.font = '700 11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(initial, cx, feet - 32.5);
}

function drawDndBadge(g, cx, cy) {
  g.fillStyle = "#c9302c";
  g.beginPath();
  g.arc(cx, cy, 7, 0, Math.PI * 2);
  g.fill();
  g.strokeStyle = "#fff";
  g.lineWidth = 1.5;
  g.stroke();
  g.fillStyle = "#fff";
  g.fillRect(cx - 4, cy - 1.25, 8, 2.5);
}

function roundRect(g, x, y, w, h, r) {
  g.beginPath();
  g.roundRect(x, y, w, h, r);
}

export function displayName(p) {
  return p.displayName || p.username || "Someone";
}

function initialOf(p) {
  return displayName(p).trim().charAt(0).toUpperCase() || "?";
}

/** A stable colour per user id, for people without an avatar image. */
export function colourFor(id) {
  let hash = 0;
  for (const ch of String(id)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 55% 45%)`;
}
