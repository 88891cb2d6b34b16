// The chat panel: tabs (nearby, area, space, rooms, direct) with unread counts, the open
// conversation's messages (always as text), pending and failed sends with a retry, and the
// input (a field named `message`; Enter sends to the open tab).

import { h, replace } from "../dom.js";
import { CHAT_MAX_CHARS } from "../protocol.js";
import { TABS, unreadByTab } from "../state/chat.js";
import { displayName } from "./world.js";

const TAB_LABELS = { nearby: "Nearby", area: "Area", space: "Space", rooms: "Rooms", direct: "Direct" };

/**
 * @param {object} actions
 *   openTab(tab), pickRoom(roomId), joinRoom(roomId), createRoom(name), pickDirect(userId),
 *   send(text) → boolean (false keeps the text), retry(message), discard(message)
 */
export function createChatPanel(actions) {
  const tabButtons = {};
  const unreadBadges = {};
  const tablist = h("div", { class: "chat-tabs", role: "tablist", aria: { label: "Conversations" } });
  for (const tab of TABS) {
    unreadBadges[tab] = h("span", { class: "chat-unread", testid: `chat-unread-${tab}`, hidden: true });
    tabButtons[tab] = h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `chat-tab-${tab}`,
        class: "chat-tab",
        testid: `chat-tab-${tab}`,
        aria: { controls: "chat-log", selected: "false" },
        on: { click: () => actions.openTab(tab) },
      },
      TAB_LABELS[tab],
      unreadBadges[tab],
    );
    tablist.append(tabButtons[tab]);
  }
  // Arrow keys move between tabs, as for any tab list.
  tablist.addEventListener("keydown", (event) => {
    const index = TABS.findIndex((t) => tabButtons[t] === document.activeElement);
    if (index < 0 || (event.key !== "ArrowLeft" && event.key !== "ArrowRight")) return;
    event.preventDefault();
    event.stopPropagation();
    const next = TABS[(index + (event.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length];
    tabButtons[next].focus();
    actions.openTab(next);
  });

  const context = h("div", { class: "chat-context", testid: "chat-context" });
  const log = h("ol", {
    class: "chat-log",
    id: "chat-log",
    role: "tabpanel",
    testid: "chat-log",
    aria: { live: "polite", relevant: "additions" },
    tabIndex: 0,
  });
  const input = h("input", {
    type: "text",
    name: "message",
    id: "chat-input",
    class: "chat-input",
    testid: "chat-input",
    autocomplete: "off",
    maxlength: String(CHAT_MAX_CHARS),
    placeholder: "Message people nearby",
  });
  const label = h("label", { for: "chat-input", class: "visually-hidden" }, "Message");
  const sendButton = h("button", { type: "submit", class: "button chat-send", testid: "chat-send" }, "Send");
  const form = h("form", { class: "chat-form", testid: "chat-form" }, label, input, sendButton);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (actions.send(text) !== false) input.value = "";
  });

  const root = h(
    "section",
    { class: "space-section chat", testid: "chat-panel", aria: { label: "Chat" } },
    tablist,
    context,
    log,
    form,
  );

  let last = {};

  function renderTabs(chat) {
    const unread = unreadByTab(chat);
    for (const tab of TABS) {
      const selected = chat.tab === tab;
      tabButtons[tab].setAttribute("aria-selected", String(selected));
      tabButtons[tab].tabIndex = selected ? 0 : -1;
      const n = unread[tab];
      unreadBadges[tab].hidden = n === 0;
      unreadBadges[tab].textContent = n > 99 ? "99+" : String(n);
      unreadBadges[tab].setAttribute("aria-label", `${n} unread`);
    }
    log.setAttribute("aria-labelledby", `chat-tab-${chat.tab}`);
  }

  function renderContext(view) {
    const { chat, rooms, area, directPeople } = view;
    if (chat.tab === "area") {
      replace(
        context,
        area
          ? h("p", { class: "chat-hint" }, "Everyone in ", h("strong", {}, area), " sees these messages.")
          : h("p", { class: "chat-hint" }, "Walk into a named area (a room, the library…) to talk to everyone in it."),
      );
    } else if (chat.tab === "nearby") {
      replace(context, h("p", { class: "chat-hint" }, "People within a few steps of you, and your call, see these."));
    } else if (chat.tab === "space") {
      replace(context, h("p", { class: "chat-hint" }, "Everyone in this space sees these messages."));
    } else if (chat.tab === "rooms") {
      replace(context, roomsContext(chat, rooms ?? []));
    } else if (chat.tab === "direct") {
      replace(context, directContext(chat, directPeople));
    }
  }

  function roomsContext(chat, rooms) {
    const selected = chat.active?.startsWith("room:") ? chat.active.slice(5) : "";
    const room = rooms.find((r) => r.id === selected);
    const select = h(
      "select",
      { id: "chat-room", testid: "chat-room-select", on: { change: (e) => actions.pickRoom(e.target.value) } },
      h("option", { value: "" }, rooms.length ? "Choose a room…" : "No rooms yet"),
      rooms.map((r) => h("option", { value: r.id, selected: r.id === selected }, `# ${r.name}${r.member ? "" : " (not joined)"}`)),
    );
    const nameInput = h("input", { type: "text", id: "chat-new-room", name: "roomName", maxlength: "64", placeholder: "New room name" });
    const create = h(
      "form",
      {
        class: "chat-inline",
        testid: "chat-new-room-form",
        on: {
          submit: (event) => {
            event.preventDefault();
            const name = nameInput.value.trim();
            if (name) actions.createRoom(name);
          },
        },
      },
      h("label", { for: "chat-new-room", class: "visually-hidden" }, "New room name"),
      nameInput,
      h("button", { type: "submit", class: "button button-quiet button-small" }, "Create"),
    );
    return [
      h(
        "div",
        { class: "chat-inline" },
        h("label", { for: "chat-room", class: "visually-hidden" }, "Room"),
        select,
        room && !room.member
          ? h(
              "button",
              { type: "button", class: "button button-small", testid: "chat-join-room", on: { click: () => actions.joinRoom(room.id) } },
              "Join",
            )
          : null,
      ),
      create,
    ];
  }

  function directContext(chat, people) {
    const selected = chat.active?.startsWith("direct:") ? chat.active.slice(7) : "";
    return h(
      "div",
      { class: "chat-inline" },
      h("label", { for: "chat-direct", class: "chat-inline-label" }, "To"),
      h(
        "select",
        { id: "chat-direct", testid: "chat-direct-select", on: { change: (e) => actions.pickDirect(e.target.value) } },
        h("option", { value: "" }, people.length ? "Choose someone…" : "Nobody else is here"),
        people.map((p) => h("option", { value: p.userId, selected: p.userId === selected }, displayName(p))),
      ),
    );
  }

  let names = new Map();

  function renderLog(messages, myUserId) {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    if (!messages.length) {
      replace(log, h("li", { class: "chat-empty" }, "No messages yet."));
      return;
    }
    replace(
      log,
      messages.map((m) => messageItem(m, myUserId)),
    );
    if (atBottom || messages.at(-1)?.from.userId === myUserId) log.scrollTop = log.scrollHeight;
  }

  function messageItem(m, myUserId) {
    const state = m.error ? "failed" : m.pending ? "pending" : "sent";
    const mine = m.from.userId === myUserId;
    const time = m.ts && !m.pending && !m.error ? new Date(m.ts) : null;
    return h(
      "li",
      {
        class: `chat-message${mine ? " chat-mine" : ""}`,
        testid: "chat-message",
        dataset: { messageId: m.id ?? "", clientId: m.clientId ?? "", state, scope: m.scope },
      },
      h(
        "div",
        { class: "chat-meta" },
        h("span", { class: "chat-author", title: m.from.username || "" }, mine ? "You" : names.get(m.from.userId) || m.from.username || "Someone"),
        time ? h("time", { datetime: time.toISOString() }, time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })) : null,
        state === "pending" ? h("span", { class: "chat-state" }, "sending…") : null,
      ),
      m.deleted
        ? h("p", { class: "chat-text chat-deleted" }, "Message deleted")
        : h("p", { class: "chat-text", testid: "chat-text" }, m.text),
      m.error
        ? h(
            "div",
            { class: "chat-error", role: "alert", testid: "chat-error" },
            h("span", {}, `Not sent: ${m.error.message || m.error.code}`),
            m.error.retryable
              ? h(
                  "button",
                  { type: "button", class: "button button-small button-quiet", testid: "chat-retry", on: { click: () => actions.retry(m) } },
                  "Retry",
                )
              : null,
            h(
              "button",
              { type: "button", class: "button button-small button-quiet", on: { click: () => actions.discard(m) } },
              "Dismiss",
            ),
          )
        : null,
    );
  }

  return {
    root,
    input,
    /**
     * @param {{chat, me, rooms, area, directPeople, canSend: boolean, placeholder: string}} view
     */
    update(view) {
      const { chat } = view;
      if (chat !== last.chat) renderTabs(chat);
      const contextKey = JSON.stringify([chat.tab, chat.active, view.area, view.rooms, view.directPeople.map((p) => [p.userId, displayName(p)])]);
      if (contextKey !== last.contextKey) {
        // Keep the focus on a control that is rebuilt (e.g. the room select).
        const focusedId = context.contains(document.activeElement) ? document.activeElement.id : null;
        renderContext(view);
        if (focusedId) document.getElementById(focusedId)?.focus();
      }
      const messages = (chat.active && chat.conversations[chat.active]) || [];
      // Authors by display name when they are here; the username otherwise.
      const nextNames = new Map(Object.values(view.users ?? {}).map((u) => [u.userId, displayName(u)]));
      const namesKey = JSON.stringify([...nextNames]);
      if (messages !== last.messages || view.me?.userId !== last.myUserId || namesKey !== last.namesKey) {
        names = nextNames;
        renderLog(messages, view.me?.userId);
      }
      input.placeholder = view.placeholder;
      input.disabled = !view.canSend;
      sendButton.disabled = !view.canSend;
      last = { chat, contextKey, messages, myUserId: view.me?.userId, namesKey };
    },
    focusInput() {
      if (!input.disabled) input.focus();
    },
  };
}
