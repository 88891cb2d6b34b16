// The realtime protocol as the browser sees it: the one mirror of
// src/metaverse/protocol/messages.py and docs/protocol.md.
// Frames are JSON text {"type": ..., "payload": {...}}. Pure: no DOM, no I/O.

/** What the client asks for in `join` (docs/protocol.md, "Compatibility"). */
export const CAPABILITIES = Object.freeze([
  "profiles",
  "proximity",
  "presence",
  "chat",
  "interest",
  "batch",
  "live",
  "social",
]);

export const STATUSES = Object.freeze(["available", "busy", "away", "dnd"]);
export const STATUS_LABELS = Object.freeze({
  available: "Available",
  busy: "Busy",
  away: "Away",
  dnd: "Do not disturb",
});

export const CHAT_SCOPES = Object.freeze(["nearby", "area", "space", "direct", "room"]);
export const CHAT_MAX_CHARS = 2000;
export const STATUS_TEXT_MAX_CHARS = 140;

/** Every frame type the server sends. */
export const SERVER_TYPES = Object.freeze([
  "space-joined",
  "user-joined",
  "movement",
  "movement-rejected",
  "user-left",
  "error",
  "status",
  "interest-enter",
  "interest-leave",
  "call-joined",
  "call-peer-joined",
  "call-peer-left",
  "call-left",
  "call-full",
  "video-call-signaling",
  "signal-rejected",
  "media-state",
  "batch",
  "chat",
  "chat-ack",
  "chat-error",
  "chat-deleted",
  "chat-gap",
  "profile",
  "map-changed",
  "space-connection",
  "wave",
]);
const SERVER_TYPE_SET = new Set(SERVER_TYPES);

/** `error.code`s after which the server closes the socket: reconnecting can't help. */
export const TERMINAL_ERRORS = Object.freeze({
  // A close code alone names the first error listed with it.
  space_deleted: 4004,
  access_revoked: 4003,
  account_disabled: 4001,
  invalid_token: 4001,
  forbidden: 4003,
  unknown_space: 4004,
  replaced: 4009,
});
const TERMINAL_BY_CLOSE = new Map(Object.entries(TERMINAL_ERRORS).map(([code, n]) => [n, code]));

/** The terminal error code a close code means, or null (worth reconnecting). */
export function terminalCloseReason(closeCode) {
  return TERMINAL_BY_CLOSE.get(closeCode) ?? null;
}

// Client → server frames, as plain objects ({type, payload}); `encode` makes the text.

export function join({ spaceId, token, capabilities = CAPABILITIES, viewport = null, resume = null }) {
  const payload = { spaceId, token, capabilities: [...capabilities] };
  if (viewport) payload.viewport = viewportPayload(viewport);
  if (resume) payload.resume = { x: resume.x, y: resume.y };
  return { type: "join", payload };
}

export function wave(to) {
  return { type: "wave", payload: { to } };
}

export function move(x, y) {
  return { type: "move", payload: { x, y } };
}

export function leave() {
  return { type: "leave", payload: {} };
}

/** `data` is `{description}` or `{candidate}` exactly as the browser serialises them. */
export function signal(to, data) {
  return { type: "video-call-signaling", payload: { to, data } };
}

/** My microphone and camera (on or off), and whether I share my screen, for my call. */
export function mediaState({ audio, video, screen = false }) {
  return { type: "media-state", payload: { audio: Boolean(audio), video: Boolean(video), screen: Boolean(screen) } };
}

export function status(value, text) {
  if (!STATUSES.includes(value)) throw new RangeError(`unknown status ${value}`);
  const payload = { status: value };
  if (text !== undefined && text !== null) payload.text = String(text).slice(0, STATUS_TEXT_MAX_CHARS);
  return { type: "status", payload };
}

export function viewport(rect) {
  return { type: "viewport", payload: viewportPayload(rect) };
}

export function chat({ scope, text, clientId, to, roomId }) {
  if (!CHAT_SCOPES.includes(scope)) throw new RangeError(`unknown chat scope ${scope}`);
  const payload = { scope, text, clientId };
  if (scope === "direct") payload.to = to;
  if (scope === "room") payload.roomId = roomId;
  return { type: "chat", payload };
}

function viewportPayload({ x, y, width, height }) {
  // The server wants whole tiles, width and height 1–500.
  const clamp = (n) => Math.max(1, Math.min(500, Math.round(n)));
  return { x: Math.round(x), y: Math.round(y), width: clamp(width), height: clamp(height) };
}

export function encode(frame) {
  return JSON.stringify(frame);
}

/** A server frame from text, or null when it is not one (unknown types are dropped). */
export function decode(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return isServerFrame(value) ? value : null;
}

function isServerFrame(value) {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof value.type === "string" &&
    SERVER_TYPE_SET.has(value.type) &&
    value.payload !== null &&
    typeof value.payload === "object"
  );
}

/** The frames a frame stands for: a `batch` unpacked in order, anything else as is. */
export function unbatch(frame) {
  if (frame.type !== "batch") return [frame];
  const messages = Array.isArray(frame.payload.messages) ? frame.payload.messages : [];
  // A batch never nests; anything in it that is not a server frame is dropped.
  return messages.filter((m) => isServerFrame(m) && m.type !== "batch");
}
