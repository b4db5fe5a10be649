// The lobby's leaderboard panel: ratings for one game, best first (GET /api/leaderboards/{game}).

import * as api from "./api.js";
import { h } from "./dom.js";

export function createLeaderboard(catalog) {
  const game = h(
    "select",
    { id: "lb-game", "data-testid": "lb-game", onchange: () => load() },
    catalog.map((g) => h("option", { value: g.name }, g.title || g.name)),
  );
  const body = h("tbody");
  const table = h(
    "table",
    { class: "leaderboard", "data-testid": "leaderboard" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["#", "Player", "Rating", "Games"].map((c) => h("th", { scope: "col" }, c)),
      ),
    ),
    body,
  );

  async function load() {
    try {
      const rows = api.items(await api.leaderboard(game.value));
      body.replaceChildren(
        ...rows.map((r, i) =>
          h(
            "tr",
            {},
            h("td", {}, r.rank ?? i + 1),
            h("td", {}, r.name ?? r.player_id ?? "?"),
            h("td", {}, Math.round(r.rating ?? r.score ?? 0)),
            h("td", {}, r.games ?? r.played ?? ""),
          ),
        ),
      );
      if (!rows.length)
        body.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No rated games yet.")));
    } catch (error) {
      body.replaceChildren(
        h("tr", {}, h("td", { colspan: 4, class: "muted" }, `Unavailable: ${error.message}`)),
      );
    }
  }
  load();

  return h(
    "section",
    { class: "panel leaderboard-panel", "aria-labelledby": "lb-title" },
    h("h2", { id: "lb-title" }, "Leaderboard"),
    h("div", { class: "field" }, h("label", { for: "lb-game" }, "Game"), game),
    table,
  );
}
