// What the call looks like beyond the mesh: my microphone and camera told to the call
// (`media-state`, on entering it, when someone joins it, and on every change), theirs shown
// on their tiles, who is speaking (each remote stream's sound level), and the video shown
// large (a tile clicked, or a screen someone starts sharing; Escape goes back).

import * as protocol from "../protocol.js";
import { createLevels, speakingGate } from "../rtc/levels.js";
import { NO_PIN, pinReducer } from "../state/pin.js";

/** How often sound levels are read. */
const LEVEL_INTERVAL_MS = 100;
/** The key of my own microphone among the levels (user ids are never empty). */
const OWN = "";

/**
 * @param {object} options
 * @param {ReturnType<import("../render/video.js").createVideoPanel>} options.videos
 * @param {ReturnType<import("../rtc/media.js").createLocalMedia>} options.media
 * @param {(frame: object) => boolean} options.send
 * @param {() => boolean} options.inCall
 */
export function createCallView({ videos, media, send, inCall, AudioContextImpl = globalThis.AudioContext }) {
  const levels = createLevels({ AudioContextImpl });
  const gates = new Map(); // userId → speakingGate
  let pin = NO_PIN;
  let lastSent = null;
  const screens = new Map(); // userId → sharing

  function mine() {
    const state = media.state;
    return { audio: state.micOn, video: state.cameraOn, screen: state.sharing };
  }

  /** Tell the call my media state: when it changed, or always (`force`: someone new). */
  function tell(force = false) {
    if (!inCall()) {
      lastSent = null;
      return;
    }
    const frame = protocol.mediaState(mine());
    const text = JSON.stringify(frame.payload);
    if (!force && text === lastSent) return;
    if (send(frame)) lastSent = text;
  }

  function setPin(next) {
    pin = next;
    const shown = videos.setPinned(pin.userId);
    if (shown !== pin.userId) pin = NO_PIN;
  }

  function sample() {
    const now = performance.now();
    const ids = new Set(videos.remoteIds());
    for (const userId of ids) {
      const track = videos.streamOf(userId)?.getAudioTracks()[0] ?? null;
      levels.watch(userId, track);
      if (!gates.has(userId)) gates.set(userId, speakingGate());
      videos.setSpeaking(userId, gates.get(userId).update(track ? levels.level(userId) : 0, now));
    }
    // Mine too, while my microphone is on: a sign that others hear me.
    const own = media.audioTrack;
    levels.watch(OWN, own);
    if (!gates.has(OWN)) gates.set(OWN, speakingGate());
    videos.setLocalSpeaking(gates.get(OWN).update(own ? levels.level(OWN) : 0, now));
    for (const userId of [...gates.keys()]) {
      if (ids.has(userId) || userId === OWN) continue;
      gates.delete(userId);
      levels.unwatch(userId);
    }
  }
  const timer = setInterval(sample, LEVEL_INTERVAL_MS);

  function onKey(event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    if (event.target?.closest?.("input, textarea, select, dialog")) return;
    if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    } else if (pin.userId) {
      setPin(pinReducer(pin, { type: "escape" }));
    }
  }
  window.addEventListener("keydown", onKey);

  return {
    /** A tile was clicked: show it large, or back to the map when it already is. */
    pin(userId) {
      levels.resume();
      setPin(pinReducer(pin, { type: "click", userId }));
    },
    unpin() {
      setPin(pinReducer(pin, { type: "escape" }));
    },
    get pinned() {
      return pin.userId;
    },
    /** My media changed. */
    mediaChanged() {
      tell();
    },
    /** A frame the page received: true when it was this view's (`media-state`). */
    receive(frame) {
      const { type, payload } = frame;
      if (type === "media-state") {
        const { from, audio, video, screen } = payload;
        videos.setMediaState(from, { audio: audio === true, video: video === true, screen: screen === true });
        const sharing = screen === true;
        if (sharing !== (screens.get(from) ?? false)) {
          screens.set(from, sharing);
          setPin(pinReducer(pin, { type: "screen", userId: from, on: sharing }));
        }
        return true;
      }
      // Once the page has taken the frame in (it is in the call then).
      if (type === "call-joined" || type === "call-peer-joined") queueMicrotask(() => tell(true));
      return false;
    },
    /** A peer left my call (its tile is gone). */
    peerGone(userId) {
      screens.delete(userId);
      if (pin.userId === userId) setPin(pinReducer(pin, { type: "gone", userId }));
    },
    close() {
      clearInterval(timer);
      window.removeEventListener("keydown", onKey);
      levels.close();
    },
  };
}
