// The room screen: board, status line, turn timer, presence, chat and the game's
// buttons (resign, leave, take a seat, rematch). It keeps the room's state (view,
// seat, who acts, status, result) in sessionStorage so a reload resumes with
// ?since=&game=.
//
// The board is the game's own ES module, imported from the URL the catalog names
// (`board`: the server serves it from the game's package; see docs/games.md and
// board.d.ts for the contract); a game without one gets the generic board
// (boards/generic.js: the view as structure, the legal moves as buttons).

import * as api from "./api.js";
import { createChat } from "./chat.js";
import { Connection } from "./connection.js";
import { clockLeft, clockText, clocksAt } from "./clock.js";
import { applyDelta } from "./delta.js";
import { clear, dismissError, h, notify, seatName } from "./dom.js";
import { invitePlayerForm } from "./inviteplayer.js";
import { botTag, isBot } from "./players.js";

const SAVED = (id) => `meeple.room.${id}`;
const WS_PATH = (id) => `meeple.ws.${id}`;

// Remember where to connect for a room (the `ws` a seat or watch answer gave, which
// may carry an invite code) so a reload goes back the same way.
export function rememberRoom(id, ws, invite) {
  if (ws) sessionStorage.setItem(WS_PATH(id), ws);
  if (invite) sessionStorage.setItem(`meeple.invite.${id}`, invite);
}

// Clocks survive a reload as of a wall-clock moment (performance.now() starts afresh).
const savedClocks = (c) =>
  c && { ms: c.ms, run: c.run, wall: Date.now() - (performance.now() - c.arrived) };
const restoredClocks = (c) =>
  c ? { ms: c.ms, run: c.run, arrived: performance.now() - Math.max(0, Date.now() - c.wall) } : null;

function load(id) {
  try {
    return JSON.parse(sessionStorage.getItem(SAVED(id)) || "null");
  } catch {
    return null;
  }
}

export function mount(root, { roomId, setConn }) {
  const saved = load(roomId);
  const state = {
    game: saved?.game ?? null,
    seat: saved?.seat ?? null,
    view: saved?.view ?? null,
    change: saved?.change ?? null, // the last change that altered the view: what moved last
    toAct: saved?.toAct ?? [],
    status: saved?.status ?? "waiting",
    result: saved?.result ?? null,
    deadline: saved?.deadline ?? null,
    resigned: saved?.resigned ?? null, // the game number this seat resigned in, if any
    clocks: restoredClocks(saved?.clocks),
    dismissed: saved?.dismissed ?? null, // the game number whose result was closed
    seats: [],
    spec: 0,
    rematch: [],
    score: {}, // player id -> points over the room's games
  };
  let invite = sessionStorage.getItem(`meeple.invite.${roomId}`);
  let board = null;
  let boardGame = null;
  let conn = null;
  let leaving = false;
  const pending = new Map(); // message id -> {resolve, reject}: answers a board awaits

  const title = h("h1", {}, "Room");
  const status = h("p", { class: "status", "data-testid": "status", "aria-live": "polite" });
  const timer = h("p", { class: "timer", "data-testid": "timer", hidden: true });
  // "Bo left: 0:45 to come back": an away player's grace period, counting down (in the
  // side panel: its appearing moves nothing on the board).
  const away = h("p", { class: "away", "data-testid": "away", "aria-live": "polite", hidden: true });
  const boardBox = h("div", { class: "board-box", "data-testid": "board" });
  const overText = h("p", { "data-testid": "result" });
  const rematchBtn = h(
    "button",
    { type: "button", "data-testid": "rematch", onclick: voteRematch },
    "Rematch",
  );
  const rematchInfo = h("span", { class: "muted", "data-testid": "rematch-votes" });
  const scoreLine = h("p", { class: "score", "data-testid": "score" });
  const closeOver = h(
    "button",
    {
      type: "button",
      class: "close",
      "aria-label": "Close the result",
      "data-testid": "close-result",
      onclick: () => {
        state.dismissed = conn?.game ?? null;
        save();
        render();
      },
    },
    "×",
  );
  // Over the board, never above it: showing it moves nothing under the pointer.
  const over = h(
    "div",
    { class: "game-over", "data-testid": "game-over", role: "status", hidden: true },
    closeOver,
    overText,
    scoreLine,
    h(
      "div",
      { class: "row" },
      rematchBtn,
      rematchInfo,
      h("a", { href: "#/lobby", class: "button" }, "Lobby"),
    ),
  );
  const boardArea = h("div", { class: "board-area" }, over, boardBox);
  const presence = h("ul", { class: "presence", "data-testid": "presence" });
  const spectators = h("p", { class: "muted", "data-testid": "spectators" });
  const actions = h("div", { class: "actions row" });
  const invitePlayer = invitePlayerForm(roomId); // outside `actions`: a re-render keeps what is typed
  const chat = createChat((msg) => conn?.send(msg) ?? null);

  root.append(
    h(
      "section",
      { class: "room" },
      h("header", { class: "room-head" }, title, status, timer),
      h(
        "div",
        { class: "room-body" },
        boardArea,
        h(
          "aside",
          { class: "side" },
          h(
            "section",
            { class: "panel", "aria-label": "Players" },
            h("h2", {}, "Players"),
            presence,
            away,
            spectators,
            actions,
            invitePlayer,
          ),
          chat.el,
        ),
      ),
    ),
  );

  let titles = {};
  api.games().then(
    (list) => {
      titles = Object.fromEntries(list.map((g) => [g.name, g.title || g.name]));
      render();
    },
    () => {},
  );

  // A private room's members may see its invite code: show it to share.
  api.getRoom(roomId).then(
    (info) => {
      if (!info?.invite || invite) return;
      invite = info.invite;
      rememberRoom(roomId, null, invite);
      renderActions();
    },
    () => {},
  );

  function save() {
    const { game, seat, view, change, toAct, status: st, result, deadline, resigned, dismissed } = state;
    const copy = {
      seq: conn?.seq ?? null,
      gameNo: conn?.game ?? null,
      game,
      seat,
      view,
      change,
      toAct,
      status: st,
      result,
      deadline,
      resigned,
      clocks: savedClocks(state.clocks),
      dismissed,
    };
    sessionStorage.setItem(SAVED(roomId), JSON.stringify(copy));
  }

  function onMessage(msg) {
    switch (msg.t) {
      case "snap":
        Object.assign(state, {
          game: msg.g,
          seat: msg.seat,
          view: msg.v,
          change: msg.lo ?? null,
          toAct: msg.a,
          status: msg.st,
          result: msg.r,
          deadline: msg.dl,
          clocks: clocksAt(msg.k),
          seats: msg.seats ?? state.seats,
        });
        dismissError(); // the game moved on: an earlier refusal no longer applies
        save();
        break;
      case "d":
        try {
          state.view = applyDelta(state.view, msg.o);
        } catch (error) {
          console.warn("delta did not apply; asking for a snapshot", error);
          conn.resync();
          return;
        }
        if (msg.o.length) state.change = msg.o;
        state.toAct = msg.a;
        state.deadline = msg.dl ?? null;
        if (msg.k) state.clocks = clocksAt(msg.k);
        if (msg.st) state.status = msg.st;
        if ("r" in msg) state.result = msg.r;
        dismissError();
        save();
        break;
      case "room":
        Object.assign(state, { seats: msg.seats, spec: msg.spec, rematch: msg.rematch });
        // By player: a rematch moves everyone one seat on before the next room message.
        (msg.score ?? []).forEach((p, i) => {
          const id = msg.seats[i]?.player_id;
          if (id) state.score[id] = p;
        });
        if (msg.st !== state.status && msg.st === "waiting") state.status = msg.st;
        break;
      case "chat":
        chat.add(msg);
        return;
      case "chats":
        chat.replace(msg.l);
        return;
      case "moves":
        answer(msg.id, (p) => p.resolve(msg.m));
        return;
      case "err":
        if (pending.has(msg.id)) return answer(msg.id, (p) => p.reject(new Error(msg.msg || msg.code)));
        notify(msg.msg || msg.code, { error: true });
        return;
      default:
        return; // ack, pong
    }
    render();
  }

  function answer(id, settle) {
    const waiting = pending.get(id);
    pending.delete(id);
    if (waiting) settle(waiting);
  }

  function onStatus(connState, detail) {
    if (connState !== "open") {
      for (const [id, waiting] of pending) {
        pending.delete(id);
        waiting.reject(new Error("the connection was lost"));
      }
    }
    const text = connState === "open" ? "connected" : connState === "closed" ? "offline" : "reconnecting…";
    setConn(text, connState);
    if (connState !== "closed") return;
    if (detail.code === 1000 || leaving) return leave();
    if (detail.code === 4401) {
      api.forget();
      window.dispatchEvent(new CustomEvent("meeple:unauthorized"));
      return;
    }
    status.replaceChildren(
      `Disconnected: ${detail.reason}. `,
      detail.code === 4409
        ? h("button", { type: "button", "data-testid": "reconnect", onclick: connect }, "Reconnect here")
        : h("a", { href: "#/lobby" }, "Back to the lobby"),
    );
  }

  function connect() {
    conn?.stop();
    conn = new Connection({
      path: wsPath(),
      ticket: api.connectTicket,
      since: state.view === null ? null : (conn?.seq ?? saved?.seq ?? null),
      game: state.view === null ? null : (conn?.game ?? saved?.gameNo ?? null),
      onMessage,
      onStatus,
    });
  }

  // The path a seat or watch answer gave (or the default), with the invite code if known.
  function wsPath() {
    const base = sessionStorage.getItem(WS_PATH(roomId)) || `/ws/rooms/${encodeURIComponent(roomId)}`;
    const url = new URL(base, location.href);
    if (invite) url.searchParams.set("invite", invite);
    return url.pathname + url.search;
  }

  const move = (m) => {
    if (conn?.send({ t: "move", m }) === null)
      notify("Not connected: the move was not sent.", { error: true });
  };

  // The seat's legal moves now, from the server (a `moves` message; see docs/protocol.md).
  const legalMoves = () =>
    new Promise((resolve, reject) => {
      const id = conn?.send({ t: "moves" }) ?? null;
      if (id === null) reject(new Error("not connected"));
      else pending.set(id, { resolve, reject });
    });

  async function showBoard() {
    if (!state.game || boardGame === state.game) return;
    const game = (boardGame = state.game);
    board?.destroy?.();
    board = null;
    clear(boardBox);
    const info = (await api.games().catch(() => [])).find((g) => g.name === game) ?? null;
    let module = null;
    if (info?.board) {
      try {
        module = await import(info.board);
      } catch (error) {
        console.warn(`the board of ${game} did not load; showing the generic one`, error);
      }
    }
    module ??= await import("./boards/generic.js");
    if (boardGame !== game) return; // the room changed game meanwhile
    board = module.createBoard(boardBox, { move, legalMoves, game: info });
    render();
  }

  function render() {
    if (state.game !== boardGame) return void showBoard();
    const mine = state.seat !== null && state.toAct.includes(state.seat);
    const turn = { seq: conn?.seq ?? null, gameNo: conn?.game ?? null };
    const shown = { ...state, ...turn, myTurn: mine && state.status === "playing", out: false };
    // Out of a game that goes on (resigned from 3 or more, or knocked out): watching.
    shown.out =
      state.status === "playing" &&
      state.seat !== null &&
      ((state.resigned !== null && state.resigned === turn.gameNo) || !!board?.out?.(shown));
    state.out = shown.out;
    if (shown.out) shown.myTurn = false;
    // A spectator is told so on every board.
    title.replaceChildren(
      titles[state.game] ?? state.game ?? "Room",
      state.seat === null && state.view !== null
        ? h("span", { class: "tag watching", "data-testid": "watching" }, "watching")
        : "",
    );
    status.textContent = statusText(state, mine && !shown.out);
    board?.update(shown);
    renderPresence();
    renderOver();
    renderActions();
    tick();
  }

  function renderPresence() {
    presence.replaceChildren(
      ...state.seats.map((s, i) =>
        h(
          "li",
          { "data-testid": `seat-${i}`, class: s.on ? "on" : "off" },
          h("span", { class: "dot", "aria-hidden": "true" }),
          h("span", {}, s.kind === "empty" ? "empty seat" : s.name || `seat ${i}`),
          isBot(s) ? botTag() : null,
          i === state.seat ? h("span", { class: "tag" }, "you") : null,
          state.clocks ? h("span", { class: "clock", "data-testid": `clock-${i}` }) : null,
          Object.values(state.score).some((p) => p > 0) && s.kind !== "empty"
            ? h(
                "span",
                { class: "points", "data-testid": `score-${i}`, title: "points in this room" },
                points(state.score[s.player_id]),
              )
            : null,
          state.status === "playing" && state.toAct.includes(i)
            ? h("span", { class: "tag turn" }, "to move")
            : null,
          h("span", { class: "visually-hidden" }, s.on ? ", connected" : ", not connected"),
        ),
      ),
    );
    spectators.textContent = state.spec === 1 ? "1 watching" : `${state.spec} watching`;
  }

  function renderActions() {
    const seated = state.seat !== null;
    const buttons = [];
    const inGame = seated && state.status === "playing" && !state.out;
    if (inGame) buttons.push(confirmButton("Resign", "resign", resign));
    if (!seated && state.status === "waiting" && state.seats.some((s) => s.kind === "empty")) {
      buttons.push(h("button", { type: "button", "data-testid": "take-seat", onclick: sit }, "Take a seat"));
    }
    const leaveLabel = inGame ? "Leave (forfeits)" : "Leave";
    buttons.push(confirmButton(leaveLabel, "leave", startLeaving, inGame));
    if (seated && state.status === "finished" && over.hidden) {
      buttons.push(
        h("button", { type: "button", "data-testid": "rematch-side", onclick: voteRematch }, "Rematch"),
      );
    }
    if (invite) {
      const link = `${location.origin}${location.pathname}#/invite/${encodeURIComponent(invite)}`;
      buttons.push(
        h(
          "p",
          { class: "invite" },
          "Invite: ",
          h("input", {
            readonly: true,
            value: link,
            "aria-label": "Invite link",
            "data-testid": "invite-link",
            onfocus: (e) => e.target.select(),
          }),
        ),
      );
    }
    actions.replaceChildren(...buttons);
    invitePlayer.hidden = !(seated && state.status === "waiting" && state.seats.some((s) => s.kind === "empty"));
  }

  // A button that asks "are you sure?" inline first (no window.confirm: tests dismiss dialogs).
  function confirmButton(label, testid, action, ask = true) {
    const wrap = h("span", { class: "confirm" });
    const first = h(
      "button",
      { type: "button", "data-testid": testid, onclick: () => (ask ? asking() : action()) },
      label,
    );
    const asking = () => {
      const yes = h(
        "button",
        { type: "button", class: "danger", "data-testid": `${testid}-confirm`, onclick: action },
        `Yes, ${label.toLowerCase()}`,
      );
      wrap.replaceChildren(
        yes,
        h("button", { type: "button", onclick: () => wrap.replaceChildren(first) }, "No"),
      );
      yes.focus();
    };
    wrap.append(first);
    return wrap;
  }

  function renderOver() {
    over.hidden =
      state.status !== "finished" || (state.dismissed !== null && state.dismissed === conn?.game);
    if (over.hidden) return;
    overText.textContent = resultText(state);
    const scored = state.seats.map((s, i) => [s, i]).filter(([s]) => s.kind !== "empty");
    scoreLine.textContent = scored.length
      ? `Score in this room: ${scored.map(([s, i]) => `${seatName(state.seats, i)} ${points(state.score[s.player_id])}`).join(" · ")}`
      : "";
    const seatedCount = state.seats.filter((s) => s.kind !== "empty").length;
    const voted = state.seat !== null && state.rematch.includes(state.seat);
    rematchBtn.hidden = state.seat === null;
    rematchBtn.disabled = voted;
    rematchBtn.textContent = voted ? "Waiting for the others…" : "Rematch";
    rematchInfo.textContent = state.rematch.length
      ? `${state.rematch.length}/${seatedCount} want a rematch`
      : "";
    placeOver();
  }

  // The result box sits over the board itself (the board's [data-surface] element, else
  // its first), centred on it and kept inside the board area: a board narrower than the
  // area (or with a move list beside it) would otherwise have it off to one side.
  function placeOver() {
    const surface = boardBox.querySelector("[data-surface]") ?? boardBox.firstElementChild;
    if (over.hidden || !surface) return;
    const area = boardArea.getBoundingClientRect();
    const box = surface.getBoundingClientRect();
    const width = over.offsetWidth;
    const centre = box.left - area.left + box.width / 2;
    const left = Math.max(0, Math.min(centre - width / 2, area.width - width));
    over.style.left = `${Math.round(left)}px`;
    over.style.top = `${Math.round(box.top - area.top + Math.min(32, box.height / 6))}px`;
    over.classList.add("placed");
  }
  window.addEventListener("resize", placeOver);

  function resign() {
    if (conn?.send({ t: "resign" }) === null) return;
    state.resigned = conn.game;
    save();
    render();
  }

  function voteRematch() {
    conn?.send({ t: "rematch" });
  }

  async function sit() {
    try {
      const seat = await api.takeSeat(roomId);
      rememberRoom(roomId, seat?.ws);
      connect(); // the server seats a connection when it joins
    } catch (error) {
      notify(error.message, { error: true });
    }
  }

  function startLeaving() {
    leaving = true;
    if (conn?.send({ t: "leave" }) === null) {
      api.leaveSeat(roomId).catch(() => {});
      leave();
    }
    setTimeout(leave, 3000); // in case the close never comes
  }

  function leave() {
    sessionStorage.removeItem(SAVED(roomId));
    sessionStorage.removeItem(WS_PATH(roomId));
    if (location.hash.startsWith(`#/room/${roomId}`)) location.hash = "#/lobby";
  }

  const clock = setInterval(tick, 250);
  function tickAway() {
    const gone = state.status === "playing" ? state.seats.map((s, i) => [s, i]).filter(([s, i]) => !s.on && s.back && i !== state.seat) : [];
    away.hidden = gone.length === 0;
    away.textContent = gone
      .map(([s, i]) => `${seatName(state.seats, i)} left: ${clockText(Math.max(0, s.back - Date.now()))} to come back`)
      .join(" · ");
  }

  function tick() {
    tickClocks();
    yourTurnWhileHidden();
    tickAway();
    const left = state.deadline && state.status === "playing" ? state.deadline - Date.now() : null;
    timer.hidden = left === null;
    if (left === null) return;
    const secs = Math.max(0, Math.ceil(left / 1000));
    const who = state.toAct.includes(state.seat)
      ? "you"
      : state.toAct.map((s) => seatName(state.seats, s)).join(", ");
    timer.textContent = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")} left for ${who}`;
    timer.classList.toggle("urgent", secs <= 10);
  }

  function tickClocks() {
    if (!state.clocks) return;
    state.seats.forEach((_, i) => {
      const el = presence.querySelector(`[data-testid="clock-${i}"]`);
      const left = clockLeft(state.clocks, i);
      if (!el || left === null) return;
      el.textContent = clockText(left);
      el.classList.toggle("running", state.clocks.run.includes(i));
    });
  }

  // A hidden tab says it is your turn in its title (and a Notification, if allowed).
  const plainTitle = document.title;
  let told = null;
  function yourTurnWhileHidden() {
    const mine = state.status === "playing" && state.seat !== null && state.toAct.includes(state.seat);
    const moment = mine ? `${conn?.game}:${conn?.seq}` : null;
    if (!mine || !document.hidden) {
      if (document.title !== plainTitle) document.title = plainTitle;
      if (!mine) told = null;
      return;
    }
    document.title = `(Your turn) ${plainTitle}`;
    if (told === moment) return;
    told = moment;
    if (typeof Notification !== "undefined" && Notification.permission === "granted") {
      new Notification("Your turn", { body: title.textContent, tag: `meeple-${roomId}` });
    }
  }

  render();
  connect();

  return () => {
    clearInterval(clock);
    window.removeEventListener("resize", placeOver);
    document.title = plainTitle;
    board?.destroy?.();
    conn?.stop();
    setConn(null);
  };
}

function statusText(state, mine) {
  if (state.view === null) return "Joining the room…";
  if (state.status === "waiting") {
    const taken = state.seats.filter((s) => s.kind !== "empty").length;
    return `Waiting for players: ${taken} of ${state.seats.length} seats taken`;
  }
  if (state.status === "finished") return resultText(state);
  if (mine) return "Your turn";
  const names = state.toAct.map((s) => seatName(state.seats, s));
  const who = names.length ? `${names.join(" and ")} to move` : "…";
  return state.out ? `You are out, watching: ${who}` : who;
}

// 1.5 as "1½": chess-style points.
function points(value = 0) {
  const whole = Math.floor(value);
  const half = value - whole >= 0.5 ? "½" : "";
  return whole === 0 && half ? half : `${whole}${half}`;
}

// The result in the first person for a seat ("You won", "You lost"), else by name.
function resultText({ result, seat, seats }) {
  if (!result) return "Game over";
  const reason = result.reason ?? "";
  const why = reason ? ` (${reason})` : "";
  if (result.draw) {
    if (reason.startsWith("draw ")) return `Draw ${reason.slice(5)}`; // "Draw agreed"
    return reason ? `Draw by ${reason}` : "Draw";
  }
  if (seat !== null && result.winners.includes(seat)) return `You won${why}`;
  const names = result.winners.map((s) => seatName(seats, s));
  const won = `${names.join(" and ") || "Nobody"} won${why}`;
  return seat !== null ? `You lost: ${won}` : won;
}
