// The chat part of the space state: conversations, pending sends, unread counts.
// A pure reducer like state/space.js: (chat, action, me) → chat, never mutating.
//
// A conversation key names where a message belongs: "nearby", "space",
// "area:<name>", "room:<roomId>", "direct:<other userId>".

export const TABS = Object.freeze(["nearby", "area", "space", "rooms", "direct"]);
/** Messages kept per conversation; older ones drop off the top. */
export const MAX_MESSAGES = 200;

export function initialChat() {
  return { tab: "nearby", active: "nearby", conversations: {}, unread: {} };
}

/** The key of the conversation a message belongs to, seen by `myUserId`. */
export function conversationKey(message, myUserId) {
  switch (message.scope) {
    case "nearby":
    case "space":
      return message.scope;
    case "area":
      return `area:${message.area ?? ""}`;
    case "room":
      return `room:${message.roomId ?? ""}`;
    case "direct": {
      const other = message.from?.userId === myUserId ? message.to : message.from?.userId;
      return `direct:${other ?? ""}`;
    }
    default:
      return null;
  }
}

/** The tab a conversation key shows under. */
export function tabOf(key) {
  if (key === "nearby" || key === "space") return key;
  const prefix = key.split(":", 1)[0];
  return { area: "area", room: "rooms", direct: "direct" }[prefix] ?? null;
}

/** Unread messages per tab: the sum of its conversations' counts. */
export function unreadByTab(chat) {
  const counts = Object.fromEntries(TABS.map((t) => [t, 0]));
  for (const [key, n] of Object.entries(chat.unread)) {
    const tab = tabOf(key);
    if (tab) counts[tab] += n;
  }
  return counts;
}

/**
 * The conversation under `tab` that a click on the tab should open: the open one when it
 * has unread messages, else the one with unread messages whose latest message is newest,
 * else null (the tab keeps what it showed).
 */
export function unreadKeyIn(chat, tab) {
  let best = null;
  let bestTs = -1;
  for (const [key, n] of Object.entries(chat.unread)) {
    if (!n || tabOf(key) !== tab) continue;
    if (key === chat.active) return key;
    const ts = chat.conversations[key]?.at(-1)?.ts ?? 0;
    if (ts > bestTs || (ts === bestTs && key < best)) [best, bestTs] = [key, ts];
  }
  return best;
}

/** Conversations whose read position the server keeps (those with a history). */
export function keepsReadPosition(key) {
  return key === "space" || /^(area|room|direct):./.test(key ?? "");
}

/** The open conversation and its newest stored message id: what has been read. */
export function readMark(chat) {
  const key = chat.active;
  if (!keepsReadPosition(key)) return null;
  const list = chat.conversations[key] ?? [];
  for (let i = list.length - 1; i >= 0; i -= 1) {
    if (list[i].id && !list[i].pending) return { key, messageId: list[i].id };
  }
  return null;
}

function entry(message, extra = {}) {
  return {
    id: message.id ?? null,
    clientId: message.clientId ?? null,
    scope: message.scope,
    from: { userId: message.from?.userId ?? null, username: message.from?.username ?? "" },
    text: typeof message.text === "string" ? message.text : "",
    ts: typeof message.ts === "number" ? message.ts : 0,
    deleted: Boolean(message.deleted),
    pending: false,
    error: null,
    ...(message.roomId !== undefined ? { roomId: message.roomId } : {}),
    ...(message.area !== undefined ? { area: message.area } : {}),
    ...(message.to !== undefined ? { to: message.to } : {}),
    ...extra,
  };
}

function byTime(a, b) {
  // Stored messages have time-ordered ids; the id breaks ties within a millisecond.
  if (a.ts !== b.ts) return a.ts - b.ts;
  return String(a.id ?? "~").localeCompare(String(b.id ?? "~"));
}

function put(chat, key, list) {
  const trimmed = list.length > MAX_MESSAGES ? list.slice(list.length - MAX_MESSAGES) : list;
  return { ...chat, conversations: { ...chat.conversations, [key]: trimmed } };
}

function mapMessages(chat, match, change) {
  let changed = false;
  const conversations = {};
  for (const [key, list] of Object.entries(chat.conversations)) {
    let touched = false;
    const next = list.map((m) => {
      if (!match(m)) return m;
      touched = changed = true;
      return change(m);
    });
    conversations[key] = touched ? next : list;
  }
  return changed ? { ...chat, conversations } : chat;
}

/** Apply one server chat frame, or one client chat action. */
export function reduceChat(chat, action, me) {
  const { type, payload } = action;
  switch (type) {
    case "chat": {
      const key = conversationKey(payload, me?.userId);
      if (!key) return chat;
      const list = chat.conversations[key] ?? [];
      if (payload.id && list.some((m) => m.id === payload.id)) return chat;
      const next = put(chat, key, [...list, entry(payload)].sort(byTime));
      const mine = payload.from?.userId === me?.userId;
      if (mine || key === chat.active) return next;
      return { ...next, unread: { ...next.unread, [key]: (next.unread[key] ?? 0) + 1 } };
    }
    case "chat-ack": {
      const { clientId, id, ts } = payload;
      if (clientId === null || clientId === undefined) return chat;
      const acked = mapMessages(
        chat,
        (m) => m.clientId === clientId && m.id === null,
        (m) => ({ ...m, id, ts, pending: false, error: null }),
      );
      return acked === chat ? chat : dedupe(acked, id);
    }
    case "chat-error":
    case "client/chat-failed": {
      const { clientId, code, message, retryable } = payload;
      if (clientId === null || clientId === undefined) return chat;
      return mapMessages(
        chat,
        (m) => m.clientId === clientId && m.pending,
        (m) => ({ ...m, pending: false, error: { code, message, retryable: Boolean(retryable) } }),
      );
    }
    case "chat-deleted":
      return mapMessages(
        chat,
        (m) => m.id === payload.id,
        (m) => ({ ...m, text: "", deleted: true }),
      );
    case "client/chat-send": {
      const message = { ...payload, from: { userId: me?.userId ?? null, username: me?.username ?? "" } };
      const key = conversationKey(message, me?.userId);
      if (!key) return chat;
      const list = (chat.conversations[key] ?? []).filter((m) => m.clientId !== payload.clientId);
      const pending = entry({ ...message, id: null, ts: payload.at ?? Number.MAX_SAFE_INTEGER }, { pending: true });
      return put(chat, key, [...list, pending]);
    }
    case "client/chat-discard":
      return discard(chat, payload.clientId);
    case "client/chat-history": {
      const { key, messages } = payload;
      const list = chat.conversations[key] ?? [];
      const known = new Map(list.filter((m) => m.id).map((m) => [m.id, m]));
      const merged = [...list];
      for (const message of messages) {
        if (!message?.id) continue;
        const seen = known.get(message.id);
        if (seen) {
          if (message.deleted && !seen.deleted) merged[merged.indexOf(seen)] = { ...seen, text: "", deleted: true };
          continue;
        }
        known.set(message.id, message);
        merged.push(entry(message, message.deleted ? { text: "" } : {}));
      }
      // Pending sends stay last: they have no server time yet.
      const stored = merged.filter((m) => !m.pending && !m.error).sort(byTime);
      const unsent = merged.filter((m) => m.pending || m.error);
      return put(chat, key, [...stored, ...unsent]);
    }
    case "client/chat-open": {
      const { tab, key = null } = payload;
      const unread = key && chat.unread[key] ? { ...chat.unread, [key]: 0 } : chat.unread;
      return { ...chat, tab, active: key, unread };
    }
    case "client/chat-unread": {
      // Counts from the server's read positions (GET /chat/read): they hold what arrived
      // while the page was away; a live count already higher is kept.
      const unread = { ...chat.unread };
      for (const { key, unread: n } of payload.conversations ?? []) {
        if (typeof key !== "string" || key === chat.active || !(n > 0)) continue;
        unread[key] = Math.max(unread[key] ?? 0, n);
      }
      return { ...chat, unread };
    }
    case "client/disconnected":
      return mapMessages(
        chat,
        (m) => m.pending,
        (m) => ({
          ...m,
          pending: false,
          error: { code: "disconnected", message: "the connection dropped before it was sent", retryable: true },
        }),
      );
    default:
      return chat;
  }
}

function discard(chat, clientId) {
  let changed = false;
  const conversations = {};
  for (const [key, list] of Object.entries(chat.conversations)) {
    const next = list.filter((m) => m.clientId !== clientId || m.id !== null);
    changed ||= next.length !== list.length;
    conversations[key] = next.length !== list.length ? next : list;
  }
  return changed ? { ...chat, conversations } : chat;
}

/** Keep one copy of message `id` (history may have brought it before its ack). */
function dedupe(chat, id) {
  const conversations = {};
  for (const [key, list] of Object.entries(chat.conversations)) {
    const copies = list.filter((m) => m.id === id);
    conversations[key] =
      copies.length > 1 ? list.filter((m) => m.id !== id || m === copies[copies.length - 1]) : list;
  }
  return { ...chat, conversations };
}
