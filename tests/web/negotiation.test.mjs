// Signaling roles and the perfect-negotiation rules of rtc/negotiation.js.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  isPolite,
  mayOffer,
  offerCollision,
  peerConfiguration,
  readSignal,
  shouldIgnoreOffer,
  transceiverPlan,
} from "../../src/metaverse/web/rtc/negotiation.js";
import { mediaMessage } from "../../src/metaverse/web/rtc/media.js";

const stable = { makingOffer: false, signalingState: "stable", settingRemoteAnswer: false };

test("exactly one side of a pair is polite: the one that does not make the first offer", () => {
  for (const initiator of [true, false]) {
    const other = !initiator; // the server marks the pair's other side the opposite way
    assert.notEqual(isPolite(initiator), isPolite(other));
    assert.equal(isPolite(initiator), !initiator);
  }
});

test("only the initiator offers first; either side may renegotiate once connected", () => {
  assert.equal(mayOffer({ initiator: true, hasRemoteDescription: false }), true);
  assert.equal(mayOffer({ initiator: false, hasRemoteDescription: false }), false);
  assert.equal(mayOffer({ initiator: false, hasRemoteDescription: true }), true);
});

test("an offer collides while we are making or holding our own offer", () => {
  assert.equal(offerCollision("offer", stable), false);
  assert.equal(offerCollision("offer", { ...stable, makingOffer: true }), true);
  assert.equal(offerCollision("offer", { ...stable, signalingState: "have-local-offer" }), true);
  assert.equal(
    offerCollision("offer", { ...stable, signalingState: "have-local-offer", settingRemoteAnswer: true }),
    false,
    "an answer being applied is about to make us stable",
  );
  assert.equal(offerCollision("answer", { ...stable, signalingState: "have-local-offer" }), false);
});

test("on glare the impolite side ignores the offer and the polite side takes it", () => {
  const glare = { ...stable, signalingState: "have-local-offer" };
  assert.equal(shouldIgnoreOffer("offer", false, glare), true);
  assert.equal(shouldIgnoreOffer("offer", true, glare), false);
  assert.equal(shouldIgnoreOffer("offer", false, stable), false);
  assert.equal(shouldIgnoreOffer("answer", false, glare), false);
});

test("signals keep the browser's shapes; anything else is dropped", () => {
  const offer = { type: "offer", sdp: "v=0\r\n" };
  assert.deepEqual(readSignal({ description: offer }), { description: offer });
  assert.deepEqual(readSignal({ description: { type: "rollback" } }), { description: { type: "rollback" } });
  const candidate = { candidate: "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0, usernameFragment: "abcd" };
  assert.deepEqual(readSignal({ candidate }), { candidate });
  assert.deepEqual(readSignal({ candidate: { candidate: "", sdpMid: "0", sdpMLineIndex: 0, extra: 1 } }), {
    candidate: { candidate: "", sdpMid: "0", sdpMLineIndex: 0 },
  });
  for (const bad of [null, "offer", {}, { description: { type: "offer" } }, { description: { type: "evil", sdp: "" } }, { candidate: { sdpMid: "0" } }]) {
    assert.equal(readSignal(bad), null, JSON.stringify(bad));
  }
});

test("media lines: send what I have; the initiator still asks to receive what I lack", () => {
  assert.deepEqual(transceiverPlan({ audio: true, video: true, initiator: true }), [
    { kind: "audio", action: "addTrack" },
    { kind: "video", action: "addTrack" },
  ]);
  assert.deepEqual(transceiverPlan({ audio: true, video: false, initiator: true }), [
    { kind: "audio", action: "addTrack" },
    { kind: "video", action: "recvonly" },
  ]);
  assert.deepEqual(transceiverPlan({ audio: false, video: false, initiator: false }), [
    { kind: "audio", action: "none" },
    { kind: "video", action: "none" },
  ]);
});

test("the peer configuration takes the ICE servers and policy from the API, defaulting safely", () => {
  const answer = {
    iceServers: [{ urls: ["stun:127.0.0.1:3478"] }, { urls: ["turn:127.0.0.1:3478"], username: "1:u", credential: "c" }, {}],
    iceTransportPolicy: "relay",
    ttl: 3600,
  };
  assert.deepEqual(peerConfiguration(answer), { iceServers: answer.iceServers.slice(0, 2), iceTransportPolicy: "relay" });
  assert.deepEqual(peerConfiguration(null), { iceServers: [], iceTransportPolicy: "all" });
  assert.deepEqual(peerConfiguration({ iceServers: "x", iceTransportPolicy: "bogus" }), { iceServers: [], iceTransportPolicy: "all" });
});

test("a refused or missing camera or microphone is explained, and the call goes on", () => {
  assert.equal(mediaMessage({ audio: true, video: true }), null);
  assert.match(mediaMessage({ audio: true, video: false, errorName: "NotAllowedError" }), /camera is blocked.*hear you/);
  assert.match(mediaMessage({ audio: false, video: true, errorName: "NotFoundError" }), /microphone is not found.*see you/);
  assert.match(mediaMessage({ audio: false, video: false, errorName: "NotReadableError" }), /in use.*still see and hear others/);
  assert.match(mediaMessage({ audio: false, video: false, supported: false }), /can't use a camera/);
});
