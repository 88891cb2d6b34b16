// The space screen: the entry module that wires the pure state, the gateway connection,
// the canvas world, the panels and the call mesh together, and releases all of it on
// unmount. mountSpace(root, {spaceId, api, config, navigate}) → {unmount()}.

import * as protocol from "../protocol.js";
import { createScope, h, replace } from "../dom.js";
import { createGateway } from "../net/gateway.js";
import { createChatPanel } from "../render/chat.js";
import { createPeoplePanel } from "../render/people.js";
import { createProfileDialog } from "../render/profile-dialog.js";
import { createBanner, createNotices, createToolbar, terminalView } from "../render/toolbar.js";
import { createVideoPanel } from "../render/video.js";
import { createWorld, displayName } from "../render/world.js";
import { createLocalMedia } from "../rtc/media.js";
import { createMesh } from "../rtc/mesh.js";
import { constraintsFor } from "../rtc/devices.js";
import { buildGrid, isFree } from "../state/grid.js";
import { initialState, predictMove, reduce } from "../state/space.js";
import { createChatController } from "./chat.js";
import { createCallView } from "./call-view.js";
import { openDeviceCheck } from "./device-check.js";
import { createFinder } from "./finder.js";
import { createWalker } from "./keyboard.js";

const STYLESHEET = "/web/space/space.css";
/** Viewport frames are sent at most this often while the camera glides. */
const VIEWPORT_MIN_MS = 100;
/** How long the whole space is asked for before finding someone, before the view again. */
const SEE_EVERYONE_MS = 1000;
/** How long a call lost with the connection is kept, waiting for it to come back. */
const RESUME_GRACE_MS = 8000;

function addStylesheet() {
  const existing = document.querySelector(`link[href="${STYLESHEET}"]`);
  if (existing) return () => {};
  const link = h("link", { rel: "stylesheet", href: STYLESHEET, testid: "space-stylesheet" });
  document.head.append(link);
  return () => link.remove();
}

export async function mountSpace(root, { spaceId, api, config, navigate, me: profile = null, refreshUser = null }) {
  const scope = createScope();
  scope.add(addStylesheet());
  root.classList.add("space-root");
  const stage = h("div", { class: "space-stage" });
  const layout = h("div", { class: "space", testid: "space-screen", dataset: { spaceId, connection: "connecting" } }, stage);
  replace(root, layout);
  replace(stage, h("p", { class: "space-loading", testid: "space-loading" }, "Opening the space…"));

  let space;
  try {
    [space, profile] = await Promise.all([api.get(`/space/${encodeURIComponent(spaceId)}`), profile ?? api.me()]);
  } catch (error) {
    const reason = error?.status === 403 ? "forbidden" : error?.status === 400 || error?.status === 404 ? "unknown_space" : "load_failed";
    const view = terminalView(reason, { onLobby: () => navigate("/"), detail: reason === "load_failed" ? error.message : "" });
    view.classList.add("space-terminal-page");
    replace(layout, view);
    return { unmount: () => scope.dispose() };
  }
  // Consent first: nothing is captured, and nobody sees me, before "Join".
  const check = openDeviceCheck(layout, { spaceName: space.name });
  scope.add(() => check.cancel());
  const devices = await check.result;
  if (!devices) {
    if (root.isConnected) navigate("/");
    return { unmount: () => scope.dispose() };
  }
  return build(root, layout, stage, { space, profile, spaceId, api, config, navigate, refreshUser, scope, devices });
}

function build(root, layout, stage, { space, profile, spaceId, api, config, navigate, refreshUser, scope, devices }) {
  const grid = buildGrid(space);
  let state = reduce(initialState({ spaceId, grid }), { type: "client/profile", payload: profile });
  let gateway = null;
  let renderQueued = false;
  let lastViewportSent = 0;
  let viewportTimer = null;
  let unmounted = false;
  let meshGrace = null;

  // DOM.
  const canvas = h("canvas", {
    class: "space-canvas",
    testid: "space-canvas",
    tabIndex: 0,
    role: "application",
    aria: {
      label: `Map of ${space.name}. Arrow keys or W A S D walk; Enter opens the chat.`,
      roledescription: "map",
    },
  });
  const banner = createBanner();
  const notices = createNotices();
  const toolbar = createToolbar({
    name: space.name,
    onLobby: () => navigate("/"),
    onStatus: setStatus,
    onMic: () => media.toggleMic(),
    onCamera: () => media.toggleCamera(),
    onShare: () => media.toggleShare().catch((error) => notices.show("share", `Screen sharing did not start: ${error.message}`)),
  });
  const videos = createVideoPanel({ onPin: (userId) => callView.pin(userId), onUnpin: () => callView.unpin() });
  let avatars = null;
  const profileDialog = createProfileDialog({
    loadAvatars: async () => (avatars ??= (await api.get("/avatars")).avatars),
    async onSave(changes) {
      const saved = await api.patch("/user/me", changes);
      // The gateway's `profile` frame says it to everyone; this shows it here even before.
      dispatch({ type: "client/profile", payload: saved });
      refreshUser?.();
    },
  });
  scope.add(() => profileDialog.close());
  const people = createPeoplePanel({
    onEditProfile: () => profileDialog.open(state.me),
    onMessage: (userId) => chat.actions.pickDirect(userId),
    onFind(action, userId) {
      if (action !== "wave") seeEveryone();
      if (action === "locate") world.locate(userId);
      else if (action === "walkTo") finder.walkToUser(userId);
      else if (action === "follow") finder.follow(userId);
      else if (action === "wave" && !gateway?.send(protocol.wave(userId))) {
        notices.show("wave", "Not connected: the wave did not go out.");
      }
      canvas.focus({ preventScroll: true });
    },
  });
  const chat = createChatController({
    spaceId,
    api,
    gateway: () => gateway,
    getState: () => state,
    dispatch,
    notify: (text) => notices.show("chat", text),
  });
  const chatPanel = createChatPanel(chat.actions);
  const minimap = h("canvas", { class: "space-minimap", testid: "minimap", aria: { hidden: "true" } });
  const zoomLabel = h("span", { class: "space-zoom-level", testid: "zoom-level" }, "100%");
  const zoomBy = (steps) => {
    zoomLabel.textContent = `${Math.round(world.zoomBy(steps) * 100)}%`;
  };
  const zoomControls = h(
    "div",
    { class: "space-zoom", role: "group", aria: { label: "Zoom" } },
    h("button", { type: "button", class: "button button-small", aria: { label: "Zoom out" }, on: { click: () => zoomBy(-1) } }, "−"),
    zoomLabel,
    h("button", { type: "button", class: "button button-small", aria: { label: "Zoom in" }, on: { click: () => zoomBy(1) } }, "+"),
  );
  replace(stage, canvas, banner.root, notices.root, h("div", { class: "space-map-tools" }, zoomControls, minimap));
  replace(
    layout,
    toolbar.root,
    h("div", { class: "space-main" }, stage, h("aside", { class: "space-side", aria: { label: "People and chat" } }, videos.root, people.root, chatPanel.root)),
  );

  canvas.after(videos.pinnedRoot); // the large video covers the map

  // The world.
  const world = createWorld(canvas, { space, grid, onViewport: sendViewport, minimap });
  scope.on(
    canvas,
    "wheel",
    (event) => {
      if (!event.ctrlKey) return;
      event.preventDefault(); // Ctrl+wheel zooms the map, not the page
      zoomBy(event.deltaY < 0 ? 1 : -1);
    },
    { passive: false },
  );
  scope.on(canvas, "pointermove", (event) => world.hover(world.cellAt(event.offsetX, event.offsetY)));
  scope.on(canvas, "pointerleave", () => world.hover(null));
  scope.add(() => world.destroy());
  scope.add(() => clearTimeout(viewportTimer));
  scope.add(() => clearTimeout(meshGrace));
  scope.on(canvas, "pointerdown", () => canvas.focus());

  // Media and the call.
  let callView = null;
  const media = createLocalMedia({
    preferences: devices.preferences,
    constraints: (kinds) => constraintsFor(kinds, devices.preferences),
    onChange(mediaState) {
      toolbar.setMedia(mediaState);
      if (mediaState.message) notices.show("media", mediaState.message);
      showLocal();
      callView?.mediaChanged();
    },
  });
  media.adopt(devices.tracks);
  toolbar.setMedia(media.state);
  const mesh = createMesh({
    media,
    iceServers: () => api.get("/rtc/ice-servers"),
    send: (to, data) => gateway?.send(protocol.signal(to, data)),
    onRemote(userId, stream, info) {
      if (!info) {
        callView.peerGone(userId);
        return videos.removeRemote(userId);
      }
      videos.setRemote(userId, stream, nameOf(userId));
    },
    onPeerState: (userId, connection) => videos.setState(userId, connection),
    onError: (error) => console.warn("call:", error),
  });
  callView = createCallView({
    videos,
    media,
    send: (frame) => Boolean(gateway?.send(frame)),
    inCall: () => Boolean(state.joined && state.call && Object.keys(state.call.peers).length),
  });
  scope.add(() => {
    callView.close();
    mesh.close();
    media.stop();
    videos.clear();
  });

  function showLocal() {
    const inCall = Boolean(state.call && Object.keys(state.call.peers).length);
    videos.setLocal(media.stream, { visible: inCall, cameraOn: media.state.cameraOn, micOn: media.state.micOn });
  }

  // Walking.
  function walkStep(dx, dy) {
    const target = predictMove(state, dx, dy);
    if (!target || !gateway?.send(protocol.move(target.x, target.y))) return false;
    dispatch({ type: "client/move", payload: target });
    return true;
  }
  const walker = createWalker({
    step: walkStep,
    focusChat: () => chatPanel.focusInput(),
    leaveChat: () => canvas.focus(),
    isChatInput: (el) => el === chatPanel.input,
  });
  scope.on(window, "keydown", (event) => {
    if (!root.isConnected) return;
    finder.cancel(); // any key press ends walking by itself
    if (layout.contains(event.target) || event.target === document.body) walker.onKeyDown(event);
  });

  // Walking by itself: to a clicked cell, next to someone, or behind them.
  const finder = createFinder({
    getState: () => state,
    step: (dx, dy) => walkStep(dx, dy),
    onChange(job) {
      layout.dataset.walking = job ? job.kind : "";
    },
  });
  scope.add(() => finder.cancel());
  scope.on(canvas, "click", (event) => {
    const cell = world.cellAt(event.offsetX, event.offsetY);
    if (cell && isFree(state.grid, cell.x, cell.y)) finder.walkTo(cell);
  });
  scope.on(window, "keyup", (event) => walker.onKeyUp(event));
  scope.on(window, "blur", () => walker.reset());
  scope.add(() => walker.dispose());

  // The connection.
  function connect() {
    gateway = createGateway({
      url: config?.gatewayUrl ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.hostname}:3001/ws`,
      spaceId,
      accessToken: () => api.accessToken(),
      viewport: () => world.viewport,
      resume: () => (state.me && Number.isInteger(state.me.x) ? { x: state.me.x, y: state.me.y } : null),
      onFrame: receive,
      onStatus: connectionChanged,
    });
    gateway.start();
  }
  scope.add(() => gateway?.stop());
  scope.on(window, "online", () => gateway?.retryNow());

  function receive(frame) {
    if (frame.type === "video-call-signaling") {
      mesh.signal(frame.payload.from, frame.payload.data);
      return;
    }
    if (frame.type === "error" && !(frame.payload.code in protocol.TERMINAL_ERRORS)) {
      console.warn("gateway error:", frame.payload.code, frame.payload.message);
    }
    if (frame.type === "map-changed") {
      const next = buildGrid({ dimensions: `${state.grid.width}x${state.grid.height}`, ...frame.payload });
      world.setLayout(frame.payload.elements, next);
      dispatch({ type: "client/grid", payload: { grid: next } });
      return;
    }
    if (frame.type === "space-connection") {
      // Connected to a gateway that can't reach the space's host (Redis is away).
      banner.update({ state: frame.payload.state === "reconnecting" ? "reconnecting" : "connected", attempt: 0 });
      layout.dataset.spaceConnection = frame.payload.state;
      return;
    }
    if (frame.type === "wave") {
      const name = frame.payload.name || nameOf(frame.payload.from);
      notices.show("wave", `${name} waves at you`, "info");
      chime();
      return;
    }
    if (frame.type === "chat-gap") {
      chat.fillGap(frame.payload.since);
      return;
    }
    if (callView.receive(frame)) return;
    if ((frame.type === "status" || frame.type === "profile") && frame.payload.userId === state.me?.userId && refreshUser) {
      // The top bar shows my status too; the gateway stores it just after echoing it.
      scope.timeout(() => refreshUser(), 500);
    }
    dispatch(frame);
  }

  function connectionChanged(status) {
    layout.dataset.connection = status.state;
    banner.update(status);
    if (status.state !== "closed") return;
    mesh.sync(null);
    if (status.reason === "invalid_token") {
      navigate(`/login?next=${encodeURIComponent(`/spaces/${spaceId}`)}`);
      return;
    }
    const overlay = terminalView(status.reason, {
      onLobby: () => navigate("/"),
      onRejoin:
        status.reason === "replaced"
          ? () => {
              overlay.remove();
              connect();
            }
          : null,
    });
    stage.append(overlay);
  }

  /**
   * With an area of interest, where people outside the view stand is only known from when
   * they left it. Before finding someone, ask once for the whole space (the gateway answers
   * with `interest-enter` for everyone, where they are now); the camera's next view narrows
   * it again.
   */
  function seeEveryone() {
    if (gateway?.send(protocol.viewport({ x: 0, y: 0, width: grid.width, height: grid.height }))) {
      lastViewportSent = performance.now();
      scope.timeout(() => world.viewport && sendViewport(world.viewport), SEE_EVERYONE_MS);
    }
  }

  function sendViewport(rect) {
    dispatch({ type: "client/viewport", payload: rect });
    canvas.dataset.view = `${rect.x},${rect.y},${rect.width},${rect.height}`; // the tiles shown
    const wait = lastViewportSent + VIEWPORT_MIN_MS - performance.now();
    if (viewportTimer) return;
    if (wait > 0) {
      viewportTimer = setTimeout(() => {
        viewportTimer = null;
        sendViewport(world.viewport);
      }, wait);
      return;
    }
    if (gateway?.send(protocol.viewport(rect))) lastViewportSent = performance.now();
  }

  function setStatus(value) {
    if (!gateway?.send(protocol.status(value, state.me?.statusText ?? ""))) {
      toolbar.setStatus(state.me?.status ?? "available");
      notices.show("status", "Not connected: your status will change once the connection is back.");
    }
  }

  // State and drawing.
  function dispatch(action) {
    const next = reduce(state, action);
    state = next;
    syncMesh(action.type);
    if (!renderQueued) {
      renderQueued = true;
      queueMicrotask(render);
    }
  }

  /**
   * The mesh follows the call at once: a signal in the same batch as the call event that
   * announced its sender must find that peer's connection already there. But a call that
   * vanishes because the connection dropped, or because a new `space-joined` starts the
   * picture afresh (a gateway restarted and this user resumed through another), is kept
   * for RESUME_GRACE_MS: when the same call comes back, its peer connections (and the
   * media, which is peer to peer) never stopped.
   */
  function syncMesh(type) {
    const call = state.joined ? state.call : null;
    if (call) {
      clearTimeout(meshGrace);
      meshGrace = null;
      mesh.sync(call);
      return;
    }
    if (type === "client/disconnected" || type === "space-joined") {
      meshGrace ??= setTimeout(() => {
        meshGrace = null;
        if (!(state.joined && state.call)) mesh.sync(null);
      }, RESUME_GRACE_MS);
      return;
    }
    if (type === "call-left") {
      clearTimeout(meshGrace);
      meshGrace = null;
    } else if (meshGrace) {
      return; // the grace decides
    }
    mesh.sync(null);
  }

  function nameOf(userId) {
    const user = state.users[userId];
    return user ? displayName(user) : "Someone";
  }

  function render() {
    renderQueued = false;
    if (unmounted) return;
    world.update(state);
    people.update(state);
    toolbar.setStatus(state.me?.status ?? "available");
    for (const userId of videos.remoteIds()) videos.setName(userId, nameOf(userId));
    showLocal();
    if (state.callFull) notices.show("call-full", "The call nearby is full: you will join when a place frees up.", "info");
    else notices.hide("call-full");
    chat.follow();
    const area = chat.currentArea();
    const directPeople = directPeopleOf(state);
    chatPanel.update({
      chat: state.chat,
      me: state.me,
      users: state.users,
      rooms: chat.rooms,
      area,
      directPeople,
      canSend: Boolean(state.chat.active),
      placeholder: placeholderFor(state.chat, area, chat.rooms, directPeople),
    });
    // Test and debugging hooks: where I am, and who I am in a call with.
    canvas.dataset.userId = state.me?.userId ?? "";
    canvas.dataset.x = String(state.me?.x ?? "");
    canvas.dataset.y = String(state.me?.y ?? "");
    layout.dataset.callId = state.call?.callId ?? "";
    layout.dataset.callPeers = Object.keys(state.call?.peers ?? {}).sort().join(" ");
  }

  connect();
  render();
  canvas.focus({ preventScroll: true });

  return {
    unmount() {
      if (unmounted) return;
      unmounted = true;
      scope.dispose();
      root.classList.remove("space-root");
      replace(root);
    },
  };
}

/** A short two-note chime for a wave (Web Audio; silent where audio can't start). */
function chime() {
  try {
    const audio = new AudioContext();
    const now = audio.currentTime;
    for (const [offset, hz] of [
      [0, 660],
      [0.15, 880],
    ]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.3);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.32);
    }
    setTimeout(() => audio.close(), 800);
  } catch {
    // no audio: the notice is enough
  }
}

/** The people a direct message can go to: everyone here, and anyone I have a conversation with. */
function directPeopleOf(state) {
  const people = new Map(Object.values(state.users).map((u) => [u.userId, u]));
  for (const [key, messages] of Object.entries(state.chat.conversations)) {
    if (!key.startsWith("direct:")) continue;
    const userId = key.slice(7);
    if (people.has(userId) || !userId) continue;
    const theirs = messages.find((m) => m.from.userId === userId);
    people.set(userId, { userId, username: theirs?.from.username || "Someone", displayName: null });
  }
  return [...people.values()].sort((a, b) => displayName(a).localeCompare(displayName(b)));
}

function placeholderFor(chat, area, rooms, people) {
  const active = chat.active ?? "";
  if (active === "nearby") return "Message people nearby";
  if (active === "space") return "Message everyone in the space";
  if (active.startsWith("area:")) return `Message everyone in ${area ?? active.slice(5)}`;
  if (active.startsWith("room:")) return `Message # ${rooms.find((r) => `room:${r.id}` === active)?.name ?? "room"}`;
  if (active.startsWith("direct:")) {
    const person = people.find((p) => `direct:${p.userId}` === active);
    return `Message ${person ? displayName(person) : "them"}`;
  }
  return chat.tab === "area" ? "Walk into an area to chat there" : chat.tab === "rooms" ? "Choose a room first" : "Choose someone first";
}
