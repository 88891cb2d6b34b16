// Video tiles beside the map: my preview (muted) and one tile per peer in my call, each a
// `<video autoplay playsinline data-user-id=...>` captioned with the peer's name.

import { h } from "../dom.js";

export function createVideoPanel() {
  const grid = h("div", { class: "video-grid", testid: "video-tiles" });
  const root = h(
    "section",
    { class: "space-section videos", aria: { label: "Call" }, hidden: true, testid: "call-panel" },
    grid,
  );
  const tiles = new Map(); // userId → {figure, video, caption, unmute}
  let local = null;

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

  function tile(userId, name) {
    const video = h("video", { autoplay: true, playsinline: true, dataset: { userId }, testid: "remote-video" });
    const caption = h("figcaption", { class: "video-name" }, name);
    const unmute = h(
      "button",
      { type: "button", class: "button button-small video-unmute", hidden: true },
      "Unmute",
    );
    const figure = h("figure", { class: "video-tile", testid: "video-tile", dataset: { userId } }, video, caption, unmute);
    const entry = { figure, video, caption, unmute };
    unmute.addEventListener("click", () => {
      video.muted = false;
      unmute.hidden = true;
      play(entry);
    });
    video.addEventListener("loadedmetadata", () => figure.classList.toggle("has-video", video.videoWidth > 0));
    video.addEventListener("resize", () => figure.classList.toggle("has-video", video.videoWidth > 0));
    return entry;
  }

  return {
    root,
    /** My own preview: always muted; hidden while not in a call. */
    setLocal(stream, { visible, cameraOn }) {
      if (!local) {
        const video = h("video", { autoplay: true, playsinline: true, testid: "local-video" });
        video.muted = true;
        const figure = h(
          "figure",
          { class: "video-tile video-local", testid: "local-tile" },
          video,
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
      local.figure.classList.toggle("has-video", Boolean(stream && cameraOn));
      refresh();
    },
    setRemote(userId, stream, name) {
      let entry = tiles.get(userId);
      if (!entry) {
        entry = tile(userId, name);
        tiles.set(userId, entry);
        grid.append(entry.figure);
      }
      entry.caption.textContent = name;
      if (entry.video.srcObject !== stream) {
        entry.video.srcObject = stream;
        play(entry);
      }
      refresh();
    },
    /** The peer connection's `connectionState`, on the tile as `data-connection`. */
    setState(userId, connection) {
      const entry = tiles.get(userId);
      if (entry) entry.figure.dataset.connection = connection;
    },
    setName(userId, name) {
      const entry = tiles.get(userId);
      if (entry && entry.caption.textContent !== name) entry.caption.textContent = name;
    },
    removeRemote(userId) {
      const entry = tiles.get(userId);
      if (!entry) return;
      entry.video.srcObject = null;
      entry.figure.remove();
      tiles.delete(userId);
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
