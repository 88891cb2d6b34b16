// The space reducer against the protocol cases in tests/web/cases/*.json.
//
// A case is {description, space?, steps}. `space` is a space as `GET /space/<id>` returns it
// (its collision grid drives movement prediction). Each step is one of:
//   {"frame": <server frame>}                   applied in order (a batch unpacked first)
//   {"client": "move", dx, dy, sends}           a predicted step; `sends` is the frame or null
//   {"client": "chat", scope, text, clientId, at?, to?, roomId?, sends}
//   {"client": "open", tab, key} | {"client": "history", key, messages}
//   {"client": "profile", ...} | {"client": "disconnected"}
//   {"expect": <partial snapshot>}              objects match as subsets, arrays exactly
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as protocol from "../../src/metaverse/web/protocol.js";
import { buildGrid } from "../../src/metaverse/web/state/grid.js";
import { initialState, predictMove, reduce, snapshot } from "../../src/metaverse/web/state/space.js";

const CASES = join(dirname(fileURLToPath(import.meta.url)), "cases");

/** Fail unless `actual` has everything `expected` has; arrays must match element by element. */
export function assertMatches(actual, expected, path = "$") {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length of ${JSON.stringify(actual)}`);
    expected.forEach((item, i) => assertMatches(actual[i], item, `${path}[${i}]`));
  } else if (expected !== null && typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object", `${path}: expected an object, got ${JSON.stringify(actual)}`);
    for (const [key, value] of Object.entries(expected)) assertMatches(actual[key], value, `${path}.${key}`);
  } else {
    assert.deepEqual(actual, expected, `${path}`);
  }
}

function clientStep(state, step) {
  switch (step.client) {
    case "move": {
      const target = predictMove(state, step.dx, step.dy);
      assert.deepEqual(target && protocol.move(target.x, target.y), step.sends, `move ${step.dx},${step.dy}`);
      return target ? reduce(state, { type: "client/move", payload: target }) : state;
    }
    case "chat": {
      const { scope, text, clientId, to, roomId, at } = step;
      assert.deepEqual(protocol.chat({ scope, text, clientId, to, roomId }), step.sends);
      return reduce(state, { type: "client/chat-send", payload: { scope, text, clientId, to, roomId, at } });
    }
    case "open":
      return reduce(state, { type: "client/chat-open", payload: { tab: step.tab, key: step.key } });
    case "history":
      return reduce(state, { type: "client/chat-history", payload: { key: step.key, messages: step.messages } });
    case "profile": {
      const { client: _, ...profile } = step;
      return reduce(state, { type: "client/profile", payload: profile });
    }
    case "disconnected":
      return reduce(state, { type: "client/disconnected", payload: {} });
    default:
      throw new Error(`unknown client step ${step.client}`);
  }
}

for (const file of readdirSync(CASES).filter((f) => f.endsWith(".json")).sort()) {
  const spec = JSON.parse(readFileSync(join(CASES, file), "utf8"));
  test(`${file}: ${spec.description}`, () => {
    let state = initialState({ grid: spec.space ? buildGrid(spec.space) : null });
    spec.steps.forEach((step, index) => {
      if (step.frame) {
        const frame = protocol.decode(JSON.stringify(step.frame));
        assert.ok(frame, `step ${index}: not a server frame`);
        for (const f of protocol.unbatch(frame)) state = reduce(state, f);
      } else if (step.client) {
        state = clientStep(state, step);
      } else if (step.expect) {
        assertMatches(snapshot(state), step.expect, `step ${index}`);
      }
    });
  });
}

test("the reducer never mutates the state it is given", () => {
  const before = reduce(initialState(), {
    type: "space-joined",
    payload: { spawn: { x: 1, y: 1 }, users: [{ userId: "u2", x: 2, y: 2 }], userId: "u1" },
  });
  const frozen = structuredClone(snapshot(before));
  const frames = [
    { type: "movement", payload: { userId: "u2", x: 3, y: 2 } },
    { type: "call-joined", payload: { callId: "c", peers: [{ userId: "u2", initiator: true }] } },
    { type: "chat", payload: { id: "m", scope: "space", from: { userId: "u2", username: "b" }, text: "x", ts: 1 } },
    { type: "user-left", payload: { userId: "u2" } },
  ];
  let state = before;
  for (const frame of frames) {
    const next = reduce(state, frame);
    assert.notEqual(next, state);
    state = next;
  }
  assert.deepEqual(snapshot(before), frozen);
});

test("frames that change nothing give back the same state", () => {
  const state = reduce(initialState(), {
    type: "space-joined",
    payload: { spawn: { x: 1, y: 1 }, users: [], userId: "u1" },
  });
  for (const frame of [
    { type: "movement", payload: { userId: "nobody", x: 1, y: 1 } },
    { type: "user-left", payload: { userId: "nobody" } },
    { type: "call-left", payload: { callId: "not-mine" } },
    { type: "chat-ack", payload: { clientId: "unknown", id: "m", ts: 1 } },
    { type: "video-call-signaling", payload: { from: "u2", data: {} } },
  ]) {
    assert.equal(reduce(state, frame), state, frame.type);
  }
});
