// Who is here: everyone in the space, me first, with status, status text and whether they
// are in my call; buttons to find them (locate, walk to, follow), wave at them, and open a
// direct conversation with them.

import { h, imageOr, replace } from "../dom.js";
import { STATUS_LABELS } from "../protocol.js";
import { colourFor, displayName } from "./world.js";

const FINDING = [
  ["Locate", "locate", "Show where they are"],
  ["Walk to", "walkTo", "Walk up to them"],
  ["Follow", "follow", "Keep walking behind them"],
  ["Wave", "wave", "Call them over"],
];

export function createPeoplePanel({ onMessage, onFind = () => {}, onEditProfile = () => {} }) {
  const count = h("span", { class: "space-count", testid: "people-count" }, "0");
  const list = h("ul", { class: "people-list", testid: "people-list" });
  const root = h(
    "section",
    { class: "space-section people", aria: { labelledby: "people-heading" } },
    h("h2", { class: "space-section-title", id: "people-heading" }, "Here now ", count),
    list,
  );
  let signature = "";

  function row(person, { isMe, inCall }) {
    const status = person.status || "available";
    const name = displayName(person);
    return h(
      "li",
      { class: "person", testid: "person", dataset: { userId: person.userId, status } },
      h(
        "span",
        { class: "person-avatar", style: { "--person-colour": colourFor(person.userId) }, "aria-hidden": "true" },
        imageOr(person.avatarUrl, "", () => h("span", { class: "person-initial" }, name.charAt(0).toUpperCase()), {
          class: "person-image",
        }),
        h("span", { class: `status-dot status-${status}` }),
      ),
      h(
        "span",
        { class: "person-text" },
        h("span", { class: "person-name" }, name, isMe ? h("span", { class: "person-you" }, " (you)") : null),
        h(
          "span",
          { class: "person-status" },
          STATUS_LABELS[status] ?? status,
          person.statusText ? ` · ${person.statusText}` : "",
        ),
      ),
      person.guest ? h("span", { class: "tag tag-guest", testid: "person-guest", title: "Visiting as a guest" }, "Guest") : null,
      inCall ? h("span", { class: "tag tag-call", testid: "person-in-call" }, "In call") : null,
      status === "dnd" ? h("span", { class: "tag tag-dnd", title: "Do not disturb" }, "DND") : null,
      isMe
        ? h(
            "button",
            {
              type: "button",
              class: "button button-quiet button-small person-edit",
              testid: "edit-profile",
              title: "Change your name, status text or avatar",
              aria: { label: "Edit your profile" },
              on: { click: () => onEditProfile() },
            },
            "Edit",
          )
        : h(
            "button",
            {
              type: "button",
              class: "button button-quiet button-small person-message",
              aria: { label: `Message ${name}` },
              on: { click: () => onMessage(person.userId) },
            },
            "Message",
          ),
      isMe
        ? null
        : h(
            "span",
            { class: "person-actions", role: "group", aria: { label: `Find ${name}` } },
            FINDING.map(([label, action, title]) =>
              h(
                "button",
                {
                  type: "button",
                  class: `button button-quiet button-small person-${action}`,
                  title: `${title} (${name})`,
                  dataset: { action },
                  on: { click: () => onFind(action, person.userId) },
                },
                label,
              ),
            ),
          ),
    );
  }

  return {
    root,
    update(state) {
      const peers = state.call?.peers ?? {};
      const others = Object.values(state.users).sort((a, b) => displayName(a).localeCompare(displayName(b)));
      // Positions change all the time and are not shown here: rebuild (and lose the focus
      // of a button) only when something shown changed.
      const shown = [state.me, ...others].filter(Boolean).map((p) => [p.userId, displayName(p), p.avatarUrl, p.status, p.statusText, p.guest, p.userId in peers]);
      const next = JSON.stringify([shown, Object.keys(peers).length > 0]);
      if (next === signature) return;
      signature = next;
      count.textContent = String(others.length + (state.me ? 1 : 0));
      replace(
        list,
        state.me ? row(state.me, { isMe: true, inCall: Object.keys(peers).length > 0 }) : null,
        others.map((u) => row(u, { isMe: false, inCall: u.userId in peers })),
      );
    },
  };
}
