// Chess notation for the board: the view's UCI moves replayed from its starting FEN into
// SAN ("Nf3", "exd5", "O-O", "e8=Q+"), and the pieces each side has captured. Enough
// rules to write moves down (piece moves and attacks, castling, en passant, promotion),
// not to judge them: the server does that. Disambiguation counts the other pieces of
// the same kind that could legally go to the square.

const FILES = "abcdefgh";
const square = (name) => FILES.indexOf(name[0]) + 8 * (Number(name[1]) - 1);
const nameOf = (i) => FILES[i % 8] + (Math.floor(i / 8) + 1);
const white = (p) => p !== "" && p === p.toUpperCase();

/** The 64 squares (a1 = 0) and the side to move of a FEN. */
export function parseFen(fen) {
  const [placement, side] = fen.split(" ");
  const board = Array(64).fill("");
  placement.split("/").forEach((row, r) => {
    let file = 0;
    for (const c of row) {
      if (/\d/.test(c)) file += Number(c);
      else board[(7 - r) * 8 + file++] = c;
    }
  });
  return { board, whiteToMove: side !== "b" };
}

const KNIGHT = [[1, 2], [2, 1], [2, -1], [1, -2], [-1, -2], [-2, -1], [-2, 1], [-1, 2]]; // prettier-ignore
const KING = [[1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]]; // prettier-ignore
const ROOK = [[1, 0], [-1, 0], [0, 1], [0, -1]]; // prettier-ignore
const BISHOP = [[1, 1], [1, -1], [-1, 1], [-1, -1]]; // prettier-ignore

// Whether the piece on `from` attacks `to` (pawns: diagonally forward).
function attacks(board, from, to) {
  const piece = board[from];
  const kind = piece.toLowerCase();
  const [fx, fy, tx, ty] = [from % 8, from >> 3, to % 8, to >> 3];
  const dx = tx - fx;
  const dy = ty - fy;
  if (kind === "p") return Math.abs(dx) === 1 && dy === (white(piece) ? 1 : -1);
  if (kind === "n") return KNIGHT.some(([x, y]) => x === dx && y === dy);
  if (kind === "k") return KING.some(([x, y]) => x === dx && y === dy);
  const dirs = kind === "r" ? ROOK : kind === "b" ? BISHOP : [...ROOK, ...BISHOP];
  for (const [x, y] of dirs) {
    for (let i = 1; i < 8; i++) {
      const [cx, cy] = [fx + x * i, fy + y * i];
      if (cx < 0 || cx > 7 || cy < 0 || cy > 7) break;
      if (cx === tx && cy === ty) return true;
      if (board[cy * 8 + cx] !== "") break;
    }
  }
  return false;
}

function inCheck(board, whiteKing) {
  const king = board.indexOf(whiteKing ? "K" : "k");
  return king >= 0 && board.some((p, i) => p !== "" && white(p) !== whiteKing && attacks(board, i, king));
}

// Play one UCI move on `board` (a copy is returned) and write it in SAN, without + or #.
function play(board, uci) {
  const from = square(uci.slice(0, 2));
  const to = square(uci.slice(2, 4));
  const promo = uci[4];
  const piece = board[from];
  const kind = piece.toLowerCase();
  const next = board.slice();
  let capture = board[to] !== "";
  let captured = board[to];
  if (kind === "p" && from % 8 !== to % 8 && board[to] === "") {
    const passed = to + (white(piece) ? -8 : 8); // en passant
    captured = next[passed];
    next[passed] = "";
    capture = true;
  }
  next[to] = promo ? (white(piece) ? promo.toUpperCase() : promo) : piece;
  next[from] = "";
  if (kind === "k" && Math.abs(to - from) === 2) {
    const [rookFrom, rookTo] = to > from ? [from + 3, from + 1] : [from - 4, from - 1];
    next[rookTo] = next[rookFrom];
    next[rookFrom] = "";
    return { board: next, san: to > from ? "O-O" : "O-O-O", captured: "" };
  }
  let san;
  if (kind === "p") {
    san = (capture ? `${FILES[from % 8]}x` : "") + nameOf(to) + (promo ? `=${promo.toUpperCase()}` : "");
  } else {
    const rivals = board
      .map((p, i) => i)
      .filter((i) => i !== from && board[i] === piece && attacks(board, i, to))
      .filter((i) => {
        const tried = board.slice(); // a pinned rival could not go there
        tried[to] = tried[i];
        tried[i] = "";
        return !inCheck(tried, white(piece));
      });
    let which = "";
    if (rivals.length) {
      const sameFile = rivals.some((i) => i % 8 === from % 8);
      const sameRank = rivals.some((i) => i >> 3 === from >> 3);
      which = !sameFile ? FILES[from % 8] : !sameRank ? String((from >> 3) + 1) : nameOf(from);
    }
    san = kind.toUpperCase() + which + (capture ? "x" : "") + nameOf(to);
  }
  return { board: next, san, captured };
}

/**
 * The moves in SAN (with + and #; `mate` says the last one ended the game by mate) and
 * the pieces captured, as {byWhite: ["p", ...], byBlack: ["N", ...]}.
 */
export function notation(start, moves, mate = false) {
  let { board, whiteToMove } = parseFen(start);
  const sans = [];
  const byWhite = [];
  const byBlack = [];
  moves.forEach((uci, n) => {
    const played = play(board, uci);
    board = played.board;
    if (played.captured) (whiteToMove ? byWhite : byBlack).push(played.captured);
    whiteToMove = !whiteToMove;
    const check = inCheck(board, whiteToMove);
    const last = n === moves.length - 1;
    sans.push(played.san + (check ? (last && mate ? "#" : "+") : ""));
  });
  return { sans, byWhite, byBlack, startsWhite: parseFen(start).whiteToMove };
}
