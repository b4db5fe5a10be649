// Connect Four board. View: {"c": 7 columns, each the seats' discs bottom first,
// "w"?: the winning cells as [column, row]}. Move: {"col": 0..6}.
// Each column is one button (data-col) that drops a disc; left/right arrows move along.

import { gridKeys, h } from "/board-kit.js";

const COLS = 7;
const ROWS = 6;
const COLOURS = ["red", "yellow"];
// The last disc, as "column-row": the one the last change appended, [["c", column, row], seat]
// (the view does not carry it; a reload gets that change with its snapshot, or kept it).
function lastDisc(change) {
  const op = change?.find(([path]) => path.length === 3 && path[0] === "c");
  return op ? `${op[0][1]}-${op[0][2]}` : null;
}

export function createBoard(root, { move }) {
  let playable = false;
  const columns = Array.from({ length: COLS }, (_, c) => {
    const holes = Array.from({ length: ROWS }, (_, r) =>
      h("span", { class: "hole", "data-cell": `${c}-${r}` }),
    );
    return h(
      "button",
      {
        type: "button",
        class: "c4-col",
        "data-col": c,
        onclick: () => {
          if (playable && columns[c].dataset.full !== "true") move({ col: c });
        },
      },
      holes.reverse(), // top row first on screen
    );
  });
  const grid = h("div", { class: "c4", role: "group", "aria-label": "Connect Four board" }, columns);
  gridKeys(grid, COLS);
  const you = h("p", { class: "muted", "data-testid": "you-play" });
  root.append(grid, you);

  function update({ view, change, myTurn, seat }) {
    playable = myTurn;
    you.textContent = seat === null ? "" : `You play ${COLOURS[seat]}.`;
    const cols = view?.c ?? Array(COLS).fill([]);
    const wins = new Set((view?.w ?? []).map(([c, r]) => `${c}-${r}`));
    const last = lastDisc(change);
    cols.forEach((discs, c) => {
      const column = columns[c];
      for (let r = 0; r < ROWS; r++) {
        const hole = column.querySelector(`[data-cell="${c}-${r}"]`);
        hole.dataset.disc = discs[r] === undefined ? "" : COLOURS[discs[r]];
        hole.classList.toggle("win", wins.has(`${c}-${r}`));
        hole.classList.toggle("last", last === `${c}-${r}`);
      }
      const full = discs.length >= ROWS;
      column.dataset.full = String(full);
      column.setAttribute("aria-disabled", String(!myTurn || full));
      const summary = discs.length ? discs.map((s) => COLOURS[s]).join(", ") + " from the bottom" : "empty";
      const marks = [
        last?.startsWith(`${c}-`) ? "last move here" : "",
        discs.some((_, r) => wins.has(`${c}-${r}`)) ? "part of the winning line" : "",
      ].filter(Boolean);
      const action = full ? "full" : myTurn ? `drop a ${COLOURS[seat]} disc` : "";
      const extra = [...marks, action].filter(Boolean).join("; ");
      column.setAttribute("aria-label", `column ${c + 1}, ${summary}${extra ? `; ${extra}` : ""}`);
    });
  }

  return { update };
}
