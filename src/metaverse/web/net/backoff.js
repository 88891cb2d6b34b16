// Reconnect timing: exponential backoff with jitter, so that many clients dropped by the
// same gateway restart do not all come back in the same instant. Pure.

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 15_000;

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first retry): the
 * exponential step base·2^attempt, capped, then "equal jitter": a uniformly random point
 * in its upper half, so the wait never collapses to zero.
 */
export function backoffDelayMs(attempt, random = Math.random, { baseMs = BACKOFF_BASE_MS, capMs = BACKOFF_CAP_MS } = {}) {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return Math.round(step / 2 + random() * (step / 2));
}
