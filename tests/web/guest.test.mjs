// A guest's visit: the stored token per space, and the API client that uses it.
import { test } from "node:test";
import assert from "node:assert/strict";

import { ApiError } from "../../src/metaverse/web/api.js";
import {
  GUEST_KEY_PREFIX,
  GUEST_MARGIN_MS,
  createGuestApiClient,
  forgetGuestVisit,
  readGuestVisit,
  storeGuestVisit,
} from "../../src/metaverse/web/guest.js";

function memoryStorage() {
  const data = new Map();
  return {
    getItem: (key) => (data.has(key) ? data.get(key) : null),
    setItem: (key, value) => data.set(key, String(value)),
    removeItem: (key) => data.delete(key),
  };
}

function answer(status, body) {
  return { ok: status < 400, status, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
}

test("a visit is kept per space until shortly before its token expires", () => {
  const storage = memoryStorage();
  const stored = storeGuestVisit(storage, "s1", { token: "t", expiresIn: 7200, userId: "u" }, 1_000);
  assert.deepEqual(stored, { token: "t", userId: "u", expiresAt: 1_000 + 7_200_000 });
  assert.deepEqual(readGuestVisit(storage, "s1", 1_000), stored);
  assert.equal(readGuestVisit(storage, "s2", 1_000), null);
  assert.equal(readGuestVisit(storage, "s1", stored.expiresAt - GUEST_MARGIN_MS), null);
  storage.setItem(`${GUEST_KEY_PREFIX}s3`, "{not json");
  assert.equal(readGuestVisit(storage, "s3", 0), null);
  forgetGuestVisit(storage, "s1");
  assert.equal(readGuestVisit(storage, "s1", 1_000), null);
});

test("the guest client sends the guest token and ends the visit once on a 401", async () => {
  const calls = [];
  let status = 200;
  let ended = 0;
  const api = createGuestApiClient({
    visit: { token: "guest-token", expiresAt: Infinity },
    onExpired: () => ended++,
    fetch: async (url, init) => {
      calls.push([url, init]);
      return status === 200 ? answer(200, { id: "u", role: "guest" }) : answer(status, { code: "invalid_token", message: "expired" });
    },
  });
  assert.equal(api.isSignedIn(), true);
  assert.equal(await api.accessToken(), "guest-token");
  assert.deepEqual(await api.me(), { id: "u", role: "guest" });
  assert.equal(calls[0][0], "/api/v1/user/me");
  assert.equal(calls[0][1].headers.authorization, "Bearer guest-token");
  await api.patch("/user/me", { displayName: "Vera" });
  assert.equal(calls[1][1].body, JSON.stringify({ displayName: "Vera" }));
  // Guests have no chat rooms: not even asked.
  assert.deepEqual(await api.get("/chatroom?spaceId=s1"), { rooms: [] });
  assert.equal(calls.length, 2);
  status = 401;
  await assert.rejects(api.get("/space/s1"), (error) => error instanceof ApiError && error.code === "invalid_token");
  await assert.rejects(api.get("/space/s1"));
  assert.equal(ended, 1);
});
