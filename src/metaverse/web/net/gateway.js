// The WebSocket connection to the gateway: join, unpack batches, send, and reconnect with
// backoff when the socket drops, except after a terminal error (bad token, replaced by
// another tab, forbidden or unknown space), where reconnecting cannot help. A reconnection
// asks to stand where the user stood (`resume`); a gateway that restarts (close 1012) is
// left for another at once, without waiting.
//
// It touches no DOM. The WebSocket class, timers and randomness are injected so that the
// reconnect logic runs under node's test runner with fakes.

import * as protocol from "../protocol.js";
import { backoffDelayMs } from "./backoff.js";

/** A joined socket that has not answered `join` within this is retried. */
export const JOIN_TIMEOUT_MS = 10_000;
/** The close code of a gateway that stops for a restart (it hands its spaces over first). */
export const SERVICE_RESTART = 1012;

/**
 * @param {object} options
 * @param {string} options.url the gateway URL (`config.gatewayUrl`)
 * @param {string} options.spaceId
 * @param {() => Promise<string>} options.accessToken a valid access token (api.accessToken)
 * @param {(frame: object) => void} options.onFrame each server frame, batches unpacked
 * @param {(status: {state: string, reason: string|null, attempt: number, retryInMs: number|null}) => void} options.onStatus
 * @param {() => object|null} [options.viewport] the viewport to join with, in tiles
 * @param {() => {x: number, y: number}|null} [options.resume] where to stand again on a reconnection
 */
export function createGateway({
  url,
  spaceId,
  accessToken,
  onFrame,
  onStatus = () => {},
  viewport = () => null,
  resume = () => null,
  WebSocketImpl = globalThis.WebSocket,
  timers = globalThis,
  random = Math.random,
}) {
  let socket = null;
  let joined = false;
  let everJoined = false;
  let stopped = false;
  let attempt = 0;
  let retryTimer = null;
  let joinTimer = null;
  let terminal = null;
  let status = { state: "connecting", reason: null, attempt: 0, retryInMs: null };

  function setStatus(next) {
    status = { ...status, ...next };
    onStatus(status);
  }

  async function connect() {
    retryTimer = null;
    if (stopped) return;
    setStatus({ state: attempt === 0 ? "connecting" : "reconnecting", retryInMs: null });
    let token;
    try {
      token = await accessToken();
    } catch (error) {
      if (stopped) return;
      if (error?.status === 401 || error?.status === 403) return finish("invalid_token");
      return scheduleRetry();
    }
    if (stopped) return;
    let ws;
    try {
      ws = new WebSocketImpl(url);
    } catch {
      return scheduleRetry();
    }
    socket = ws;
    terminal = null;
    ws.onopen = () => {
      if (ws !== socket) return;
      const at = everJoined ? resume() : null;
      ws.send(protocol.encode(protocol.join({ spaceId, token, viewport: viewport(), resume: at })));
      joinTimer = timers.setTimeout(() => ws.close(4000, "join timed out"), JOIN_TIMEOUT_MS);
    };
    ws.onmessage = (event) => {
      if (ws !== socket || typeof event.data !== "string") return;
      const frame = protocol.decode(event.data);
      if (!frame) return;
      for (const f of protocol.unbatch(frame)) receive(f);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      const wasJoined = joined;
      joined = false;
      timers.clearTimeout(joinTimer);
      if (stopped) return;
      if (wasJoined) onFrame({ type: "client/disconnected", payload: {} });
      const reason = terminal ?? protocol.terminalCloseReason(event.code);
      if (reason) return finish(reason);
      if (event.code === SERVICE_RESTART && attempt === 0) {
        // The gateway is draining: another one takes this user at once (and if the next
        // try lands on a gateway that is restarting too, the backoff applies).
        attempt = 1;
        setStatus({ state: "reconnecting", attempt: 0, retryInMs: 0 });
        retryTimer = timers.setTimeout(connect, 0);
        return;
      }
      scheduleRetry();
    };
    ws.onerror = () => {}; // a close event always follows
  }

  function receive(frame) {
    if (frame.type === "space-joined") {
      joined = true;
      everJoined = true;
      attempt = 0;
      timers.clearTimeout(joinTimer);
      setStatus({ state: "connected", reason: null, attempt: 0 });
    } else if (frame.type === "error" && frame.payload.code in protocol.TERMINAL_ERRORS) {
      terminal = frame.payload.code; // the server closes the socket right after
    }
    onFrame(frame);
  }

  function scheduleRetry() {
    if (stopped) return;
    const delay = backoffDelayMs(attempt, random);
    attempt += 1;
    setStatus({ state: "reconnecting", attempt, retryInMs: delay });
    retryTimer = timers.setTimeout(connect, delay);
  }

  function finish(reason) {
    stopped = true;
    setStatus({ state: "closed", reason, retryInMs: null });
  }

  return {
    start() {
      connect();
    },
    get status() {
      return status;
    },
    get joined() {
      return joined;
    },
    /** Send a client frame; false when not joined (the frame is dropped). */
    send(frame) {
      if (!joined || !socket) return false;
      socket.send(protocol.encode(frame));
      return true;
    },
    /** Reconnect now instead of waiting for the backoff (e.g. the browser came online). */
    retryNow() {
      if (stopped || !retryTimer) return;
      timers.clearTimeout(retryTimer);
      connect();
    },
    /** Close for good: no reconnect. */
    stop() {
      stopped = true;
      timers.clearTimeout(retryTimer);
      timers.clearTimeout(joinTimer);
      const ws = socket;
      socket = null;
      joined = false;
      if (ws) {
        try {
          ws.close(1000, "left the space");
        } catch {
          // already closing
        }
      }
    },
  };
}
