// The browser's room connection (connection.js), a public module: a front end of one's
// own can import it from "/connection.js" (docs/games.md). It speaks the room WebSocket
// of docs/protocol.md: MessagePack frames, sequence numbers (a gap asks for a `sync`),
// an app-level ping, and reconnection with backoff that resumes with ?since=&game=.

/** A server message (docs/protocol.md): `room`, `snap`, `d`, `ack`, `err`, `chat`, `pong`, `moves`. */
export type ServerMessage = { t: string; [field: string]: unknown };
/** A client message without its `id` (the connection adds one). */
export type ClientMessage = { t: string; [field: string]: unknown };

export type ConnectionState = "connecting" | "open" | "retrying" | "closed";

export interface ConnectionOptions {
  /** The room's WebSocket path, e.g. "/ws/rooms/r_1" (may carry ?invite=). */
  path: string;
  /** The session token (POST /api/sessions). */
  token: string;
  /** To resume: the last sequence number seen, and the game it counted in. */
  since?: number | null;
  game?: number | null;
  /** Every server message, except stale or out-of-order `d` (then a `sync` is sent). */
  onMessage(message: ServerMessage): void;
  /** "retrying" carries `{ delay, code }`; "closed" (final) `{ code, reason }`. */
  onStatus?(state: ConnectionState, detail: { delay?: number; code?: number; reason?: string }): void;
}

export declare class Connection {
  constructor(options: ConnectionOptions);
  /** The last sequence number seen (null before the first snapshot). */
  seq: number | null;
  /** The number of the game `seq` counts in. */
  game: number | null;
  state: ConnectionState;
  /** Send a message; returns its id (answers echo it), or null when not connected. */
  send(message: ClientMessage): number | null;
  /** Ask for a snapshot and ignore deltas until it comes. */
  resync(): void;
  /** Close for good; a seat is kept for the grace period. */
  stop(): void;
}
