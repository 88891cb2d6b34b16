// The map editor (/editor, /editor/:mapId), for admins: elements, layout, areas, save,
// and a space made from the saved map.

import { describeError } from "../api.js";
import { createScope, field, h, replace, say, statusLine } from "../dom.js";
import { createGridCanvas } from "./editor-canvas.js";
import { newElementForm, palette } from "./editor-panels.js";
import { AREA_COLORS } from "./editor-canvas.js";
import {
  AREA_KINDS,
  addArea,
  createModel,
  eraseAt,
  elementLabel,
  fromMap,
  overflowing,
  placeElement,
  problems,
  removeArea,
  resize,
  toMapBody,
} from "./editor-model.js";

const ZOOMS = [16, 24, 32, 48];
const KIND_LABELS = { room: "Room", private: "Private (one call)", silent: "Silent (no calls)", spawn: "Spawn (where people appear)" };

function forbidden(root) {
  root.append(
    h(
      "section",
      { class: "panel error-box", testid: "editor-forbidden", role: "alert" },
      h("h1", {}, "The map editor is for admins"),
      h("p", {}, "Only platform admins can create elements and maps. You can still create a space from an existing map in the lobby."),
      h("p", {}, h("a", { class: "button", href: "/" }, "Back to the lobby")),
    ),
  );
  return { unmount() {} };
}

export async function mountEditor(root, { api, navigate, mapId, config }) {
  const me = await api.me();
  if (me.role !== "admin") return forbidden(root);
  const scope = createScope();

  const [{ elements }, { maps }, loaded] = await Promise.all([
    api.get("/elements"),
    api.get("/maps"),
    mapId ? api.get(`/maps/${encodeURIComponent(mapId)}`).then((m) => ({ map: m }), (error) => ({ error })) : Promise.resolve({}),
  ]);

  const state = {
    model: loaded.map ? { ...fromMap(loaded.map), name: `${loaded.map.name} (copy)`.slice(0, 64) } : createModel({ name: "", width: 20, height: 14 }),
    elements,
    elementsById: new Map(elements.map((e) => [e.id, e])),
    selected: elements[0]?.id ?? null,
    tool: "place",
    cursor: { x: 0, y: 0 },
    zoom: 32,
    pendingArea: null,
    dirty: false,
  };

  // ------------------------------------------------------------------ status lines
  const announce = h("p", { class: "visually-hidden", role: "status", testid: "editor-announce" });
  const notice = statusLine("editor-status");
  const readout = h("span", { class: "readout", testid: "editor-readout" });

  function updateReadout(cell) {
    const at = cell ?? state.cursor;
    const flagged = overflowing(state.model, state.elementsById).length;
    replace(
      readout,
      `Cell ${at.x}, ${at.y} · ${state.model.placements.length} elements · ${state.model.areas.length} areas`,
      flagged ? h("span", { class: "flag" }, ` · ${flagged} past the edge`) : null,
    );
  }

  function changed(model) {
    if (model === state.model) return;
    state.model = model;
    state.dirty = true;
    savedPanel.hidden = true;
    updateReadout();
    renderAreas();
    grid.draw();
  }

  // ------------------------------------------------------------------ the grid
  const grid = createGridCanvas(() => state, {
    place(x, y) {
      if (!state.selected) {
        say(notice, "Choose an element in the palette first.", "warn");
        return;
      }
      changed(placeElement(state.model, state.selected, x, y));
      announce.textContent = `Placed ${elementLabel(state.elementsById.get(state.selected))} at ${x}, ${y}.`;
    },
    erase(x, y) {
      const before = state.model;
      changed(eraseAt(state.model, state.elementsById, x, y));
      announce.textContent = before === state.model ? `Nothing to remove at ${x}, ${y}.` : `Removed the top element at ${x}, ${y}.`;
    },
    areaDrawn(rect) {
      state.pendingArea = rect;
      showAreaForm();
    },
    cursorMoved(cell) {
      state.cursor = cell;
      updateReadout();
    },
    hovered(cell) {
      updateReadout(cell);
    },
    setTool,
    announce(text) {
      announce.textContent = text;
    },
  });

  // ------------------------------------------------------------------ toolbar
  const toolButtons = ["place", "erase", "area"].map((tool) =>
    h(
      "button",
      { type: "button", class: "tool", testid: `tool-${tool}`, aria: { pressed: String(tool === state.tool) }, on: { click: () => setTool(tool) } },
      { place: "Place", erase: "Erase", area: "Area" }[tool],
      h("kbd", { "aria-hidden": "true" }, tool.charAt(0).toUpperCase()),
    ),
  );
  function setTool(tool) {
    state.tool = tool;
    toolButtons.forEach((b, i) => b.setAttribute("aria-pressed", String(["place", "erase", "area"][i] === tool)));
    grid.element.dataset.tool = tool;
    announce.textContent = `${tool} tool`;
    grid.draw();
  }
  grid.element.dataset.tool = state.tool;

  const zoom = h(
    "select",
    { testid: "editor-zoom", aria: { label: "Zoom" }, on: { change: () => { state.zoom = Number(zoom.value); grid.draw(); } } },
    ZOOMS.map((z) => h("option", { value: String(z), selected: z === state.zoom }, `${Math.round((z / 32) * 100)}%`)),
  );

  /** The largest zoom at which the whole map fits the stage (the smallest when none does). */
  function fitZoom() {
    const room = Math.min((stage.clientWidth - 32) / state.model.width, (stage.clientHeight - 32) / state.model.height);
    state.zoom = ZOOMS.filter((z) => z <= room).pop() ?? ZOOMS[0];
    zoom.value = String(state.zoom);
    grid.draw();
  }

  // ------------------------------------------------------------------ map settings
  const nameInput = h("input", { type: "text", maxlength: 64, value: state.model.name, placeholder: "My office", testid: "map-name" });
  scope.on(nameInput, "input", () => {
    state.model = { ...state.model, name: nameInput.value };
    state.dirty = true;
  });
  const widthInput = h("input", { type: "number", min: 1, max: 9999, value: String(state.model.width), testid: "map-width" });
  const heightInput = h("input", { type: "number", min: 1, max: 9999, value: String(state.model.height), testid: "map-height" });
  function applySize() {
    const width = Number(widthInput.value);
    const height = Number(heightInput.value);
    const ok = (n) => Number.isInteger(n) && n >= 1 && n <= 9999;
    if (!ok(width) || !ok(height)) {
      say(notice, "Width and height are whole numbers from 1 to 9999.", "error");
      return;
    }
    if (width === state.model.width && height === state.model.height) return;
    const result = resize(state.model, width, height);
    state.cursor = { x: Math.min(state.cursor.x, width - 1), y: Math.min(state.cursor.y, height - 1) };
    changed(result.model);
    fitZoom();
    const lost = [];
    if (result.removedElements) lost.push(`removed ${result.removedElements} element(s) outside the map`);
    if (result.removedAreas) lost.push(`removed ${result.removedAreas} area(s)`);
    if (result.clippedAreas) lost.push(`clipped ${result.clippedAreas} area(s)`);
    say(notice, `Map is now ${width} × ${height}${lost.length ? `: ${lost.join(", ")}` : ""}.`, lost.length ? "warn" : "ok");
  }
  const sizeButton = h("button", { type: "button", class: "button button-quiet button-small", testid: "map-resize", on: { click: applySize } }, "Apply size");
  for (const input of [widthInput, heightInput]) {
    scope.on(input, "keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        applySize();
      }
    });
  }

  // ------------------------------------------------------------------ areas
  const areaList = h("ul", { class: "area-list", testid: "area-list" });
  const areaName = h("input", { type: "text", maxlength: 64, testid: "area-name" });
  const areaKind = h("select", { testid: "area-kind" }, AREA_KINDS.map((k) => h("option", { value: k }, KIND_LABELS[k])));
  const areaWhere = h("p", { class: "hint" });
  const areaError = statusLine("area-error", "error");
  const areaForm = h(
    "form",
    { class: "area-form", testid: "area-form", hidden: true, novalidate: true },
    h("h3", {}, "New area"),
    areaWhere,
    areaError,
    field("Name", areaName),
    field("Kind", areaKind),
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "submit", class: "button button-small", testid: "area-add" }, "Add area"),
      h("button", { type: "button", class: "button button-quiet button-small", testid: "area-cancel", on: { click: () => hideAreaForm() } }, "Cancel"),
    ),
  );
  function showAreaForm() {
    const r = state.pendingArea;
    areaWhere.textContent = `At ${r.x}, ${r.y}, ${r.width} × ${r.height} tiles.`;
    areaName.value = `Area ${state.model.areas.length + 1}`;
    say(areaError, "");
    areaForm.hidden = false;
    grid.draw();
    areaName.focus();
    areaName.select();
  }
  function hideAreaForm() {
    state.pendingArea = null;
    areaForm.hidden = true;
    grid.draw();
    grid.element.focus({ preventScroll: true });
  }
  scope.on(areaForm, "submit", (event) => {
    event.preventDefault();
    try {
      changed(addArea(state.model, { ...state.pendingArea, name: areaName.value, kind: areaKind.value }));
      announce.textContent = `Added area ${areaName.value.trim()}.`;
      hideAreaForm();
    } catch (error) {
      say(areaError, error.message, "error");
    }
  });
  function renderAreas() {
    replace(
      areaList,
      state.model.areas.length
        ? state.model.areas.map((area, index) =>
            h(
              "li",
              { class: "area-item", testid: "area-item", dataset: { kind: area.kind } },
              h("span", { class: "swatch", style: { "--swatch": AREA_COLORS[area.kind] }, "aria-hidden": "true" }),
              h("span", { class: "area-text" }, h("strong", {}, area.name), h("small", {}, `${area.kind} · ${area.x}, ${area.y} · ${area.width} × ${area.height}`)),
              h(
                "button",
                {
                  type: "button",
                  class: "button button-danger button-small",
                  testid: "area-delete",
                  aria: { label: `Delete area ${area.name}` },
                  on: { click: () => changed(removeArea(state.model, index)) },
                },
                "Delete",
              ),
            ),
          )
        : h("li", { class: "empty" }, "Choose the Area tool and drag a rectangle on the grid."),
    );
  }

  // ------------------------------------------------------------------ save, then a space
  const saveButton = h("button", { type: "button", class: "button button-block", testid: "save-map" }, "Save map");
  const spaceName = h("input", { type: "text", maxlength: 64, testid: "space-name" });
  const spaceButton = h("button", { type: "button", class: "button button-block", testid: "create-space-from-map" }, "Create a space from this map");
  const savedTitle = h("p", { class: "notice notice-ok", testid: "map-saved" });
  const savedPanel = h("div", { class: "saved-panel", hidden: true }, savedTitle, field("Space name", spaceName), spaceButton);
  let savedMapId = null;

  scope.on(saveButton, "click", async () => {
    state.model = { ...state.model, name: nameInput.value };
    const found = problems(state.model);
    if (found.length) {
      say(notice, found.join(" "), "error");
      return;
    }
    saveButton.disabled = true;
    say(notice, "Saving…", "info");
    try {
      const { id } = await api.post("/admin/map", toMapBody(state.model));
      savedMapId = id;
      state.dirty = false;
      say(notice, "");
      savedTitle.textContent = `Saved “${state.model.name.trim()}”. New spaces can use it now.`;
      spaceName.value = state.model.name.trim();
      savedPanel.hidden = false;
      spaceButton.focus();
    } catch (error) {
      say(notice, describeError(error), "error");
    } finally {
      saveButton.disabled = false;
    }
  });
  scope.on(spaceButton, "click", async () => {
    const name = spaceName.value.trim();
    if (!name) {
      say(notice, "Give the space a name.", "error");
      return;
    }
    spaceButton.disabled = true;
    try {
      const { spaceId } = await api.post("/space", { name, mapId: savedMapId });
      await navigate(`/spaces/${encodeURIComponent(spaceId)}`);
    } catch (error) {
      say(notice, describeError(error), "error");
      spaceButton.disabled = false;
    }
  });

  // ------------------------------------------------------------------ open another map
  const openSelect = h(
    "select",
    { testid: "open-map", aria: { label: "Start from a saved map" } },
    h("option", { value: "" }, "A blank map"),
    maps.map((m) => h("option", { value: m.id, selected: m.id === mapId }, `${m.name} (${m.dimensions.replace("x", " × ")})`)),
  );
  const openButton = h(
    "button",
    { type: "button", class: "button button-quiet button-small", testid: "open-map-go", on: { click: () => navigate(openSelect.value ? `/editor/${encodeURIComponent(openSelect.value)}` : "/editor") } },
    "Open",
  );

  // ------------------------------------------------------------------ palette
  const paletteBox = h("div", { class: "palette-box" });
  function renderPalette() {
    replace(
      paletteBox,
      palette(state.elements, state.selected, (id) => {
        state.selected = id;
        if (state.tool !== "place") setTool("place");
        grid.draw();
      }),
    );
  }
  const creator = newElementForm({
    api,
    maxBytes: config?.mediaMaxBytes ?? 2 * 1024 * 1024,
    async created(id) {
      const { elements: fresh } = await api.get("/elements");
      state.elements = fresh;
      state.elementsById = new Map(fresh.map((e) => [e.id, e]));
      state.selected = id;
      setTool("place");
      renderPalette();
      grid.draw();
    },
  });

  // ------------------------------------------------------------------ layout
  const stage = h("div", { class: "editor-stage" }, grid.element);
  root.append(
    h(
      "div",
      { class: "editor", testid: "editor" },
      h(
        "aside",
        { class: "editor-side editor-left", aria: { label: "Elements" } },
        h("h2", {}, "Elements"),
        paletteBox,
        creator,
      ),
      h(
        "section",
        { class: "editor-main", aria: { label: "Map grid" } },
        h(
          "div",
          { class: "editor-toolbar" },
          h("h1", { class: "editor-title" }, "Map editor"),
          h("div", { class: "tools", role: "group", aria: { label: "Tools" } }, toolButtons),
          zoom,
          readout,
        ),
        stage,
        h(
          "p",
          { class: "editor-help" },
          "Click or drag to place, right-click to remove. Keyboard: focus the grid, arrows move the cursor, Enter places (with Area: Enter at two corners), Delete removes; P, E, A switch tools.",
        ),
        announce,
      ),
      h(
        "aside",
        { class: "editor-side editor-right", aria: { label: "Map" } },
        h("h2", {}, "Map"),
        h("div", { class: "row open-row" }, h("div", { class: "field" }, h("span", { class: "label" }, "Start from"), openSelect), openButton),
        loaded.error ? h("p", { class: "notice notice-error", role: "alert" }, `That map could not be loaded: ${describeError(loaded.error)}`) : null,
        field("Name", nameInput),
        h("div", { class: "row size-row" }, field("Width", widthInput), field("Height", heightInput), sizeButton),
        h("h2", {}, "Areas"),
        areaList,
        areaForm,
        notice,
        saveButton,
        savedPanel,
      ),
    ),
  );
  nameInput.id ||= "map-name";

  fitZoom();
  renderPalette();
  renderAreas();
  updateReadout();
  grid.draw();
  scope.on(window, "beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });
  return {
    unmount() {
      scope.dispose();
    },
  };
}
