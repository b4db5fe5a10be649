// The lobby's "new room" form: game, seats, private, bots, and the game's own options
// drawn from its options_schema (JSON Schema from the catalog). Creates the room, takes
// a seat in it and opens it.

import * as api from "./api.js";
import { h, notify } from "./dom.js";
import { rememberRoom } from "./room.js";

export function createRoomForm(catalog) {
  const game = h(
    "select",
    { id: "create-game", name: "game", "data-testid": "create-game" },
    catalog.map((g) => h("option", { value: g.name }, g.title || g.name)),
  );
  const seats = h("input", {
    id: "create-seats",
    type: "number",
    name: "seats",
    "data-testid": "create-seats",
  });
  const bots = h("input", {
    id: "create-bots",
    type: "number",
    name: "bots",
    min: 0,
    value: 0,
    "data-testid": "create-bots",
  });
  const priv = h("input", {
    id: "create-private",
    type: "checkbox",
    name: "private",
    "data-testid": "create-private",
  });
  const options = h("div", { class: "options" });
  const submit = h("button", { type: "submit", "data-testid": "create-submit" }, "Create room");
  let fields = [];

  function pickGame() {
    const info = catalog.find((g) => g.name === game.value);
    if (!info) return;
    seats.min = info.min_seats;
    seats.max = info.max_seats;
    seats.value = Math.min(Math.max(Number(seats.value) || info.min_seats, info.min_seats), info.max_seats);
    seats.disabled = info.min_seats === info.max_seats;
    bots.max = info.max_seats - 1;
    fields = optionFields(info.options_schema);
    options.replaceChildren(...fields.map((f) => f.el));
  }
  game.addEventListener("change", pickGame);
  pickGame();

  async function create(event) {
    event.preventDefault();
    submit.disabled = true;
    try {
      const n = Number(seats.value);
      const botCount = Math.min(Number(bots.value) || 0, n - 1);
      const opts = Object.fromEntries(
        fields.map((f) => [f.name, f.value()]).filter(([, v]) => v !== undefined),
      );
      const room = await api.createRoom({
        game: game.value,
        seats: n,
        options: opts,
        private: priv.checked,
        bots: Array.from({ length: botCount }, (_, i) => n - 1 - i),
      });
      // The creator's seat comes with the answer ("reservation"); ask for one if it did not.
      const seat = room.reservation ?? (await api.takeSeat(room.id));
      rememberRoom(room.id, seat?.ws ?? room.ws, room.invite);
      location.hash = `#/room/${encodeURIComponent(room.id)}`;
    } catch (error) {
      notify(`Could not create the room: ${error.message}`, { error: true });
    } finally {
      submit.disabled = false;
    }
  }

  return h(
    "form",
    {
      class: "panel create",
      "data-testid": "create-form",
      "aria-labelledby": "create-title",
      onsubmit: create,
    },
    h("h2", { id: "create-title" }, "New room"),
    h("div", { class: "field" }, h("label", { for: "create-game" }, "Game"), game),
    h("div", { class: "field" }, h("label", { for: "create-seats" }, "Seats"), seats),
    h("div", { class: "field" }, h("label", { for: "create-bots" }, "Bots"), bots),
    h("div", { class: "field check" }, priv, h("label", { for: "create-private" }, "Private (invite only)")),
    options,
    submit,
  );
}

// One labelled control per option; value() is undefined when left at its default.
function optionFields(schema) {
  return Object.entries(schema?.properties ?? {}).map(([name, prop]) => {
    const type = prop.type ?? prop.anyOf?.find((p) => p.type !== "null")?.type ?? "string";
    const id = `create-opt-${name}`;
    const label = h("label", { for: id }, prop.title || name);
    const help = prop.description ? h("small", { id: `${id}-help`, class: "muted help" }, prop.description) : null;
    const attrs = { id, name, "data-testid": id, "aria-describedby": help ? `${id}-help` : null };
    if (type === "boolean") {
      const input = h("input", { ...attrs, type: "checkbox", checked: prop.default === true });
      const value = () => (input.checked === (prop.default === true) ? undefined : input.checked);
      return { name, value, el: h("div", { class: "field check" }, input, label, help) };
    }
    const numeric = type === "integer" || type === "number";
    const input = h("input", {
      ...attrs,
      type: numeric ? "number" : "text",
      step: type === "integer" ? 1 : "any",
      placeholder: prop.default ?? (name === "turn_seconds" ? "no limit" : "default"),
    });
    const value = () => {
      if (input.value.trim() === "") return undefined;
      return numeric ? Number(input.value) : input.value.trim();
    };
    return { name, value, el: h("div", { class: "field" }, label, input, help) };
  });
}
