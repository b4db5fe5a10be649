// The generic board, for a game that ships none: the view as readable structure (lists,
// tables, labelled fields) and, on this seat's turn, its legal moves as buttons (asked
// of the server with the `moves` message, so no rules are needed here). A board module
// like any other (board.d.ts); the room page loads it when the catalog names no board.

import { h } from "/board-kit.js";

const GRID_MAX = 32; // rows or columns beyond which a list of lists is not drawn as a table

// One line for a move: {cell: 4} is "cell 4", {kind: "bid", qty: 3} is "bid: qty 3".
export function moveLabel(move) {
  const parts = [];
  let head = "";
  for (const [key, value] of Object.entries(move)) {
    if (key === "kind" && typeof value === "string") head = value;
    else parts.push(`${key} ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  if (!head) return parts.join(", ") || "move";
  return parts.length ? `${head}: ${parts.join(", ")}` : head;
}

const scalar = (v) => v === null || typeof v !== "object";

function text(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

function isGrid(value) {
  return (
    Array.isArray(value) &&
    value.length > 1 &&
    value.length <= GRID_MAX &&
    value.every((row) => Array.isArray(row) && row.length <= GRID_MAX && row.every(scalar))
  );
}

// A view (plain data) as elements: fields as a description list, lists of scalars on one
// line, lists of lists as a table, other lists as numbered items.
export function renderValue(value) {
  if (scalar(value)) return h("span", { class: "gv-scalar" }, text(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return h("span", { class: "gv-empty" }, "none");
    if (value.every(scalar)) return h("span", { class: "gv-list" }, value.map(text).join(", "));
    if (isGrid(value)) {
      return h(
        "table",
        { class: "gv-grid" },
        h("tbody", {}, value.map((row, r) => h("tr", { "data-row": r }, row.map((cell) => h("td", {}, text(cell)))))),
      );
    }
    return h("ol", { class: "gv-items", start: 0 }, value.map((item) => h("li", {}, renderValue(item))));
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return h("span", { class: "gv-empty" }, "nothing");
  return h("dl", { class: "gv-fields" }, keys.flatMap((k) => [h("dt", {}, k), h("dd", { "data-key": k }, renderValue(value[k]))]));
}

export function createBoard(root, { move, legalMoves }) {
  const view = h("div", {
    class: "generic-view",
    role: "region",
    "data-testid": "generic-view",
    "aria-label": "What you see",
  });
  const note = h("p", { class: "muted", "data-testid": "generic-note" });
  const moves = h("div", {
    class: "generic-moves row",
    role: "group",
    "aria-label": "Your moves",
    "data-testid": "generic-moves",
  });
  root.append(h("div", { class: "generic" }, view, note, moves));
  let asked = null; // the turn we last asked our moves for: the server answers once a turn

  function show(list) {
    moves.replaceChildren(
      ...list.map((m) =>
        h(
          "button",
          {
            type: "button",
            "data-move": JSON.stringify(m),
            onclick: () => {
              for (const b of moves.querySelectorAll("button")) b.disabled = true;
              move(m);
            },
          },
          moveLabel(m),
        ),
      ),
    );
    note.textContent = list.length ? "Your move:" : "";
  }

  function update(state) {
    view.replaceChildren(state.view ? renderValue(state.view) : "");
    if (!state.myTurn) {
      asked = null;
      moves.replaceChildren();
      note.textContent = state.status === "playing" && state.seat !== null ? "Waiting for the others." : "";
      return;
    }
    const turn = `${state.gameNo}:${state.seq}`;
    if (turn === asked) return;
    asked = turn;
    note.textContent = "Your move…";
    legalMoves().then(
      (list) => asked === turn && show(list),
      (error) => {
        if (asked === turn) note.textContent = `Could not list your moves: ${error.message}`;
      },
    );
  }

  return { update };
}
