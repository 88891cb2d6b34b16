// Which video is shown large: the one clicked (pinned by hand), or a screen someone started
// sharing (pinned by itself, and unpinned by itself when the sharing ends). Pure.

export const NO_PIN = Object.freeze({ userId: null, auto: false });

/**
 * `event`: {type: "click", userId} toggles a pin by hand; {type: "screen", userId, on}
 * a peer's screen sharing started or ended; {type: "gone", userId} the peer left the call;
 * {type: "escape"} back to the map.
 */
export function pinReducer(pin, event) {
  switch (event.type) {
    case "click":
      return pin.userId === event.userId ? NO_PIN : { userId: event.userId, auto: false };
    case "screen":
      if (event.on) return pin.userId === event.userId ? pin : { userId: event.userId, auto: true };
      return pin.userId === event.userId && pin.auto ? NO_PIN : pin;
    case "gone":
      return pin.userId === event.userId ? NO_PIN : pin;
    case "escape":
      return NO_PIN;
    default:
      return pin;
  }
}
