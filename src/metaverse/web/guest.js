// A guest's visit: the short-lived token of `POST /space/{id}/guests`, kept per tab and
// per space in sessionStorage, and an API client that speaks with it. A guest token has
// no refresh token: when it expires the visit ends. No DOM here (node tests it).

import { ApiError } from "./api.js";

export const GUEST_KEY_PREFIX = "metaverse.guest.";
// Stop using a token this long before it expires, rather than fail mid-request.
export const GUEST_MARGIN_MS = 30_000;

/** The stored visit to `spaceId` if it is still good at `nowMs`, else null. */
export function readGuestVisit(storage, spaceId, nowMs) {
  let visit = null;
  try {
    visit = JSON.parse(storage.getItem(GUEST_KEY_PREFIX + spaceId) ?? "null");
  } catch {
    visit = null;
  }
  if (!visit || typeof visit.token !== "string" || !(visit.expiresAt - GUEST_MARGIN_MS > nowMs)) return null;
  return visit;
}

export function storeGuestVisit(storage, spaceId, { token, expiresIn, userId }, nowMs) {
  const visit = { token, userId, expiresAt: nowMs + expiresIn * 1000 };
  storage.setItem(GUEST_KEY_PREFIX + spaceId, JSON.stringify(visit));
  return visit;
}

export function forgetGuestVisit(storage, spaceId) {
  storage.removeItem(GUEST_KEY_PREFIX + spaceId);
}

/**
 * The subset of `createApiClient`'s interface the space screen uses, with the guest's
 * token. `onExpired()` runs once when the server refuses the token (401).
 */
export function createGuestApiClient({ visit, onExpired = () => {}, fetch: fetchFn = (...args) => globalThis.fetch(...args), baseUrl = "/api/v1" }) {
  let meCache = null;
  let ended = false;

  async function request(method, path, body) {
    // Guests have no chat rooms (the API refuses them): the rooms tab stays empty.
    if (method === "GET" && path.startsWith("/chatroom?")) return { rooms: [] };
    const headers = { authorization: `Bearer ${visit.token}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response;
    try {
      response = await fetchFn(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, "network_error", "cannot reach the server");
    }
    const text = await response.text();
    const answer = text ? JSON.parse(text) : null;
    if (!response.ok) {
      if (response.status === 401 && !ended) {
        ended = true;
        onExpired();
      }
      throw new ApiError(response.status, answer?.code ?? `http_${response.status}`, answer?.message ?? `request failed (${response.status})`, answer?.details ?? null);
    }
    return answer;
  }

  return {
    request,
    get: (path) => request("GET", path),
    post: (path, body = {}) => request("POST", path, body),
    put: (path, body = {}) => request("PUT", path, body),
    patch: (path, body = {}) => request("PATCH", path, body),
    del: (path, body) => request("DELETE", path, body),
    accessToken: async () => visit.token,
    isSignedIn: () => true,
    isGuest: true,
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
    close() {},
  };
}
