// The chat panel's actions: which conversation a tab opens, loading its history from the
// API the first time it opens, rooms (list, join, create), and sending over the gateway
// with a clientId so that the ack or error finds the pending message.

import * as protocol from "../protocol.js";
import { readMark, unreadKeyIn } from "../state/chat.js";
import { chatAreaAt } from "../state/grid.js";

const HISTORY_LIMIT = 50;
/** After a `chat-gap`, history is read again this much later, and this many pages at most. */
const GAP_REFETCH_MS = 2000;
const GAP_MAX_PAGES = 20;
/** A conversation's read position goes to the server this long after it last moved. */
export const READ_DEBOUNCE_MS = 1000;

function newClientId() {
  return globalThis.crypto?.randomUUID?.() ?? `c${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

/** The API path of a conversation's history, or null (nearby has none). Pure. */
export function historyPath(spaceId, key) {
  const q = `limit=${HISTORY_LIMIT}`;
  if (key === "space") return `/space/${encodeURIComponent(spaceId)}/messages?${q}`;
  if (key.startsWith("area:")) {
    return `/space/${encodeURIComponent(spaceId)}/messages?area=${encodeURIComponent(key.slice(5))}&${q}`;
  }
  if (key.startsWith("room:")) return `/chatroom/${encodeURIComponent(key.slice(5))}/messages?${q}`;
  if (key.startsWith("direct:")) return `/dm/${encodeURIComponent(key.slice(7))}/messages?${q}`;
  return null;
}

/** The chat frame fields for sending into conversation `key`, or null when it can't take messages. Pure. */
export function addressOf(key) {
  if (key === "nearby" || key === "space") return { scope: key };
  if (key?.startsWith("area:")) return { scope: "area" };
  if (key?.startsWith("room:") && key.length > 5) return { scope: "room", roomId: key.slice(5) };
  if (key?.startsWith("direct:") && key.length > 7) return { scope: "direct", to: key.slice(7) };
  return null;
}

/**
 * @param {{spaceId, api, gateway: () => gateway, getState, dispatch, notify: (text) => void}} deps
 */
export function createChatController({ spaceId, api, gateway, getState, dispatch, notify }) {
  const loaded = new Set();
  const picked = { rooms: null, direct: null };
  let rooms = [];
  let roomsVersion = 0;
  const readSent = new Map(); // key → the message id the server has as read
  const readTimers = new Map(); // key → a pending PUT /chat/read

  /** Unread counts from the server's read positions: what came while the page was away. */
  async function loadUnread() {
    try {
      const answer = await api.get(`/chat/read?spaceId=${encodeURIComponent(spaceId)}`);
      const conversations = answer?.conversations ?? [];
      for (const c of conversations) if (c.messageId) readSent.set(c.key, c.messageId);
      dispatch({ type: "client/chat-unread", payload: { conversations } });
    } catch {
      // Counts start from now: nothing else depends on them.
    }
  }

  /** Tell the server, once things settle, how far the open conversation has been read. */
  function noteRead() {
    const mark = readMark(getState().chat);
    if (!mark || readSent.get(mark.key) >= mark.messageId) return;
    clearTimeout(readTimers.get(mark.key));
    readTimers.set(
      mark.key,
      setTimeout(async () => {
        readTimers.delete(mark.key);
        try {
          const answer = await api.put("/chat/read", { messageId: mark.messageId });
          if (!(readSent.get(mark.key) >= answer?.messageId)) readSent.set(mark.key, answer?.messageId);
        } catch {
          // Not stored yet, or offline: the next change of the conversation tries again.
        }
      }, READ_DEBOUNCE_MS),
    );
  }

  async function loadHistory(key) {
    const path = key && historyPath(spaceId, key);
    if (!path || loaded.has(key)) return;
    loaded.add(key);
    try {
      const answer = await api.get(path);
      dispatch({ type: "client/chat-history", payload: { key, messages: answer?.messages ?? [] } });
    } catch (error) {
      loaded.delete(key); // try again next time the conversation opens
      notify(`Could not load earlier messages: ${error.message ?? error}`);
    }
  }

  /** Live delivery missed messages from `sinceMs` on: read every open conversation's
   * history back to then, now and once more a moment later (the consumer stores a
   * message shortly after it is acked); the reducer merges by id. */
  function fillGap(sinceMs) {
    const keys = [...loaded];
    const fetchAll = () => Promise.all(keys.map((key) => loadSince(key, sinceMs)));
    fetchAll();
    setTimeout(fetchAll, GAP_REFETCH_MS);
  }

  async function loadSince(key, sinceMs) {
    let path = historyPath(spaceId, key);
    try {
      for (let page = 0; path && page < GAP_MAX_PAGES; page++) {
        const answer = await api.get(path);
        const messages = answer?.messages ?? [];
        dispatch({ type: "client/chat-history", payload: { key, messages } });
        const oldest = messages[messages.length - 1];
        if (!answer?.nextCursor || !oldest || oldest.ts < sinceMs) return;
        path = `${historyPath(spaceId, key)}&before=${encodeURIComponent(answer.nextCursor)}`;
      }
    } catch (error) {
      notify(`Some messages may be missing: ${error.message ?? error}`);
    }
  }

  async function loadRooms() {
    try {
      const answer = await api.get(`/chatroom?spaceId=${encodeURIComponent(spaceId)}`);
      rooms = (answer?.rooms ?? []).map((r) => ({ id: r.id, name: r.name, member: Boolean(r.member), private: Boolean(r.private) }));
      roomsVersion += 1;
      dispatch({ type: "client/rooms", payload: {} });
    } catch (error) {
      notify(`Could not load the rooms: ${error.message ?? error}`);
    }
  }

  function currentArea() {
    const { me, grid } = getState();
    return me && grid ? chatAreaAt(grid, me.x, me.y) : null;
  }

  function keyForTab(tab) {
    if (tab === "nearby" || tab === "space") return tab;
    if (tab === "area") {
      const area = currentArea();
      return area ? `area:${area}` : null;
    }
    return picked[tab] ?? null;
  }

  function open(tab, key = keyForTab(tab)) {
    dispatch({ type: "client/chat-open", payload: { tab, key } });
    if (key) loadHistory(key);
    if (tab === "rooms") loadRooms();
  }

  function send(text, address = addressOf(getState().chat.active)) {
    if (!address) return false;
    const clientId = newClientId();
    const payload = { ...address, text, clientId, at: Date.now() };
    if (address.scope === "area") payload.area = currentArea();
    dispatch({ type: "client/chat-send", payload });
    const sent = gateway()?.send(protocol.chat({ ...address, text, clientId }));
    if (!sent) {
      dispatch({
        type: "client/chat-failed",
        payload: { clientId, code: "offline", message: "not connected: try again when the connection is back", retryable: true },
      });
    }
    return true;
  }

  loadUnread();

  return {
    get rooms() {
      return rooms;
    },
    get roomsVersion() {
      return roomsVersion;
    },
    currentArea,
    fillGap,
    /** The panel's actions (see render/chat.js). */
    actions: {
      openTab(tab) {
        // A tab with unread messages opens the conversation they are in.
        const unread = tab === "rooms" || tab === "direct" ? unreadKeyIn(getState().chat, tab) : null;
        if (unread) picked[tab] = unread;
        open(tab);
      },
      pickRoom(roomId) {
        picked.rooms = roomId ? `room:${roomId}` : null;
        open("rooms");
      },
      async joinRoom(roomId) {
        try {
          await api.post(`/chatroom/${encodeURIComponent(roomId)}/join`);
          loaded.delete(`room:${roomId}`);
          open("rooms");
        } catch (error) {
          notify(`Could not join the room: ${error.message ?? error}`);
        }
      },
      async createRoom(name) {
        try {
          const room = await api.post("/chatroom", { spaceId, name });
          picked.rooms = `room:${room.id}`;
          open("rooms");
        } catch (error) {
          notify(`Could not create the room: ${error.message ?? error}`);
        }
      },
      pickDirect(userId) {
        picked.direct = userId ? `direct:${userId}` : null;
        open("direct");
      },
      send: (text) => send(text),
      retry(message) {
        dispatch({ type: "client/chat-discard", payload: { clientId: message.clientId } });
        const address = { scope: message.scope };
        if (message.scope === "room") address.roomId = message.roomId;
        if (message.scope === "direct") address.to = message.to;
        send(message.text, address);
      },
      discard(message) {
        dispatch({ type: "client/chat-discard", payload: { clientId: message.clientId } });
      },
    },
    /** Keep the area tab on the area I stand in, and the server told what has been read. */
    follow() {
      const { chat } = getState();
      noteRead();
      if (chat.tab !== "area") return;
      const key = keyForTab("area");
      if (key !== chat.active) open("area", key);
    },

  };
}
