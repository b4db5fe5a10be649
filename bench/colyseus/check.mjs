// Checks that the Colyseus room of bench/colyseus/server.mjs plays by Meeple's rules: it
// refuses what Meeple's tic-tac-toe refuses (out of turn, a taken cell, a cell that is
// not 0..8, a malformed move, a move after the end, an early rematch) and changes nothing
// when it does, judges a line, and swaps the seats on a rematch. bench/run.py runs it
// before any Colyseus case; exit status 0 when every check holds.
//
//     node bench/colyseus/check.mjs http://127.0.0.1:2567

import { Client } from "@colyseus/sdk";

const url = process.argv[2];
let failures = 0;

function check(what, ok) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures += 1;
}

/** A joined room and what it has been told: its state patches and its errors. */
async function player(room) {
  const seen = { errors: [], room };
  room.onMessage("err", (msg) => seen.errors.push(msg.code));
  return seen;
}

const snapshot = (room) => JSON.stringify(room.state.toJSON());
const settle = () => new Promise((r) => setTimeout(r, 150));

/** Sends, waits, and returns the error codes the sender got meanwhile. */
async function send(p, type, message) {
  const before = p.errors.length;
  p.room.send(type, message);
  await settle();
  return p.errors.slice(before);
}

async function refused(what, p, other, type, message, code) {
  const state = snapshot(other.room);
  const errors = await send(p, type, message);
  check(`${what}: refused with ${code}`, errors.length === 1 && errors[0] === code);
  check(`${what}: nothing changed`, snapshot(other.room) === state && snapshot(p.room) === state);
}

async function main() {
  const client = new Client(url);
  const a = await player(await client.create("tictactoe"));
  const b = await player(await client.joinById(a.room.roomId));
  await settle();
  const seatOf = (p) => p.room.state.seats.indexOf(p.room.sessionId);
  check("both seated, seat 0 first", seatOf(a) === 0 && seatOf(b) === 1 && a.room.state.turn === 0);
  await refused("a move out of turn", b, a, "move", { cell: 0 }, "not_your_turn");
  for (const bad of [{ cell: 9 }, { cell: -1 }, { cell: 1.5 }, { cell: "4" }, {}, { cell: 4, x: 1 }, null, 4]) {
    await refused(`the move ${JSON.stringify(bad)}`, a, b, "move", bad, "bad_move");
  }
  await refused("an early rematch", a, b, "rematch", undefined, "not_finished");
  await refused("an unknown message", a, b, "resign!", {}, "bad_message");
  check("a good move is taken", (await send(a, "move", { cell: 4 })).length === 0 && b.room.state.board[4] === 0 && b.room.state.turn === 1);
  await refused("a taken cell", b, a, "move", { cell: 4 }, "cell_taken");
  for (const [p, cell] of [[b, 0], [a, 3], [b, 1], [a, 5]]) await send(p, "move", { cell }); // X: 4 3 5
  const s = a.room.state;
  check("three in a row wins", s.over && s.winner === 0 && s.turn === -1 && s.moves === 5);
  await refused("a move after the end", b, a, "move", { cell: 8 }, "not_playing");
  check("one vote is not a rematch", (await send(a, "rematch")).length === 0 && a.room.state.game === 1);
  await send(b, "rematch");
  check("a rematch starts the next game with the seats swapped",
    a.room.state.game === 2 && !a.room.state.over && seatOf(a) === 1 && seatOf(b) === 0
    && a.room.state.board.every((c) => c === -1) && a.room.state.turn === 0);
  await a.room.leave(true);
  await b.room.leave(true);
  if (failures) console.log(`${failures} checks failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((err) => { console.error(err); process.exit(2); });
