// Sound levels of streams (Web Audio AnalyserNode), and the rule that says who is speaking:
// above ON_LEVEL starts speaking at once; it ends only after the level stayed under
// OFF_LEVEL for HOLD_MS (hysteresis, so words and the gaps between them don't flicker).

export const ON_LEVEL = 0.04;
export const OFF_LEVEL = 0.02;
export const HOLD_MS = 400;

/** A speaking detector for one stream: `update(level, nowMs)` → speaking. Pure. */
export function speakingGate({ on = ON_LEVEL, off = OFF_LEVEL, holdMs = HOLD_MS } = {}) {
  let speaking = false;
  let quietSince = null;
  return {
    update(level, nowMs) {
      if (level >= on) {
        speaking = true;
        quietSince = null;
      } else if (speaking && level < off) {
        quietSince ??= nowMs;
        if (nowMs - quietSince >= holdMs) {
          speaking = false;
          quietSince = null;
        }
      } else if (level >= off) {
        quietSince = null;
      }
      return speaking;
    },
    get speaking() {
      return speaking;
    },
  };
}

/** The root mean square of samples in [-1, 1]. Pure. */
export function rms(samples) {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

/**
 * Level meters on one AudioContext: `watch(key, track)` measures an audio track,
 * `level(key)` reads it now (0 without one), `unwatch(key)`, `close()`.
 */
export function createLevels({ AudioContextImpl = globalThis.AudioContext } = {}) {
  let context = null;
  const meters = new Map(); // key → {track, source, analyser, buffer}

  function audio() {
    if (!context && AudioContextImpl) context = new AudioContextImpl();
    if (context?.state === "suspended") context.resume().catch(() => {});
    return context;
  }

  function unwatch(key) {
    const meter = meters.get(key);
    if (!meter) return;
    meters.delete(key);
    meter.source.disconnect();
  }

  return {
    watch(key, track) {
      if (meters.get(key)?.track === track) return;
      unwatch(key);
      const ctx = track ? audio() : null;
      if (!ctx) return;
      const source = ctx.createMediaStreamSource(new MediaStream([track]));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser);
      meters.set(key, { track, source, analyser, buffer: new Float32Array(analyser.fftSize) });
    },
    unwatch,
    level(key) {
      const meter = meters.get(key);
      if (!meter || meter.track.readyState === "ended") return 0;
      meter.analyser.getFloatTimeDomainData(meter.buffer);
      return rms(meter.buffer);
    },
    /** Let the context start after a user gesture (autoplay rules). */
    resume() {
      if (context?.state === "suspended") context.resume().catch(() => {});
    },
    close() {
      for (const key of [...meters.keys()]) unwatch(key);
      context?.close().catch(() => {});
      context = null;
    },
  };
}
