// The bar above the map (back to the lobby, the space's name, status selector, microphone,
// camera and screen-share toggles), the connection banner over the map, notices, and the
// screen shown when the space can't be entered.

import { h, replace } from "../dom.js";
import { STATUS_LABELS, STATUSES } from "../protocol.js";

export function createToolbar({ name, onLobby, onStatus, onMic, onCamera, onShare }) {
  const status = h(
    "select",
    { id: "space-status", testid: "status-select", on: { change: (e) => onStatus(e.target.value) } },
    STATUSES.map((s) => h("option", { value: s }, STATUS_LABELS[s])),
  );
  const toggle = (testid, label, handler) =>
    h(
      "button",
      {
        type: "button",
        class: "button button-quiet media-toggle",
        testid,
        aria: { pressed: "false" },
        disabled: true,
        on: { click: handler },
      },
      h("span", { class: "media-icon", "aria-hidden": "true" }),
      h("span", { class: "media-label" }, label),
    );
  const mic = toggle("mic-toggle", "Mute", onMic);
  const camera = toggle("camera-toggle", "Camera off", onCamera);
  const share = toggle("share-toggle", "Share screen", onShare);
  // On a phone-sized screen the controls fold into a menu that this button opens.
  const menu = h(
    "button",
    {
      type: "button",
      class: "button button-quiet button-small space-menu-toggle",
      testid: "space-menu",
      aria: { expanded: "false", controls: "space-controls" },
      on: {
        click: () => {
          const open = menu.getAttribute("aria-expanded") !== "true";
          menu.setAttribute("aria-expanded", String(open));
          root.classList.toggle("space-bar-open", open);
        },
      },
    },
    "☰ Menu",
  );
  const root = h(
    "div",
    { class: "space-bar", testid: "space-bar" },
    h(
      "button",
      { type: "button", class: "button button-quiet button-small", testid: "back-to-lobby", on: { click: onLobby } },
      "← Lobby",
    ),
    h("h1", { class: "space-title", testid: "space-title" }, name),
    menu,
    h(
      "div",
      { class: "space-controls", id: "space-controls", testid: "space-controls" },
      h("label", { for: "space-status", class: "space-control-label" }, "Status"),
      status,
      h("div", { class: "media-controls", role: "group", aria: { label: "Camera and microphone" } }, mic, camera, share),
    ),
  );

  // Toggle buttons keep their label; `aria-pressed` (and its red look) says the state:
  // "Mute" pressed = muted, "Camera off" pressed = camera off, "Share screen" pressed = sharing.
  function setToggle(button, { available, pressed }) {
    button.disabled = !available;
    button.setAttribute("aria-pressed", String(pressed));
  }

  return {
    root,
    setStatus(value) {
      if (status.value !== value) status.value = value;
    },
    /** {audio, video, micOn, cameraOn, sharing, canShare} from the local media. */
    setMedia(media) {
      // Before the first call (or without a device) the toggles are off, not "pressed".
      setToggle(mic, { available: media.audio, pressed: media.audio && !media.micOn });
      setToggle(camera, { available: media.video, pressed: media.video && !media.cameraOn });
      setToggle(share, { available: media.canShare, pressed: media.sharing });
    },
  };
}

/** The connection banner over the map: hidden while connected. */
export function createBanner() {
  const root = h("div", { class: "space-banner", role: "status", testid: "connection-banner", hidden: true });
  return {
    root,
    update({ state, attempt }) {
      root.dataset.state = state;
      if (state === "connected" || state === "closed") {
        root.hidden = true;
        return;
      }
      root.hidden = false;
      root.textContent = state === "connecting" ? "Connecting…" : attempt > 1 ? `Reconnecting… (attempt ${attempt})` : "Reconnecting…";
    },
  };
}

/** Passing notices (camera refused, call full…), each with a dismiss button. */
export function createNotices() {
  const root = h("div", { class: "space-notices", testid: "space-notices", aria: { live: "polite" } });
  const shown = new Map();
  const notices = {
    root,
    show(key, text, kind = "warn") {
      shown.get(key)?.remove();
      const item = h(
        "div",
        { class: `notice notice-${kind} space-notice`, testid: `notice-${key}` },
        h("span", {}, text),
        h(
          "button",
          { type: "button", class: "button button-quiet button-small", aria: { label: "Dismiss" }, on: { click: () => notices.hide(key) } },
          "×",
        ),
      );
      shown.set(key, item);
      root.append(item);
    },
    hide(key) {
      shown.get(key)?.remove();
      shown.delete(key);
    },
  };
  return notices;
}

const TERMINAL_TEXT = {
  replaced: ["Opened in another tab", "This space is open in another tab or window, so this one stopped. Close the other one, or come back here."],
  forbidden: ["This space is private", "Only its members can enter. Ask its owner to add you."],
  unknown_space: ["No such space", "This space does not exist, or it was deleted."],
  space_deleted: ["This space was deleted", "Its owner deleted it while you were here."],
  access_revoked: ["You can no longer enter this space", "It is private now, and you are not one of its members."],
  invalid_token: ["Signed out", "Your session ended. Sign in again to enter the space."],
  account_disabled: ["Signed out", "A platform admin disabled your account, so you were signed out everywhere."],
  load_failed: ["The space could not be opened", ""],
};

/** What replaces the map when the space can't be entered (any more). */
export function terminalView(reason, { onLobby, onRejoin, detail }) {
  const [title, text] = TERMINAL_TEXT[reason] ?? ["Disconnected", "The connection to the space ended."];
  return h(
    "section",
    { class: "panel space-terminal", role: "alert", testid: "space-error", dataset: { reason } },
    h("h2", {}, title),
    h("p", {}, detail || text),
    h(
      "p",
      { class: "space-terminal-actions" },
      h("a", { href: "/", class: "button", testid: "space-error-lobby", on: { click: (e) => (e.preventDefault(), onLobby()) } }, "Back to the lobby"),
      onRejoin
        ? h("button", { type: "button", class: "button button-quiet", testid: "space-rejoin", on: { click: onRejoin } }, "Use this tab instead")
        : null,
    ),
  );
}

export function replaceWith(el, node) {
  replace(el, node);
}
