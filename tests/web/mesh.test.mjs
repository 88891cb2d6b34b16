// The call mesh with fake RTCPeerConnections: one connection per peer, ICE servers fetched
// once per call, signals queued until the connection exists, roles, closing.
import { test } from "node:test";
import assert from "node:assert/strict";

import { createMesh } from "../../src/metaverse/web/rtc/mesh.js";

globalThis.MediaStream ??= class {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return this.tracks;
  }
};

class FakePC {
  static all = [];
  constructor(configuration) {
    this.configuration = configuration;
    this.added = [];
    this.log = [];
    this.signalingState = "stable";
    this.remoteDescription = null;
    this.localDescription = null;
    this.closed = false;
    FakePC.all.push(this);
  }
  addTrack(track) {
    this.added.push(["track", track.kind]);
  }
  addTransceiver(kind, init) {
    this.added.push(["transceiver", kind, init.direction]);
  }
  getTransceivers() {
    return [];
  }
  async setLocalDescription() {
    const type = this.remoteDescription?.type === "offer" && this.signalingState === "have-remote-offer" ? "answer" : "offer";
    this.localDescription = { type, sdp: `${type}-sdp`, toJSON: () => ({ type, sdp: `${type}-sdp` }) };
    this.signalingState = type === "offer" ? "have-local-offer" : "stable";
    this.log.push(`local ${type}`);
  }
  async setRemoteDescription(description) {
    this.remoteDescription = description;
    this.signalingState = description.type === "offer" ? "have-remote-offer" : "stable";
    this.log.push(`remote ${description.type}`);
  }
  async addIceCandidate(candidate) {
    if (!this.remoteDescription) throw new Error("InvalidStateError");
    this.log.push(`candidate ${candidate.candidate}`);
  }
  close() {
    this.closed = true;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

function setup() {
  FakePC.all = [];
  const sent = [];
  const remotes = [];
  const fetches = [];
  let acquired = 0;
  let released = 0;
  const media = {
    audioTrack: { kind: "audio" },
    videoTrack: null, // no camera: the initiator still asks for the peer's video
    ensure: async () => {
      acquired += 1;
    },
    release: () => {
      released += 1;
    },
    onTrack: () => () => {},
  };
  const mesh = createMesh({
    media,
    iceServers: async () => {
      fetches.push(1);
      return { iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "1:u", credential: "c" }], iceTransportPolicy: "relay" };
    },
    send: (to, data) => sent.push([to, data]),
    onRemote: (userId, stream, info) => remotes.push([userId, info ? "tile" : "gone"]),
    onError: (error) => {
      throw error;
    },
    RTCPeerConnectionImpl: FakePC,
  });
  return { mesh, sent, remotes, fetches, acquired: () => acquired, released: () => released };
}

test("the initiator offers to its peer with the ICE servers of the API; the other side answers", async () => {
  const { mesh, sent, remotes, fetches, acquired } = setup();
  mesh.sync({ callId: "c1", peers: { u2: { initiator: true } } });
  assert.deepEqual(remotes, [["u2", "tile"]], "the tile appears at once");
  await tick();
  const [pc] = FakePC.all;
  assert.deepEqual(pc.configuration, {
    iceServers: [{ urls: ["turn:127.0.0.1:3478"], username: "1:u", credential: "c" }],
    iceTransportPolicy: "relay",
  });
  assert.deepEqual(pc.added, [
    ["track", "audio"],
    ["transceiver", "video", "recvonly"],
  ]);
  await pc.onnegotiationneeded();
  assert.deepEqual(sent, [["u2", { description: { type: "offer", sdp: "offer-sdp" } }]]);
  mesh.signal("u2", { description: { type: "answer", sdp: "answer-sdp" } });
  mesh.signal("u2", { candidate: { candidate: "candidate:1", sdpMid: "0", sdpMLineIndex: 0 } });
  await tick();
  assert.deepEqual(pc.log, ["local offer", "remote answer", "candidate candidate:1"]);
  assert.equal(fetches.length, 1);
  assert.equal(acquired(), 1);
});

test("the non-initiator waits for the offer; signals that arrive before its connection wait in order", async () => {
  const { mesh, sent } = setup();
  mesh.sync({ callId: "c1", peers: { u2: { initiator: false } } });
  // The offer and a candidate arrive while the ICE servers and media are still coming.
  mesh.signal("u2", { description: { type: "offer", sdp: "offer-sdp" } });
  mesh.signal("u2", { candidate: { candidate: "candidate:9", sdpMid: "0", sdpMLineIndex: 0 } });
  mesh.signal("u2", { bogus: true });
  mesh.signal("stranger", { description: { type: "offer", sdp: "x" } });
  await tick();
  const [pc] = FakePC.all;
  assert.deepEqual(pc.added, [["track", "audio"]], "no receive-only line: the offer brings it");
  assert.deepEqual(pc.log, ["remote offer", "local answer", "candidate candidate:9"]);
  assert.deepEqual(sent, [["u2", { description: { type: "answer", sdp: "answer-sdp" } }]]);
  assert.equal(FakePC.all.length, 1, "nothing for someone outside the call");
});

test("the first offer of a pair is the initiator's alone", async () => {
  const { mesh, sent } = setup();
  mesh.sync({ callId: "c1", peers: { u2: { initiator: false } } });
  await tick();
  await FakePC.all[0].onnegotiationneeded();
  assert.deepEqual(sent, []);
});

test("an impolite initiator ignores a colliding offer; a polite peer takes it", async () => {
  const { mesh } = setup();
  mesh.sync({ callId: "c1", peers: { u2: { initiator: true }, u3: { initiator: false } } });
  await tick();
  const [toU2, toU3] = FakePC.all;
  toU2.signalingState = "have-local-offer";
  toU3.signalingState = "have-local-offer";
  toU3.remoteDescription = { type: "offer" }; // connected once: may renegotiate
  mesh.signal("u2", { description: { type: "offer", sdp: "glare" } });
  mesh.signal("u3", { description: { type: "offer", sdp: "glare" } });
  await tick();
  assert.deepEqual(toU2.log, []);
  assert.deepEqual(toU3.log, ["remote offer", "local answer"]);
});

test("peers who leave are closed and their tiles go; a merge keeps who stays; a new call fetches ICE again", async () => {
  const { mesh, remotes, fetches } = setup();
  mesh.sync({ callId: "c1", peers: { u2: { initiator: true }, u3: { initiator: true } } });
  await tick();
  const [toU2, toU3] = FakePC.all;
  mesh.sync({ callId: "c1", peers: { u2: { initiator: true } } });
  assert.equal(toU3.closed, true);
  assert.deepEqual(remotes.at(-1), ["u3", "gone"]);
  mesh.sync({ callId: "c2", peers: { u2: { initiator: false }, u4: { initiator: false } } });
  await tick();
  assert.equal(toU2.closed, false, "still with me after the merge");
  assert.equal(FakePC.all.length, 3);
  assert.equal(fetches.length, 1, "a merge is not a new call start");
  mesh.sync(null);
  assert.ok(FakePC.all.every((pc) => pc.closed));
  assert.deepEqual(mesh.peerIds(), []);
  mesh.sync({ callId: "c3", peers: { u5: { initiator: true } } });
  await tick();
  assert.equal(fetches.length, 2, "fresh credentials for the next call");
  mesh.close();
  assert.equal(FakePC.all.at(-1).closed, true);
});

test("the camera and microphone are asked for when a call starts and let go when it ends", async () => {
  const { mesh, acquired, released } = setup();
  mesh.sync(null);
  assert.equal(released(), 0, "no call yet: nothing to let go");
  mesh.sync({ callId: "c1", peers: { u2: { initiator: true } } });
  await tick();
  assert.equal(acquired(), 1);
  mesh.sync({ callId: "c2", peers: { u2: { initiator: true }, u3: { initiator: false } } });
  await tick();
  assert.equal(acquired(), 1, "a merge keeps the media");
  mesh.sync(null);
  mesh.sync(null);
  assert.equal(released(), 1);
  mesh.sync({ callId: "c3", peers: { u4: { initiator: false } } });
  await tick();
  assert.equal(acquired(), 2, "the next call asks again");
});
