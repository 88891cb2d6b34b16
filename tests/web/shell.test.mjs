// The shell's pure logic: the API client's token handling and the router's matching.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  ApiError,
  CONFLICT_WAIT_MS,
  EXPIRES_AT_KEY,
  REFRESH_MARGIN_MS,
  REFRESH_TOKEN_KEY,
  RETRY_DELAY_MS,
  TOKEN_KEY,
  createApiClient,
  describeError,
  refreshDelayMs,
} from "../../src/metaverse/web/api.js";
import { compileRoute, isInternalClick, matchRoute, redirectFor, safeNext } from "../../src/metaverse/web/router.js";

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k) => (data.has(k) ? data.get(k) : null),
    setItem: (k, v) => data.set(k, String(v)),
    removeItem: (k) => data.delete(k),
    data,
  };
}

/** A fake clock with timers that fire only when advanced. */
function fakeTime(start = 1_000_000) {
  let now = start;
  let nextId = 1;
  const timers = new Map();
  return {
    now: () => now,
    setTimer(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer(id) {
      timers.delete(id);
    },
    pending: () => [...timers.values()].map((t) => t.at - now).sort((a, b) => a - b),
    async advance(ms) {
      now += ms;
      for (const [id, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(id);
          t.fn();
        }
      }
      for (let i = 0; i < 10; i += 1) await Promise.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

function json(status, body) {
  return new Response(body === undefined ? "" : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** A fake server: `routes[path]` answers each call; every call is recorded. */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const path = url.replace("/api/v1", "");
    const call = { path, method: init.method, headers: init.headers ?? {}, body: init.body ? JSON.parse(init.body) : undefined };
    calls.push(call);
    const handler = routes[path];
    if (!handler) return json(404, { code: "not_found", message: "no route" });
    return handler(call, calls);
  };
  return { fetch, calls };
}

function signedInStorage(time, { token = "access-1", refresh = "refresh-1", expiresInMs = 15 * 60_000 } = {}) {
  return memoryStorage({
    [TOKEN_KEY]: token,
    [REFRESH_TOKEN_KEY]: refresh,
    [EXPIRES_AT_KEY]: String(time.now() + expiresInMs),
  });
}

test("the refresh is due a minute before expiry, never negative", () => {
  assert.equal(refreshDelayMs(1_000_000 + 900_000, 1_000_000), 900_000 - REFRESH_MARGIN_MS);
  assert.equal(refreshDelayMs(1_000_000 + 30_000, 1_000_000), 0);
  assert.equal(refreshDelayMs(0, 1_000_000), 0);
});

test("sign-in stores the tokens with an absolute expiry and schedules the refresh", async () => {
  const time = fakeTime();
  const storage = memoryStorage();
  const server = fakeFetch({
    "/signin": () => json(200, { token: "a1", refreshToken: "r1", expiresIn: 900 }),
  });
  const api = createApiClient({ fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  assert.equal(api.isSignedIn(), false);
  await api.signIn("ada", "secret-pass");
  assert.equal(storage.getItem(TOKEN_KEY), "a1");
  assert.equal(storage.getItem(REFRESH_TOKEN_KEY), "r1");
  assert.equal(storage.getItem(EXPIRES_AT_KEY), String(time.now() + 900_000));
  assert.deepEqual(time.pending(), [900_000 - REFRESH_MARGIN_MS]);
  assert.equal(api.isSignedIn(), true);
  assert.deepEqual(server.calls[0].body, { username: "ada", password: "secret-pass" });
});

test("the access token refreshes itself about a minute before it expires", async () => {
  const time = fakeTime();
  const storage = memoryStorage();
  let issued = 0;
  const server = fakeFetch({
    "/signin": () => json(200, { token: "a0", refreshToken: "r0", expiresIn: 900 }),
    "/token/refresh": (call) => {
      issued += 1;
      assert.equal(call.body.refreshToken, `r${issued - 1}`);
      return json(200, { token: `a${issued}`, refreshToken: `r${issued}`, expiresIn: 900 });
    },
  });
  const api = createApiClient({ fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  await api.signIn("ada", "pw");
  await time.advance(900_000 - 60_000 - 1); // the contract: about 60 s early
  assert.equal(issued, 0, "not yet");
  await time.advance(1);
  assert.equal(issued, 1);
  assert.equal(storage.getItem(TOKEN_KEY), "a1");
  assert.equal(storage.getItem(REFRESH_TOKEN_KEY), "r1");
  assert.deepEqual(time.pending(), [900_000 - REFRESH_MARGIN_MS], "the next refresh is scheduled");
  await time.advance(900_000 - REFRESH_MARGIN_MS);
  assert.equal(issued, 2);
  assert.equal(await api.accessToken(), "a2");
});

test("requests carry the bearer token and a near-expired token is refreshed first", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time, { expiresInMs: 30_000 });
  const server = fakeFetch({
    "/token/refresh": () => json(200, { token: "access-2", refreshToken: "refresh-2", expiresIn: 900 }),
    "/user/me": (call) => json(200, { id: "u1", auth: call.headers.authorization }),
  });
  const api = createApiClient({ fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  const me = await api.get("/user/me");
  assert.equal(me.auth, "Bearer access-2");
  assert.deepEqual(server.calls.map((c) => c.path), ["/token/refresh", "/user/me"]);
});

test("concurrent callers share one refresh (refresh tokens rotate)", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time, { expiresInMs: 10_000 });
  const server = fakeFetch({
    "/token/refresh": async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return json(200, { token: "access-2", refreshToken: "refresh-2", expiresIn: 900 });
    },
    "/maps": () => json(200, { maps: [] }),
  });
  const api = createApiClient({ fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  await Promise.all([api.get("/maps"), api.get("/maps"), api.accessToken()]);
  assert.equal(server.calls.filter((c) => c.path === "/token/refresh").length, 1);
});

test("a 401 refreshes once and retries once", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time);
  const server = fakeFetch({
    "/token/refresh": () => json(200, { token: "access-2", refreshToken: "refresh-2", expiresIn: 900 }),
    "/elements": (call) =>
      call.headers.authorization === "Bearer access-2"
        ? json(200, { elements: [] })
        : json(401, { code: "invalid_token", message: "the token has expired" }),
  });
  const api = createApiClient({ fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  assert.deepEqual(await api.get("/elements"), { elements: [] });
  assert.deepEqual(server.calls.map((c) => c.path), ["/elements", "/token/refresh", "/elements"]);
});

test("a refused refresh clears the tokens and reports the sign-out", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time);
  const reasons = [];
  const server = fakeFetch({
    "/token/refresh": () => json(401, { code: "invalid_token", message: "the refresh token was already used" }),
    "/elements": () => json(401, { code: "invalid_token", message: "expired" }),
  });
  const api = createApiClient({
    onSignedOut: (reason) => reasons.push(reason),
    fetch: server.fetch,
    storage,
    now: time.now,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  await assert.rejects(api.get("/elements"), (error) => error instanceof ApiError && error.status === 401);
  assert.equal(api.isSignedIn(), false);
  assert.equal(storage.getItem(TOKEN_KEY), null);
  assert.equal(storage.getItem(REFRESH_TOKEN_KEY), null);
  assert.equal(storage.getItem(EXPIRES_AT_KEY), null);
  assert.deepEqual(reasons, ["expired"]);
  assert.equal(server.calls.filter((c) => c.path === "/elements").length, 1, "no retry without a token");
  assert.deepEqual(time.pending(), [], "no refresh left scheduled");
});

test("a refresh that cannot reach the server keeps the session and retries later", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time, { expiresInMs: 10_000 });
  let down = true;
  const server = fakeFetch({
    "/token/refresh": () => {
      if (down) throw new TypeError("fetch failed");
      return json(200, { token: "access-2", refreshToken: "refresh-2", expiresIn: 900 });
    },
  });
  const reasons = [];
  const api = createApiClient({
    onSignedOut: (reason) => reasons.push(reason),
    fetch: server.fetch,
    storage,
    now: time.now,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  await assert.rejects(api.accessToken(), (error) => error.code === "network_error");
  assert.equal(api.isSignedIn(), true);
  assert.deepEqual(time.pending(), [RETRY_DELAY_MS]);
  down = false;
  await time.advance(RETRY_DELAY_MS);
  assert.equal(storage.getItem(TOKEN_KEY), "access-2");
  assert.deepEqual(reasons, []);
});

test("a token another tab already refreshed is adopted, not refreshed again", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time, { token: "access-2", refresh: "refresh-2" });
  const server = fakeFetch({ "/token/refresh": () => json(500, {}) });
  // This tab's request goes out with the old token and fails; meanwhile another tab
  // stored a fresh one.
  const calls = [];
  const retried = createApiClient({
    fetch: async (url, init) => {
      calls.push([url, init.headers.authorization]);
      if (init.headers.authorization === "Bearer access-1") return json(401, { code: "invalid_token", message: "x" });
      return server.fetch(url, init);
    },
    storage,
    now: time.now,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  storage.setItem(TOKEN_KEY, "access-1");
  const pending = retried.get("/maps").catch((error) => error);
  storage.setItem(TOKEN_KEY, "access-2");
  const result = await pending;
  assert.equal(result.status, 404, "the retry went out with the adopted token");
  assert.equal(server.calls.filter((c) => c.path === "/token/refresh").length, 0);
  assert.deepEqual(calls.map((c) => c[1]), ["Bearer access-1", "Bearer access-2"]);
});

/**
 * localStorage shared by several tabs: `tab(onOtherTabChange)` is one tab's view; a write
 * through it fires the others' callbacks, as a browser's `storage` event does.
 */
function sharedStorage(initial) {
  const data = initial.data;
  const tabs = [];
  return {
    data,
    tab(onOtherTabChange) {
      const me = { onOtherTabChange };
      tabs.push(me);
      const changed = () => tabs.filter((t) => t !== me).forEach((t) => t.onOtherTabChange());
      return {
        getItem: (k) => (data.has(k) ? data.get(k) : null),
        setItem: (k, v) => {
          data.set(k, String(v));
          changed();
        },
        removeItem: (k) => {
          data.delete(k);
          changed();
        },
      };
    },
  };
}

/** The Web Locks API's exclusive mode, for one name: callbacks run one after another. */
function fakeLocks() {
  let tail = Promise.resolve();
  return {
    request(_name, callback) {
      const run = tail.then(() => callback());
      tail = run.catch(() => {});
      return run;
    },
  };
}

/**
 * The server's rotation: the current refresh token wins once (answered after `delayMs`);
 * the token it replaced is a `refresh_conflict`, anything else `invalid_token`.
 */
function rotatingServer({ delayMs = 5 } = {}) {
  let current = 1;
  const results = [];
  const server = fakeFetch({
    "/token/refresh": async (call) => {
      if (call.body.refreshToken === `refresh-${current}`) {
        current += 1;
        results.push(200);
        const body = { token: `access-${current}`, refreshToken: `refresh-${current}`, expiresIn: 900 };
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return json(200, body);
      }
      const code = call.body.refreshToken === `refresh-${current - 1}` ? "refresh_conflict" : "invalid_token";
      results.push(code);
      return json(401, { code, message: "x" });
    },
    "/maps": (call) => json(200, { auth: call.headers.authorization }),
  });
  return { ...server, results };
}

function tabs(count, { time, server, locks }) {
  const shared = sharedStorage(signedInStorage(time, { expiresInMs: 10_000 }));
  const reasons = [];
  const clients = [];
  for (let i = 0; i < count; i += 1) {
    const storage = shared.tab(() => clients[i].storageChanged());
    clients.push(
      createApiClient({
        onSignedOut: (reason) => reasons.push(reason),
        fetch: server.fetch,
        storage,
        now: time.now,
        setTimer: time.setTimer,
        clearTimer: time.clearTimer,
        locks,
      }),
    );
  }
  return { clients, reasons, data: shared.data };
}

test("tabs with Web Locks refresh once between them and all use the new tokens", async () => {
  const time = fakeTime();
  const server = rotatingServer();
  const { clients, reasons, data } = tabs(3, { time, server, locks: fakeLocks() });
  const answers = await Promise.all(clients.map((api) => api.get("/maps")));
  assert.deepEqual(server.results, [200], "one refresh request for all the tabs");
  assert.deepEqual(answers.map((a) => a.auth), ["Bearer access-2", "Bearer access-2", "Bearer access-2"]);
  assert.equal(data.get(REFRESH_TOKEN_KEY), "refresh-2");
  assert.deepEqual(reasons, []);
});

test("a tab that loses a refresh race (refresh_conflict) uses the winner's tokens, never signs out", async () => {
  const time = fakeTime();
  // No Web Locks: both tabs present refresh-1; the loser's 401 comes back before the
  // winner's tokens are stored, so it waits for them.
  const server = rotatingServer({ delayMs: 20 });
  const { clients, reasons, data } = tabs(2, { time, server, locks: undefined });
  const answers = await Promise.all(clients.map((api) => api.get("/maps")));
  assert.deepEqual(server.results, [200, "refresh_conflict"]);
  assert.deepEqual(answers.map((a) => a.auth), ["Bearer access-2", "Bearer access-2"]);
  assert.equal(data.get(REFRESH_TOKEN_KEY), "refresh-2");
  assert.deepEqual(reasons, []);
  assert.deepEqual(clients.map((api) => api.isSignedIn()), [true, true]);
});

test("a refresh_conflict with no new tokens keeps the session and tries again later", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time, { expiresInMs: 10_000 });
  const server = fakeFetch({
    "/token/refresh": () => json(401, { code: "refresh_conflict", message: "rotated moments ago" }),
  });
  const reasons = [];
  const api = createApiClient({
    onSignedOut: (reason) => reasons.push(reason),
    fetch: server.fetch,
    storage,
    now: time.now,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  const pending = api.accessToken().catch((error) => error);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(time.pending(), [CONFLICT_WAIT_MS], "waiting for the winner's tokens");
  await time.advance(CONFLICT_WAIT_MS);
  const error = await pending;
  assert.equal(error.code, "refresh_conflict");
  assert.equal(api.isSignedIn(), true);
  assert.deepEqual(reasons, []);
  assert.deepEqual(time.pending(), [RETRY_DELAY_MS]);
});

test("sign-out revokes the refresh token on the server and forgets everything", async () => {
  const time = fakeTime();
  const storage = signedInStorage(time);
  const reasons = [];
  const server = fakeFetch({ "/signout": () => json(200, {}) });
  const api = createApiClient({ onSignedOut: (r) => reasons.push(r), fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  await api.signOut();
  assert.deepEqual(server.calls[0].body, { refreshToken: "refresh-1" });
  assert.equal(server.calls[0].headers.authorization, "Bearer access-1");
  assert.equal(api.isSignedIn(), false);
  assert.deepEqual(reasons, ["signout"]);
});

test("errors keep the server's code, message and field details", async () => {
  const time = fakeTime();
  const server = fakeFetch({
    "/signup": () =>
      json(400, { code: "invalid_request", message: "the request is invalid", details: [{ field: "body.username", message: "String should have at least 3 characters" }] }),
  });
  const api = createApiClient({ fetch: server.fetch, storage: memoryStorage(), now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  const error = await api.signUp("ab", "pw").catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.equal(error.code, "invalid_request");
  assert.equal(describeError(error), "the request is invalid (username: String should have at least 3 characters)");
  assert.equal(server.calls.length, 1, "no sign-in after a refused sign-up");
});

test("sign-up asks for an admin account only when told to, then signs in", async () => {
  const time = fakeTime();
  const storage = memoryStorage();
  const server = fakeFetch({
    "/signup": () => json(200, { userId: "u1" }),
    "/signin": () => json(200, { token: "a", refreshToken: "r", expiresIn: 900 }),
  });
  const api = createApiClient({ fetch: server.fetch, storage, now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  assert.equal(await api.signUp("ada", "secret-pass"), "u1");
  assert.equal(server.calls[0].body.type, "user");
  await api.signUp("bob", "secret-pass", { admin: true });
  assert.equal(server.calls[2].body.type, "admin");
  assert.equal(storage.getItem(TOKEN_KEY), "a");
});

test("me() is cached until invalidated", async () => {
  const time = fakeTime();
  let served = 0;
  const server = fakeFetch({ "/user/me": () => json(200, { id: "u1", n: ++served }) });
  const api = createApiClient({ fetch: server.fetch, storage: signedInStorage(time), now: time.now, setTimer: time.setTimer, clearTimer: time.clearTimer });
  assert.equal((await api.me()).n, 1);
  assert.equal((await api.me()).n, 1);
  api.invalidateMe();
  assert.equal((await api.me()).n, 2);
});

test("uploads send the form data untouched (the browser sets the boundary)", async () => {
  const time = fakeTime();
  let seen;
  const api = createApiClient({
    fetch: async (url, init) => {
      seen = init;
      return json(201, { url: "/media/abc.png" });
    },
    storage: signedInStorage(time),
    now: time.now,
    setTimer: time.setTimer,
    clearTimer: time.clearTimer,
  });
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" }), "a.png");
  assert.deepEqual(await api.upload("/admin/media", form), { url: "/media/abc.png" });
  assert.equal(seen.body, form);
  assert.equal(seen.headers["content-type"], undefined);
});

// ------------------------------------------------------------------ router

const ROUTES = [
  { path: "/login", guestOnly: true },
  { path: "/", auth: true },
  { path: "/editor", auth: true },
  { path: "/editor/:mapId", auth: true },
  { path: "/spaces/:spaceId", auth: true },
].map(compileRoute);

test("routes match whole paths and decode their parameters", () => {
  assert.equal(matchRoute(ROUTES, "/").route.path, "/");
  assert.equal(matchRoute(ROUTES, "/editor").route.path, "/editor");
  assert.deepEqual(matchRoute(ROUTES, "/editor/m1").params, { mapId: "m1" });
  assert.deepEqual(matchRoute(ROUTES, "/spaces/a%20b/").params, { spaceId: "a b" });
  assert.equal(matchRoute(ROUTES, "/spaces/"), null);
  assert.equal(matchRoute(ROUTES, "/spaces/a/b"), null);
  assert.equal(matchRoute(ROUTES, "/loginx"), null);
  assert.equal(matchRoute(ROUTES, "/spaces/%E0%A4%A"), null, "a malformed escape matches nothing");
});

test("next= only ever leads to a page on this site", () => {
  assert.equal(safeNext("/spaces/abc?x=1"), "/spaces/abc?x=1");
  assert.equal(safeNext(null), "/");
  assert.equal(safeNext("https://evil.example/"), "/");
  assert.equal(safeNext("//evil.example/"), "/");
  assert.equal(safeNext("/\\evil.example"), "/");
  assert.equal(safeNext("javascript:alert(1)"), "/");
  assert.equal(safeNext("/login?next=/x"), "/");
  assert.equal(safeNext("/signup"), "/");
});

test("signed-out visitors go through sign-in and come back", () => {
  const space = matchRoute(ROUTES, "/spaces/s1").route;
  assert.equal(redirectFor(space, false, { pathname: "/spaces/s1", search: "?a=1" }), "/login?next=%2Fspaces%2Fs1%3Fa%3D1");
  assert.equal(redirectFor(space, true, { pathname: "/spaces/s1", search: "" }), null);
  assert.equal(redirectFor(matchRoute(ROUTES, "/").route, false, { pathname: "/", search: "" }), "/login");
  const login = matchRoute(ROUTES, "/login").route;
  assert.equal(redirectFor(login, false, { pathname: "/login", search: "?next=/spaces/s1" }), null);
  assert.equal(redirectFor(login, true, { pathname: "/login", search: "?next=%2Fspaces%2Fs1" }), "/spaces/s1");
  assert.equal(redirectFor(login, true, { pathname: "/login", search: "?next=//evil" }), "/");
  assert.equal(redirectFor(undefined, false, { pathname: "/nowhere", search: "" }), null);
});

test("only plain clicks on page links stay in the page", () => {
  const origin = "http://127.0.0.1:3000";
  const click = (extra = {}) => ({ defaultPrevented: false, button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false, ...extra });
  const link = (href, attrs = {}) => ({ href, target: attrs.target ?? "", hasAttribute: (name) => name in attrs });
  assert.equal(isInternalClick(click(), link("/spaces/x"), origin), true);
  assert.equal(isInternalClick(click(), link(`${origin}/profile`), origin), true);
  assert.equal(isInternalClick(click({ ctrlKey: true }), link("/spaces/x"), origin), false);
  assert.equal(isInternalClick(click({ button: 1 }), link("/spaces/x"), origin), false);
  assert.equal(isInternalClick(click(), link("/spaces/x", { target: "_blank" }), origin), false);
  assert.equal(isInternalClick(click(), link("/media/a.png", { download: "" }), origin), false);
  assert.equal(isInternalClick(click(), link("https://example.org/"), origin), false);
  assert.equal(isInternalClick(click(), link("/docs"), origin), false);
  assert.equal(isInternalClick(click(), link("/api/v1/config"), origin), false);
  assert.equal(isInternalClick(click(), null, origin), false);
});
