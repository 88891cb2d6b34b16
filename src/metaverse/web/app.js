// Entry: load the config, create the API client, keep the top bar current and route.

import { createApiClient, describeError, TOKEN_KEY, REFRESH_TOKEN_KEY } from "./api.js";
import { createRouter } from "./router.js";
import { h, imageOr, replace } from "./dom.js";

const ROUTES = [
  { path: "/login", name: "login", title: "Sign in", guestOnly: true, load: async () => (await import("./screens/auth.js")).mountSignIn },
  { path: "/signup", name: "signup", title: "Sign up", guestOnly: true, load: async () => (await import("./screens/auth.js")).mountSignUp },
  { path: "/", name: "lobby", title: "Lobby", auth: true, load: async () => (await import("./screens/lobby.js")).mountLobby },
  { path: "/profile", name: "profile", title: "Profile", auth: true, load: async () => (await import("./screens/profile.js")).mountProfile },
  { path: "/editor", name: "editor", title: "Map editor", auth: true, load: async () => (await import("./screens/editor.js")).mountEditor },
  { path: "/editor/:mapId", name: "editor", title: "Map editor", auth: true, load: async () => (await import("./screens/editor.js")).mountEditor },
  { path: "/spaces/:spaceId/settings", name: "space-settings", title: "Space settings", auth: true, load: async () => (await import("./screens/space-settings.js")).mountSpaceSettings },
  { path: "/admin/users", name: "admin-users", title: "Accounts", auth: true, load: async () => (await import("./screens/admin-users.js")).mountAdminUsers },
  // The space, loaded lazily; signed out, a space that lets guests in asks for a name
  // instead of a sign-in (screens/guest.js).
  { path: "/spaces/:spaceId", name: "space", title: "Space", load: async () => (await import("./screens/guest.js")).mountSpaceEntry },
  { path: "/invite/:token", name: "invite", title: "Invitation", load: async () => (await import("./screens/invite.js")).mountInvite },
];

const STATUS_LABELS = { available: "Available", busy: "Busy", away: "Away", dnd: "Do not disturb" };

async function loadConfig() {
  try {
    const response = await fetch("/api/v1/config", { headers: { accept: "application/json" } });
    if (response.ok) return await response.json();
    console.warn("GET /api/v1/config answered", response.status);
  } catch (error) {
    console.warn("GET /api/v1/config failed", error);
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return { gatewayUrl: `${scheme}://${location.hostname}:3001/ws`, version: "unknown", mediaMaxBytes: 2 * 1024 * 1024 };
}

function avatarBadge(me) {
  const initial = (me.displayName || me.username || "?").trim().charAt(0).toUpperCase();
  const placeholder = () => h("span", { class: "avatar avatar-placeholder", "aria-hidden": "true" }, initial);
  return imageOr(me.avatarUrl, "", placeholder, { class: "avatar" });
}

function renderTopbar({ api }, me) {
  const nav = document.querySelector(".topnav");
  const account = document.querySelector(".account");
  if (!me) {
    nav.hidden = true;
    account.hidden = true;
    replace(nav);
    replace(account);
    return;
  }
  const link = (href, text, testid) => h("a", { href, testid, class: "navlink" }, text);
  replace(
    nav,
    link("/", "Lobby", "nav-lobby"),
    me.role === "admin" ? link("/editor", "Map editor", "nav-editor") : null,
    me.role === "admin" ? link("/admin/users", "Accounts", "nav-users") : null,
    link("/profile", "Profile", "nav-profile"),
  );
  const status = me.status || "available";
  replace(
    account,
    h(
      "a",
      { href: "/profile", class: "current-user", testid: "current-user", title: "Edit your profile" },
      h("span", { class: "avatar-wrap" }, avatarBadge(me), h("span", { class: `status-dot status-${status}`, title: STATUS_LABELS[status] })),
      h("span", { class: "current-user-name" }, me.displayName || me.username),
      h("span", { class: "visually-hidden" }, `, ${STATUS_LABELS[status] ?? status}`),
    ),
    h(
      "button",
      {
        type: "button",
        class: "button button-quiet",
        testid: "sign-out",
        on: {
          click: () => api.signOut(), // onSignedOut then goes to /login
        },
      },
      "Sign out",
    ),
  );
  nav.hidden = false;
  account.hidden = false;
  for (const a of nav.querySelectorAll("a")) {
    const active = a.getAttribute("href") === "/" ? location.pathname === "/" : location.pathname.startsWith(a.getAttribute("href"));
    if (active) a.setAttribute("aria-current", "page");
  }
}

function errorBox(title, message) {
  return h(
    "section",
    { class: "panel error-box", role: "alert", testid: "screen-error" },
    h("h1", {}, title),
    h("p", {}, message),
    h("p", {}, h("a", { href: "/", class: "button" }, "Back to the lobby")),
  );
}

async function main() {
  const config = await loadConfig();
  const host = document.getElementById("screen");
  let current = null; // the mounted screen's handle
  let router = null;

  const api = createApiClient({
    onSignedOut(reason) {
      renderTopbar(ctx, null);
      if (!router) return;
      if (reason === "expired") {
        // The sign-in page says why it is shown (`reason=expired`).
        const here = `${location.pathname}${location.search}`;
        const next = here === "/" ? "" : `&next=${encodeURIComponent(here)}`;
        router.navigate(`/login?reason=expired${next}`, { replace: true });
      } else {
        router.navigate("/login", { replace: true });
      }
    },
  });

  const ctx = {
    api,
    config,
    navigate: (path, options) => router.navigate(path, options),
    /** Re-read the profile (after it changed) and redraw the top bar. */
    async refreshUser() {
      api.invalidateMe();
      try {
        renderTopbar(ctx, await api.me());
      } catch {
        renderTopbar(ctx, null);
      }
    },
  };

  async function render(match, loc, isStale) {
    if (current) {
      try {
        current.unmount();
      } catch (error) {
        console.error("unmount failed", error);
      }
      current = null;
    }
    const root = h("div", { class: `screen screen-${match?.route.name ?? "missing"}` });
    replace(host, root);
    document.body.dataset.route = match?.route.name ?? "missing";
    document.title = match ? `${match.route.title} · metaverse` : "Not found · metaverse";

    let me = null;
    if (api.isSignedIn()) {
      try {
        me = await api.me();
      } catch (error) {
        if (error.status === 401) return; // signed out meanwhile: onSignedOut navigates
        console.warn("GET /user/me failed", error);
      }
    }
    if (isStale()) return;
    renderTopbar(ctx, me);

    if (!match) {
      replace(root, errorBox("Page not found", `There is nothing at ${loc.pathname}.`));
      root.firstChild.dataset.testid = "not-found";
      return;
    }
    const query = new URLSearchParams(loc.search);
    try {
      const mount = await match.route.load();
      if (isStale()) return;
      const handle = await mount(root, { ...ctx, ...match.params, params: match.params, query, me });
      if (isStale()) {
        handle?.unmount?.();
        return;
      }
      current = handle ?? null;
    } catch (error) {
      console.error(error);
      if (isStale()) return;
      const what = match.route.name === "space" ? "The space could not be opened" : "This page could not be shown";
      replace(root, errorBox(what, describeError(error)));
      return;
    }
    // Move focus to the new screen for keyboard and screen-reader users, unless the
    // screen already placed it (the space focuses its canvas).
    if (!root.contains(document.activeElement)) {
      const heading = root.querySelector("h1");
      if (heading) {
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    }
  }

  router = createRouter({ routes: ROUTES, render, isSignedIn: () => api.isSignedIn() });
  window.addEventListener("storage", (event) => {
    if (event.key === TOKEN_KEY || event.key === REFRESH_TOKEN_KEY || event.key === null) api.storageChanged();
  });
  // Leaving for good releases the screen (sockets, camera); a page restored from the
  // back-forward cache is routed again from scratch.
  window.addEventListener("pagehide", (event) => {
    if (!event.persisted) current?.unmount?.();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) router.refresh();
  });
  await router.refresh();
}

main().catch((error) => {
  console.error(error);
  replace(document.getElementById("screen"), errorBox("metaverse could not start", describeError(error)));
});
