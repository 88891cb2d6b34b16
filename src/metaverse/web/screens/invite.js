// An invite link (/invite/<token>): which space and role it is for; signed out, sign up
// (or sign in) right here; then accept it and go into the space. A link that can't be used
// says why.

import { field, h, replace, say, statusLine } from "../dom.js";
import { submitting, USERNAME_RULE } from "./auth.js";

const ROLE_LABELS = { member: "a member", moderator: "a moderator" };
const UNUSABLE = {
  invite_expired: ["This invite link has expired", "Ask whoever sent it for a new one."],
  invite_used_up: ["This invite link has been used up", "It was accepted as often as it allows. Ask for a new one."],
  invite_revoked: ["This invite link was revoked", "It no longer works. Ask the space's owner or a moderator for a new one."],
  unknown_invite: ["This invite link doesn't exist", "Check that the address is complete, or ask for a new link."],
};

async function describe(token) {
  const response = await fetch(`/api/v1/invites/${encodeURIComponent(token)}`, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (response.status === 404) return { usable: false, reason: "unknown_invite" };
  if (!response.ok) throw new Error(body?.message ?? `the invite could not be read (${response.status})`);
  return body;
}

function page(...children) {
  return h("div", { class: "auth invite" }, h("section", { class: "panel auth-panel invite-panel", testid: "invite" }, ...children));
}

function unusable(reason) {
  const [title, text] = UNUSABLE[reason] ?? UNUSABLE.unknown_invite;
  return page(
    h("div", { class: "invite-mark invite-mark-gone", "aria-hidden": "true" }, "!"),
    h("h1", {}, title),
    h("p", { class: "auth-intro", testid: "invite-unusable", dataset: { reason } }, text),
    h("p", { class: "auth-footer" }, h("a", { href: "/", class: "button button-quiet" }, "Go to the lobby")),
  );
}

export async function mountInvite(root, { api, navigate, token }) {
  const invite = await describe(token);
  if (!invite.usable) {
    root.append(unusable(invite.reason));
    return { unmount() {} };
  }
  const error = statusLine("invite-error", "error");
  const role = ROLE_LABELS[invite.role] ?? invite.role;

  async function accept() {
    try {
      const { spaceId } = await api.post(`/invites/${encodeURIComponent(token)}/accept`);
      await navigate(`/spaces/${encodeURIComponent(spaceId)}`, { replace: true });
    } catch (failure) {
      if (UNUSABLE[failure.code]) replace(root, unusable(failure.code));
      else throw failure;
    }
  }

  const heading = [
    h("div", { class: "invite-mark", "aria-hidden": "true" }, invite.spaceName.trim().charAt(0).toUpperCase() || "?"),
    h("p", { class: "invite-kicker" }, "You're invited to"),
    h("h1", { class: "invite-space", testid: "invite-space" }, invite.spaceName),
    h("p", { class: "auth-intro invite-role", testid: "invite-role", dataset: { role: invite.role } }, `Join as ${role}.`),
  ];

  if (api.isSignedIn()) {
    const form = h(
      "form",
      { class: "auth-form", testid: "invite-accept-form" },
      error,
      h("button", { type: "submit", class: "button button-block", testid: "invite-accept" }, `Join ${invite.spaceName}`),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitting(form, error, accept);
    });
    root.append(page(...heading, form));
    form.querySelector("button").focus();
    return { unmount() {} };
  }

  // Signed out: create an account here (or sign in to one), then accept.
  let mode = "signup";
  const username = h("input", { type: "text", name: "username", autocomplete: "username", autocapitalize: "none", spellcheck: "false", testid: "username" });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", testid: "password" });
  const submit = h("button", { type: "submit", class: "button button-block", testid: "invite-submit" });
  const switcher = h("button", { type: "button", class: "link-button", testid: "invite-switch" });
  const footer = h("p", { class: "auth-footer" });
  const form = h(
    "form",
    { class: "auth-form", testid: "invite-form", novalidate: true },
    error,
    field("Username", username, "3–64 characters: letters, digits, “_”, “.” and “-”."),
    field("Password", password),
    submit,
  );

  function show() {
    const signup = mode === "signup";
    submit.textContent = signup ? "Create account and join" : "Sign in and join";
    password.autocomplete = signup ? "new-password" : "current-password";
    form.dataset.mode = mode;
    switcher.textContent = signup ? "Sign in" : "Create an account";
    replace(footer, signup ? "Already have an account? " : "New here? ", switcher);
    say(error, "");
  }
  switcher.addEventListener("click", () => {
    mode = mode === "signup" ? "signin" : "signup";
    show();
    username.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, error, async () => {
      const name = username.value.trim();
      if (mode === "signup" && !USERNAME_RULE.test(name)) {
        throw new Error("Usernames are 3–64 characters: letters, digits, “_”, “.” and “-”.");
      }
      if (!name || !password.value) throw new Error("Enter a username and a password.");
      if (mode === "signup") await api.signUp(name, password.value);
      else await api.signIn(name, password.value);
      await accept();
    });
  });
  show();
  root.append(page(...heading, form, footer));
  username.focus();
  return { unmount() {} };
}
