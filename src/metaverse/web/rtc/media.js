// My camera and microphone: asked for once, when the first call starts, and kept until the
// space closes. Whatever is refused or missing, the call goes on with the rest (audio
// only, video only, or receiving only). Screen sharing swaps the video track.

const REASONS = {
  NotAllowedError: "blocked",
  SecurityError: "blocked",
  NotFoundError: "not found",
  OverconstrainedError: "not found",
  NotReadableError: "in use by another program",
  AbortError: "in use by another program",
};

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
 * @param {{mediaDevices?: MediaDevices, onChange: (state) => void}} options
 */
export function createLocalMedia({ mediaDevices = globalThis.navigator?.mediaDevices, onChange = () => {} }) {
  let acquiring = null;
  let stream = null;
  let audioTrack = null;
  let cameraTrack = null;
  let screenTrack = null;
  let micOn = true;
  let cameraOn = true;
  let message = null;
  let stopped = false;
  const videoListeners = new Set();

  function state() {
    return {
      audio: Boolean(audioTrack),
      video: Boolean(cameraTrack),
      micOn: Boolean(audioTrack) && micOn,
      cameraOn: Boolean(cameraTrack) && cameraOn,
      sharing: Boolean(screenTrack),
      canShare: Boolean(mediaDevices?.getDisplayMedia) && acquiring !== null,
      message,
    };
  }

  function changed() {
    onChange(state());
  }

  async function acquire() {
    if (!mediaDevices?.getUserMedia) {
      message = mediaMessage({ audio: false, video: false, supported: false });
      stream = new MediaStream();
      changed();
      return stream;
    }
    let result = await tryGet(mediaDevices, { audio: true, video: true });
    let errorName = result.error?.name ?? null;
    const tracks = result.stream ? result.stream.getTracks() : [];
    if (!result.stream) {
      // One of the two may still work on its own.
      for (const kind of ["video", "audio"]) {
        result = await tryGet(mediaDevices, { [kind]: true });
        if (result.stream) tracks.push(...result.stream.getTracks());
        else errorName = result.error?.name ?? errorName;
      }
    }
    if (stopped) {
      for (const track of tracks) track.stop();
      return new MediaStream();
    }
    stream = new MediaStream(tracks);
    audioTrack = stream.getAudioTracks()[0] ?? null;
    cameraTrack = stream.getVideoTracks()[0] ?? null;
    message = mediaMessage({ audio: Boolean(audioTrack), video: Boolean(cameraTrack), errorName });
    changed();
    return stream;
  }

  function setVideo(track) {
    for (const listener of videoListeners) listener(track);
  }

  return {
    /** The local stream, asked for on the first call. */
    ensure() {
      acquiring ??= acquire();
      return acquiring;
    },
    get stream() {
      return stream;
    },
    get state() {
      return state();
    },
    /** The video track peers should get now: the screen while sharing, else the camera. */
    get videoTrack() {
      return screenTrack ?? cameraTrack;
    },
    get audioTrack() {
      return audioTrack;
    },
    /** Called with the new video track whenever it changes (sharing starts or ends). */
    onVideoTrack(listener) {
      videoListeners.add(listener);
      return () => videoListeners.delete(listener);
    },
    toggleMic() {
      if (!audioTrack) return;
      micOn = !micOn;
      audioTrack.enabled = micOn;
      changed();
    },
    toggleCamera() {
      if (!cameraTrack) return;
      cameraOn = !cameraOn;
      cameraTrack.enabled = cameraOn;
      changed();
    },
    async toggleShare() {
      if (screenTrack) {
        stopShare();
        return;
      }
      const display = await mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = display.getVideoTracks()[0];
      if (!track || stopped) {
        for (const t of display.getTracks()) t.stop();
        return;
      }
      screenTrack = track;
      // The browser's own "stop sharing" ends the track: put the camera back.
      track.addEventListener("ended", () => {
        if (screenTrack === track) stopShare();
      });
      setVideo(track);
      changed();
    },
    stop() {
      stopped = true;
      for (const track of [audioTrack, cameraTrack, screenTrack]) track?.stop();
      audioTrack = cameraTrack = screenTrack = null;
      videoListeners.clear();
    },
  };

  function stopShare() {
    const track = screenTrack;
    screenTrack = null;
    track?.stop();
    setVideo(cameraTrack);
    changed();
  }
}
