// Sign in (/login) and sign up (/signup). Both honour ?next= (a path on this site).

import { describeError } from "../api.js";
import { field, h, say, statusLine } from "../dom.js";
import { safeNext } from "../router.js";

export const USERNAME_RULE = /^[A-Za-z0-9_.-]{3,64}$/;

function authPage({ title, intro, form, footer }) {
  return h(
    "div",
    { class: "auth" },
    h(
      "section",
      { class: "panel auth-panel" },
      h("h1", {}, title),
      h("p", { class: "auth-intro" }, intro),
      form,
      h("p", { class: "auth-footer" }, footer),
    ),
  );
}

function withNext(path, query) {
  const next = query.get("next");
  return next ? `${path}?next=${encodeURIComponent(safeNext(next))}` : path;
}

function credentialsFields(autocompletePassword) {
  const username = h("input", {
    type: "text",
    name: "username",
    autocomplete: "username",
    autocapitalize: "none",
    spellcheck: "false",
    testid: "username",
  });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: autocompletePassword,
    testid: "password",
  });
  return { username, password };
}

/** Keep the form busy while `work` runs; errors land in `errorLine`. */
export async function submitting(form, errorLine, work) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  form.setAttribute("aria-busy", "true");
  say(errorLine, "");
  try {
    await work();
  } catch (error) {
    say(errorLine, describeError(error), "error");
    // Leave the user where they can fix it.
    form.querySelector("[aria-invalid=true]")?.focus();
  } finally {
    button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

export function mountSignIn(root, { api, navigate, query }) {
  const { username, password } = credentialsFields("current-password");
  const error = statusLine("auth-error", "error");
  const expired =
    query.get("reason") === "expired"
      ? h("p", { class: "notice notice-warn", role: "status", testid: "auth-expired" }, "Your session expired; sign in again.")
      : null;
  const form = h(
    "form",
    { class: "auth-form", testid: "login-form", novalidate: true },
    expired,
    error,
    field("Username", username),
    field("Password", password),
    h("button", { type: "submit", class: "button button-block", testid: "login-submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, error, async () => {
      if (!username.value.trim() || !password.value) throw new Error("Enter your username and password.");
      await api.signIn(username.value.trim(), password.value);
      await navigate(safeNext(query.get("next")), { replace: true });
    });
  });
  root.append(
    authPage({
      title: "Sign in",
      intro: "Welcome back. Sign in to meet people in your spaces.",
      form,
      footer: ["New here? ", h("a", { href: withNext("/signup", query), testid: "to-signup" }, "Create an account")],
    }),
  );
  username.focus();
  return { unmount() {} };
}

export function mountSignUp(root, { api, config, navigate, query }) {
  const { username, password } = credentialsFields("new-password");
  const error = statusLine("auth-error", "error");
  // Offered only where the server may grant it: to anyone ("open"), or to the very first
  // account ("first-user"; a refusal then says so).
  const policy = config?.adminSignup;
  const admin = policy === "open" || policy === "first-user" ? h("input", { type: "checkbox", name: "admin", id: "signup-admin", testid: "signup-admin" }) : null;
  const adminHint = policy === "first-user" ? h("small", { class: "hint" }, " (only the platform’s first account)") : null;
  const form = h(
    "form",
    { class: "auth-form", testid: "signup-form", novalidate: true },
    error,
    field("Username", username, "3–64 characters: letters, digits, “_”, “.” and “-”."),
    field("Password", password, "At least 6 characters (the server may ask for more)."),
    admin ? h("div", { class: "check" }, admin, h("label", { for: admin.id }, "Admin account (can edit maps)", adminHint)) : null,
    h("button", { type: "submit", class: "button button-block", testid: "signup-submit" }, "Create account"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, error, async () => {
      const name = username.value.trim();
      username.removeAttribute("aria-invalid");
      if (!USERNAME_RULE.test(name)) {
        username.setAttribute("aria-invalid", "true");
        throw new Error("Usernames are 3–64 characters: letters, digits, “_”, “.” and “-”.");
      }
      if (!password.value) {
        password.setAttribute("aria-invalid", "true");
        throw new Error("Choose a password.");
      }
      password.removeAttribute("aria-invalid");
      await api.signUp(name, password.value, { admin: Boolean(admin?.checked) });
      await navigate(safeNext(query.get("next")), { replace: true });
    });
  });
  root.append(
    authPage({
      title: "Create your account",
      intro: "Pick a username and a password; you can set your name and avatar afterwards.",
      form,
      footer: ["Already have an account? ", h("a", { href: withNext("/login", query), testid: "to-login" }, "Sign in")],
    }),
  );
  username.focus();
  return { unmount() {} };
}
