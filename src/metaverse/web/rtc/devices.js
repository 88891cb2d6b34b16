// Which camera and microphone to use, and whether to arrive with them off: chosen in the
// device check, remembered per browser (localStorage). Pure: storage is passed in.

export const PREFERENCES_KEY = "metaverse.devices";
export const DEFAULT_PREFERENCES = Object.freeze({ cameraOff: false, muted: false, cameraId: "", microphoneId: "" });

/** The stored preferences, with defaults for anything missing or malformed. */
export function loadPreferences(storage) {
  let stored = null;
  try {
    stored = JSON.parse(storage?.getItem(PREFERENCES_KEY) ?? "null");
  } catch {
    stored = null;
  }
  const value = stored && typeof stored === "object" ? stored : {};
  return {
    cameraOff: value.cameraOff === true,
    muted: value.muted === true,
    cameraId: typeof value.cameraId === "string" ? value.cameraId : "",
    microphoneId: typeof value.microphoneId === "string" ? value.microphoneId : "",
  };
}

export function savePreferences(storage, preferences) {
  const value = { ...DEFAULT_PREFERENCES, ...preferences };
  try {
    storage?.setItem(
      PREFERENCES_KEY,
      JSON.stringify({
        cameraOff: Boolean(value.cameraOff),
        muted: Boolean(value.muted),
        cameraId: String(value.cameraId || ""),
        microphoneId: String(value.microphoneId || ""),
      }),
    );
  } catch {
    // storage full or refused: the choice holds for this visit only
  }
}

/**
 * `getUserMedia` constraints for the kinds in `kinds` ("audio", "video"), on the chosen
 * devices when there are any (as a preference: a device that is gone falls back to another).
 */
export function constraintsFor(kinds, { cameraId = "", microphoneId = "" } = {}) {
  const pick = (id) => (id ? { deviceId: id } : true);
  return {
    audio: kinds.includes("audio") ? pick(microphoneId) : false,
    video: kinds.includes("video") ? pick(cameraId) : false,
  };
}

/** `[{value, label}]` for a picker of `kind` ("videoinput" | "audioinput"), unnamed ones numbered. */
export function deviceOptions(devices, kind) {
  const noun = kind === "videoinput" ? "Camera" : "Microphone";
  return devices
    .filter((d) => d.kind === kind && d.deviceId)
    .map((d, i) => ({ value: d.deviceId, label: d.label || `${noun} ${i + 1}` }));
}
