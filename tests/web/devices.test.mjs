// The device check's pure parts and the local media: preferences remembered per browser,
// constraints on the chosen devices, speaking with hysteresis, what is shown large, and
// nothing captured until a call needs it (and only what is switched on).
import { test } from "node:test";
import assert from "node:assert/strict";

import { constraintsFor, deviceOptions, loadPreferences, PREFERENCES_KEY, savePreferences } from "../../src/metaverse/web/rtc/devices.js";
import { rms, speakingGate } from "../../src/metaverse/web/rtc/levels.js";
import { createLocalMedia, HANDOVER_HOLD_MS } from "../../src/metaverse/web/rtc/media.js";
import { NO_PIN, pinReducer } from "../../src/metaverse/web/state/pin.js";

class FakeStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return this.tracks;
  }
  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === "audio");
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === "video");
  }
  addTrack(track) {
    this.tracks.push(track);
  }
  removeTrack(track) {
    this.tracks = this.tracks.filter((t) => t !== track);
  }
}
globalThis.MediaStream ??= FakeStream;

function memoryStorage() {
  const data = new Map();
  return { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, String(v)), data };
}

test("preferences: defaults, round trip, malformed storage", () => {
  const storage = memoryStorage();
  assert.deepEqual(loadPreferences(storage), { cameraOff: false, muted: false, cameraId: "", microphoneId: "" });
  savePreferences(storage, { cameraOff: true, muted: true, cameraId: "cam2", microphoneId: "mic1" });
  assert.deepEqual(loadPreferences(storage), { cameraOff: true, muted: true, cameraId: "cam2", microphoneId: "mic1" });
  storage.setItem(PREFERENCES_KEY, "{not json");
  assert.equal(loadPreferences(storage).muted, false);
  storage.setItem(PREFERENCES_KEY, JSON.stringify({ muted: "yes", cameraId: 3 }));
  assert.deepEqual(loadPreferences(storage), { cameraOff: false, muted: false, cameraId: "", microphoneId: "" });
  assert.deepEqual(loadPreferences(null), { cameraOff: false, muted: false, cameraId: "", microphoneId: "" });
});

test("constraints ask only for the kinds needed, on the chosen devices", () => {
  assert.deepEqual(constraintsFor(["audio"], {}), { audio: true, video: false });
  assert.deepEqual(constraintsFor(["audio", "video"], { cameraId: "c", microphoneId: "" }), { audio: true, video: { deviceId: "c" } });
  assert.deepEqual(constraintsFor(["video"], { cameraId: "c", microphoneId: "m" }), { audio: false, video: { deviceId: "c" } });
});

test("device options number the unnamed ones", () => {
  const devices = [
    { kind: "videoinput", deviceId: "v1", label: "" },
    { kind: "audioinput", deviceId: "a1", label: "Desk mic" },
    { kind: "videoinput", deviceId: "v2", label: "" },
    { kind: "audiooutput", deviceId: "o1", label: "Speakers" },
    { kind: "audioinput", deviceId: "", label: "" },
  ];
  assert.deepEqual(deviceOptions(devices, "videoinput"), [
    { value: "v1", label: "Camera 1" },
    { value: "v2", label: "Camera 2" },
  ]);
  assert.deepEqual(deviceOptions(devices, "audioinput"), [{ value: "a1", label: "Desk mic" }]);
});

test("speaking starts above the upper level and ends after a quiet hold under the lower one", () => {
  const gate = speakingGate({ on: 0.1, off: 0.05, holdMs: 300 });
  assert.equal(gate.update(0.08, 0), false, "between the levels: not yet");
  assert.equal(gate.update(0.2, 100), true);
  assert.equal(gate.update(0.07, 200), true, "between the levels: still");
  assert.equal(gate.update(0.01, 300), true, "quiet starts");
  assert.equal(gate.update(0.06, 400), true, "a word again: the quiet starts over");
  assert.equal(gate.update(0.01, 500), true);
  assert.equal(gate.update(0.01, 700), true);
  assert.equal(gate.update(0.01, 800), false, "300 ms of quiet");
  assert.equal(gate.speaking, false);
  assert.equal(rms([0.5, -0.5, 0.5, -0.5]), 0.5);
  assert.equal(rms([]), 0);
});

test("pins: a click pins and unpins; a shared screen opens large by itself and closes with the sharing", () => {
  let pin = pinReducer(NO_PIN, { type: "click", userId: "a" });
  assert.deepEqual(pin, { userId: "a", auto: false });
  assert.deepEqual(pinReducer(pin, { type: "click", userId: "a" }), NO_PIN);
  pin = pinReducer(pin, { type: "screen", userId: "b", on: true });
  assert.deepEqual(pin, { userId: "b", auto: true });
  assert.deepEqual(pinReducer(pin, { type: "screen", userId: "b", on: false }), NO_PIN);
  assert.deepEqual(pinReducer(pin, { type: "screen", userId: "c", on: false }), pin);
  // Pinned by hand, it stays when the sharing ends; Escape and leaving unpin.
  pin = pinReducer(pin, { type: "click", userId: "b" });
  assert.deepEqual(pin, NO_PIN);
  pin = pinReducer(pinReducer(NO_PIN, { type: "screen", userId: "b", on: true }), { type: "click", userId: "c" });
  assert.deepEqual(pinReducer(pin, { type: "screen", userId: "b", on: false }), { userId: "c", auto: false });
  assert.deepEqual(pinReducer(pin, { type: "escape" }), NO_PIN);
  assert.deepEqual(pinReducer(pin, { type: "gone", userId: "c" }), NO_PIN);
  assert.deepEqual(pinReducer(pin, { type: "gone", userId: "x" }), pin);
});

function fakeDevices() {
  const live = [];
  const requests = [];
  const track = (kind) => {
    const t = { kind, readyState: "live", stop() { this.readyState = "ended"; } };
    live.push(t);
    return t;
  };
  return {
    requests,
    live: () => live.filter((t) => t.readyState === "live").map((t) => t.kind).sort(),
    track,
    mediaDevices: {
      async getUserMedia(constraints) {
        requests.push(constraints);
        return new FakeStream(["audio", "video"].filter((k) => constraints[k]).map(track));
      },
    },
  };
}

test("nothing is captured before a call, and only what is switched on", async () => {
  const devices = fakeDevices();
  const media = createLocalMedia({ mediaDevices: devices.mediaDevices, preferences: { muted: true, cameraOff: true } });
  assert.equal(media.state.micOn, false);
  assert.equal(media.state.audio, true, "the toggle works before any call");
  media.toggleMic();
  assert.equal(media.state.micOn, true);
  media.toggleMic();
  await media.ensure();
  assert.deepEqual(devices.requests, [], "muted with the camera off: nothing asked for");
  assert.deepEqual(devices.live(), []);
  // Unmuting in the call captures the microphone, and tells the mesh.
  const swapped = [];
  media.onTrack((kind, track) => swapped.push([kind, track?.kind ?? null]));
  media.toggleMic();
  await media.ensure();
  assert.deepEqual(devices.requests, [{ audio: true, video: false }]);
  assert.deepEqual(devices.live(), ["audio"]);
  assert.deepEqual(swapped, [["audio", "audio"]]);
  // Muting stops the track (its light goes out); the call's end stops everything.
  media.toggleMic();
  await media.ensure();
  assert.deepEqual(devices.live(), []);
  assert.deepEqual(swapped.at(-1), ["audio", null]);
  media.toggleCamera();
  await media.ensure();
  assert.deepEqual(devices.live(), ["video"]);
  await media.release();
  assert.deepEqual(devices.live(), []);
  assert.equal(media.state.cameraOn, true, "still meant to be on at the next call");
});

test("tracks handed over by the device check are kept for a call, or stopped after a while", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const devices = fakeDevices();
  const media = createLocalMedia({ mediaDevices: devices.mediaDevices, preferences: {} });
  media.adopt([devices.track("audio"), devices.track("video")]);
  assert.deepEqual(devices.live(), ["audio", "video"]);
  t.mock.timers.tick(HANDOVER_HOLD_MS);
  await media.release();
  assert.deepEqual(devices.live(), [], "no call came: let go");

  const again = createLocalMedia({ mediaDevices: devices.mediaDevices, preferences: { cameraOff: true } });
  again.adopt([devices.track("audio"), devices.track("video")]);
  assert.deepEqual(devices.live(), ["audio"], "a camera switched off meanwhile stops at once");
  await again.ensure();
  t.mock.timers.tick(HANDOVER_HOLD_MS);
  await again.ensure();
  assert.deepEqual(devices.live(), ["audio"], "in a call: kept, nothing asked for again");
  assert.equal(devices.requests.length, 0);
  again.stop();
  assert.deepEqual(devices.live(), []);
});

test("a refused camera is reported, and the microphone still works", async () => {
  const devices = fakeDevices();
  const mediaDevices = {
    async getUserMedia(constraints) {
      if (constraints.video) throw Object.assign(new Error("no"), { name: "NotAllowedError" });
      return devices.mediaDevices.getUserMedia(constraints);
    },
  };
  const media = createLocalMedia({ mediaDevices, preferences: {} });
  await media.ensure();
  assert.deepEqual(devices.live(), ["audio"]);
  assert.equal(media.state.video, false);
  assert.match(media.state.message, /camera is blocked/);
});
