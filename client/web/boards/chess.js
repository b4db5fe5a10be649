// Chess board. View (game/games/chess.py): "b" 64 squares a1=0 … h8=63 holding "P",
// "n", … or ""; "m" the moves so far in UCI; "k" side to move in check; "d" the seat
// with a standing draw offer; "s" the starting FEN; "c" the draw the side to move may
// claim now, "threefold" or "fifty" (null: none, and no claim button). Click (or Enter on) a piece of
// yours, then its target square; a pawn reaching the last rank asks for its piece.
// Moves: {kind: "move", uci}, {kind: "offer_draw"}, {kind: "accept_draw"}, {kind: "claim_draw"}.

import { gridKeys, h } from "/board-kit.js";
import { notation } from "./chess-notation.js";

// The view's names of a claimable draw, as the claim button says them.
const CLAIMS = { threefold: "threefold repetition", fifty: "fifty-move rule" };

// Text presentation selector (U+FE0E) keeps the pawn from turning into an emoji.
const GLYPHS = {
  K: "♔",
  Q: "♕",
  R: "♖",
  B: "♗",
  N: "♘",
  P: "♙",
  k: "♚",
  q: "♛",
  r: "♜",
  b: "♝",
  n: "♞",
  p: "♟",
};
const NAMES = { k: "king", q: "queen", r: "rook", b: "bishop", n: "knight", p: "pawn" };
const FILES = "abcdefgh";
const squareName = (i) => FILES[i % 8] + (Math.floor(i / 8) + 1);
const squareIndex = (name) => FILES.indexOf(name[0]) + 8 * (Number(name[1]) - 1);
// The board before a game starts: the standard starting position, nobody to move.
const START = {
  b: [..."RNBQKBNR", ..."PPPPPPPP", ...Array(32).fill(""), ..."pppppppp", ..."rnbqkbnr"],
  m: [],
  d: null,
};
const START_FEN = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";
const ORDER = "qrbnp";
const isWhite = (piece) => piece !== "" && piece === piece.toUpperCase();

export function createBoard(root, { move }) {
  let state = null;
  let from = null; // selected square index
  let flipped = null;
  const squares = Array.from({ length: 64 }, (_, i) =>
    h("button", {
      type: "button",
      class: `sq ${((i % 8) + Math.floor(i / 8)) % 2 ? "light" : "dark"}`,
      "data-square": squareName(i),
      onclick: () => clickSquare(i),
    }),
  );
  // data-surface: the room centres its result box on the squares, not the move list.
  const grid = h("div", { class: "chess", role: "group", "aria-label": "Chess board", "data-surface": "" });
  gridKeys(grid, 8);
  grid.addEventListener("keydown", (e) => e.key === "Escape" && select(null));
  const promo = h("div", { class: "promo row", role: "group", "aria-label": "Promote to", hidden: true });
  const info = h("p", { class: "muted", "data-testid": "chess-info" });
  const offer = h(
    "button",
    { type: "button", hidden: true, "data-testid": "offer-draw", onclick: () => move({ kind: "offer_draw" }) },
    "Offer draw",
  );
  const accept = h(
    "button",
    { type: "button", hidden: true, "data-testid": "accept-draw", onclick: () => move({ kind: "accept_draw" }) },
    "Accept draw",
  );
  const claim = h(
    "button",
    { type: "button", hidden: true, "data-testid": "claim-draw", onclick: () => move({ kind: "claim_draw" }) },
    "Claim draw",
  );
  const takenBy = [0, 1].map((seat) =>
    h("p", { class: "captured", "data-testid": `captured-${seat}` }),
  );
  const moveList = h("ol", { class: "move-list", "data-testid": "move-list", "aria-label": "Moves" });
  root.append(
    h(
      "div",
      { class: "chess-table" },
      h("div", { class: "chess-main" }, takenBy[1], grid, takenBy[0]),
      h("div", { class: "chess-side" }, moveList),
    ),
    promo,
    h("div", { class: "row" }, offer, accept, claim),
    info,
  );

  const mine = (piece) => piece !== "" && isWhite(piece) === (state.seat === 0);

  function clickSquare(i) {
    if (!state?.myTurn) return;
    const piece = state.view.b[i];
    if (from === null || mine(piece)) return select(mine(piece) && from !== i ? i : null);
    const moving = state.view.b[from];
    const lastRank = Math.floor(i / 8) === (isWhite(moving) ? 7 : 0);
    const uci = squareName(from) + squareName(i);
    if (moving.toLowerCase() === "p" && lastRank) return askPromotion(uci);
    select(null);
    move({ kind: "move", uci });
  }

  function askPromotion(uci) {
    const white = state.seat === 0;
    promo.replaceChildren(
      h("span", {}, "Promote to:"),
      ...["q", "r", "b", "n"].map((p) =>
        h(
          "button",
          {
            type: "button",
            "data-promote": p,
            "aria-label": NAMES[p],
            onclick: () => {
              promo.hidden = true;
              select(null);
              move({ kind: "move", uci: uci + p });
            },
          },
          GLYPHS[white ? p.toUpperCase() : p] + "\uFE0E",
        ),
      ),
      h("button", { type: "button", onclick: () => ((promo.hidden = true), select(null)) }, "Cancel"),
    );
    promo.hidden = false;
    promo.querySelector("button").focus();
  }

  function select(i) {
    from = i;
    squares.forEach((sq, j) => sq.classList.toggle("selected", j === i));
    if (i === null) promo.hidden = true;
  }

  function update(next) {
    state = next;
    // Before the game starts (a waiting room's view is {}), the starting position.
    const view = Array.isArray(next.view?.b) ? next.view : START;
    const flip = next.seat === 1;
    if (flip !== flipped) {
      flipped = flip;
      // Rank 8 at the top for white (and spectators), rank 1 at the top for black.
      const order = [];
      for (let row = 7; row >= 0; row--)
        for (let col = 0; col < 8; col++) order.push(flip ? 63 - (row * 8 + col) : row * 8 + col);
      grid.replaceChildren(...order.map((i) => squares[i]));
      // Coordinates along the bottom and the left edge, whichever way up the board is.
      order.forEach((i, at) => {
        squares[i].dataset.file = at >= 56 ? FILES[i % 8] : "";
        squares[i].dataset.rank = at % 8 === 0 ? String(Math.floor(i / 8) + 1) : "";
      });
    }
    const mate = next.status === "finished" && next.result?.reason === "checkmate";
    const { sans, byWhite, byBlack, startsWhite } = notation(view.s ?? START_FEN, view.m ?? [], mate);
    // The move list in pairs: "1. e4 e5", starting "1… e5" when black moved first.
    const rows = [];
    const offset = startsWhite ? 0 : 1;
    for (let i = -offset; i < sans.length; i += 2) {
      const n = Math.floor((i + offset) / 2) + 1;
      rows.push(
        h(
          "li",
          { value: n },
          h("span", { class: "san" }, i < 0 ? "…" : sans[i]),
          " ",
          sans[i + 1] ? h("span", { class: "san" }, sans[i + 1]) : "",
        ),
      );
    }
    moveList.replaceChildren(...rows);
    moveList.lastElementChild?.lastElementChild?.classList.add("current");
    moveList.scrollTop = moveList.scrollHeight;
    // Each side's captures beside its own edge: white's (black pieces) under the board
    // for white, above it for black.
    const shown = [byWhite, byBlack];
    const bottom = flip ? 1 : 0;
    [takenBy[bottom], takenBy[1 - bottom]].forEach((el, k) => {
      const pieces = shown[k].slice().sort((a, b) => ORDER.indexOf(a.toLowerCase()) - ORDER.indexOf(b.toLowerCase()));
      const said = `${k === 0 ? "White" : "Black"} captured: ${pieces.map((p) => NAMES[p.toLowerCase()]).join(", ") || "nothing"}`;
      el.replaceChildren(
        h("span", { class: "visually-hidden" }, said),
        h("span", { "aria-hidden": "true" }, pieces.map((p) => GLYPHS[p] + "\uFE0E").join("")),
      );
    });
    const last = view.m?.at(-1);
    const lastSquares = last ? [squareIndex(last.slice(0, 2)), squareIndex(last.slice(2, 4))] : [];
    const whiteToMove =
      (view.m?.length ?? 0) % 2 === 0 ? !view.s?.includes(" b ") : !!view.s?.includes(" b ");
    view.b.forEach((piece, i) => {
      const sq = squares[i];
      sq.textContent = piece ? GLYPHS[piece] + "\uFE0E" : "";
      sq.dataset.piece = piece;
      const colour = isWhite(piece) ? "white" : "black";
      sq.setAttribute(
        "aria-label",
        `${squareName(i)}, ${piece ? `${colour} ${NAMES[piece.toLowerCase()]}` : "empty"}`,
      );
      sq.setAttribute("aria-disabled", String(!next.myTurn));
      sq.classList.toggle("last", lastSquares.includes(i));
      sq.classList.toggle("check", !!view.k && piece === (whiteToMove ? "K" : "k"));
    });
    if (!next.myTurn) select(null);
    const playing = next.status === "playing" && next.seat !== null;
    offer.hidden = !playing || !next.myTurn || view.d !== null;
    accept.hidden = !playing || !next.myTurn || view.d !== 1 - next.seat;
    claim.hidden = !playing || !next.myTurn || !view.c;
    claim.textContent = view.c ? `Claim draw (${CLAIMS[view.c] ?? view.c})` : "Claim draw";
    const side = whiteToMove ? "White" : "Black";
    const moves = view.m?.length ?? 0;
    const parts = [];
    if (next.status === "waiting") parts.push("The game starts when both seats are taken");
    else if (next.status === "finished") {
      const why = next.result?.reason;
      if (why) parts.push(why[0].toUpperCase() + why.slice(1));
      parts.push(`Game over after ${moves} ${moves === 1 ? "move" : "moves"}`);
    }
    else parts.push(`Move ${Math.floor(moves / 2) + 1}, ${side} to play`);
    if (view.k && next.status === "playing") parts.push("check");
    if (last) parts.push(`last move ${sans.at(-1)}`);
    if (view.d !== null && view.d !== undefined && next.status === "playing")
      parts.push(view.d === next.seat ? "you offered a draw" : "a draw is offered");
    info.textContent = parts.join(" · ");
  }

  return { update };
}
