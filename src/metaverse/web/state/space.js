// The space state: a pure reducer from server frames (and a few client actions) to what
// the screen shows. No DOM, no I/O, no clock: (state, action) → state, never mutating, so
// the renderer can tell what changed by reference.
//
// Server frames are {type, payload} exactly as on the wire (docs/protocol.md); client
// actions have types starting with "client/". Movement is predicted: `predictMove` says
// whether a step is allowed by the client's own collision grid, `client/move` applies it
// at once, and `movement-rejected` puts me back where the server says I am.

import { isFree } from "./grid.js";
import { initialChat, reduceChat, unreadByTab } from "./chat.js";

/** The server's default `METAVERSE_INTEREST_MARGIN`, in tiles. */
export const INTEREST_MARGIN_TILES = 4;

const PROFILE_FIELDS = ["username", "displayName", "avatarUrl", "status", "statusText", "guest"];

export function initialState({ spaceId = null, grid = null } = {}) {
  return {
    spaceId,
    grid,
    joined: false,
    me: null,
    users: {},
    viewport: null,
    call: null,
    callFull: null,
    capabilities: [],
    lastError: null,
    chat: initialChat(),
  };
}

function profileOf(entry) {
  const profile = {};
  for (const field of PROFILE_FIELDS) if (entry[field] !== undefined) profile[field] = entry[field];
  return profile;
}

function user(entry, inView, previous = {}) {
  return {
    username: "",
    displayName: null,
    avatarUrl: null,
    status: "available",
    statusText: "",
    ...previous,
    ...profileOf(entry),
    userId: entry.userId,
    x: entry.x,
    y: entry.y,
    inView,
  };
}

function inRegion(viewport, x, y, margin = INTEREST_MARGIN_TILES) {
  if (!viewport) return true;
  return (
    x >= viewport.x - margin &&
    y >= viewport.y - margin &&
    x < viewport.x + viewport.width + margin &&
    y < viewport.y + viewport.height + margin
  );
}

function withUser(state, userId, change) {
  const current = state.users[userId];
  if (!current) return state;
  return { ...state, users: { ...state.users, [userId]: { ...current, ...change } } };
}

function withoutCallPeer(call, userId) {
  const peers = { ...call.peers };
  delete peers[userId];
  return { ...call, peers };
}

/** Apply one server frame or client action. */
export function reduce(state, action) {
  const { type, payload = {} } = action;
  switch (type) {
    case "space-joined": {
      const inView = Array.isArray(payload.inView) ? new Set(payload.inView) : null;
      const users = {};
      for (const entry of payload.users ?? []) {
        users[entry.userId] = user(entry, inView ? inView.has(entry.userId) : true);
      }
      const me = {
        username: "",
        displayName: null,
        avatarUrl: null,
        status: "available",
        statusText: "",
        ...state.me,
        userId: payload.userId,
        x: payload.spawn.x,
        y: payload.spawn.y,
      };
      return {
        ...state,
        joined: true,
        me,
        users,
        call: null,
        callFull: null,
        capabilities: payload.capabilities ?? [],
        lastError: null,
      };
    }
    case "user-joined":
    case "interest-enter": {
      if (payload.userId === state.me?.userId) return state;
      const inView = type === "interest-enter" || inRegion(state.viewport, payload.x, payload.y);
      const previous = state.users[payload.userId];
      return { ...state, users: { ...state.users, [payload.userId]: user(payload, inView, previous) } };
    }
    case "movement":
      return withUser(state, payload.userId, { x: payload.x, y: payload.y, inView: true });
    case "movement-rejected":
      if (!state.me) return state;
      return { ...state, me: { ...state.me, x: payload.x, y: payload.y } };
    case "user-left": {
      if (!state.users[payload.userId]) return state;
      const users = { ...state.users };
      delete users[payload.userId];
      return { ...state, users };
    }
    case "interest-leave":
      return withUser(state, payload.userId, { inView: false });
    case "profile": {
      const change = profileOf(payload);
      if (payload.userId === state.me?.userId) return { ...state, me: { ...state.me, ...change } };
      return withUser(state, payload.userId, change);
    }
    case "status": {
      const change = { status: payload.status, statusText: payload.text ?? "" };
      if (payload.userId === state.me?.userId) return { ...state, me: { ...state.me, ...change } };
      return withUser(state, payload.userId, change);
    }
    case "call-joined": {
      const peers = {};
      for (const peer of payload.peers ?? []) peers[peer.userId] = { initiator: Boolean(peer.initiator) };
      return { ...state, call: { callId: payload.callId, peers }, callFull: null };
    }
    case "call-peer-joined": {
      const base = state.call?.callId === payload.callId ? state.call : { callId: payload.callId, peers: {} };
      const peers = { ...base.peers, [payload.userId]: { initiator: Boolean(payload.initiator) } };
      return { ...state, call: { ...base, peers }, callFull: null };
    }
    case "call-peer-left":
      if (state.call?.callId !== payload.callId || !state.call.peers[payload.userId]) return state;
      return { ...state, call: withoutCallPeer(state.call, payload.userId) };
    case "call-left":
      if (state.call?.callId !== payload.callId) return state;
      return { ...state, call: null };
    case "call-full":
      return { ...state, callFull: payload.callId };
    case "error":
      return { ...state, lastError: { code: payload.code, message: payload.message } };
    case "chat":
    case "chat-ack":
    case "chat-error":
    case "chat-deleted":
      return withChat(state, reduceChat(state.chat, action, state.me));
    // Client actions.
    case "client/grid":
      return { ...state, grid: payload.grid };
    case "client/profile":
      return { ...state, me: { ...state.me, ...profileOf(payload), userId: state.me?.userId ?? payload.id ?? null } };
    case "client/move":
      if (!state.me) return state;
      return { ...state, me: { ...state.me, x: payload.x, y: payload.y } };
    case "client/viewport":
      return { ...state, viewport: { x: payload.x, y: payload.y, width: payload.width, height: payload.height } };
    case "client/disconnected":
      return withChat(
        { ...state, joined: false, users: {}, call: null, callFull: null },
        reduceChat(state.chat, action, state.me),
      );
    default:
      if (type.startsWith("client/chat-")) return withChat(state, reduceChat(state.chat, action, state.me));
      return state;
  }
}

function withChat(state, chat) {
  return chat === state.chat ? state : { ...state, chat };
}

/**
 * Where a step of (dx, dy) from my position would take me, or null when the client's
 * own collision grid (or the rules: one cell, up/down/left/right) forbids it.
 */
export function predictMove(state, dx, dy) {
  if (!state.joined || !state.me || !state.grid) return null;
  if (Math.abs(dx) + Math.abs(dy) !== 1) return null;
  const x = state.me.x + dx;
  const y = state.me.y + dy;
  return isFree(state.grid, x, y) ? { x, y } : null;
}

/** A JSON-ready view of the state that describes the protocol, for tests and debugging. */
export function snapshot(state) {
  const me = state.me && {
    userId: state.me.userId,
    x: state.me.x,
    y: state.me.y,
    status: state.me.status,
    statusText: state.me.statusText,
  };
  const users = Object.values(state.users)
    .sort((a, b) => (a.userId < b.userId ? -1 : 1))
    .map((u) => ({ ...u }));
  const call = state.call && {
    callId: state.call.callId,
    peers: Object.entries(state.call.peers)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([userId, p]) => ({ userId, initiator: p.initiator })),
  };
  return {
    joined: state.joined,
    me,
    users,
    call,
    callFull: state.callFull,
    lastError: state.lastError,
    chat: {
      tab: state.chat.tab,
      active: state.chat.active,
      unread: { ...state.chat.unread },
      unreadByTab: unreadByTab(state.chat),
      conversations: structuredClone(state.chat.conversations),
    },
  };
}
