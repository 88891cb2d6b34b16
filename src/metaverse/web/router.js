// URL → screen. The matching is pure (node tests it); `createRouter` wires it to the
// History API and link clicks.

/** Compile "/editor/:mapId" into a matcher. */
export function compileRoute(route) {
  const names = [];
  const pattern = route.path
    .split("/")
    .map((part) => {
      if (part.startsWith(":")) {
        names.push(part.slice(1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { ...route, names, regex: new RegExp(`^${pattern}/?$`) };
}

/** The first route matching `pathname`, with its decoded params; null when none does. */
export function matchRoute(routes, pathname) {
  for (const route of routes) {
    const found = route.regex.exec(pathname);
    if (!found) continue;
    const params = {};
    try {
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1]);
      });
    } catch {
      continue; // a malformed %-escape is not this route
    }
    return { route, params };
  }
  return null;
}

/**
 * A safe place to go after signing in: a path on this site ("/spaces/x?y"), never another
 * origin ("//evil", "/\\evil", "https://...") and never the auth pages themselves.
 */
export function safeNext(next) {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//")) return "/";
  if (next.includes("\\") || /[\u0000-\u001f]/.test(next)) return "/";
  const path = next.split(/[?#]/)[0];
  if (path === "/login" || path === "/signup") return "/";
  return next;
}

/** Where a route wants to send the user instead, or null to show it. */
export function redirectFor(route, signedIn, location) {
  const here = `${location.pathname}${location.search}`;
  if (route?.auth && !signedIn) {
    return here === "/" ? "/login" : `/login?next=${encodeURIComponent(here)}`;
  }
  if (route?.guestOnly && signedIn) {
    return safeNext(new URLSearchParams(location.search).get("next"));
  }
  return null;
}

/** Should this click on a link be handled in the page instead of loading a new one? */
export function isInternalClick(event, anchor, origin) {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (!anchor || anchor.hasAttribute("download") || (anchor.target && anchor.target !== "_self")) return false;
  const url = new URL(anchor.href, origin);
  if (url.origin !== origin) return false;
  // Only page routes: files, assets and the API load normally.
  return !/^\/(api|web|assets|media|docs)(\/|$)/.test(url.pathname);
}

/**
 * Start routing. `render(match, location)` is called for every navigation with the match
 * (or null) and must return a promise; navigations started while one renders win.
 */
export function createRouter({ routes, render, isSignedIn, window: win = globalThis.window }) {
  const compiled = routes.map(compileRoute);
  let generation = 0;

  async function show() {
    const current = ++generation;
    const location = win.location;
    const match = matchRoute(compiled, location.pathname);
    const redirect = redirectFor(match?.route, isSignedIn(), location);
    if (redirect) {
      win.history.replaceState(null, "", redirect);
      return show();
    }
    await render(match, location, () => current !== generation);
  }

  function navigate(path, { replace = false } = {}) {
    if (replace) win.history.replaceState(null, "", path);
    else win.history.pushState(null, "", path);
    return show();
  }

  function onClick(event) {
    const anchor = event.target.closest?.("a[href]");
    if (!isInternalClick(event, anchor, win.location.origin)) return;
    event.preventDefault();
    const url = new URL(anchor.href, win.location.origin);
    navigate(`${url.pathname}${url.search}${url.hash}`);
  }

  win.addEventListener("popstate", show);
  win.document.addEventListener("click", onClick);
  return {
    navigate,
    refresh: show,
    stop() {
      win.removeEventListener("popstate", show);
      win.document.removeEventListener("click", onClick);
    },
  };
}
