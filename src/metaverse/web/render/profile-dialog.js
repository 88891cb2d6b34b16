// "Edit profile" inside the space: a <dialog> with the display name, status text and
// avatar. Saving sends what changed (`onSave(changes)`, PATCH /user/me); everyone in the
// space sees it at once through the gateway's `profile` frame.

import { h, imageOr, replace } from "../dom.js";
import { profileChanges } from "../screens/profile.js";

/** createProfileDialog({loadAvatars, onSave}) → {open(me), close()}. */
export function createProfileDialog({ loadAvatars, onSave }) {
  let dialog = null;

  /** The avatar `me` wears: by id, or by its image when only that is known. */
  function wornAvatar(avatars, me) {
    return avatars.find((a) => a.id === me.avatarId)?.id ?? avatars.find((a) => me.avatarUrl && a.imageUrl === me.avatarUrl)?.id ?? null;
  }

  function avatarChoices(avatars, selected) {
    if (!avatars.length) return h("p", { class: "hint" }, "No avatars are available yet.");
    return h(
      "div",
      { class: "picker avatar-picker profile-dialog-avatars", style: { "--tile": "64px" } },
      avatars.map((avatar) =>
        h(
          "label",
          { class: "pick", testid: "profile-dialog-avatar", dataset: { avatarId: avatar.id }, title: avatar.name },
          h("input", { type: "radio", name: "avatarId", value: avatar.id, checked: avatar.id === selected, aria: { label: avatar.name } }),
          imageOr(avatar.imageUrl, "", () => h("div", { class: "thumb-placeholder", "aria-hidden": "true" }, avatar.name.charAt(0))),
        ),
      ),
    );
  }

  function open(me) {
    close();
    const error = h("p", { class: "notice notice-error", role: "alert", testid: "profile-dialog-error", hidden: true });
    const displayName = h("input", { type: "text", name: "displayName", maxlength: 64, value: me.displayName ?? "", placeholder: me.username, testid: "profile-dialog-name" });
    const statusText = h("input", { type: "text", name: "statusText", maxlength: 140, value: me.statusText ?? "", placeholder: "What are you up to?", testid: "profile-dialog-status-text" });
    const avatars = h("div", { class: "profile-dialog-avatar-slot" }, h("p", { class: "hint" }, "Loading avatars…"));
    const save = h("button", { type: "submit", class: "button", testid: "profile-dialog-save" }, "Save");
    const form = h(
      "form",
      { method: "dialog", class: "modal-form" },
      h("h2", { class: "modal-title", id: "profile-dialog-title" }, "Your profile"),
      h("p", { class: "hint" }, "Everyone in the space sees the change at once."),
      error,
      h("label", { class: "modal-label" }, h("span", {}, "Display name"), displayName),
      // A guest may change their name only.
      me.guest ? null : h("label", { class: "modal-label" }, h("span", {}, "Status text"), statusText),
      me.guest ? null : h("fieldset", {}, h("legend", {}, "Avatar"), avatars),
      h(
        "div",
        { class: "modal-actions" },
        h("button", { type: "button", class: "button button-quiet", testid: "profile-dialog-cancel", on: { click: () => close() } }, "Cancel"),
        save,
      ),
    );
    dialog = h("dialog", { class: "modal profile-dialog", testid: "profile-dialog", aria: { labelledby: "profile-dialog-title" } }, form);
    const mine = dialog;
    dialog.addEventListener("close", () => {
      mine.remove();
      if (dialog === mine) dialog = null;
    });
    document.body.append(dialog);
    dialog.showModal();
    displayName.focus();
    displayName.select();

    let worn = me.avatarId ?? null;
    if (!me.guest) {
      loadAvatars()
        .then((list) => {
          worn = wornAvatar(list, me);
          replace(avatars, avatarChoices(list, worn));
        })
        .catch(() => replace(avatars, h("p", { class: "hint" }, "Avatars could not be loaded.")));
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const current = { displayName: me.displayName || null, statusText: me.statusText || null, avatarId: worn };
      const changes = profileChanges(current, {
        displayName: displayName.value,
        statusText: me.guest ? me.statusText ?? "" : statusText.value,
        avatarId: form.querySelector("input[name=avatarId]:checked")?.value ?? null,
      });
      if (!Object.keys(changes).length) {
        close();
        return;
      }
      save.disabled = true;
      error.hidden = true;
      try {
        await onSave(changes);
        close();
      } catch (failure) {
        error.textContent = failure?.message || String(failure);
        error.hidden = false;
        save.disabled = false;
      }
    });
  }

  function close() {
    if (dialog?.open) dialog.close();
  }

  return { open, close };
}
