// The gateway connection with a fake WebSocket and fake timers: join, batches, reconnect
// with backoff, terminal errors.
import { test } from "node:test";
import assert from "node:assert/strict";

import { backoffDelayMs, BACKOFF_CAP_MS } from "../../src/metaverse/web/net/backoff.js";
import { createGateway } from "../../src/metaverse/web/net/gateway.js";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = null;
    FakeSocket.all.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close(code = 1000) {
    this.closed = code;
  }
  // Server side of the fake.
  open() {
    this.onopen?.();
  }
  deliver(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.onclose?.({ code });
  }
}

function fakeTimers() {
  const pending = new Map();
  let next = 1;
  return {
    pending,
    setTimeout(fn, ms) {
      pending.set(next, { fn, ms });
      return next++;
    },
    clearTimeout(id) {
      pending.delete(id);
    },
    /** Run the timer due after `ms`; return its delay. */
    fire(ms) {
      for (const [id, timer] of pending) {
        if (timer.ms === ms) {
          pending.delete(id);
          timer.fn();
          return;
        }
      }
      throw new Error(`no timer of ${ms} ms among ${[...pending.values()].map((t) => t.ms)}`);
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup({ token = async () => "tok", resume = () => null } = {}) {
  FakeSocket.all = [];
  const frames = [];
  const statuses = [];
  const timers = fakeTimers();
  const gateway = createGateway({
    url: "ws://gw/ws",
    spaceId: "s1",
    accessToken: token,
    onFrame: (f) => frames.push(f),
    onStatus: (s) => statuses.push(s),
    viewport: () => ({ x: 1, y: 2, width: 30, height: 20 }),
    resume,
    WebSocketImpl: FakeSocket,
    timers,
    random: () => 0.5,
  });
  return { gateway, frames, statuses, timers };
}

const joinedFrame = { type: "space-joined", payload: { spawn: { x: 1, y: 1 }, users: [], userId: "u1" } };

test("backoff doubles from 500 ms, stays in the upper half of each step, and is capped", () => {
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelayMs(n, () => 0)), [250, 500, 1000, 2000]);
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelayMs(n, () => 1)), [500, 1000, 2000, 4000]);
  assert.equal(backoffDelayMs(50, () => 1), BACKOFF_CAP_MS);
  assert.equal(backoffDelayMs(50, () => 0), BACKOFF_CAP_MS / 2);
  for (let i = 0; i < 100; i++) {
    const delay = backoffDelayMs(3);
    assert.ok(delay >= 2000 && delay <= 4000, String(delay));
  }
});

test("joins with every capability, the token and the viewport; unpacks batches in order", async () => {
  const { gateway, frames, statuses } = setup();
  gateway.start();
  await tick();
  const [socket] = FakeSocket.all;
  assert.equal(socket.url, "ws://gw/ws");
  assert.equal(gateway.send({ type: "move", payload: { x: 1, y: 1 } }), false, "nothing is sent before joining");
  socket.open();
  assert.deepEqual(socket.sent, [
    {
      type: "join",
      payload: {
        spaceId: "s1",
        token: "tok",
        capabilities: ["profiles", "proximity", "presence", "chat", "interest", "batch", "live", "social"],
        viewport: { x: 1, y: 2, width: 30, height: 20 },
      },
    },
  ]);
  socket.deliver(joinedFrame);
  socket.deliver({
    type: "batch",
    payload: {
      messages: [
        { type: "user-joined", payload: { userId: "u2", x: 1, y: 2 } },
        { type: "movement", payload: { userId: "u2", x: 2, y: 2 } },
        { type: "not-a-frame-type", payload: {} },
      ],
    },
  });
  assert.deepEqual(
    frames.map((f) => f.type),
    ["space-joined", "user-joined", "movement"],
  );
  assert.equal(statuses.at(-1).state, "connected");
  assert.equal(gateway.send({ type: "move", payload: { x: 2, y: 1 } }), true);
  assert.deepEqual(socket.sent.at(-1), { type: "move", payload: { x: 2, y: 1 } });
});

test("a dropped socket reconnects with growing backoff and rejoins; a join resets it", async () => {
  const { gateway, frames, statuses, timers } = setup();
  gateway.start();
  await tick();
  FakeSocket.all[0].open();
  FakeSocket.all[0].deliver(joinedFrame);
  FakeSocket.all[0].drop(1006);
  assert.deepEqual(frames.at(-1), { type: "client/disconnected", payload: {} });
  assert.deepEqual(statuses.at(-1), { state: "reconnecting", reason: null, attempt: 1, retryInMs: 375 });
  timers.fire(375);
  await tick();
  assert.equal(FakeSocket.all.length, 2);
  FakeSocket.all[1].drop(1006); // refused before opening
  assert.equal(statuses.at(-1).retryInMs, 750);
  timers.fire(750);
  await tick();
  FakeSocket.all[2].open();
  assert.equal(FakeSocket.all[2].sent[0].type, "join");
  FakeSocket.all[2].deliver(joinedFrame);
  assert.equal(statuses.at(-1).state, "connected");
  FakeSocket.all[2].drop(1011);
  assert.equal(statuses.at(-1).retryInMs, 375, "a successful join starts the backoff afresh");
  gateway.stop();
  assert.equal(timers.pending.size, 0, "stop clears every timer");
});

test("a reconnection asks to stand where the user stood; the first join does not", async () => {
  const { gateway, timers } = setup({ resume: () => ({ x: 7, y: 3 }) });
  gateway.start();
  await tick();
  FakeSocket.all[0].open();
  assert.equal(FakeSocket.all[0].sent[0].payload.resume, undefined);
  FakeSocket.all[0].deliver(joinedFrame);
  FakeSocket.all[0].drop(1006);
  timers.fire(375);
  await tick();
  FakeSocket.all[1].open();
  assert.deepEqual(FakeSocket.all[1].sent[0].payload.resume, { x: 7, y: 3 });
  gateway.stop();
});

test("a gateway restarting (1012) is left for another at once, not after a backoff", async () => {
  const { gateway, statuses, timers } = setup();
  gateway.start();
  await tick();
  FakeSocket.all[0].open();
  FakeSocket.all[0].deliver(joinedFrame);
  FakeSocket.all[0].drop(1012);
  assert.deepEqual(statuses.at(-1), { state: "reconnecting", reason: null, attempt: 0, retryInMs: 0 });
  timers.fire(0);
  await tick();
  assert.equal(FakeSocket.all.length, 2);
  gateway.stop();
});

for (const [code, closeCode] of [
  ["invalid_token", 4001],
  ["account_disabled", 4001],
  ["forbidden", 4003],
  ["unknown_space", 4004],
  ["replaced", 4009],
]) {
  test(`${code} is terminal: no reconnect`, async () => {
    const { gateway, statuses, timers } = setup();
    gateway.start();
    await tick();
    const [socket] = FakeSocket.all;
    socket.open();
    socket.deliver({ type: "error", payload: { code, message: "…" } });
    socket.drop(closeCode);
    assert.deepEqual(statuses.at(-1), { state: "closed", reason: code, attempt: 0, retryInMs: null });
    assert.equal(timers.pending.size, 0);
    assert.equal(FakeSocket.all.length, 1);
  });
}

test("a terminal close code alone is enough", async () => {
  const { gateway, statuses } = setup();
  gateway.start();
  await tick();
  FakeSocket.all[0].open();
  FakeSocket.all[0].deliver(joinedFrame);
  FakeSocket.all[0].drop(4009);
  assert.equal(statuses.at(-1).reason, "replaced");
});

test("a refused token refresh ends in invalid_token; a network failure retries", async () => {
  let fail = { status: 401 };
  const { gateway, statuses } = setup({
    token: async () => {
      throw fail;
    },
  });
  gateway.start();
  await tick();
  assert.equal(statuses.at(-1).reason, "invalid_token");
  fail = new TypeError("network");
  const second = setup({
    token: async () => {
      throw fail;
    },
  });
  second.gateway.start();
  await tick();
  assert.equal(second.statuses.at(-1).state, "reconnecting");
});

test("a socket that never answers join is closed and retried", async () => {
  const { gateway, timers } = setup();
  gateway.start();
  await tick();
  FakeSocket.all[0].open();
  timers.fire(10_000);
  assert.equal(FakeSocket.all[0].closed, 4000);
  gateway.stop();
});
