// The board-module contract: what a game's board (an ES module the server serves from
// the game's package, docs/games.md) exports, and what the room page hands it.
//
//   // my_game/web/board.js
//   import { h } from "/board-kit.js";
//   export function createBoard(root, { move, legalMoves, game }) {
//     const out = h("pre");
//     root.append(out);
//     return { update: (state) => (out.textContent = JSON.stringify(state.view)) };
//   }

/** A move as the game's move schema has it, e.g. `{ cell: 4 }`. */
export type Move = Record<string, unknown>;
/** A view: plain data (string keys, numbers, strings, booleans, null, arrays). */
export type View = Record<string, unknown>;

export interface Seat {
  kind: "empty" | "human" | "bot";
  player_id: string | null;
  name: string | null;
  /** Connected now (bots always are). */
  on: boolean;
}

export interface Result {
  winners: number[];
  draw: boolean;
  /** One number per seat. */
  returns: number[];
  reason: string;
}

/** A catalog entry (`GET /api/games`). */
export interface GameInfo {
  name: string;
  title: string;
  min_seats: number;
  max_seats: number;
  description: string;
  options_schema: Record<string, unknown>;
  move_schema: Record<string, unknown>;
  /** The board module's URL; null for the generic board. */
  board: string | null;
}

/** Everything the room page knows, handed to `update` after every change. */
export interface BoardState {
  game: string | null;
  /** This player's seat; null for a spectator. */
  seat: number | null;
  /** What this seat may see; null before the first snapshot. */
  view: View | null;
  /**
   * The operations of the last change in this game that altered `view` (a `d`'s `o`, or
   * a `snap`'s `lo` for a client that did not see it made): what moved last, for a board
   * to mark without the view carrying it (the cell a tic-tac-toe op sets). Null before
   * the first change of a game.
   */
  change: import("./delta").Op[] | null;
  /** Seats to act (several at once in simultaneous phases). */
  toAct: number[];
  status: "waiting" | "playing" | "finished";
  result: Result | null;
  /** The turn deadline, ms since the Unix epoch, when a turn timer runs. */
  deadline: number | null;
  /** The room's clocks, if it has any: read them with board-kit's clockLeft/clockText. */
  clocks: import("./board-kit").Clocks | null;
  seats: Seat[];
  /** Spectators connected. */
  spec: number;
  /** Seats that voted for a rematch. */
  rematch: number[];
  /** This seat is to act and the game is being played. */
  myTurn: boolean;
  /**
   * This seat is out of a game that goes on (it resigned from a game of three or more, or
   * the board's `out` says so): it watches; `myTurn` is false.
   */
  out: boolean;
  /** The last sequence number seen and the game it counts in (each rematch is one more). */
  seq: number | null;
  gameNo: number | null;
}

export interface BoardContext {
  /** Send a move; an illegal one is answered with a notice, and nothing changes. */
  move(move: Move): void;
  /**
   * This seat's legal moves now, from the server (the `moves` message). Rejects when the
   * seat is not to act, is a spectator, or the connection is down. At most 512 moves.
   */
  legalMoves(): Promise<Move[]>;
  /** The game's catalog entry (null if the catalog could not be read). */
  game: GameInfo | null;
}

export interface Board {
  /** Show `state`; called after every change, with the whole state each time. */
  update(state: BoardState): void;
  /**
   * Optional: whether this seat is out of the game while the others play on (no dice left,
   * say); the room then shows it watching, with no Resign. Called before `update`.
   */
  out?(state: BoardState): boolean;
  /** The room page is leaving this board (another game, another page). */
  destroy?(): void;
}

/**
 * What every board module exports: draw into `root`, return the board. The room centres
 * its result box on the element inside `root` marked `data-surface` (the squares, say),
 * or on `root`'s first child.
 */
export declare function createBoard(root: HTMLElement, context: BoardContext): Board;
