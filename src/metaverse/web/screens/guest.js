// /spaces/<id>: the space for anyone signed in. Signed out, a space that lets guests in
// asks for a display name and enters with a guest token (screens of their own are not
// needed: the space screen runs with a guest API client); any other space sends the
// person to sign in.

import { describeError } from "../api.js";
import { field, h, replace, say, statusLine } from "../dom.js";
import { GUEST_MARGIN_MS, createGuestApiClient, forgetGuestVisit, readGuestVisit, storeGuestVisit } from "../guest.js";

async function guestEntry(spaceId) {
  const response = await fetch(`/api/v1/space/${encodeURIComponent(spaceId)}/guests`, { headers: { accept: "application/json" } });
  return response.ok ? response.json() : { guests: false };
}

export async function mountSpaceEntry(root, ctx) {
  const { api, navigate, spaceId } = ctx;
  let space = null; // the mounted space screen's handle
  let expiry = null; // ends the visit when the guest token expires
  const mountSpace = async (extra) => (await import("../space/index.js")).mountSpace(root, { ...ctx, ...extra });
  const handle = {
    unmount() {
      clearTimeout(expiry);
      space?.unmount?.();
      space = null;
    },
  };
  if (api.isSignedIn()) {
    space = await mountSpace({});
    return handle;
  }

  async function enter(visit) {
    let mounting = true; // the space waits for its device check until "Join"
    let endPending = false;
    let ended = false;
    const end = () => {
      if (mounting) {
        endPending = true;
        return;
      }
      if (ended) return;
      ended = true;
      forgetGuestVisit(sessionStorage, spaceId);
      handle.unmount();
      if (!root.isConnected) return; // the person went elsewhere meanwhile
      replace(root);
      offerEntry("Your guest visit has ended. Enter again to come back.");
    };
    // The token is good until `expiresAt` (less a margin); the visit ends then, or when
    // the server refuses it sooner (after the device check, if it is still open).
    expiry = setTimeout(end, Math.max(0, visit.expiresAt - GUEST_MARGIN_MS - Date.now()));
    space = await mountSpace({ api: createGuestApiClient({ visit, onExpired: end }), me: null, refreshUser: null });
    mounting = false;
    if (endPending) end();
  }

  /** The entry form if the space (still) lets guests in; else off to sign in. */
  async function offerEntry(notice) {
    const entry = await guestEntry(spaceId);
    if (!entry.guests) {
      const next = `/spaces/${encodeURIComponent(spaceId)}`;
      navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
      return;
    }
    showForm(entry, notice);
  }

  function showForm(entry, notice) {
    const name = h("input", { type: "text", name: "displayName", autocomplete: "nickname", maxlength: 64, testid: "guest-name" });
    const error = statusLine("guest-error", "error");
    const note = statusLine("guest-notice", "warn");
    say(note, notice ?? "");
    const form = h(
      "form",
      { class: "auth-form", testid: "guest-form", novalidate: true },
      note,
      error,
      field("Your name", name, "How others in the space see you."),
      h("button", { type: "submit", class: "button button-block", testid: "guest-submit" }, "Enter as a guest"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      say(error, "");
      try {
        if (!name.value.trim()) throw new Error("Enter the name others will see.");
        const response = await fetch(`/api/v1/space/${encodeURIComponent(spaceId)}/guests`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ displayName: name.value.trim() }),
        });
        const body = await response.json().catch(() => null);
        if (!response.ok) throw new Error(body?.message ?? `could not enter (${response.status})`);
        replace(root);
        await enter(storeGuestVisit(sessionStorage, spaceId, body, Date.now()));
      } catch (failure) {
        say(error, describeError(failure), "error");
        button.disabled = false;
      }
    });
    const next = `/spaces/${encodeURIComponent(spaceId)}`;
    root.append(
      h(
        "div",
        { class: "auth guest-entry" },
        h(
          "section",
          { class: "panel auth-panel invite-panel", testid: "guest-entry" },
          h("div", { class: "invite-mark", "aria-hidden": "true" }, entry.spaceName.trim().charAt(0).toUpperCase() || "?"),
          h("p", { class: "invite-kicker" }, "Visit as a guest"),
          h("h1", { class: "invite-space" }, entry.spaceName),
          h("p", { class: "auth-intro" }, "No account needed: give a name and walk in. A guest visit lasts up to two hours."),
          form,
          h(
            "p",
            { class: "auth-footer" },
            "Have an account? ",
            h("a", { href: `/login?next=${encodeURIComponent(next)}`, testid: "guest-sign-in" }, "Sign in"),
          ),
        ),
      ),
    );
    name.focus();
  }

  const stored = readGuestVisit(sessionStorage, spaceId, Date.now());
  if (stored) await enter(stored);
  else await offerEntry();
  return handle;
}
