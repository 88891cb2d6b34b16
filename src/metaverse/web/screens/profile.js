// Profile (/profile): display name, avatar, status and status text.

import { describeError } from "../api.js";
import { field, h, imageOr, say, statusLine } from "../dom.js";

export const STATUSES = [
  { value: "available", label: "Available" },
  { value: "busy", label: "Busy" },
  { value: "away", label: "Away" },
  { value: "dnd", label: "Do not disturb", hint: "keeps you out of calls" },
];

/** The PATCH /user/me body for the form's values (empty texts clear). */
export function profileChanges(current, values) {
  const changes = {};
  const text = (v) => (v.trim() ? v.trim() : null);
  if (text(values.displayName) !== (current.displayName ?? null)) changes.displayName = text(values.displayName);
  if (text(values.statusText) !== (current.statusText ?? null)) changes.statusText = text(values.statusText);
  if (values.status && values.status !== current.status) changes.status = values.status;
  if (values.avatarId && values.avatarId !== current.avatarId) changes.avatarId = values.avatarId;
  return changes;
}

function avatarPicker(avatars, selected) {
  if (!avatars.length) return h("p", { class: "empty" }, "No avatars are available yet.");
  return h(
    "div",
    { class: "picker avatar-picker", style: { "--tile": "92px" } },
    avatars.map((avatar) =>
      h(
        "label",
        { class: "pick", testid: "avatar-option", dataset: { avatarId: avatar.id } },
        h("input", { type: "radio", name: "avatarId", value: avatar.id, checked: avatar.id === selected }),
        imageOr(avatar.imageUrl, "", () => h("div", { class: "thumb-placeholder", "aria-hidden": "true" }, avatar.name.charAt(0))),
        h("span", { class: "pick-label" }, avatar.name),
      ),
    ),
  );
}

function statusPicker(selected) {
  return h(
    "div",
    { class: "status-picker" },
    STATUSES.map((s) =>
      h(
        "label",
        { class: "status-option", testid: `status-${s.value}` },
        h("input", { type: "radio", name: "status", value: s.value, checked: s.value === selected }),
        h("span", { class: `dot status-${s.value}`, "aria-hidden": "true" }),
        h("span", {}, s.label, s.hint ? h("small", { class: "hint" }, ` (${s.hint})`) : null),
      ),
    ),
  );
}

export async function mountProfile(root, { api, refreshUser }) {
  api.invalidateMe();
  const [me, { avatars }] = await Promise.all([api.me(), api.get("/avatars")]);
  let current = me;

  const notice = statusLine("profile-status");
  const displayName = h("input", { type: "text", name: "displayName", maxlength: 64, value: me.displayName ?? "", placeholder: me.username, testid: "profile-display-name" });
  const statusText = h("input", { type: "text", name: "statusText", maxlength: 140, value: me.statusText ?? "", placeholder: "What are you up to?", testid: "profile-status-text" });
  const form = h(
    "form",
    { class: "panel profile-form", testid: "profile-form", novalidate: true },
    notice,
    field("Display name", displayName, `Shown to others instead of your username (${me.username}).`),
    h("fieldset", {}, h("legend", {}, "Avatar"), avatarPicker(avatars, me.avatarId)),
    h("fieldset", {}, h("legend", {}, "Status"), statusPicker(me.status ?? "available")),
    field("Status text", statusText),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "button", testid: "profile-save" }, "Save profile")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const changes = profileChanges(current, {
      displayName: displayName.value,
      statusText: statusText.value,
      status: data.get("status"),
      avatarId: data.get("avatarId"),
    });
    if (!Object.keys(changes).length) {
      say(notice, "Nothing to save: the profile is unchanged.", "info");
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      current = await api.patch("/user/me", changes);
      say(notice, "Profile saved.", "ok");
      await refreshUser();
    } catch (error) {
      say(notice, describeError(error), "error");
    } finally {
      button.disabled = false;
    }
  });

  root.append(
    h(
      "div",
      { class: "profile", testid: "profile" },
      h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Your profile"), h("p", {}, "How others see you in spaces."))),
      form,
    ),
  );
  return { unmount() {} };
}
