// Unread counts that open the right conversation and read positions kept on the server.
import { test } from "node:test";
import assert from "node:assert/strict";

import { initialChat, keepsReadPosition, readMark, reduceChat, unreadKeyIn } from "../../src/metaverse/web/state/chat.js";
import { createChatController, READ_DEBOUNCE_MS } from "../../src/metaverse/web/space/chat.js";

const ME = { userId: "u1", username: "ana" };

function message(id, from, extra) {
  return { type: "chat", payload: { id, from: { userId: from, username: from }, text: id, ts: Number(id.slice(1)), ...extra } };
}

function chatWith(...actions) {
  return actions.reduce((chat, action) => reduceChat(chat, action, ME), initialChat());
}

test("the Direct tab opens the conversation with the unread message", () => {
  let chat = chatWith(
    { type: "client/chat-open", payload: { tab: "direct", key: "direct:u2" } },
    message("m1", "u2", { scope: "direct", to: "u1" }),
    { type: "client/chat-open", payload: { tab: "space", key: "space" } },
    message("m2", "u3", { scope: "direct", to: "u1" }),
  );
  assert.deepEqual(chat.unread, { "direct:u3": 1 });
  assert.equal(unreadKeyIn(chat, "direct"), "direct:u3");
  assert.equal(unreadKeyIn(chat, "rooms"), null);
  // Of several, the newest message's conversation; the open one first when it has some.
  chat = reduceChat(chat, message("m3", "u4", { scope: "direct", to: "u1" }), ME);
  assert.equal(unreadKeyIn(chat, "direct"), "direct:u4");
  chat = reduceChat(chat, { type: "client/chat-unread", payload: { conversations: [{ key: "direct:u9", unread: 2 }] } }, ME);
  assert.equal(unreadKeyIn(chat, "direct"), "direct:u4", "counts without loaded messages come after");
  chat = reduceChat(chat, { type: "client/chat-open", payload: { tab: "direct", key: "direct:u4" } }, ME);
  assert.equal(unreadKeyIn(chat, "direct"), "direct:u3");
});

test("counts from the server's read positions add to the tabs, never lowering a live count", () => {
  let chat = chatWith(message("m1", "u2", { scope: "space" }), message("m2", "u2", { scope: "space" }));
  chat = reduceChat(
    chat,
    {
      type: "client/chat-unread",
      payload: {
        conversations: [
          { key: "space", messageId: "m0", unread: 1 },
          { key: "direct:u2", messageId: null, unread: 3 },
          { key: "nearby", unread: 4 },
          { key: "room:r1", messageId: "m5", unread: 0 },
        ],
      },
    },
    ME,
  );
  assert.deepEqual(chat.unread, { space: 2, "direct:u2": 3 });
});

test("what has been read: the open conversation's newest stored message", () => {
  assert.equal(keepsReadPosition("nearby"), false);
  assert.equal(keepsReadPosition("direct:"), false);
  assert.ok(["space", "area:Lounge", "room:r1", "direct:u2"].every(keepsReadPosition));
  let chat = chatWith({ type: "client/chat-open", payload: { tab: "direct", key: "direct:u2" } });
  assert.equal(readMark(chat), null);
  chat = reduceChat(chat, message("m1", "u2", { scope: "direct", to: "u1" }), ME);
  chat = reduceChat(chat, { type: "client/chat-send", payload: { scope: "direct", to: "u2", text: "x", clientId: "c1", at: 5 } }, ME);
  assert.deepEqual(readMark(chat), { key: "direct:u2", messageId: "m1" });
  assert.equal(readMark(reduceChat(chat, { type: "client/chat-open", payload: { tab: "nearby", key: "nearby" } }, ME)), null);
});

function fakeController(state) {
  const calls = [];
  const api = {
    async get(path) {
      calls.push(["GET", path]);
      return path.startsWith("/chat/read") ? { conversations: [{ key: "direct:u2", messageId: "m0", unread: 2 }] } : { messages: [] };
    },
    async put(path, body) {
      calls.push(["PUT", path, body]);
      return { key: "direct:u2", messageId: body.messageId };
    },
  };
  const dispatched = [];
  const dispatch = (action) => {
    dispatched.push(action);
    state.chat = reduceChat(state.chat, action, ME);
  };
  const controller = createChatController({ spaceId: "s1", api, gateway: () => null, getState: () => state, dispatch, notify() {} });
  return { controller, calls, dispatched };
}

test("read positions are loaded on start and sent once things settle", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const state = { chat: initialChat(), me: null, grid: null };
  const { controller, calls } = fakeController(state);
  await Promise.resolve();
  await Promise.resolve();
  assert.deepEqual(calls[0], ["GET", "/chat/read?spaceId=s1"]);
  assert.equal(state.chat.unread["direct:u2"], 2);

  controller.actions.openTab("direct"); // the tab opens the unread conversation
  assert.equal(state.chat.active, "direct:u2");
  state.chat = reduceChat(state.chat, { type: "client/chat-history", payload: { key: "direct:u2", messages: [message("m1", "u2", { scope: "direct", to: "u1" }).payload] } }, ME);
  controller.follow();
  state.chat = reduceChat(state.chat, message("m2", "u2", { scope: "direct", to: "u1" }), ME);
  controller.follow();
  t.mock.timers.tick(READ_DEBOUNCE_MS - 1);
  assert.equal(calls.filter((c) => c[0] === "PUT").length, 0);
  t.mock.timers.tick(1);
  await Promise.resolve();
  assert.deepEqual(calls.filter((c) => c[0] === "PUT"), [["PUT", "/chat/read", { messageId: "m2" }]]);
  // Nothing new read: nothing sent again.
  await Promise.resolve();
  controller.follow();
  t.mock.timers.tick(READ_DEBOUNCE_MS);
  assert.equal(calls.filter((c) => c[0] === "PUT").length, 1);
});

