// A finished game's record (#/record/<id>, GET /api/records/{id}): who played, the
// result, when, and every move in order; the whole record downloads as JSON (enough
// to replay it with Match.replay).

import * as api from "./api.js";
import { h } from "./dom.js";
import { playerName } from "./players.js";
import { downloadJson, resultFor, when } from "./results.js";

// A move as a person reads it: {cell: 4} is "cell 4", a forfeit its reason.
function moveText(entry) {
  if (entry.k === "forfeit") return `forfeits (${entry.m})`;
  if (entry.k === "timeout") return "runs out of time";
  const m = entry.m;
  if (m && typeof m === "object" && !Array.isArray(m)) {
    return Object.entries(m)
      .map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`)
      .join(", ");
  }
  return JSON.stringify(m);
}

export function mountRecord(root, { recordId }) {
  let stopped = false;
  const page = h("section", { class: "panel record", "aria-labelledby": "record-title" }, h("h1", { id: "record-title" }, "Game record"), h("p", { class: "muted", role: "status" }, "Loading…"));
  root.replaceChildren(page);
  Promise.all([api.record(recordId), api.games().catch(() => [])]).then(
    ([record, catalog]) => {
      if (stopped) return;
      const title = catalog.find((g) => g.name === record.game)?.title ?? record.game;
      const seats = record.seats;
      const download = () => downloadJson(record, `${record.id}.json`);
      page.replaceChildren(
        h("h1", { id: "record-title", "data-testid": "record-title" }, title),
        h("p", { class: "muted" }, "Finished ", when(record.finished_at), record.outcome?.reason ? ` · ${record.outcome.reason}` : ""),
        h("h2", { id: "record-players" }, "Players"),
        h(
          "ul",
          { class: "record-seats", "aria-labelledby": "record-players" },
          ...seats.map((s, i) =>
            h(
              "li",
              { "data-testid": `record-seat-${i}` },
              playerName(s),
              " ",
              h("span", { class: "tag" }, resultFor(record.outcome, i)),
            ),
          ),
        ),
        h("h2", { id: "record-moves" }, `Moves (${record.log.length})`),
        h(
          "ol",
          { class: "record-moves", "aria-labelledby": "record-moves", "data-testid": "record-moves" },
          ...record.log.map((e) => h("li", {}, h("span", { class: "who" }, seats[e.seat]?.name ?? `seat ${e.seat}`), ": ", moveText(e))),
        ),
        h("div", { class: "row" }, h("button", { type: "button", "data-testid": "record-download", onclick: download }, "Download the record (JSON)")),
      );
    },
    (error) => {
      if (!stopped) page.replaceChildren(h("h1", { id: "record-title" }, "Game record"), h("p", { role: "alert" }, error.status === 404 ? "There is no such game (or it is not one you may see)." : `Could not load the game: ${error.message}`));
    },
  );
  return () => {
    stopped = true;
  };
}
