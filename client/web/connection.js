// The room WebSocket: MessagePack frames, sequence tracking (a gap asks for a `sync`),
// an app-level ping every 15 s (no answer within 10 s means reconnect), and automatic
// reconnection with exponential backoff and jitter, resuming with ?since=<last s>&game=<n>.
//
//   const conn = new Connection({ path: "/ws/rooms/r_1", ticket, since, game, onMessage, onStatus });
//
// `ticket` is a function that resolves to a fresh connect ticket (api.connectTicket):
// one is spent on every (re)connection, so the session token never goes in a URL.
//   conn.send({ t: "move", m: { cell: 4 } });   // returns the message id
//
// onMessage gets every server message, except `d` messages that are stale or out of
// order (those are dropped, and a `sync` asks for a fresh `snap`). onStatus gets
// "connecting", "open", "retrying" (with the delay in ms) or "closed" (final, with
// the close code and reason).

import { decode, encode } from "./vendor/msgpack.mjs";

const PING_EVERY = 15_000;
const PONG_WITHIN = 10_000;
const BACKOFF_BASE = 500;
const BACKOFF_MAX = 30_000;
// Close codes after which reconnecting would not help.
const FINAL = new Map([
  [1000, "left the room"],
  [4401, "your session has expired"],
  [4403, "this room is private: you need its invite code"],
  [4404, "there is no such room"],
  [4409, "this room was opened in another tab or window"],
]);

export class Connection {
  constructor({ path, ticket, since = null, game = null, onMessage, onStatus }) {
    this.path = path;
    this.ticket = ticket;
    this.seq = since; // the last `s` seen; null until the first snap
    this.game = game; // the number of the game `seq` counts in (the snap's `n`)
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.ws = null;
    this.nextId = 1;
    this.attempt = 0;
    this.stopped = false;
    this.awaitingSnap = false;
    this.timers = {};
    this.online = () => this.state === "retrying" && this.connectNow();
    window.addEventListener("online", this.online);
    this.open();
  }

  url() {
    const url = new URL(this.path, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.delete("since");
    url.searchParams.delete("game");
    if (this.seq !== null && this.game !== null) {
      url.searchParams.set("since", String(this.seq));
      url.searchParams.set("game", String(this.game));
    }
    return url.href;
  }

  async open() {
    if (this.opening) return; // a ticket is on its way already
    this.setStatus("connecting");
    let ticket;
    this.opening = true;
    try {
      ticket = await this.ticket();
    } catch (error) {
      if (this.stopped) return;
      // No ticket: a dead session is final (4401), anything else is retried like a drop.
      return this.closed(null, error.status === 401 ? 4401 : 1006, error.message);
    } finally {
      this.opening = false;
    }
    if (this.stopped || this.ws) return;
    const url = new URL(this.url());
    url.searchParams.set("ticket", ticket);
    const ws = new WebSocket(url.href, ["meeple.v1"]);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.awaitingSnap = false;
      this.setStatus("open");
      this.timers.ping = setInterval(() => this.ping(), PING_EVERY);
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(ws, event.code, event.reason);
    this.ws = ws;
  }

  receive(data) {
    if (!(data instanceof ArrayBuffer)) return; // frames are binary
    this.attempt = 0;
    clearTimeout(this.timers.pong); // any frame shows the server is alive
    let msg;
    try {
      msg = decode(new Uint8Array(data));
    } catch (error) {
      console.warn("undecodable frame", error);
      return;
    }
    if (msg.t === "snap") {
      this.seq = msg.s;
      this.game = msg.n;
      this.awaitingSnap = false;
    } else if (msg.t === "d") {
      if (this.awaitingSnap || (this.seq !== null && msg.s <= this.seq)) return;
      if (this.seq === null || msg.s !== this.seq + 1) return this.resync();
      this.seq = msg.s;
    }
    this.onMessage(msg);
  }

  // Ask for a snapshot and ignore deltas until it comes (also used when a delta fails).
  resync() {
    this.awaitingSnap = true;
    this.send({ t: "sync" });
  }

  send(message) {
    const id = this.nextId++;
    if (this.ws?.readyState !== WebSocket.OPEN) return null;
    this.ws.send(encode({ ...message, id }));
    return id;
  }

  ping() {
    if (this.send({ t: "ping" }) === null) return;
    clearTimeout(this.timers.pong);
    this.timers.pong = setTimeout(() => this.drop(), PONG_WITHIN);
  }

  // The server went quiet: give up on this socket without waiting for its close.
  drop() {
    const ws = this.ws;
    if (!ws) return;
    ws.onclose = ws.onmessage = null;
    ws.close(4000, "no pong");
    this.closed(ws, 1006, "no pong");
  }

  closed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    if (this.stopped) return;
    if (FINAL.has(code)) {
      this.stop();
      this.setStatus("closed", { code, reason: reason || FINAL.get(code) });
      return;
    }
    const ceiling = Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** this.attempt++);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.setStatus("retrying", { delay, code });
    this.timers.retry = setTimeout(() => this.open(), delay);
  }

  connectNow() {
    clearTimeout(this.timers.retry);
    if (!this.ws && !this.stopped) this.open();
  }

  setStatus(state, detail = {}) {
    this.state = state;
    this.onStatus?.(state, detail);
  }

  // Close for good (leaving the page); the seat is kept for the grace period.
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.online);
    for (const timer of Object.values(this.timers)) clearTimeout(timer); // ids are shared with setInterval
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "bye");
  }
}
