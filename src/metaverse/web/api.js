// The HTTP API client: JSON requests under /api/v1 with a self-refreshing access token.
// No DOM here: fetch, storage, the clock and timers are injected so node can test it.

export const TOKEN_KEY = "metaverse.token";
export const REFRESH_TOKEN_KEY = "metaverse.refreshToken";
export const EXPIRES_AT_KEY = "metaverse.tokenExpiresAt"; // epoch ms, decimal string
export const REFRESH_MARGIN_MS = 60_000; // refresh this long before the access token expires
export const RETRY_DELAY_MS = 5_000; // after a refresh that could not reach the server
// After a `refresh_conflict` (another tab rotated the token moments ago): how long to wait
// for the winner's tokens to show up in storage. Shorter than the server's grace window.
export const CONFLICT_WAIT_MS = 2_000;
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit
const LOCK_NAME = "metaverse.token-refresh";

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Milliseconds to wait before refreshing a token that expires at `expiresAtMs`. */
export function refreshDelayMs(expiresAtMs, nowMs, marginMs = REFRESH_MARGIN_MS) {
  return Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs - marginMs - nowMs));
}

/** A message for people: the server's message plus which fields were wrong. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return error?.message || String(error);
  const fields = (error.details ?? [])
    .filter((d) => d && d.field)
    .map((d) => `${d.field.replace(/^body\./, "")}: ${d.message}`);
  return fields.length ? `${error.message} (${fields.join("; ")})` : error.message;
}

async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: fall back to the status line
  }
  return new ApiError(
    response.status,
    body?.code ?? `http_${response.status}`,
    body?.message ?? (response.statusText || `request failed (${response.status})`),
    body?.details ?? null,
  );
}

async function bodyOf(response) {
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * createApiClient({ onSignedOut }) → the client described in docs/web-client.md.
 * `onSignedOut(reason)` runs when the session ends: "signout" (asked for) or "expired"
 * (the refresh token was refused, or another tab signed out).
 */
export function createApiClient({
  onSignedOut = () => {},
  fetch: fetchFn = (...args) => globalThis.fetch(...args),
  storage = globalThis.localStorage,
  now = () => Date.now(),
  setTimer = (fn, ms) => setTimeout(fn, ms),
  clearTimer = (id) => clearTimeout(id),
  locks = globalThis.navigator?.locks,
  baseUrl = "/api/v1",
} = {}) {
  let timer = null;
  let refreshing = null;
  let meCache = null;
  const storageWaiters = new Set(); // resolved when another tab changes the tokens

  function readTokens() {
    const token = storage.getItem(TOKEN_KEY);
    const refreshToken = storage.getItem(REFRESH_TOKEN_KEY);
    if (!token || !refreshToken) return null;
    const expiresAt = Number(storage.getItem(EXPIRES_AT_KEY));
    return { token, refreshToken, expiresAt: Number.isFinite(expiresAt) ? expiresAt : 0 };
  }

  function storeTokens({ token, refreshToken, expiresIn }) {
    storage.setItem(TOKEN_KEY, token);
    storage.setItem(REFRESH_TOKEN_KEY, refreshToken);
    storage.setItem(EXPIRES_AT_KEY, String(now() + expiresIn * 1000));
    schedule();
  }

  function clearTokens() {
    storage.removeItem(TOKEN_KEY);
    storage.removeItem(REFRESH_TOKEN_KEY);
    storage.removeItem(EXPIRES_AT_KEY);
  }

  function cancelTimer() {
    if (timer !== null) clearTimer(timer);
    timer = null;
  }

  function schedule(delayMs) {
    cancelTimer();
    const tokens = readTokens();
    if (!tokens) return;
    const wait = delayMs ?? refreshDelayMs(tokens.expiresAt, now());
    timer = setTimer(() => {
      timer = null;
      refresh(readTokens()).catch(() => {}); // failures already handled in doRefresh
    }, wait);
  }

  function endSession(reason) {
    const wasSignedIn = readTokens() !== null || timer !== null || meCache !== null;
    cancelTimer();
    clearTokens();
    meCache = null;
    if (wasSignedIn || reason === "signout") onSignedOut(reason);
  }

  function isFresh(tokens) {
    return tokens.expiresAt - now() > REFRESH_MARGIN_MS;
  }

  /** Did someone else store new tokens since `stale` (the tokens a refresh started from)? */
  function rotatedSince(stale) {
    const tokens = readTokens();
    if (!tokens || !stale) return null;
    const changed = tokens.refreshToken !== stale.refreshToken || tokens.token !== stale.token;
    return changed && isFresh(tokens) ? tokens : null;
  }

  /** The tokens another tab stores within `ms`, or null. */
  function awaitRotation(stale, ms) {
    return new Promise((resolve) => {
      const done = (tokens) => {
        storageWaiters.delete(check);
        clearTimer(deadline);
        resolve(tokens);
      };
      const check = () => {
        const tokens = rotatedSince(stale);
        if (tokens || !readTokens()) done(tokens);
      };
      const deadline = setTimer(() => done(rotatedSince(stale)), ms);
      storageWaiters.add(check);
    });
  }

  // One refresh at a time per tab, and (with the Web Locks API) across tabs: refresh tokens
  // rotate, and presenting a retired one revokes the whole sign-in. `stale` is what the
  // caller found in storage: if another tab has replaced it since, its tokens are used.
  function refresh(stale) {
    if (!refreshing) {
      const run = () => doRefresh(stale);
      const locked = locks?.request ? locks.request(LOCK_NAME, run) : run();
      refreshing = Promise.resolve(locked).finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  async function doRefresh(stale) {
    const tokens = readTokens();
    if (!tokens) throw new ApiError(401, "signed_out", "you are signed out");
    const rotated = rotatedSince(stale);
    if (rotated) {
      schedule(); // another tab refreshed while we waited for the lock
      return rotated;
    }
    let response;
    try {
      response = await fetchFn(`${baseUrl}/token/refresh`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refreshToken: tokens.refreshToken }),
      });
    } catch {
      schedule(RETRY_DELAY_MS);
      throw new ApiError(0, "network_error", "cannot reach the server");
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (error.code === "refresh_conflict") {
        // Another tab (without Web Locks) rotated this token moments ago: its tokens are
        // in storage, or soon will be. Use them; this is never a sign-out.
        const adopted = rotatedSince(tokens) ?? (await awaitRotation(tokens, CONFLICT_WAIT_MS));
        if (adopted) {
          schedule();
          return adopted;
        }
        schedule(RETRY_DELAY_MS);
        throw error;
      }
      if (response.status >= 500 || response.status === 429) {
        schedule(RETRY_DELAY_MS);
      } else {
        endSession("expired");
      }
      throw error;
    }
    storeTokens(await response.json());
    return readTokens();
  }

  /** Tokens with a fresh access token (refreshed first if need be), or null signed out. */
  async function currentTokens() {
    const tokens = readTokens();
    if (!tokens) return null;
    if (isFresh(tokens)) {
      if (timer === null) schedule();
      return tokens;
    }
    return refresh(tokens);
  }

  async function accessToken() {
    return (await currentTokens())?.token ?? null;
  }

  async function send(method, path, body, token) {
    const headers = {};
    let payload;
    if (body instanceof FormData) {
      payload = body; // the browser sets the multipart boundary
    } else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      return await fetchFn(`${baseUrl}${path}`, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, "network_error", "cannot reach the server");
    }
  }

  async function request(method, path, body) {
    const tokens = await currentTokens();
    let response = await send(method, path, body, tokens?.token);
    if (response.status === 401 && tokens) {
      // Expired or revoked early: refresh once and retry once.
      const fresh = await refresh(tokens);
      response = await send(method, path, body, fresh.token);
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      if (error.status === 401 && tokens) endSession("expired");
      throw error;
    }
    return bodyOf(response);
  }

  async function signIn(username, password) {
    const response = await send("POST", "/signin", { username, password });
    if (!response.ok) throw await errorFrom(response);
    meCache = null;
    storeTokens(await response.json());
  }

  async function signUp(username, password, { admin = false } = {}) {
    const response = await send("POST", "/signup", {
      username,
      password,
      type: admin ? "admin" : "user",
    });
    if (!response.ok) throw await errorFrom(response);
    const { userId } = await response.json();
    await signIn(username, password);
    return userId;
  }

  async function signOut() {
    const tokens = readTokens();
    if (tokens) {
      // Best effort: the local session ends whether or not the server hears about it.
      await send("POST", "/signout", { refreshToken: tokens.refreshToken }, tokens.token).catch(() => {});
    }
    endSession("signout");
  }

  return {
    request,
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    put: (path, body = {}) => request("PUT", path, body),
    patch: (path, body = {}) => request("PATCH", path, body),
    del: (path, body) => request("DELETE", path, body),
    upload: (path, formData) => request("POST", path, formData),
    accessToken,
    signIn,
    signUp,
    signOut,
    isSignedIn: () => readTokens() !== null,
    me() {
      if (!meCache) {
        meCache = request("GET", "/user/me");
        meCache.catch(() => {
          meCache = null;
        });
      }
      return meCache;
    },
    invalidateMe() {
      meCache = null;
    },
    /** Stop the refresh timer; call when the page goes away. */
    close: cancelTimer,
    /** Another tab changed the tokens: follow it (sign-out there signs out here). */
    storageChanged() {
      for (const check of [...storageWaiters]) check();
      if (readTokens()) schedule();
      else endSession("expired");
    },
  };
}
