// The Hearts board: a Meeple board module (docs/games.md, board.d.ts), shipped as
// package data of meeple_hearts and served by the Meeple server from the installed
// package. View: see meeple_hearts/game.py (Hearts.view). Moves: {kind: "pass", cards:
// [three cards]} and {kind: "play", card}. The playable cards come from the server
// (context.legalMoves), so the rules live in one place.

import { h, seatName } from "/board-kit.js";

const SYMBOLS = { C: "♣", D: "♦", S: "♠", H: "♥" };
const SUIT_NAMES = { C: "clubs", D: "diamonds", S: "spades", H: "hearts" };
const RANK_NAMES = { T: "10", J: "jack", Q: "queen", K: "king", A: "ace" };
const WHERE = { 1: "to the left", 3: "to the right", 2: "across", 0: "" };

const face = (card) => `${card[0] === "T" ? "10" : card[0]}${SYMBOLS[card[1]]}`;
const spoken = (card) => `${RANK_NAMES[card[0]] ?? card[0]} of ${SUIT_NAMES[card[1]]}`;
const red = (card) => card[1] === "H" || card[1] === "D";

function cardEl(card, attrs = {}) {
  return h("span", { class: `hearts-card${red(card) ? " red" : ""}`, "aria-label": spoken(card), ...attrs }, face(card));
}

export function createBoard(root, { move, legalMoves }) {
  const style = h("link", { rel: "stylesheet", href: new URL("./board.css", import.meta.url).href });
  const info = h("p", { class: "hearts-info", "data-testid": "hearts-info", "aria-live": "polite" });
  const table = h("div", { class: "hearts-table", "data-testid": "hearts-trick" });
  const last = h("p", { class: "muted", "data-testid": "hearts-last" });
  const hand = h("div", { class: "hearts-hand", role: "group", "aria-label": "Your hand", "data-testid": "hearts-hand" });
  const passBtn = h("button", { type: "button", "data-testid": "pass", disabled: true, onclick: pass }, "Pass 3 cards");
  const scores = h("table", { class: "hearts-scores", "data-testid": "hearts-scores" });
  root.append(h("div", { class: "hearts" }, style, info, table, last, hand, h("div", { class: "row" }, passBtn), scores));

  let state = null;
  let picked = new Set();
  let playable = null; // the cards the server says we may play now (null: not asked)
  let asked = null;

  function pass() {
    if (picked.size !== 3) return;
    move({ kind: "pass", cards: [...picked] });
    picked = new Set();
    passBtn.disabled = true;
  }

  function click(card) {
    const view = state?.view;
    if (!state?.myTurn || !view) return;
    if (view.p === "pass") {
      if (picked.has(card)) picked.delete(card);
      else if (picked.size < 3) picked.add(card);
      drawHand();
    } else if (playable?.includes(card)) {
      playable = [];
      drawHand();
      move({ kind: "play", card });
    }
  }

  function drawHand() {
    const view = state.view;
    const cards = view.h ?? [];
    const passing = view.p === "pass";
    hand.replaceChildren(
      ...cards.map((card) => {
        const may = state.myTurn && (passing || playable?.includes(card));
        return h(
          "button",
          {
            type: "button",
            class: `hearts-card${red(card) ? " red" : ""}${picked.has(card) ? " picked" : ""}`,
            "data-card": card,
            "aria-pressed": passing ? String(picked.has(card)) : null,
            "aria-disabled": String(!may),
            "aria-label": spoken(card),
            onclick: () => click(card),
          },
          face(card),
        );
      }),
    );
    passBtn.hidden = !passing || state.seat === null;
    passBtn.disabled = !(passing && state.myTurn && picked.size === 3);
  }

  function update(next) {
    state = next;
    const view = next.view;
    if (!view) return;
    const name = (s) => (s === next.seat ? "you" : seatName(next.seats, s));
    if (view.p !== "pass") picked = new Set();
    if (next.myTurn && view.p === "play") {
      const turn = `${next.gameNo}:${next.seq}`;
      if (asked !== turn) {
        asked = turn;
        playable = null;
        legalMoves().then(
          (moves) => {
            if (asked !== turn) return;
            playable = moves.map((m) => m.card);
            drawHand();
          },
          () => {},
        );
      }
    } else {
      asked = null;
      playable = null;
    }
    if (view.p === "pass") {
      const waiting = view.ps.filter((done) => !done).length;
      info.textContent = next.myTurn
        ? `Hand ${view.hn + 1}: pick three cards to pass ${WHERE[view.d]}.`
        : `Hand ${view.hn + 1}: waiting for ${waiting} to pass.`;
    } else {
      const got = view.got?.length ? ` You were passed ${view.got.map(face).join(" ")}.` : "";
      const turn = next.toAct.map(name).join(", ");
      info.textContent = `Hand ${view.hn + 1}, trick ${view.k + 1}${view.hb ? ", hearts broken" : ""}. ${
        next.status === "playing" ? `${turn} to play.` : ""
      }${view.k === 0 ? got : ""}`;
    }
    table.replaceChildren(
      ...[0, 1, 2, 3].map((offset) => {
        const seat = ((next.seat ?? 0) + offset) % 4;
        const played = view.t.find(([s]) => s === seat);
        return h(
          "div",
          { class: `hearts-slot at-${offset}`, "data-seat": seat },
          h("span", { class: "muted" }, name(seat)),
          played ? cardEl(played[1], { "data-played": played[1] }) : h("span", { class: "hearts-empty" }, "·"),
        );
      }),
    );
    last.textContent = view.lt
      ? `Last trick: ${view.lt.c.map(([s, c]) => `${name(s)} ${face(c)}`).join(", ")}; ${name(view.lt.w)} took it.`
      : "";
    scores.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}, "Player"), h("th", {}, "This hand"), h("th", {}, "Total"))),
      h(
        "tbody",
        {},
        view.s.map((total, s) =>
          h("tr", { "data-seat": s }, h("td", {}, name(s)), h("td", {}, String(view.tk[s])), h("td", {}, String(total))),
        ),
      ),
    );
    drawHand();
  }

  return { update };
}
