// The lobby (/): my spaces, spaces I joined, public spaces, and a form to create a space.
// Each card has a menu: settings (owners and moderators), rename and delete (owners),
// copy link (everyone).

import { describeError } from "../api.js";
import { field, h, imageOr, replace, say, statusLine } from "../dom.js";
import { confirmDeleteSpace, promptText } from "./dialogs.js";
import { formatDimensions, parseDimensions } from "./editor-model.js";
import { copyText, menuButton } from "./menu.js";

const SECTIONS = [
  { key: "mine", title: "My spaces", empty: "You have no spaces yet: create one with the form.", path: "/space/all" },
  { key: "joined", title: "Joined", empty: "Spaces you join appear here.", path: "/space/joined" },
  { key: "public", title: "Public spaces", empty: "No other public spaces yet.", path: "/space/public" },
];

export function thumbnailPlaceholder(name) {
  const initial = (name || "?").trim().charAt(0).toUpperCase() || "?";
  return () => h("div", { class: "thumb-placeholder", "aria-hidden": "true" }, initial);
}

/** The caller's role in a space of a lobby section: "owner", "moderator", "member" or null. */
export function roleIn(sectionKey, space) {
  if (sectionKey === "mine") return "owner";
  return space.role ?? null;
}

function cardMenu(space, role, actions) {
  const manages = role === "owner" || role === "moderator";
  return menuButton({
    label: `Actions for ${space.name}`,
    testid: "space-card-menu",
    items: [
      manages && { label: "Settings", testid: "space-card-settings", onSelect: () => actions.settings(space) },
      role === "owner" && { label: "Rename…", testid: "space-card-rename", onSelect: () => actions.rename(space) },
      { label: "Copy link", testid: "space-card-copy", onSelect: () => actions.copy(space) },
      role === "owner" && { label: "Delete…", testid: "space-card-delete", danger: true, onSelect: () => actions.remove(space) },
    ],
  });
}

function spaceCard(space, role, actions) {
  const { width, height } = parseDimensions(space.dimensions) ?? {};
  return h(
    "li",
    { class: "space-card", testid: "space-card", dataset: { spaceId: space.id } },
    h(
      "div",
      { class: "space-thumb" },
      imageOr(space.thumbnail, "", thumbnailPlaceholder(space.name)),
      h(
        "span",
        { class: "space-badges" },
        space.visibility === "private" ? h("span", { class: "badge" }, "Private") : null,
        space.role && space.role !== "member" ? h("span", { class: "badge badge-quiet" }, space.role) : null,
      ),
      h("span", { class: "card-menu" }, cardMenu(space, role, actions)),
    ),
    h(
      "div",
      { class: "space-body" },
      h("h3", { class: "space-name", title: space.name }, space.name),
      h(
        "p",
        { class: "space-meta" },
        width ? `${width} × ${height} tiles` : space.dimensions,
      ),
      h(
        "a",
        { class: "button button-small", href: `/spaces/${encodeURIComponent(space.id)}`, testid: "space-enter", aria: { label: `Enter ${space.name}` } },
        "Enter",
      ),
    ),
  );
}

function section({ key, title, empty }, spaces, error, actions) {
  const body = error
    ? h("p", { class: "notice notice-error", role: "alert" }, describeError(error))
    : spaces.length
      ? h("ul", { class: "space-grid" }, spaces.map((space) => spaceCard(space, roleIn(key, space), actions)))
      : h("p", { class: "empty" }, empty);
  return h(
    "section",
    { class: "lobby-section", testid: `section-${key}`, aria: { labelledby: `lobby-${key}` } },
    h("h2", { id: `lobby-${key}` }, title, spaces.length ? h("span", { class: "count" }, String(spaces.length)) : null),
    body,
  );
}

/** Each space once: owned, else joined, else public. */
export function dedupeSpaces(mine, joined, pub) {
  const seen = new Set(mine.map((s) => s.id));
  const joinedOnly = joined.filter((s) => s.role !== "owner" && !seen.has(s.id));
  joinedOnly.forEach((s) => seen.add(s.id));
  return { mine, joined: joinedOnly, public: pub.filter((s) => !seen.has(s.id)) };
}

function createForm({ api, navigate }, maps) {
  const error = statusLine("create-space-error", "error");
  const name = h("input", { type: "text", name: "name", maxlength: 64, testid: "create-space-name", placeholder: "Team office" });
  const width = h("input", { type: "number", name: "width", min: 1, max: 9999, value: "24", testid: "create-space-width" });
  const height = h("input", { type: "number", name: "height", min: 1, max: 9999, value: "16", testid: "create-space-height" });
  const blankSize = h("div", { class: "row blank-size", hidden: true }, field("Width", width), field("Height", height));

  const option = (value, label, thumbnail, testid, extra) =>
    h(
      "label",
      { class: "pick", testid, dataset: extra },
      h("input", { type: "radio", name: "source", value, checked: value === maps[0]?.id || (!maps.length && value === "") }),
      thumbnail,
      h("span", { class: "pick-label" }, label),
    );
  const picker = h(
    "div",
    { class: "picker map-picker", style: { "--tile": "120px" } },
    maps.map((m) =>
      option(m.id, `${m.name} · ${m.dimensions.replace("x", " × ")}`, imageOr(m.thumbnail, "", thumbnailPlaceholder(m.name)), "map-option", { mapId: m.id }),
    ),
    option("", "Blank space", h("div", { class: "thumb-placeholder", "aria-hidden": "true" }, "+"), "map-option-blank"),
  );
  const visibility = h(
    "select",
    { name: "visibility", testid: "create-space-visibility" },
    h("option", { value: "public" }, "Public (anyone signed in)"),
    h("option", { value: "private" }, "Private (members only)"),
  );
  const form = h(
    "form",
    { class: "panel create-space", testid: "create-space-form", novalidate: true, aria: { labelledby: "create-space-title" } },
    h("h2", { id: "create-space-title" }, "Create a space"),
    error,
    field("Name", name),
    h("fieldset", {}, h("legend", {}, "Start from"), picker),
    blankSize,
    field("Who can enter", visibility),
    h("button", { type: "submit", class: "button button-block", testid: "create-space-submit" }, "Create space"),
  );
  const source = () => form.querySelector("input[name=source]:checked")?.value ?? "";
  form.addEventListener("change", () => {
    blankSize.hidden = source() !== "";
  });
  blankSize.hidden = source() !== "";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    say(error, "");
    const body = { name: name.value.trim(), visibility: visibility.value };
    if (!body.name) {
      say(error, "Give the space a name.", "error");
      name.focus();
      return;
    }
    if (source()) {
      body.mapId = source();
    } else {
      const dims = formatDimensions(Number(width.value), Number(height.value));
      if (!dims) {
        say(error, "Width and height are whole numbers from 1 to 9999.", "error");
        width.focus();
        return;
      }
      body.dimensions = dims;
    }
    button.disabled = true;
    try {
      const { spaceId } = await api.post("/space", body);
      await navigate(`/spaces/${encodeURIComponent(spaceId)}`);
    } catch (failure) {
      say(error, describeError(failure), "error");
      button.disabled = false;
    }
  });
  return form;
}

async function settle(promise) {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

export function spaceLink(spaceId, origin = location.origin) {
  return `${origin}/spaces/${encodeURIComponent(spaceId)}`;
}

export async function mountLobby(root, ctx) {
  const { api, me, navigate } = ctx;
  const greeting = me ? `Hello, ${me.displayName || me.username}.` : "Hello.";
  const sections = h("div", { class: "lobby-sections", "aria-busy": "true" }, h("p", { class: "loading" }, "Loading spaces…"));
  const aside = h("aside", { class: "lobby-aside" });
  const notice = statusLine("lobby-status");
  root.append(
    h(
      "div",
      { class: "lobby", testid: "lobby" },
      h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Lobby"), h("p", {}, greeting, " Pick a space to enter, or create one."))),
      notice,
      h("div", { class: "lobby-layout" }, sections, aside),
    ),
  );

  const actions = {
    settings: (space) => navigate(`/spaces/${encodeURIComponent(space.id)}/settings`),
    async rename(space) {
      const name = await promptText({ title: "Rename space", label: "Name", value: space.name, testid: "rename-space" });
      if (!name) return;
      try {
        await api.patch(`/space/${encodeURIComponent(space.id)}`, { name });
        say(notice, `Renamed to “${name}”.`, "ok");
        await load();
      } catch (error) {
        say(notice, describeError(error), "error");
      }
    },
    async copy(space) {
      const copied = await copyText(spaceLink(space.id));
      say(notice, copied ? `Link to “${space.name}” copied.` : spaceLink(space.id), copied ? "ok" : "info");
    },
    async remove(space) {
      const sure = await confirmDeleteSpace(space);
      if (!sure) return;
      try {
        await api.del(`/space/${encodeURIComponent(space.id)}`);
        say(notice, `“${space.name}” was deleted.`, "ok");
        await load();
      } catch (error) {
        say(notice, describeError(error), "error");
      }
    },
  };

  async function load() {
    const [mine, joined, pub] = await Promise.all(SECTIONS.map((s) => settle(api.get(s.path))));
    const lists = dedupeSpaces(mine.value?.spaces ?? [], joined.value?.spaces ?? [], pub.value?.spaces ?? []);
    const errors = { mine: mine.error, joined: joined.error, public: pub.error };
    replace(sections, SECTIONS.map((s) => section(s, lists[s.key], errors[s.key], actions)));
    sections.removeAttribute("aria-busy");
  }

  const maps = settle(api.get("/maps"));
  await load();
  replace(aside, createForm(ctx, (await maps).value?.maps ?? []));
  return { unmount() {} };
}
