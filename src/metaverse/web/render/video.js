// Video tiles beside the map: my preview (muted) and one tile per peer in my call, each a
// `<video autoplay playsinline data-user-id=...>` captioned with the peer's name. A tile
// shows the peer's microphone and camera as they say they are (`data-muted`,
// `data-camera-off`, with icons), is outlined while they speak (`speaking`), and opens
// large over the map when clicked (the pinned view, with a fullscreen button).

import { h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";
// 24×24 strokes: a microphone, a camera, each crossed out.
const ICONS = {
  "mic-off": ["M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-6 0z", "M5 11a7 7 0 0 0 14 0", "M12 18v3", "M3 3l18 18"],
  "camera-off": ["M3 7h12v10H3z", "M15 10l6-3v10l-6-3", "M3 3l18 18"],
};

function icon(name, label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `tile-icon tile-icon-${name}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.dataset.testid = `tile-${name}`;
  for (const d of ICONS[name]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

function initial(name) {
  return (name.trim()[0] ?? "?").toUpperCase();
}

/**
 * @param {{onPin?: (userId: string) => void, onUnpin?: () => void}} [options]
 */
export function createVideoPanel({ onPin = () => {}, onUnpin = () => {} } = {}) {
  const grid = h("div", { class: "video-grid", testid: "video-tiles" });
  const root = h(
    "section",
    { class: "space-section videos", aria: { label: "Call" }, hidden: true, testid: "call-panel" },
    grid,
  );
  const tiles = new Map(); // userId → {figure, video, caption, unmute, avatar}
  const states = new Map(); // userId → {audio, video, screen}, kept until they leave the call
  let local = null;
  let pinnedId = null;

  // The pinned view: a second, muted element on the same stream (the tile keeps the sound).
  const bigVideo = h("video", { autoplay: true, playsinline: true, testid: "pinned-video" });
  bigVideo.muted = true;
  const bigName = h("span", { class: "pinned-name" });
  const fullscreen = h(
    "button",
    { type: "button", class: "button button-small", testid: "pinned-fullscreen", on: { click: () => toggleFullscreen() } },
    "Fullscreen",
  );
  const close = h(
    "button",
    { type: "button", class: "button button-quiet button-small", testid: "pinned-close", aria: { label: "Back to the map (Escape)" }, on: { click: () => onUnpin() } },
    "Back to the map",
  );
  const pinned = h(
    "section",
    { class: "video-pinned", testid: "pinned-view", hidden: true, aria: { label: "Large video" } },
    bigVideo,
    h("div", { class: "pinned-bar" }, bigName, h("span", { class: "pinned-actions" }, fullscreen, close)),
  );

  function toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else pinned.requestFullscreen?.().catch(() => {});
  }

  function refresh() {
    root.hidden = tiles.size === 0;
    grid.dataset.count = String(tiles.size + (local && !local.figure.hidden ? 1 : 0));
  }

  function play(tile) {
    tile.video.play().catch((error) => {
      // A newer stream replaced this one (AbortError): its own play() takes over. Autoplay
      // with sound refused (NotAllowedError, no user gesture yet): play muted and offer to
      // unmute.
      if (error?.name !== "NotAllowedError" || tile.video.muted) return;
      tile.video.muted = true;
      tile.unmute.hidden = false;
      tile.video.play().catch(() => {});
    });
  }

  function showState(userId) {
    const entry = tiles.get(userId);
    if (!entry) return;
    const media = states.get(userId) ?? { audio: true, video: true, screen: false };
    entry.figure.dataset.muted = String(!media.audio);
    entry.figure.dataset.cameraOff = String(!media.video);
    entry.figure.dataset.screen = String(Boolean(media.screen));
    entry.figure.classList.toggle("no-picture", !media.video && !media.screen);
    if (pinnedId === userId) {
      pinned.classList.toggle("no-picture", !media.video && !media.screen);
      bigName.textContent = pinnedName(userId);
    }
  }

  function pinnedName(userId) {
    const name = tiles.get(userId)?.caption.textContent ?? "";
    return states.get(userId)?.screen ? `${name} · shared screen` : name;
  }

  function showPinned() {
    const entry = pinnedId ? tiles.get(pinnedId) : null;
    for (const [id, tile] of tiles) tile.figure.classList.toggle("pinned", id === pinnedId);
    if (!entry) {
      pinned.hidden = true;
      delete pinned.dataset.userId;
      bigVideo.srcObject = null;
      if (document.fullscreenElement === pinned) document.exitFullscreen().catch(() => {});
      return;
    }
    pinned.hidden = false;
    pinned.dataset.userId = pinnedId;
    bigName.textContent = pinnedName(pinnedId);
    if (bigVideo.srcObject !== entry.video.srcObject) {
      bigVideo.srcObject = entry.video.srcObject;
      bigVideo.play().catch(() => {});
    }
    showState(pinnedId);
  }

  function tile(userId, name) {
    const video = h("video", { autoplay: true, playsinline: true, dataset: { userId }, testid: "remote-video" });
    const caption = h("figcaption", { class: "video-name" }, name);
    const avatar = h("span", { class: "video-avatar", aria: { hidden: "true" } }, initial(name));
    const unmute = h(
      "button",
      { type: "button", class: "button button-small video-unmute", hidden: true },
      "Unmute",
    );
    const figure = h(
      "figure",
      {
        class: "video-tile",
        testid: "video-tile",
        dataset: { userId, muted: "false", cameraOff: "false" },
        tabIndex: 0,
        role: "button",
        aria: { label: `Show ${name} large` },
        title: "Click to show large",
      },
      video,
      avatar,
      h("span", { class: "tile-icons" }, icon("mic-off", "Microphone off"), icon("camera-off", "Camera off")),
      caption,
      unmute,
    );
    const entry = { figure, video, caption, unmute, avatar };
    unmute.addEventListener("click", (event) => {
      event.stopPropagation();
      video.muted = false;
      unmute.hidden = true;
      play(entry);
    });
    figure.addEventListener("click", () => onPin(userId));
    figure.addEventListener("keydown", (event) => {
      if (event.target !== figure || (event.key !== "Enter" && event.key !== " ")) return;
      event.preventDefault();
      onPin(userId);
    });
    video.addEventListener("loadedmetadata", () => figure.classList.toggle("has-video", video.videoWidth > 0));
    video.addEventListener("resize", () => figure.classList.toggle("has-video", video.videoWidth > 0));
    return entry;
  }

  return {
    root,
    /** The large view, for the page to place over the map. */
    pinnedRoot: pinned,
    /** My own preview: always muted; hidden while not in a call. */
    setLocal(stream, { visible, cameraOn, micOn = true }) {
      if (!local) {
        const video = h("video", { autoplay: true, playsinline: true, testid: "local-video" });
        video.muted = true;
        const figure = h(
          "figure",
          { class: "video-tile video-local", testid: "local-tile" },
          video,
          h("span", { class: "video-avatar", aria: { hidden: "true" } }, "You"),
          h("span", { class: "tile-icons" }, icon("mic-off", "Microphone off"), icon("camera-off", "Camera off")),
          h("figcaption", { class: "video-name" }, "You"),
        );
        local = { figure, video };
        grid.prepend(figure);
      }
      if (local.video.srcObject !== stream) {
        local.video.srcObject = stream;
        if (stream) local.video.play().catch(() => {});
      }
      local.figure.hidden = !visible;
      local.figure.dataset.muted = String(!micOn);
      local.figure.dataset.cameraOff = String(!cameraOn);
      local.figure.classList.toggle("has-video", Boolean(stream && cameraOn));
      local.figure.classList.toggle("no-picture", !cameraOn);
      refresh();
    },
    setRemote(userId, stream, name) {
      let entry = tiles.get(userId);
      if (!entry) {
        entry = tile(userId, name);
        tiles.set(userId, entry);
        grid.append(entry.figure);
        showState(userId);
      }
      entry.caption.textContent = name;
      if (entry.video.srcObject !== stream) {
        entry.video.srcObject = stream;
        play(entry);
        if (pinnedId === userId) showPinned();
      }
      refresh();
    },
    /** What a peer says of its microphone, camera and screen (`media-state`). */
    setMediaState(userId, media) {
      states.set(userId, media);
      showState(userId);
    },
    setSpeaking(userId, speaking) {
      const entry = tiles.get(userId);
      if (entry && entry.figure.classList.contains("speaking") !== speaking) {
        entry.figure.classList.toggle("speaking", speaking);
        if (pinnedId === userId) pinned.classList.toggle("speaking", speaking);
      }
    },
    setLocalSpeaking(speaking) {
      if (local && local.figure.classList.contains("speaking") !== speaking) local.figure.classList.toggle("speaking", speaking);
    },
    /** Show `userId`'s video large (null: none). */
    setPinned(userId) {
      pinnedId = userId && tiles.has(userId) ? userId : null;
      showPinned();
      return pinnedId;
    },
    /** The remote stream of `userId` (for its sound level), or null. */
    streamOf(userId) {
      return tiles.get(userId)?.video.srcObject ?? null;
    },
    /** The peer connection's `connectionState`, on the tile as `data-connection`. */
    setState(userId, connection) {
      const entry = tiles.get(userId);
      if (entry) entry.figure.dataset.connection = connection;
    },
    setName(userId, name) {
      const entry = tiles.get(userId);
      if (!entry || entry.caption.textContent === name) return;
      entry.caption.textContent = name;
      entry.avatar.textContent = initial(name);
      entry.figure.setAttribute("aria-label", `Show ${name} large`);
      if (pinnedId === userId) bigName.textContent = pinnedName(userId);
    },
    removeRemote(userId) {
      const entry = tiles.get(userId);
      if (!entry) return;
      entry.video.srcObject = null;
      entry.figure.remove();
      tiles.delete(userId);
      states.delete(userId);
      if (pinnedId === userId) {
        pinnedId = null;
        showPinned();
      }
      refresh();
    },
    remoteIds() {
      return [...tiles.keys()];
    },
    clear() {
      for (const id of [...tiles.keys()]) this.removeRemote(id);
      if (local) local.video.srcObject = null;
    },
  };
}
