// The call as a mesh: one RTCPeerConnection per peer in my call. `sync(call)` makes the set
// of connections match the state's call (opening for new peers, closing for those gone);
// `signal(from, data)` feeds `video-call-signaling` in. Descriptions and candidates travel
// exactly as the browser serialises them: {description: RTCSessionDescription.toJSON()} or
// {candidate: RTCIceCandidate.toJSON()}.

import {
  isPolite,
  mayOffer,
  peerConfiguration,
  readSignal,
  shouldIgnoreOffer,
  transceiverPlan,
} from "./negotiation.js";

/**
 * @param {object} options
 * @param {{ensure: () => Promise<MediaStream>, release?: () => void, audioTrack, videoTrack, onTrack}} options.media
 * @param {() => Promise<object>} options.iceServers GET /rtc/ice-servers (once per call start)
 * @param {(to: string, data: object) => void} options.send
 * @param {(userId: string, stream: MediaStream|null, info?: {pending: boolean}) => void} options.onRemote
 *   a peer's media; (userId, null) without `info` when the peer is gone
 * @param {(userId: string, state: string) => void} [options.onPeerState]
 */
export function createMesh({
  media,
  iceServers,
  send,
  onRemote,
  onPeerState = () => {},
  onError = (error) => console.warn(error),
  RTCPeerConnectionImpl = globalThis.RTCPeerConnection,
}) {
  const peers = new Map(); // userId → entry
  let setup = null; // Promise<configuration> for the current call
  let callId = null;
  let closed = false;

  // Muting, the camera going off or on, and screen sharing swap the track peers get.
  const unlisten = media.onTrack((kind, track) => {
    for (const entry of peers.values()) if (entry.pc) useTrack(entry.pc, kind, track);
  });

  function startCall() {
    // Fresh credentials for every call: TURN passwords expire.
    const config = iceServers().then(peerConfiguration, (error) => {
      onError(error);
      return peerConfiguration(null);
    });
    setup = Promise.all([config, media.ensure()]).then(([configuration]) => configuration);
  }

  function open(userId, initiator) {
    const entry = {
      userId,
      initiator,
      polite: isPolite(initiator),
      pc: null,
      closed: false,
      makingOffer: false,
      ignoreOffer: false,
      settingRemoteAnswer: false,
      stream: null,
      queue: null,
    };
    // Signals wait in this queue until the connection exists, then run one at a time; a
    // failure is reported and does not stop the ones after it.
    entry.queue = setup
      .then((configuration) => {
        if (!entry.closed && !closed) connect(entry, configuration);
      })
      .catch(onError);
    peers.set(userId, entry);
    onRemote(userId, null, { pending: true });
  }

  function connect(entry, configuration) {
    const pc = new RTCPeerConnectionImpl(configuration);
    entry.pc = pc;
    const tracks = { audio: media.audioTrack, video: media.videoTrack };
    const stream = new MediaStream([tracks.audio, tracks.video].filter(Boolean));
    for (const { kind, action } of transceiverPlan({
      audio: Boolean(tracks.audio),
      video: Boolean(tracks.video),
      initiator: entry.initiator,
    })) {
      if (action === "addTrack") pc.addTrack(tracks[kind], stream);
      else if (action === "recvonly") pc.addTransceiver(kind, { direction: "recvonly" });
    }
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && !entry.closed) send(entry.userId, { candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track }) => {
      // One stream per peer, whatever streams the sender put its tracks in; a new stream
      // object each time so that the video element picks the new track up.
      const kept = entry.stream ? entry.stream.getTracks().filter((t) => t.kind !== track.kind) : [];
      entry.stream = new MediaStream([...kept, track]);
      onRemote(entry.userId, entry.stream, { pending: false });
    };
    pc.onnegotiationneeded = async () => {
      if (!mayOffer({ initiator: entry.initiator, hasRemoteDescription: Boolean(pc.remoteDescription) })) return;
      try {
        entry.makingOffer = true;
        await pc.setLocalDescription();
        if (!entry.closed) send(entry.userId, { description: pc.localDescription.toJSON() });
      } catch (error) {
        if (!entry.closed) onError(error);
      } finally {
        entry.makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => onPeerState(entry.userId, pc.connectionState);
    pc.oniceconnectionstatechange = () => {
      // The offerer restarts ICE when the path fails (a network change, an expired relay).
      if (pc.iceConnectionState === "failed" && entry.initiator && !entry.closed) pc.restartIce();
    };
  }

  async function handle(entry, message) {
    const pc = entry.pc;
    if (!pc || entry.closed) return;
    if (message.description) {
      const description = message.description;
      const negotiation = {
        makingOffer: entry.makingOffer,
        signalingState: pc.signalingState,
        settingRemoteAnswer: entry.settingRemoteAnswer,
      };
      entry.ignoreOffer = shouldIgnoreOffer(description.type, entry.polite, negotiation);
      if (entry.ignoreOffer) return;
      entry.settingRemoteAnswer = description.type === "answer";
      try {
        await pc.setRemoteDescription(description); // rolls back our own offer when polite
      } finally {
        entry.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        await pc.setLocalDescription();
        if (!entry.closed) send(entry.userId, { description: pc.localDescription.toJSON() });
      }
    } else if (message.candidate) {
      try {
        await pc.addIceCandidate(message.candidate);
      } catch (error) {
        if (!entry.ignoreOffer) throw error;
      }
    }
  }

  function close(userId) {
    const entry = peers.get(userId);
    if (!entry) return;
    entry.closed = true;
    peers.delete(userId);
    if (entry.pc) {
      entry.pc.onicecandidate = entry.pc.ontrack = entry.pc.onnegotiationneeded = null;
      entry.pc.onconnectionstatechange = entry.pc.oniceconnectionstatechange = null;
      entry.pc.close();
    }
    onRemote(userId, null);
  }

  return {
    /** Make the connections match `call` ({callId, peers: {userId: {initiator}}} or null). */
    sync(call) {
      if (closed) return;
      if (!call) {
        for (const userId of [...peers.keys()]) close(userId);
        if (setup) media.release?.(); // nothing is captured outside a call
        callId = null;
        setup = null;
        return;
      }
      if (call.callId !== callId) {
        // A new call (or a merge into another one): connections to people still with me
        // stay as they are; new credentials are fetched when I was in no call before.
        if (!setup) startCall();
        callId = call.callId;
      }
      for (const userId of [...peers.keys()]) if (!(userId in call.peers)) close(userId);
      for (const [userId, peer] of Object.entries(call.peers)) if (!peers.has(userId)) open(userId, peer.initiator);
    },
    /** A `video-call-signaling` frame's payload. */
    signal(from, data) {
      const entry = peers.get(from);
      const message = readSignal(data);
      if (!entry || !message) return;
      entry.queue = entry.queue.then(() => handle(entry, message)).catch(onError);
    },
    /** Peers with a connection, for tests and the UI. */
    peerIds() {
      return [...peers.keys()];
    },
    close() {
      closed = true;
      unlisten();
      for (const userId of [...peers.keys()]) close(userId);
    },
  };
}

/** Send `track` (or nothing) as the `kind` of `pc`, turning a receive-only line into send. */
function useTrack(pc, kind, track) {
  const transceiver = pc.getTransceivers().find((t) => t.receiver.track?.kind === kind && !t.stopped);
  if (!transceiver) return;
  transceiver.sender.replaceTrack(track).catch(() => {});
  if (track && (transceiver.direction === "recvonly" || transceiver.direction === "inactive")) {
    transceiver.direction = "sendrecv"; // negotiationneeded follows
  }
}
