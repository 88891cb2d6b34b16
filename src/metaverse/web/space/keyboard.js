// Walking with the keyboard: arrow keys and WASD move one cell per press. A key held for
// REPEAT_DELAY_MS (so a tap is always exactly one step) then repeats at STEPS_PER_S, well
// under the server's 20 moves a second. Keys are taken only while no text field is focused. Enter goes to the chat input; Escape leaves it.

/** Steps per second while a key is held. */
export const STEPS_PER_S = 8;
export const REPEAT_MS = 1000 / STEPS_PER_S;
/** How long a key must be held before it repeats: longer than any tap. */
export const REPEAT_DELAY_MS = 300;
/** Separate presses are never sent closer together than this (20 a second at most). */
export const MIN_STEP_MS = 60;
const MAX_QUEUED = 4;

export const DIRECTIONS = Object.freeze({
  ArrowUp: [0, -1],
  ArrowDown: [0, 1],
  ArrowLeft: [-1, 0],
  ArrowRight: [1, 0],
  w: [0, -1],
  s: [0, 1],
  a: [-1, 0],
  d: [1, 0],
});

/** The direction a key means, or null. Pure. */
export function directionOf(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  const key = event.key?.length === 1 ? event.key.toLowerCase() : event.key;
  return DIRECTIONS[key] ?? null;
}

/** Whether keys pressed in `element` belong to it (text fields, selects, the tab list, the chat log) rather than to walking. */
export function ownsKeys(element) {
  if (!element) return false;
  const tag = element.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable) return true;
  if (tag === "INPUT") {
    return !["button", "checkbox", "radio", "submit", "reset", "range", "color", "file"].includes(element.type);
  }
  return Boolean(element.closest?.('[role="tablist"], .chat-log'));
}

/**
 * @param {{step: (dx, dy) => boolean, focusChat: () => void, leaveChat: () => void, isChatInput: (el) => boolean, now: () => number}} options
 * @returns {{onKeyDown, onKeyUp, reset, dispose}}
 */
export function createWalker({ step, focusChat, leaveChat, isChatInput, now = () => performance.now(), timers = globalThis }) {
  const held = []; // directions held, most recent last
  let repeat = null;
  let pressedAt = -Infinity;
  let lastStepAt = -Infinity;
  const queue = [];
  let queueTimer = null;

  function stepNow(direction) {
    lastStepAt = now();
    step(direction[0], direction[1]);
  }

  function request(direction) {
    const wait = lastStepAt + MIN_STEP_MS - now();
    if (wait <= 0 && queue.length === 0) {
      stepNow(direction);
      return;
    }
    if (queue.length < MAX_QUEUED) queue.push(direction);
    queueTimer ??= timers.setTimeout(drain, Math.max(0, wait));
  }

  function drain() {
    queueTimer = null;
    const direction = queue.shift();
    if (direction) stepNow(direction);
    if (queue.length) queueTimer = timers.setTimeout(drain, MIN_STEP_MS);
  }

  function startRepeat() {
    if (repeat) return;
    repeat = timers.setInterval(() => {
      const direction = held.at(-1);
      if (!direction) return stopRepeat();
      const at = now();
      if (at - pressedAt >= REPEAT_DELAY_MS && at - lastStepAt >= REPEAT_MS - 5) stepNow(direction);
    }, REPEAT_MS);
  }

  function stopRepeat() {
    if (repeat) timers.clearInterval(repeat);
    repeat = null;
  }

  function reset() {
    held.length = 0;
    queue.length = 0;
    stopRepeat();
    if (queueTimer) timers.clearTimeout(queueTimer);
    queueTimer = null;
  }

  return {
    onKeyDown(event) {
      const target = event.target;
      if (event.key === "Escape" && isChatInput(target)) {
        event.preventDefault();
        leaveChat();
        return;
      }
      if (ownsKeys(target)) return;
      if (event.key === "Enter" && !event.ctrlKey && !event.metaKey && !event.altKey) {
        const tag = target?.tagName;
        if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") return; // Enter activates those
        event.preventDefault();
        focusChat();
        return;
      }
      const direction = directionOf(event);
      if (!direction) return;
      event.preventDefault(); // no page scrolling with the arrows
      if (event.repeat) return; // our own repeat sets the pace, not the keyboard's
      const name = direction.join(",");
      const index = held.findIndex((d) => d.join(",") === name);
      if (index >= 0) held.splice(index, 1);
      held.push(direction);
      pressedAt = now();
      request(direction);
      startRepeat();
    },
    onKeyUp(event) {
      const direction = directionOf({ key: event.key });
      if (!direction) return;
      const name = direction.join(",");
      const index = held.findIndex((d) => d.join(",") === name);
      if (index >= 0) held.splice(index, 1);
      if (held.length === 0) stopRepeat();
    },
    reset,
    dispose: reset,
  };
}
