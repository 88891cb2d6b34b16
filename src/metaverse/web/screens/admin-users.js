// Accounts (/admin/users), for platform admins: search, promote to or demote from admin,
// disable or enable an account. A disabled account is signed out everywhere at once.

import { describeError } from "../api.js";
import { h, imageOr, replace, say, statusLine } from "../dom.js";
import { confirmAction } from "./dialogs.js";

export const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 250;

/** The query string for a page of the list. */
export function usersQuery(q, cursor, limit = PAGE_SIZE) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (q.trim()) params.set("q", q.trim());
  if (cursor) params.set("cursor", cursor);
  return `/admin/users?${params}`;
}

function nameOf(user) {
  return user.displayName || user.username;
}

export async function mountAdminUsers(root, { api, me }) {
  const page = h("div", { class: "admin-users", testid: "admin-users" });
  root.append(page);
  if (me?.role !== "admin") {
    replace(
      page,
      h(
        "section",
        { class: "panel error-box", role: "alert", testid: "admin-forbidden" },
        h("h1", {}, "Admins only"),
        h("p", {}, "Only platform admins manage accounts."),
      ),
    );
    return { unmount() {} };
  }

  const notice = statusLine("users-status");
  const search = h("input", {
    type: "search",
    name: "q",
    maxlength: 64,
    placeholder: "Search by username or display name",
    testid: "users-search",
    aria: { label: "Search accounts" },
  });
  const body = h("tbody", { testid: "users-list" });
  const more = h("button", { type: "button", class: "button button-quiet", testid: "users-more", hidden: true }, "Show more");
  const count = h("span", { class: "muted", testid: "users-count" });
  replace(
    page,
    h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Accounts"), h("p", {}, "Promote people to admin, or disable an account: it is signed out everywhere at once."))),
    h("div", { class: "users-toolbar" }, search, count),
    notice,
    h(
      "div",
      { class: "panel users-panel" },
      h(
        "table",
        { class: "users-table" },
        h(
          "thead",
          {},
          h("tr", {}, h("th", { scope: "col" }, "Person"), h("th", { scope: "col" }, "Role"), h("th", { scope: "col" }, "Account"), h("th", { scope: "col" }, "Joined"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions"))),
        ),
        body,
      ),
      h("div", { class: "users-more" }, more),
    ),
  );

  let cursor = null;
  let generation = 0;
  let shown = 0;
  let timer = null;

  async function load({ append = false } = {}) {
    const mine = ++generation;
    try {
      const result = await api.get(usersQuery(search.value, append ? cursor : null));
      if (mine !== generation) return;
      if (!append) {
        replace(body);
        shown = 0;
      }
      body.append(...result.users.map(row));
      shown += result.users.length;
      cursor = result.nextCursor;
      more.hidden = !cursor;
      count.textContent = shown === 0 ? "No accounts match." : `${shown}${cursor ? "+" : ""} account${shown === 1 ? "" : "s"}`;
    } catch (error) {
      say(notice, describeError(error), "error");
    }
  }

  function row(user) {
    const self = user.id === me.id;
    const tr = h("tr", { testid: "user-row", dataset: { userId: user.id, username: user.username, role: user.role, disabled: String(user.disabled) } });
    const initial = () => h("span", { class: "avatar avatar-placeholder", "aria-hidden": "true" }, nameOf(user).charAt(0).toUpperCase());
    replace(
      tr,
      h(
        "td",
        {},
        h(
          "span",
          { class: "user-cell" },
          imageOr(user.avatarUrl, "", initial, { class: "avatar" }),
          h(
            "span",
            { class: "user-names" },
            h("strong", {}, nameOf(user), self ? h("span", { class: "muted" }, " (you)") : null),
            h("small", { class: "muted" }, `@${user.username}`),
          ),
        ),
      ),
      h("td", {}, user.role === "admin" ? h("span", { class: "badge badge-admin" }, "Admin") : user.guest ? h("span", { class: "badge badge-quiet" }, "Guest") : h("span", { class: "muted" }, "User")),
      h("td", {}, user.disabled ? h("span", { class: "badge badge-disabled", testid: "user-disabled" }, "Disabled") : h("span", { class: "state-ok" }, "Active")),
      h("td", { class: "muted" }, new Date(user.createdAt).toLocaleDateString(undefined, { dateStyle: "medium" })),
      h(
        "td",
        { class: "user-actions" },
        user.guest
          ? null
          : h(
              "button",
              { type: "button", class: "button button-quiet button-small", testid: "user-role-toggle", on: { click: () => setRole(user, user.role === "admin" ? "user" : "admin", tr) } },
              user.role === "admin" ? "Remove admin" : "Make admin",
            ),
        h(
          "button",
          {
            type: "button",
            class: user.disabled ? "button button-quiet button-small" : "button button-danger button-small",
            testid: "user-disable-toggle",
            disabled: self,
            title: self ? "You can't disable your own account" : null,
            on: { click: () => setDisabled(user, !user.disabled, tr) },
          },
          user.disabled ? "Enable" : "Disable",
        ),
      ),
    );
    return tr;
  }

  async function change(user, body, tr, done) {
    try {
      const updated = await api.patch(`/admin/users/${encodeURIComponent(user.id)}`, body);
      // The list may have been read again meanwhile (a search): update the row shown now.
      const shownRow = tr.isConnected ? tr : body.querySelector(`tr[data-user-id="${CSS.escape(user.id)}"]`);
      shownRow?.replaceWith(row(updated));
      say(notice, done(updated), "ok");
    } catch (error) {
      say(notice, describeError(error), "error");
    }
  }

  async function setRole(user, role, tr) {
    const sure = await confirmAction({
      title: role === "admin" ? `Make ${nameOf(user)} an admin?` : `Remove ${nameOf(user)}'s admin rights?`,
      text: role === "admin" ? "Admins manage maps, elements and every account on this platform." : "They keep their account and spaces, and lose the map editor and this page.",
      confirmLabel: role === "admin" ? "Make admin" : "Remove admin",
      testid: "confirm-role",
    });
    if (sure) await change(user, { role }, tr, (u) => `${nameOf(u)} is ${u.role === "admin" ? "now an admin" : "no longer an admin"}.`);
  }

  async function setDisabled(user, disabled, tr) {
    if (disabled) {
      const sure = await confirmAction({
        title: `Disable ${nameOf(user)} (@${user.username})?`,
        text: "They are signed out at once, on every device, and taken out of any space they are in. They can't sign in until an admin enables the account again.",
        confirmLabel: "Disable account",
        danger: true,
        testid: "confirm-disable",
      });
      if (!sure) return;
    }
    await change(user, { disabled }, tr, (u) => `${nameOf(u)}'s account is ${u.disabled ? "disabled" : "enabled again"}.`);
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(), SEARCH_DELAY_MS);
  });
  more.addEventListener("click", () => load({ append: true }));
  await load();
  return {
    unmount() {
      clearTimeout(timer);
    },
  };
}
