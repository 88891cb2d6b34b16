// My camera and microphone. Nothing is captured until a call needs it (`ensure`), and only
// what is switched on: muting stops the microphone's track and "camera off" the camera's
// (their lights go out), switching back on captures again. When the call is over
// (`release`) every track stops. Whatever is refused or missing, the call goes on with the
// rest (audio only, video only, or receiving only). Screen sharing swaps the video track.

const REASONS = {
  NotAllowedError: "blocked",
  SecurityError: "blocked",
  NotFoundError: "not found",
  OverconstrainedError: "not found",
  NotReadableError: "in use by another program",
  AbortError: "in use by another program",
};
/** How long tracks handed over by the device check wait for a call before they stop. */
export const HANDOVER_HOLD_MS = 3000;

/** The message to show for what could be opened; null when everything works. Pure. */
export function mediaMessage({ audio, video, errorName = null, supported = true }) {
  if (audio && video) return null;
  if (!supported) return "This browser can't use a camera or microphone here: you can still see and hear others.";
  const reason = REASONS[errorName] ?? "unavailable";
  if (audio) return `Your camera is ${reason}: others can hear you but not see you.`;
  if (video) return `Your microphone is ${reason}: others can see you but not hear you.`;
  return `Camera and microphone are ${reason}: you can still see and hear others.`;
}

async function tryGet(mediaDevices, constraints) {
  try {
    return { stream: await mediaDevices.getUserMedia(constraints), error: null };
  } catch (error) {
    return { stream: null, error };
  }
}

/**
 * @param {{mediaDevices?: MediaDevices, onChange: (state) => void,
 *   preferences?: {cameraOff, muted, cameraId, microphoneId},
 *   constraints?: (kinds: string[]) => MediaStreamConstraints}} options
 */
export function createLocalMedia({
  mediaDevices = globalThis.navigator?.mediaDevices,
  onChange = () => {},
  preferences = {},
  constraints = (kinds) => ({ audio: kinds.includes("audio"), video: kinds.includes("video") }),
}) {
  const supported = Boolean(mediaDevices?.getUserMedia);
  const on = { audio: !preferences.muted, video: !preferences.cameraOff };
  const failed = { audio: !supported, video: !supported };
  const tracks = { audio: null, video: null };
  let screenTrack = null;
  let active = false; // a call needs the media
  let held = null; // timer while handed-over tracks wait for a call
  let message = null;
  let stopped = false;
  let work = Promise.resolve();
  const stream = new MediaStream();
  const listeners = new Set();

  function state() {
    return {
      audio: !failed.audio,
      video: !failed.video,
      micOn: !failed.audio && on.audio,
      cameraOn: !failed.video && on.video,
      sharing: Boolean(screenTrack),
      canShare: Boolean(mediaDevices?.getDisplayMedia) && active,
      message,
    };
  }

  function changed() {
    if (!stopped) onChange(state());
  }

  function emit(kind) {
    const track = kind === "video" ? (screenTrack ?? tracks.video) : tracks.audio;
    for (const listener of listeners) listener(kind, track);
  }

  function setTrack(kind, track) {
    if (tracks[kind] === track) return;
    if (tracks[kind]) {
      stream.removeTrack(tracks[kind]);
      tracks[kind].stop();
    }
    tracks[kind] = track;
    if (track) stream.addTrack(track);
    emit(kind);
  }

  /** Make the tracks match what is wanted: captured when a call needs it and it is on. */
  async function reconcile() {
    const keep = (kind) => on[kind] && !failed[kind] && (active || held !== null);
    for (const kind of ["audio", "video"]) if (tracks[kind] && !keep(kind)) setTrack(kind, null);
    if (!active && screenTrack) stopShare();
    const missing = ["audio", "video"].filter((kind) => active && on[kind] && !failed[kind] && !tracks[kind]);
    if (missing.length && !stopped) {
      let result = await tryGet(mediaDevices, constraints(missing));
      let errorName = result.error?.name ?? null;
      const got = result.stream ? result.stream.getTracks() : [];
      if (!result.stream && missing.length > 1) {
        // One of the two may still work on its own.
        for (const kind of ["video", "audio"]) {
          result = await tryGet(mediaDevices, constraints([kind]));
          if (result.stream) got.push(...result.stream.getTracks());
          else errorName = result.error?.name ?? errorName;
        }
      }
      for (const kind of missing) {
        const track = got.find((t) => t.kind === kind) ?? null;
        if (!track) failed[kind] = true;
        // Switched off (or the call ended) meanwhile: let it go at once.
        if (track && (stopped || !active || !on[kind] || tracks[kind])) track.stop();
        else if (track) setTrack(kind, track);
      }
      if (missing.some((kind) => failed[kind])) {
        message = mediaMessage({ audio: !failed.audio, video: !failed.video, errorName });
      }
    }
    changed();
  }

  function schedule() {
    work = work.then(reconcile, reconcile);
    return work;
  }

  function stopShare() {
    const track = screenTrack;
    screenTrack = null;
    track?.stop();
    emit("video");
    changed();
  }

  return {
    /** The call needs the media: captures what is switched on. Resolves once it is done. */
    ensure() {
      active = true;
      clearTimeout(held);
      held = null;
      return schedule().then(() => stream);
    },
    /** The call is over: every track stops. */
    release() {
      active = false;
      return schedule();
    },
    /** Tracks captured by the device check: kept if a call needs them soon, else stopped. */
    adopt(tracksFromCheck) {
      for (const track of tracksFromCheck) {
        const kind = track.kind;
        if (stopped || !on[kind] || tracks[kind] || track.readyState === "ended") track.stop();
        else setTrack(kind, track);
      }
      if (!active && (tracks.audio || tracks.video)) {
        held = setTimeout(() => {
          held = null;
          schedule();
        }, HANDOVER_HOLD_MS);
      }
      changed();
    },
    /** The local stream: the camera and microphone tracks that are live now. */
    get stream() {
      return stream;
    },
    get state() {
      return state();
    },
    /** The video track peers should get now: the screen while sharing, else the camera. */
    get videoTrack() {
      return screenTrack ?? tracks.video;
    },
    get audioTrack() {
      return tracks.audio;
    },
    /** Called with (kind, track or null) whenever what peers should get changes. */
    onTrack(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    toggleMic() {
      if (failed.audio) return;
      on.audio = !on.audio;
      changed();
      schedule();
    },
    toggleCamera() {
      if (failed.video) return;
      on.video = !on.video;
      changed();
      schedule();
    },
    async toggleShare() {
      if (screenTrack) {
        stopShare();
        return;
      }
      const display = await mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = display.getVideoTracks()[0];
      if (!track || stopped || !active) {
        for (const t of display.getTracks()) t.stop();
        return;
      }
      screenTrack = track;
      // The browser's own "stop sharing" ends the track: put the camera back.
      track.addEventListener("ended", () => {
        if (screenTrack === track) stopShare();
      });
      emit("video");
      changed();
    },
    stop() {
      stopped = true;
      clearTimeout(held);
      for (const track of [tracks.audio, tracks.video, screenTrack]) track?.stop();
      tracks.audio = tracks.video = screenTrack = null;
      listeners.clear();
    },
  };
}
