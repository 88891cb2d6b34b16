// The device check shown before entering a space: a camera preview, a microphone level
// meter, camera and microphone pickers, "join with camera off" and "join muted"
// (remembered per browser). Nothing is captured before it opens, and only what is switched
// on while it is open. "Join" hands the live tracks over; leaving stops them.

import { h } from "../dom.js";
import { constraintsFor, deviceOptions, loadPreferences, savePreferences } from "../rtc/devices.js";
import { createLevels } from "../rtc/levels.js";

const METER_INTERVAL_MS = 60;
const REFUSED = {
  NotAllowedError: "blocked by the browser",
  SecurityError: "blocked by the browser",
  NotFoundError: "not found",
  OverconstrainedError: "not found",
  NotReadableError: "in use by another program",
};

/**
 * Opens the check in `host`. Resolves with `{preferences, tracks}` on "Join", or null
 * when the person goes back to the lobby (or `cancel()` is called: the page is leaving).
 */
export function openDeviceCheck(host, {
  spaceName,
  mediaDevices = globalThis.navigator?.mediaDevices,
  storage = globalThis.localStorage,
  AudioContextImpl = globalThis.AudioContext,
}) {
  const preferences = loadPreferences(storage);
  const tracks = { audio: null, video: null };
  const problems = { audio: null, video: null };
  const levels = createLevels({ AudioContextImpl });
  const supported = Boolean(mediaDevices?.getUserMedia);
  let work = Promise.resolve();
  let finished = false;
  let finish;
  const result = new Promise((resolve) => (finish = resolve));

  // DOM.
  const preview = h("video", { class: "device-preview-video", autoplay: true, playsinline: true, testid: "device-preview" });
  preview.muted = true;
  const previewNote = h("p", { class: "device-preview-note", testid: "device-preview-note" });
  const meterBar = h("span", { class: "device-meter-bar" });
  const meter = h(
    "div",
    { class: "device-meter", role: "meter", testid: "mic-meter", aria: { label: "Microphone level", valuemin: "0", valuemax: "100", valuenow: "0" }, dataset: { level: "0" } },
    meterBar,
  );
  const cameraSelect = h("select", { name: "camera", id: "device-camera", testid: "camera-select" });
  const micSelect = h("select", { name: "microphone", id: "device-microphone", testid: "microphone-select" });
  const cameraOff = h("input", { type: "checkbox", name: "camera-off", id: "device-camera-off", checked: preferences.cameraOff });
  const muted = h("input", { type: "checkbox", name: "muted", id: "device-muted", checked: preferences.muted });
  const message = h("p", { class: "device-message", role: "status", testid: "device-message", hidden: true });
  const join = h("button", { type: "submit", class: "button", testid: "device-join", autofocus: true }, "Join");
  const lobby = h("button", { type: "button", class: "button button-quiet", testid: "device-lobby" }, "Back to the lobby");
  const form = h(
    "form",
    { method: "dialog", class: "device-check-form" },
    h("h2", { id: "device-check-title" }, "Ready to join?"),
    h("p", { class: "device-space" }, spaceName),
    h(
      "div",
      { class: "device-body" },
      h("div", { class: "device-preview" }, preview, previewNote),
      h(
        "div",
        { class: "device-settings" },
        h("label", { for: "device-camera" }, "Camera"),
        cameraSelect,
        h("label", { for: "device-microphone" }, "Microphone"),
        micSelect,
        meter,
        h("label", { class: "device-toggle", for: "device-camera-off" }, cameraOff, " Join with camera off"),
        h("label", { class: "device-toggle", for: "device-muted" }, muted, " Join muted"),
      ),
    ),
    message,
    h("p", { class: "device-actions" }, lobby, join),
  );
  const dialog = h("dialog", { class: "device-check panel", testid: "device-check", aria: { labelledby: "device-check-title" } }, form);
  host.append(dialog);
  dialog.showModal();
  join.focus();

  // Capture what is switched on, on the chosen devices; stop what is switched off.
  function wanted(kind) {
    return kind === "video" ? !cameraOff.checked : !muted.checked;
  }

  function choice() {
    return { cameraId: cameraSelect.value || preferences.cameraId, microphoneId: micSelect.value || preferences.microphoneId };
  }

  function stopTrack(kind) {
    tracks[kind]?.stop();
    tracks[kind] = null;
  }

  async function capture(restart = []) {
    for (const kind of restart) stopTrack(kind);
    for (const kind of ["audio", "video"]) if (!wanted(kind)) stopTrack(kind);
    const missing = supported ? ["audio", "video"].filter((kind) => wanted(kind) && !tracks[kind] && !finished) : [];
    for (const kind of missing) {
      try {
        const stream = await mediaDevices.getUserMedia(constraintsFor([kind], choice()));
        const track = stream.getTracks()[0];
        if (finished || !wanted(kind)) track?.stop();
        else tracks[kind] = track ?? null;
        problems[kind] = null;
      } catch (error) {
        problems[kind] = REFUSED[error?.name] ?? "unavailable";
      }
    }
    if (missing.length) await listDevices();
    show();
  }

  function schedule(restart = []) {
    work = work.then(() => capture(restart)).catch((error) => console.warn("device check:", error));
  }

  async function listDevices() {
    let devices = [];
    try {
      devices = (await mediaDevices?.enumerateDevices?.()) ?? [];
    } catch {
      devices = [];
    }
    if (finished) return;
    fill(cameraSelect, deviceOptions(devices, "videoinput"), tracks.video?.getSettings?.().deviceId || preferences.cameraId);
    fill(micSelect, deviceOptions(devices, "audioinput"), tracks.audio?.getSettings?.().deviceId || preferences.microphoneId);
  }

  function fill(select, options, current) {
    const chosen = options.some((o) => o.value === current) ? current : (select.value || options[0]?.value || "");
    select.replaceChildren(...options.map((o) => h("option", { value: o.value }, o.label)));
    if (!options.length) select.append(h("option", { value: "" }, "None found"));
    select.disabled = !options.length;
    select.value = chosen;
  }

  function show() {
    const stream = new MediaStream([tracks.video].filter(Boolean));
    preview.srcObject = tracks.video ? stream : null;
    if (tracks.video) preview.play().catch(() => {});
    dialog.classList.toggle("camera-off", !tracks.video);
    previewNote.textContent = cameraOff.checked
      ? "Your camera stays off."
      : !supported
        ? "This browser can't use a camera here."
        : problems.video
          ? `Your camera is ${problems.video}.`
          : tracks.video
            ? ""
            : "Starting the camera…";
    levels.watch("mic", tracks.audio);
    meter.classList.toggle("off", !tracks.audio);
    const notes = [];
    if (problems.audio && !muted.checked) notes.push(`Your microphone is ${problems.audio}.`);
    message.textContent = notes.join(" ");
    message.hidden = !notes.length;
  }

  const meterTimer = setInterval(() => {
    if (!host.isConnected) return done(false); // the page went elsewhere
    const level = tracks.audio ? Math.min(100, Math.round(levels.level("mic") * 400)) : 0;
    meterBar.style.setProperty("width", `${level}%`);
    meter.setAttribute("aria-valuenow", String(level));
    meter.dataset.level = String(level);
  }, METER_INTERVAL_MS);

  cameraOff.addEventListener("change", () => schedule());
  muted.addEventListener("change", () => schedule());
  cameraSelect.addEventListener("change", () => schedule(["video"]));
  micSelect.addEventListener("change", () => schedule(["audio"]));
  dialog.addEventListener("pointerdown", () => levels.resume());
  const onDevices = () => listDevices();
  mediaDevices?.addEventListener?.("devicechange", onDevices);
  // Escape does not skip the check: Join or Back to the lobby.
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    done(true);
  });
  lobby.addEventListener("click", () => done(false));
  dialog.addEventListener("close", () => done(false));

  function done(joining) {
    if (finished) return;
    finished = true;
    clearInterval(meterTimer);
    levels.close();
    mediaDevices?.removeEventListener?.("devicechange", onDevices);
    preview.srcObject = null;
    const chosen = { cameraOff: cameraOff.checked, muted: muted.checked, ...choice() };
    const handed = [];
    for (const kind of ["audio", "video"]) {
      if (joining && tracks[kind] && wanted(kind)) handed.push(tracks[kind]);
      else tracks[kind]?.stop();
    }
    if (joining) savePreferences(storage, chosen);
    if (dialog.open) dialog.close();
    dialog.remove();
    finish(joining ? { preferences: chosen, tracks: handed } : null);
  }

  schedule();
  listDevices();
  show();
  return { result, cancel: () => done(false) };
}
