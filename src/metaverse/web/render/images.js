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

/** The stand-in for an image that failed: a red hatched box with a "?". */
export function drawPlaceholder(g, x, y, w, h) {
  g.save();
  g.fillStyle = "#f3e8e8";
  g.fillRect(x + 1, y + 1, w - 2, h - 2);
  g.beginPath();
  g.rect(x + 1, y + 1, w - 2, h - 2);
  g.clip();
  g.strokeStyle = "rgb(201 48 44 / 35%)";
  g.lineWidth = 2;
  g.beginPath();
  for (let d = -h; d < w; d += 8) {
    g.moveTo(x + d, y + h);
    g.lineTo(x + d + h, y);
  }
  g.stroke();
  g.restore();
  g.strokeStyle = "#c9302c";
  g.lineWidth = 1;
  g.setLineDash([3, 2]);
  g.strokeRect(x + 1.5, y + 1.5, w - 3, h - 3);
  g.setLineDash([]);
  g.fillStyle = "#c9302c";
  g.font = '700 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText("?", x + w / 2, y + h / 2 + 1);
}
