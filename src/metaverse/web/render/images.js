// Images for the canvas: loaded once per URL, with their state, so the world can draw a
// placeholder for one that failed instead of nothing.

export function createImageCache(onChange = () => {}) {
  const entries = new Map();
  return {
    /** {state: "loading"|"ok"|"error", image} for `url` (starts loading on first ask). */
    get(url) {
      if (!url) return { state: "error", image: null };
      let entry = entries.get(url);
      if (entry) return entry;
      const image = new Image();
      entry = { state: "loading", image };
      entries.set(url, entry);
      image.decoding = "async";
      image.onload = () => {
        entry.state = "ok";
        onChange(url);
      };
      image.onerror = () => {
        entry.state = "error";
        onChange(url);
      };
      image.src = url;
      return entry;
    },
    /** Whether every image asked for so far has finished, loaded or failed. */
    settled() {
      for (const entry of entries.values()) if (entry.state === "loading") return false;
      return true;
    },
    clear() {
      for (const entry of entries.values()) {
        entry.image.onload = entry.image.onerror = null;
      }
      entries.clear();
    },
  };
}
