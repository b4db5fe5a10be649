// Liar's Dice table. View (game/games/liars_dice.py): "d" your own dice (absent for
// spectators), "n" dice per seat, "b" this round's bids as [seat, qty, face], "t" the
// seat to act, "r" the round, "w" ones wild, "x" how the last round ended (with every
// die after a challenge). Moves: {kind: "bid", qty, face} and {kind: "challenge"}.

import { h, seatName } from "/board-kit.js";

const die = (face) => String.fromCodePoint(0x2680 + face - 1);
const FACE_NAMES = ["", "ones", "twos", "threes", "fours", "fives", "sixes"];
const possessive = (name) => (name === "you" ? "your" : `${name}'s`);
const bidText = (qty, face) => `${qty} × ${die(face)} (${FACE_NAMES[face]})`;

export function createBoard(root, { move }) {
  let shownBids = null; // the bids the controls were last reset for
  const myDice = h("p", { class: "dice", "data-testid": "my-dice" });
  const round = h("p", { class: "muted", "data-testid": "round" });
  const counts = h("ul", { class: "dice-counts", "data-testid": "dice-counts" });
  const bids = h("ol", { class: "bids", "data-testid": "bids", "aria-label": "Bids this round" });
  const noBids = h("p", { class: "muted" }, "No bids yet this round.");
  const reveal = h("div", { class: "reveal", "data-testid": "reveal", "aria-live": "polite" });

  const qty = h("input", {
    id: "ld-qty",
    type: "number",
    min: 1,
    value: 1,
    required: true,
    "data-testid": "bid-qty",
  });
  const face = h(
    "select",
    { id: "ld-face", "data-testid": "bid-face" },
    [1, 2, 3, 4, 5, 6].map((f) => h("option", { value: f }, `${die(f)} ${FACE_NAMES[f]}`)),
  );
  const challenge = h(
    "button",
    {
      type: "button",
      class: "danger",
      "data-testid": "challenge",
      onclick: () => move({ kind: "challenge" }),
    },
    "Liar!",
  );
  const controls = h(
    "form",
    {
      class: "bid-form row",
      "aria-label": "Your bid",
      onsubmit: (event) => {
        event.preventDefault();
        move({ kind: "bid", qty: Number(qty.value), face: Number(face.value) });
      },
    },
    h("label", { for: "ld-qty" }, "How many"),
    qty,
    h("label", { for: "ld-face" }, "of"),
    face,
    h("button", { type: "submit", "data-testid": "bid" }, "Bid"),
    challenge,
  );
  root.append(h("div", { class: "liars" }, myDice, round, counts, bids, noBids, controls, reveal));

  function update(next) {
    const view = next.view ?? { n: [], b: [] };
    const names = (s) => (s === next.seat ? "you" : seatName(next.seats, s));
    const dice = view.d ?? [];
    const lead =
      next.seat === null
        ? "You are watching: the dice are hidden."
        : next.out
          ? "You are out of this game: watching the others."
          : next.status === "waiting"
            ? "Your dice are rolled when every seat is taken."
            : next.status === "finished" && !dice.length
              ? "No dice left: the game is over."
              : "Your dice: ";
    const shownDice = next.out || next.status === "waiting" ? [] : dice;
    myDice.replaceChildren(
      lead,
      ...shownDice.map((f) => h("span", { class: "die", "aria-hidden": "true" }, die(f))),
    );
    myDice.setAttribute(
      "aria-label",
      next.seat === null || next.out ? lead : `your dice: ${shownDice.join(", ") || "none"}`,
    );
    const rounds = view.r ?? 1;
    round.textContent =
      next.status === "finished"
        ? `Game over after ${rounds} ${rounds === 1 ? "round" : "rounds"}`
        : next.status === "waiting"
          ? "Waiting for players"
          : `Round ${rounds}${view.w ? " · ones are wild" : ""}`;
    counts.replaceChildren(
      ...(view.n ?? []).map((n, s) =>
        h(
          "li",
          { class: next.toAct.includes(s) ? "turn" : "", "data-seat": s },
          `${names(s)}: ${n} ${n === 1 ? "die" : "dice"}${n === 0 ? " (out)" : ""}${next.toAct.includes(s) ? " · to bid" : ""}`,
        ),
      ),
    );
    bids.replaceChildren(
      ...(view.b ?? []).map(([s, q, f]) => h("li", {}, `${names(s)} bid ${bidText(q, f)}`)),
    );
    noBids.hidden = view.b?.length > 0 || next.status !== "playing";
    reveal.replaceChildren(...revealLines(view.x, names, !!view.w));

    controls.hidden = !next.myTurn;
    const total = (view.n ?? []).reduce((a, b) => a + b, 0);
    qty.max = total || 1;
    challenge.disabled = !view.b?.length;
    const key = JSON.stringify([view.r, view.b]);
    if (key !== shownBids) {
      shownBids = key;
      const [, lastQty, lastFace] = view.b?.at(-1) ?? [null, 1, 0];
      const raise = lastFace < 6 ? [lastQty, lastFace + 1] : [lastQty + 1, 1];
      qty.value = Math.min(raise[0], total || 1);
      face.value = raise[1];
    }
  }

  // A seat with no dice left is out while the others play on.
  const out = (state) => state.seat !== null && state.view?.n?.[state.seat] === 0;

  return { update, out };
}

// The dice a challenge counted: the bid's face, and ones when they are wild.
const counts = (face, bidFace, wild) => face === bidFace || (wild && face === 1 && bidFace !== 1);

function revealLines(x, names, wild) {
  if (!x) return [];
  if (x.k === "timeout") return [h("p", {}, `Last round: ${names(x.l)} ran out of time and lost a die.`)];
  const [bidder, q, f] = x.b;
  return [
    h(
      "p",
      {},
      `Last round: ${names(x.c)} called ${possessive(names(bidder))} bid of ${bidText(q, f)}. There were ${x.n}; ${names(x.l)} lost a die.`,
    ),
    h(
      "ul",
      { class: "revealed" },
      (x.d ?? []).map((d, s) =>
        h(
          "li",
          {},
          `${names(s)}: `,
          h(
            "span",
            {
              class: "dice-row",
              role: "img",
              "aria-label": `${d.join(", ")}; ${d.filter((v) => counts(v, f, wild)).length} counted`,
            },
            d.map((v) =>
              h("span", { class: counts(v, f, wild) ? "die counted" : "die", "aria-hidden": "true" }, die(v)),
            ),
          ),
        ),
      ),
    ),
  ];
}
