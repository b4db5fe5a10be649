// A minimal Colyseus tic-tac-toe server: the same game and the same checks per move as
// Meeple's (meeple.game.games.tictactoe and Room.handle), so that bench/run.py --modes
// colyseus measures both servers under the same load.
//
//     node bench/colyseus/server.mjs --port 2567
//
// Rules: two seats; seat 0 plays X and moves first; a move is {cell: 0..8} on an empty
// cell by the seat whose turn it is, while a game is on; three in a row wins, a full
// board draws. When a game is over both players send "rematch" and the next game starts
// with the seats swapped (as Meeple's Match.rematch(rotate=True)). Every refused message
// is answered with "err" {code} and changes nothing.
//
// State goes out as Colyseus does it: the room's Schema state, patched. The patch is
// broadcast at once after each accepted change (broadcastPatch), not on the default
// 50 ms patch interval: a closed loop at 20 patches a second per room would measure the
// interval, not the server (Meeple sends each change in the loop turn that made it).

import { Room, Server } from "@colyseus/core";
import { schema, t } from "@colyseus/schema";
import { WebSocketTransport } from "@colyseus/ws-transport";

const LINES = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];

export const State = schema({
  board: t.array("int8"), // -1 empty, else the seat that marked it
  seats: t.array("string"), // session ids by seat
  turn: t.int8(), // the seat to move, -1 when no one is
  game: t.uint16(), // the game number in this room, from 1
  moves: t.uint8(), // moves made in this game: the mover's acknowledgement
  winner: t.int8(), // -1 none (yet), 0 or 1; with over and winner -1: a draw
  over: t.boolean(),
}, "State");

/** The result of marking: the winning seat, -2 for a draw, -1 while the game goes on. */
export function judge(board) {
  for (const [a, b, c] of LINES) {
    const mark = board[a];
    if (mark !== -1 && mark === board[b] && mark === board[c]) return mark;
  }
  return board.includes(-1) ? -1 : -2;
}

export class TicTacToe extends Room {
  maxClients = 2;
  patchRate = null; // broadcast each change at once (see above)

  onCreate() {
    const state = new State();
    for (let i = 0; i < 9; i++) state.board.push(-1);
    state.turn = -1;
    state.game = 0;
    state.moves = 0;
    state.winner = -1;
    state.over = false;
    this.state = state;
    this.votes = new Set();
    this.onMessage("move", (client, message) => this.move(client, message));
    this.onMessage("rematch", (client) => this.rematch(client));
    this.onMessage("*", (client, type) => this.refuse(client, "bad_message", `unknown type ${String(type)}`));
  }

  onJoin(client) {
    this.state.seats.push(client.sessionId);
    if (this.state.seats.length === 2) this.start();
    this.broadcastPatch();
  }

  onLeave(client) {
    const seat = this.state.seats.indexOf(client.sessionId);
    if (seat !== -1 && !this.state.over && this.state.turn !== -1) {
      this.end(1 - seat); // a leaver forfeits
      this.broadcastPatch();
    }
  }

  start() {
    for (let i = 0; i < 9; i++) this.state.board[i] = -1;
    this.state.game += 1;
    this.state.moves = 0;
    this.state.turn = 0;
    this.state.winner = -1;
    this.state.over = false;
    this.votes.clear();
  }

  end(winner) {
    this.state.over = true;
    this.state.turn = -1;
    this.state.winner = winner;
  }

  refuse(client, code, detail) {
    client.send("err", { code, detail });
  }

  move(client, message) {
    const seat = this.state.seats.indexOf(client.sessionId);
    if (seat === -1) return this.refuse(client, "not_seated", "spectators cannot move");
    if (this.state.over || this.state.turn === -1) return this.refuse(client, "not_playing", "no game is on");
    if (seat !== this.state.turn) return this.refuse(client, "not_your_turn", "wait for your turn");
    const cell = message === null || typeof message !== "object" ? undefined : message.cell;
    if (!Number.isInteger(cell) || cell < 0 || cell > 8 || Object.keys(message).length !== 1) {
      return this.refuse(client, "bad_move", "a move is {cell: 0..8}");
    }
    if (this.state.board[cell] !== -1) return this.refuse(client, "cell_taken", `cell ${cell} is already marked`);
    this.state.board[cell] = seat;
    this.state.moves += 1;
    const result = judge(this.state.board.toArray());
    if (result === -1) this.state.turn = 1 - seat;
    else this.end(result === -2 ? -1 : result);
    this.broadcastPatch();
  }

  rematch(client) {
    const seat = this.state.seats.indexOf(client.sessionId);
    if (seat === -1) return this.refuse(client, "not_seated", "spectators cannot ask for a rematch");
    if (!this.state.over) return this.refuse(client, "not_finished", "a rematch follows a finished game");
    this.votes.add(seat);
    if (this.votes.size < 2) return;
    const [first, second] = this.state.seats.toArray(); // the players swap seats
    this.state.seats[0] = second;
    this.state.seats[1] = first;
    this.start();
    this.broadcastPatch();
  }
}

function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : process.argv[at + 1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(option("port", "2567"));
  const server = new Server({ transport: new WebSocketTransport(), greet: false });
  server.define("tictactoe", TicTacToe);
  await server.listen(port, "127.0.0.1");
  console.error(`colyseus: listening on 127.0.0.1:${port}, PID ${process.pid}`);
}
