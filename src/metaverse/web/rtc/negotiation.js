// WebRTC negotiation rules as pure functions (the "perfect negotiation" pattern of the
// WebRTC spec, with the roles the server hands out). Names follow the browser's API.
//
// For each pair in a call the server marks exactly one side `initiator: true`: that side
// makes the first offer. The other side is the *polite* peer: when both offer at once
// (glare, possible on later renegotiations) it rolls its own offer back and answers,
// while the impolite initiator ignores the colliding offer.

const DESCRIPTION_TYPES = new Set(["offer", "answer", "pranswer", "rollback"]);

export function isPolite(initiator) {
  return !initiator;
}

/**
 * Whether to act on `negotiationneeded`: the initiator always; the other side only once a
 * first offer has arrived, so the first offer of every pair comes from one side alone.
 */
export function mayOffer({ initiator, hasRemoteDescription }) {
  return initiator || hasRemoteDescription;
}

/** Whether an incoming description of `type` collides with an offer of ours. */
export function offerCollision(type, { makingOffer, signalingState, settingRemoteAnswer }) {
  if (type !== "offer") return false;
  const readyForOffer = !makingOffer && (signalingState === "stable" || settingRemoteAnswer);
  return !readyForOffer;
}

/** The impolite side drops an offer that collides with its own. */
export function shouldIgnoreOffer(type, polite, negotiation) {
  return !polite && offerCollision(type, negotiation);
}

/**
 * A signaling payload checked for shape: `{description}` (an RTCSessionDescriptionInit) or
 * `{candidate}` (an RTCIceCandidateInit), or null for anything else. The server relays
 * whatever a peer sent, so the receiving side checks it.
 */
export function readSignal(data) {
  if (!data || typeof data !== "object") return null;
  const d = data.description;
  if (d && typeof d === "object" && DESCRIPTION_TYPES.has(d.type)) {
    if (d.type !== "rollback" && typeof d.sdp !== "string") return null;
    return { description: d.type === "rollback" ? { type: d.type } : { type: d.type, sdp: d.sdp } };
  }
  const c = data.candidate;
  if (c && typeof c === "object" && typeof c.candidate === "string") {
    const candidate = { candidate: c.candidate };
    for (const key of ["sdpMid", "sdpMLineIndex", "usernameFragment"]) {
      if (c[key] !== undefined) candidate[key] = c[key];
    }
    return { candidate };
  }
  return null;
}

/**
 * How a new connection gets its media lines, per kind: `sendrecv` with my track when I
 * have one; otherwise the initiator adds a `recvonly` transceiver so that its offer still
 * asks for the peer's media, and the other side adds nothing (the offer creates it).
 */
export function transceiverPlan({ audio, video, initiator }) {
  return [
    ["audio", audio],
    ["video", video],
  ].map(([kind, have]) => ({ kind, action: have ? "addTrack" : initiator ? "recvonly" : "none" }));
}

/** The RTCPeerConnection configuration from `GET /api/v1/rtc/ice-servers`. */
export function peerConfiguration(answer) {
  const iceServers = Array.isArray(answer?.iceServers) ? answer.iceServers.filter((s) => s && s.urls) : [];
  const iceTransportPolicy = answer?.iceTransportPolicy === "relay" ? "relay" : "all";
  return { iceServers, iceTransportPolicy };
}
