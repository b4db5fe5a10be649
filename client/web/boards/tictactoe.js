// Tic-tac-toe board. View: {"b": [9 cells]}, -1 empty, 0 X (seat 0), 1 O (seat 1). Move:
// {"cell": 0..8}. Nine real buttons, data-cell="0".."8", arrow keys move between them.

import { gridKeys, h } from "/board-kit.js";

const MARKS = ["X", "O"];
const LINES = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6],
]; // prettier-ignore
// The three cells of a finished game's winning line, if there is one.
const winningLine = (b) => LINES.find(([a, c, d]) => b[a] !== -1 && b[a] === b[c] && b[a] === b[d]) ?? [];
// The cell marked last: the one the last change set, [["b", cell], mark] (the view does
// not carry it; a reload gets that change with its snapshot, or kept it).
const lastCell = (change) => change?.find(([path]) => path.length === 2 && path[0] === "b")?.[0][1] ?? null;

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

  function update({ view, change, myTurn, seat, status }) {
    playable = myTurn;
    you.textContent = seat === null ? "" : `You play ${MARKS[seat]}.`;
    const board = view?.b ?? Array(9).fill(-1);
    const last = lastCell(change);
    const line = status === "finished" ? winningLine(board) : [];
    board.forEach((v, i) => {
      const mark = MARKS[v] ?? "";
      const cell = cells[i];
      cell.textContent = mark;
      cell.dataset.mark = mark;
      cell.classList.toggle("last", i === last);
      cell.classList.toggle("win", line.includes(i));
      cell.setAttribute("aria-label", `cell ${i}, ${mark || "empty"}`);
      if (line.includes(i)) cell.setAttribute("aria-description", "winning line");
      else if (i === last) cell.setAttribute("aria-description", "last move");
      else cell.removeAttribute("aria-description");
      cell.setAttribute("aria-disabled", String(!myTurn || mark !== ""));
    });
  }

  return { update };
}
