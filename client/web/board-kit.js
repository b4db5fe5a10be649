// What a board module may import, from one stable URL (a public API: docs/games.md,
// declared in board-kit.d.ts):
//
//   import { h, clear, gridKeys, seatName, clockLeft, clockText } from "/board-kit.js";
//
// A board module itself exports createBoard(root, context) (the contract in board.d.ts);
// the room page imports it from the URL the catalog gives and calls it once per room.

export { clockLeft, clockText } from "./clock.js";
export { clear, gridKeys, h, seatName } from "./dom.js";
