// Space settings (/spaces/:spaceId/settings), for the owner and moderators: name,
// visibility and guests (the owner), members and their roles, invite links, and deleting
// the space (the owner). Everyone else is told whom to ask.

import { describeError } from "../api.js";
import { field, h, replace, say, statusLine } from "../dom.js";
import { confirmAction, confirmDeleteSpace } from "./dialogs.js";
import { copyText } from "./menu.js";

export const EXPIRY_CHOICES = [
  { value: "3600", label: "1 hour" },
  { value: "86400", label: "1 day" },
  { value: "604800", label: "7 days" },
  { value: "2592000", label: "30 days" },
  { value: "", label: "Never" },
];

/** The caller's role in the space: "owner", "moderator", "member" or null. */
export function callerRole(space, members, userId) {
  if (space.ownerId === userId) return "owner";
  return members.find((m) => m.userId === userId)?.role ?? null;
}

/** What the caller may do to `member` (`role`: the caller's). */
export function memberActions(role, member, userId) {
  const self = member.userId === userId;
  return {
    changeRole: role === "owner" && member.role !== "owner",
    remove: !self && member.role !== "owner" && (role === "owner" || (role === "moderator" && member.role === "member")),
  };
}

/** The PATCH /space body for the form's values: only what changed. */
export function spaceChanges(space, values) {
  const changes = {};
  const name = values.name.trim();
  if (name && name !== space.name) changes.name = name;
  if (values.visibility !== space.visibility) changes.visibility = values.visibility;
  if (typeof space.guests === "boolean" ? values.guests !== space.guests : values.guests) changes.guests = values.guests;
  return changes;
}

/** How a link stands: "active", "expired", "used up" or "revoked". */
export function inviteState(invite, nowMs = Date.now()) {
  if (invite.revoked) return "revoked";
  if (invite.expiresAt && Date.parse(invite.expiresAt) <= nowMs) return "expired";
  if (invite.maxUses !== null && invite.maxUses !== undefined && invite.uses >= invite.maxUses) return "used up";
  return "active";
}

function when(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function nameOf(member) {
  return member.displayName || member.username;
}

export async function mountSpaceSettings(root, { api, me, spaceId, navigate }) {
  const path = `/space/${encodeURIComponent(spaceId)}`;
  const head = (title) =>
    h(
      "div",
      { class: "page-head" },
      h("div", {}, h("p", { class: "kicker" }, "Space settings"), h("h1", {}, title)),
      h(
        "div",
        { class: "page-actions" },
        h("a", { href: "/", class: "button button-quiet" }, "← Lobby"),
        h("a", { href: `/spaces/${encodeURIComponent(spaceId)}`, class: "button", testid: "settings-enter" }, "Enter the space"),
      ),
    );
  const page = h("div", { class: "settings", testid: "space-settings", dataset: { spaceId } });
  root.append(page);

  let space;
  let members = [];
  try {
    space = await api.get(path);
    members = (await api.get(`${path}/members`)).members;
  } catch (error) {
    if (error.status === 403 || error.status === 400) {
      replace(page, head("Not available"), forbidden(error.status === 400 ? "No space has that id." : null));
      return { unmount() {} };
    }
    throw error;
  }
  const role = callerRole(space, members, me?.id);
  if (role !== "owner" && role !== "moderator") {
    replace(page, head(space.name), forbidden(null));
    return { unmount() {} };
  }

  const title = h("span", {}, space.name);
  const visibilityNote = h("span", { class: "badge badge-quiet" }, space.visibility);
  const membersPanel = h("section", { class: "panel settings-panel", testid: "settings-members", aria: { labelledby: "settings-members-title" } });
  const invitesPanel = h("section", { class: "panel settings-panel", testid: "settings-invites", aria: { labelledby: "settings-invites-title" } });
  replace(
    page,
    head([title, " ", visibilityNote]),
    h(
      "div",
      { class: "settings-layout" },
      h("div", { class: "settings-column" }, generalForm(), role === "owner" ? dangerZone() : null),
      h("div", { class: "settings-column" }, membersPanel, invitesPanel),
    ),
  );
  drawMembers();
  await drawInvites();

  function generalForm() {
    const owner = role === "owner";
    const notice = statusLine("settings-status");
    const name = h("input", { type: "text", name: "name", maxlength: 64, value: space.name, testid: "settings-name", required: true });
    const visibility = h(
      "select",
      { name: "visibility", testid: "settings-visibility" },
      h("option", { value: "public", selected: space.visibility === "public" }, "Public: anyone signed in may enter"),
      h("option", { value: "private", selected: space.visibility === "private" }, "Private: members only"),
    );
    const guests = h("input", { type: "checkbox", name: "guests", testid: "settings-guests", checked: Boolean(space.guests) });
    const save = h("button", { type: "submit", class: "button", testid: "settings-save" }, "Save changes");
    const fields = h(
      "fieldset",
      { disabled: !owner },
      field("Name", name),
      field("Who may enter", visibility, "Making the space private sends out everyone who is not a member."),
      h(
        "label",
        { class: "check check-block" },
        guests,
        h("span", {}, h("span", { class: "label" }, "Guests"), h("small", { class: "hint" }, "People without an account enter with a display name only, from the space's link.")),
      ),
      h("div", { class: "form-actions" }, save),
    );
    const form = h(
      "form",
      { class: "panel settings-panel", testid: "settings-form", novalidate: true, aria: { labelledby: "settings-general-title" } },
      h("h2", { id: "settings-general-title" }, "General"),
      owner ? null : h("p", { class: "notice notice-info" }, "Only the owner changes these."),
      notice,
      fields,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const changes = spaceChanges(space, { name: name.value, visibility: visibility.value, guests: guests.checked });
      if (!name.value.trim()) {
        say(notice, "Give the space a name.", "error");
        name.focus();
        return;
      }
      if (!Object.keys(changes).length) {
        say(notice, "Nothing to save: nothing changed.", "info");
        return;
      }
      save.disabled = true;
      try {
        space = { ...space, ...(await api.patch(path, changes)) };
        title.textContent = space.name;
        visibilityNote.textContent = space.visibility;
        drawMembers();
        say(notice, "Saved.", "ok");
      } catch (error) {
        say(notice, describeError(error), "error");
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  function dangerZone() {
    const notice = statusLine("settings-delete-status");
    return h(
      "section",
      { class: "panel settings-panel settings-danger", aria: { labelledby: "settings-danger-title" } },
      h("h2", { id: "settings-danger-title" }, "Delete this space"),
      h("p", { class: "muted" }, "Its map, members, invite links and chat go for good; anyone in it is sent out."),
      notice,
      h(
        "button",
        {
          type: "button",
          class: "button button-danger",
          testid: "settings-delete",
          on: {
            async click() {
              const sure = await confirmDeleteSpace(space);
              if (!sure) return;
              try {
                await api.del(path);
                navigate("/");
              } catch (error) {
                say(notice, describeError(error), "error");
              }
            },
          },
        },
        "Delete space…",
      ),
    );
  }

  function drawMembers(message) {
    const notice = statusLine("members-status");
    if (message) say(notice, ...message);
    const rows = members.map((member) => {
      const can = memberActions(role, member, me?.id);
      const roleControl = can.changeRole
        ? h(
            "select",
            {
              class: "member-role",
              testid: "member-role",
              aria: { label: `Role of ${nameOf(member)}` },
              on: { change: (event) => changeRole(member, event.target.value) },
            },
            h("option", { value: "member", selected: member.role === "member" }, "Member"),
            h("option", { value: "moderator", selected: member.role === "moderator" }, "Moderator"),
          )
        : h("span", { class: `badge badge-role badge-${member.role}` }, member.role);
      return h(
        "li",
        { class: "member", testid: "member", dataset: { userId: member.userId, role: member.role } },
        h(
          "span",
          { class: "member-name" },
          h("strong", {}, nameOf(member)),
          member.userId === me?.id ? h("span", { class: "muted" }, " (you)") : null,
          h("small", { class: "muted member-username" }, `@${member.username}`),
        ),
        roleControl,
        can.remove
          ? h(
              "button",
              { type: "button", class: "button button-danger button-small", testid: "member-remove", aria: { label: `Remove ${nameOf(member)}` }, on: { click: () => remove(member) } },
              "Remove",
            )
          : h("span", { class: "member-spacer" }),
      );
    });
    replace(
      membersPanel,
      h("h2", { id: "settings-members-title" }, "Members ", h("span", { class: "count" }, String(members.length))),
      h("p", { class: "muted" }, space.visibility === "private" ? "Only members may enter. Invite people with a link below." : "Anyone signed in may enter; members are listed here."),
      notice,
      h("ul", { class: "member-list" }, rows),
    );
  }

  async function reloadMembers(message) {
    try {
      members = (await api.get(`${path}/members`)).members;
      drawMembers(message);
    } catch (error) {
      drawMembers([describeError(error), "error"]);
    }
  }

  async function changeRole(member, next) {
    try {
      await api.post(`${path}/members`, { userId: member.userId, role: next });
      await reloadMembers([`${nameOf(member)} is now a ${next}.`, "ok"]);
    } catch (error) {
      await reloadMembers([describeError(error), "error"]);
    }
  }

  async function remove(member) {
    const sure = await confirmAction({
      title: `Remove ${nameOf(member)}?`,
      text:
        space.visibility === "private"
          ? `${nameOf(member)} can no longer enter “${space.name}”, and is sent out if they are in it now.`
          : `${nameOf(member)} is no longer a member of “${space.name}” (it is public: they may still enter).`,
      confirmLabel: "Remove",
      danger: true,
      testid: "confirm-remove",
    });
    if (!sure) return;
    try {
      await api.del(`${path}/members`, { userId: member.userId });
      await reloadMembers([`${nameOf(member)} was removed.`, "ok"]);
    } catch (error) {
      await reloadMembers([describeError(error), "error"]);
    }
  }

  async function drawInvites(message) {
    const notice = statusLine("invites-status");
    if (message) say(notice, ...message);
    const form = inviteForm(notice);
    let list;
    try {
      const { invites } = await api.get(`${path}/invites`);
      const shown = invites.filter((invite) => !invite.revoked).reverse();
      list = shown.length
        ? h("ul", { class: "invite-list" }, shown.map((invite) => inviteRow(invite, notice)))
        : h("p", { class: "empty" }, "No invite links yet.");
    } catch (error) {
      list = h("p", { class: "notice notice-error" }, describeError(error));
    }
    replace(invitesPanel, h("h2", { id: "settings-invites-title" }, "Invite links"), notice, form, list);
  }

  function inviteForm(notice) {
    const inviteRole = h(
      "select",
      { name: "role", testid: "invite-role" },
      h("option", { value: "member" }, "Member"),
      role === "owner" ? h("option", { value: "moderator" }, "Moderator") : null,
    );
    const expires = h(
      "select",
      { name: "expires", testid: "invite-expires" },
      EXPIRY_CHOICES.map((choice) => h("option", { value: choice.value, selected: choice.value === "604800" }, choice.label)),
    );
    const uses = h("input", { type: "number", name: "maxUses", min: 1, max: 100000, placeholder: "No limit", testid: "invite-max-uses" });
    const create = h("button", { type: "submit", class: "button", testid: "invite-create" }, "Create link");
    const form = h("form", { class: "invite-form", testid: "invite-form", novalidate: true }, h("div", { class: "row" }, field("Joins as", inviteRole), field("Expires", expires), field("Uses", uses)), create);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { role: inviteRole.value };
      if (expires.value) body.expiresInS = Number(expires.value);
      if (uses.value) {
        const max = Number(uses.value);
        if (!Number.isInteger(max) || max < 1) {
          say(notice, "Uses is a whole number of at least 1, or empty for no limit.", "error");
          uses.focus();
          return;
        }
        body.maxUses = max;
      }
      create.disabled = true;
      try {
        const invite = await api.post(`${path}/invites`, body);
        const copied = await copyText(invite.url);
        await drawInvites([copied ? "Link created and copied." : "Link created.", "ok"]);
      } catch (error) {
        say(notice, describeError(error), "error");
        create.disabled = false;
      }
    });
    return form;
  }

  function inviteRow(invite, notice) {
    const state = inviteState(invite);
    const url = h("input", { type: "text", readOnly: true, value: invite.url, class: "invite-url", testid: "invite-url", aria: { label: "Invite link" } });
    url.readOnly = true;
    url.addEventListener("focus", () => url.select());
    const details = [
      invite.role === "moderator" ? "Joins as moderator" : "Joins as member",
      invite.maxUses ? `${invite.uses} of ${invite.maxUses} used` : `${invite.uses} used`,
      invite.expiresAt ? `${state === "expired" ? "expired" : "expires"} ${when(invite.expiresAt)}` : "never expires",
    ];
    return h(
      "li",
      { class: "invite", testid: "invite", dataset: { token: invite.token, state } },
      h("div", { class: "invite-main" }, url, h("small", { class: "muted" }, details.join(" · "), state !== "active" ? h("span", { class: "badge" }, state) : null)),
      h(
        "div",
        { class: "invite-actions" },
        h(
          "button",
          {
            type: "button",
            class: "button button-quiet button-small",
            testid: "invite-copy",
            on: {
              async click() {
                say(notice, (await copyText(invite.url)) ? "Link copied." : "Select the link and copy it.", "ok");
              },
            },
          },
          "Copy",
        ),
        h(
          "button",
          {
            type: "button",
            class: "button button-danger button-small",
            testid: "invite-revoke",
            on: {
              async click() {
                try {
                  await api.del(`${path}/invites/${encodeURIComponent(invite.token)}`);
                  await drawInvites(["Link revoked: it no longer lets anyone in.", "ok"]);
                } catch (error) {
                  say(notice, describeError(error), "error");
                }
              },
            },
          },
          "Revoke",
        ),
      ),
    );
  }

  return { unmount() {} };
}

function forbidden(detail) {
  return h(
    "section",
    { class: "panel error-box", role: "alert", testid: "settings-forbidden" },
    h("h2", {}, "You can't change this space"),
    h("p", {}, detail ?? "Only the owner and moderators can change a space's settings. Ask its owner if something needs changing."),
  );
}
