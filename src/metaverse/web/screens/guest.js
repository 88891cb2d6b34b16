// /spaces/<id>: the space for anyone signed in. Signed out, a space that lets guests in
// asks for a display name and enters with a guest token (screens of their own are not
// needed: the space screen runs with a guest API client); any other space sends the
// person to sign in.

import { describeError } from "../api.js";
import { field, h, replace, say, statusLine } from "../dom.js";
import { createGuestApiClient, forgetGuestVisit, readGuestVisit, storeGuestVisit } from "../guest.js";

async function guestEntry(spaceId) {
  const response = await fetch(`/api/v1/space/${encodeURIComponent(spaceId)}/guests`, { headers: { accept: "application/json" } });
  return response.ok ? response.json() : { guests: false };
}

export async function mountSpaceEntry(root, ctx) {
  const { api, navigate, spaceId } = ctx;
  let space = null; // the mounted space screen's handle
  const mountSpace = async (extra) => (await import("../space/index.js")).mountSpace(root, { ...ctx, ...extra });
  const handle = {
    unmount() {
      space?.unmount?.();
      space = null;
    },
  };
  if (api.isSignedIn()) {
    space = await mountSpace({});
    return handle;
  }

  async function enter(visit) {
    const guestApi = createGuestApiClient({
      visit,
      onExpired() {
        forgetGuestVisit(sessionStorage, spaceId);
        handle.unmount();
        replace(root);
        showForm("Your guest visit has ended. Enter again to come back.");
      },
    });
    space = await mountSpace({ api: guestApi, me: null, refreshUser: null });
  }

  const stored = readGuestVisit(sessionStorage, spaceId, Date.now());
  if (stored) {
    await enter(stored);
    return handle;
  }
  const entry = await guestEntry(spaceId);
  if (!entry.guests) {
    const next = `/spaces/${encodeURIComponent(spaceId)}`;
    navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    return handle;
  }

  function showForm(notice) {
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

  showForm();
  return handle;
}
