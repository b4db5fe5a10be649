// Tic-tac-toe board. View: {"b": [9 cells]}, -1 empty, 0 X (seat 0), 1 O (seat 1).
// Move: {"cell": 0..8}. Nine real buttons, data-cell="0".."8", arrow keys move between them.

import { gridKeys, h } from "/board-kit.js";

const MARKS = ["X", "O"];

export function createBoard(root, { move }) {
  let playable = false;
  const cells = Array.from({ length: 9 }, (_, i) =>
    h("button", {
      type: "button",
      class: "cell",
      "data-cell": i,
      onclick: () => {
        if (playable && cells[i].dataset.mark === "") move({ cell: i });
      },
    }),
  );
  const grid = h("div", { class: "ttt", role: "group", "aria-label": "Tic-tac-toe board" }, cells);
  gridKeys(grid, 3);
  const you = h("p", { class: "muted", "data-testid": "you-play" });
  root.append(grid, you);

  function update({ view, myTurn, seat }) {
    playable = myTurn;
    you.textContent = seat === null ? "" : `You play ${MARKS[seat]}.`;
    const board = view?.b ?? Array(9).fill(-1);
    board.forEach((v, i) => {
      const mark = MARKS[v] ?? "";
      const cell = cells[i];
      cell.textContent = mark;
      cell.dataset.mark = mark;
      cell.setAttribute("aria-label", `cell ${i}, ${mark || "empty"}`);
      cell.setAttribute("aria-disabled", String(!myTurn || mark !== ""));
    });
  }

  return { update };
}
