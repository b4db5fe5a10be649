// Leaderboards: ratings for one game, best first (GET /api/leaderboards/{game}), each
// name a link to the player's profile (with a BOT label for bots). The lobby shows the
// first page as a panel; #/leaderboard/<game> is the whole board, page by page.

import * as api from "./api.js";
import { h } from "./dom.js";
import { playerName } from "./players.js";
import { ratingText } from "./results.js";

function board(catalog, { initial, full }) {
  const game = h(
    "select",
    { id: "lb-game", "data-testid": "lb-game", onchange: () => load(true) },
    catalog.map((g) => h("option", { value: g.name, selected: g.name === initial }, g.title || g.name)),
  );
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true, "data-testid": "lb-more", onclick: () => load(false) }, "More players");
  const fullLink = h("a", { "data-testid": "lb-full" }, "The whole leaderboard");
  const table = h(
    "table",
    { class: "leaderboard", "data-testid": "leaderboard", "aria-labelledby": "lb-title" },
    h("thead", {}, h("tr", {}, ["#", "Player", "Rating", "Games"].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  let cursor = null;
  const note = (text) => body.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "muted" }, text)));

  async function load(fresh) {
    if (fresh) cursor = null;
    fullLink.href = `#/leaderboard/${encodeURIComponent(game.value)}`;
    if (full && fresh && location.hash !== fullLink.getAttribute("href")) history.replaceState(null, "", fullLink.href);
    try {
      const data = await api.leaderboard(game.value, cursor);
      const rows = api.items(data).map((r, i) =>
        h(
          "tr",
          { "data-testid": "lb-row", "data-player": r.player_id },
          h("td", {}, r.rank ?? i + 1),
          h("td", {}, playerName(r)),
          h("td", { title: `rating deviation ${Math.round(r.rd ?? 0)}` }, ratingText(r.rating ?? 0, r.rd ?? 0)),
          h("td", {}, r.games ?? ""),
        ),
      );
      if (fresh) body.replaceChildren(...rows);
      else body.append(...rows);
      if (!body.children.length) note("No rated games yet.");
      cursor = data.next_cursor ?? null;
      more.hidden = !full || !cursor;
    } catch (error) {
      note(`Unavailable: ${error.message}`);
    }
  }
  load(true);
  return { game, table, more, fullLink };
}

// The lobby's panel: the first page and a link to the rest.
export function createLeaderboard(catalog) {
  const { game, table, fullLink } = board(catalog, { initial: catalog[0]?.name, full: false });
  return h(
    "section",
    { class: "panel leaderboard-panel", "aria-labelledby": "lb-title" },
    h("h2", { id: "lb-title" }, "Leaderboard"),
    h("div", { class: "field" }, h("label", { for: "lb-game" }, "Game"), game),
    table,
    fullLink,
  );
}

// #/leaderboard/<game>: the whole board.
export function mountLeaderboard(root, { game }) {
  const page = h("div", { class: "profile" }, h("p", { class: "muted" }, "Loading…"));
  root.replaceChildren(page);
  api.games().then(
    (catalog) => {
      const { game: select, table, more } = board(catalog, { initial: game, full: true });
      page.replaceChildren(
        h(
          "section",
          { class: "panel", "aria-labelledby": "lb-title" },
          h("h1", { id: "lb-title" }, "Leaderboard"),
          h("div", { class: "field" }, h("label", { for: "lb-game" }, "Game"), select),
          h("div", { class: "table-scroll" }, table),
          more,
        ),
      );
    },
    (error) => page.replaceChildren(h("p", { role: "alert" }, `The server is not answering: ${error.message}`)),
  );
  return null;
}
