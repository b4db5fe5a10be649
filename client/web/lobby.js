// The lobby screen: quick match, a new room, joining by invite code, "my games" (the
// rooms you sit in, yours to move first), the public room list (filtered by game,
// refreshed every few seconds while shown) and a leaderboard.

import * as api from "./api.js";
import { clockText } from "./clock.js";
import { createRoomForm } from "./createroom.js";
import { h, notify } from "./dom.js";
import { playerEvents } from "./events.js";
import { createLeaderboard } from "./leaderboard.js";
import { invitationsPanel } from "./invitations.js";
import { joinInvite } from "./invited.js";
import { enablePush, pushSupported } from "./push.js";
import { isBot } from "./players.js";
import { createQuickMatch } from "./quickmatch.js";
import { rememberRoom } from "./room.js";

const REFRESH_MS = 4000;

export function mount(root) {
  let stopped = false;
  let quick = null;
  let timer = 0;
  const list = h("ul", { class: "rooms", "data-testid": "room-list", "aria-live": "polite" });
  const mine = h("ul", { class: "rooms", "data-testid": "my-games" });
  const pushInfo = h("span", { class: "muted", "data-testid": "push-info", role: "status" });
  const pushButton = pushSupported()
    ? h(
        "button",
        {
          type: "button",
          "data-testid": "enable-push",
          onclick: async () => {
            pushInfo.textContent = await enablePush().catch((error) => `Could not: ${error.message}`);
          },
        },
        "Notify me of my turns",
      )
    : null;
  const minePanel = h(
    "section",
    { class: "panel rooms-panel", "aria-labelledby": "my-games-title", hidden: true },
    h("h2", { id: "my-games-title" }, "My games"),
    mine,
    h("div", { class: "row" }, pushButton, pushInfo),
  );
  const finishedList = h("ul", { class: "rooms finished", "data-testid": "finished-list" });
  const finishedBox = h(
    "details",
    { class: "finished-rooms", hidden: true },
    h("summary", {}, "Finished games"),
    finishedList,
  );
  const filterGame = h(
    "select",
    { id: "filter-game", "data-testid": "filter-game", onchange: refresh },
    h("option", { value: "" }, "All games"),
  );
  const filterFree = h("input", {
    id: "filter-free",
    type: "checkbox",
    "data-testid": "filter-free",
    onchange: refresh,
  });
  let titles = {};
  const invitations = invitationsPanel(() => titles);

  const page = h("div", { class: "lobby" }, h("p", { class: "muted" }, "Loading the games…"));
  root.append(page);

  // Turns and results from every room you sit in: "my games" follows at once, and a
  // hidden tab says it in its title (and a Notification, if allowed).
  const plainTitle = document.title;
  const onVisible = () => {
    if (!document.hidden) document.title = plainTitle;
  };
  document.addEventListener("visibilitychange", onVisible);
  const events = playerEvents({
    matched: (data) => quick?.heard("matched", data),
    expired: (data) => quick?.heard("expired", data),
    your_turn: (data) => {
      refresh();
      if (!document.hidden) return;
      document.title = `(Your turn) ${plainTitle}`;
      if (typeof Notification !== "undefined" && Notification.permission === "granted") {
        new Notification("Your turn", { body: titles[data.game] ?? data.game, tag: `meeple-${data.room}` });
      }
    },
    game_over: () => refresh(),
    opponent_left: () => refresh(),
    invited: (data) => {
      invitations.refresh();
      if (!document.hidden) return;
      if (typeof Notification !== "undefined" && Notification.permission === "granted") {
        const body = titles[data.game] ?? data.game;
        new Notification(`${data.from.name} invites you`, { body, tag: `meeple-invite-${data.room}` });
      }
    },
  });

  api.games().then(
    (catalog) => {
      if (stopped) return;
      titles = Object.fromEntries(catalog.map((g) => [g.name, g.title || g.name]));
      filterGame.append(...catalog.map((g) => h("option", { value: g.name }, g.title || g.name)));
      quick = createQuickMatch(catalog, events);
      // Two columns on wide screens; on a phone, app.css orders the panels rooms-second.
      page.replaceChildren(
        h("div", { class: "lobby-side" }, quick.el, createRoomForm(catalog), inviteForm()),
        h("div", { class: "lobby-main" }, invitations.el, minePanel, roomsPanel(), createLeaderboard(catalog)),
      );
      refresh();
      invitations.refresh(); // then again on each `invited` event
    },
    (error) =>
      page.replaceChildren(h("p", { role: "alert" }, `The server is not answering: ${error.message}`)),
  );

  function roomsPanel() {
    return h(
      "section",
      { class: "panel rooms-panel", "aria-labelledby": "rooms-title" },
      h("h2", { id: "rooms-title" }, "Rooms"),
      h(
        "div",
        { class: "row filters" },
        h("label", { for: "filter-game" }, "Show"),
        filterGame,
        h("span", { class: "check" }, filterFree, h("label", { for: "filter-free" }, "with free seats")),
      ),
      list,
      finishedBox,
    );
  }

  async function refresh() {
    clearTimeout(timer);
    if (stopped) return;
    if (!document.hidden) {
      try {
        const data = await api.listRooms({
          game: filterGame.value,
          free: filterFree.checked ? "true" : "",
          limit: 50,
        });
        if (!stopped) renderRooms(api.items(data));
        const games = api.items(await api.myGames());
        if (!stopped) renderMine(games);
      } catch (error) {
        if (!stopped)
          list.replaceChildren(h("li", { class: "muted" }, `Could not load rooms: ${error.message}`));
      }
    }
    clearTimeout(timer); // a filter change may have started another round meanwhile
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  // Rooms to join first (then games to watch, busiest first); finished ones apart.
  function renderRooms(rooms) {
    const rank = (r) => (r.status === "waiting" ? (r.free ? 0 : 1) : 2);
    const open = rooms
      .filter((r) => r.status !== "finished")
      .sort((a, b) => rank(a) - rank(b) || (b.spectators ?? 0) - (a.spectators ?? 0));
    const done = rooms.filter((r) => r.status === "finished");
    finishedBox.hidden = done.length === 0;
    finishedList.replaceChildren(...done.map(roomItem));
    if (!open.length) return list.replaceChildren(h("li", { class: "muted" }, "No open rooms. Create one!"));
    list.replaceChildren(...open.map(roomItem));
  }

  function renderMine(games) {
    minePanel.hidden = !games.length;
    mine.replaceChildren(...games.map(myGameItem));
  }

  function myGameItem(game) {
    const room = game.room;
    const others = (room.seats ?? [])
      .filter((s, i) => i !== game.seat && s.kind !== "empty")
      .map((s) => s.name + (isBot(s) ? " (BOT)" : ""));
    const label = `${titles[room.game] ?? room.game}${others.length ? ` vs ${others.join(", ")}` : ""}`;
    const left = game.deadline ? Date.parse(game.deadline) - Date.now() : null;
    const when = left === null ? "" : ` · ${clockText(Math.max(0, left))} left`;
    const kind = game.correspondence ? `${room.clock.days} days per move · ` : "";
    return h(
      "li",
      { class: "room-item", "data-testid": "my-game", "data-room": room.id },
      h("span", { class: "room-name" }, label),
      game.your_turn ? h("span", { class: "tag turn", "data-testid": "your-turn" }, "your turn") : null,
      h("span", { class: "muted" }, `${kind}${room.status}${when}`),
      h(
        "button",
        {
          type: "button",
          "data-testid": "open-game",
          "aria-label": `Open ${label}`,
          onclick: () => {
            rememberRoom(room.id, room.ws);
            location.hash = `#/room/${encodeURIComponent(room.id)}`;
          },
        },
        "Open",
      ),
    );
  }

  function roomItem(room) {
    const seats = room.seats ?? [];
    const players = seats
      .filter((s) => s.kind !== "empty")
      .map((s) => s.name + (isBot(s) ? " (BOT)" : ""));
    const free = room.free ?? seats.filter((s) => s.kind === "empty").length;
    const label = `${titles[room.game] ?? room.game}: ${players.join(", ") || "nobody yet"}`;
    return h(
      "li",
      { class: "room-item", "data-testid": "room-item", "data-room": room.id, "data-game": room.game },
      h("span", { class: "room-name" }, label),
      h(
        "span",
        { class: "muted" },
        `${room.status}${free ? ` · ${free} free` : ""}${room.spectators ? ` · ${room.spectators} watching` : ""}`,
      ),
      h(
        "span",
        { class: "row" },
        free && room.status === "waiting"
          ? h(
              "button",
              {
                type: "button",
                "data-testid": "join",
                "aria-label": `Join ${label}`,
                onclick: () => join(room.id),
              },
              "Join",
            )
          : null,
        h(
          "button",
          {
            type: "button",
            "data-testid": "watch",
            "aria-label": `Watch ${label}`,
            onclick: () => watch(room.id),
          },
          "Watch",
        ),
      ),
    );
  }

  async function join(id) {
    try {
      const seat = await api.takeSeat(id);
      rememberRoom(id, seat?.ws);
      location.hash = `#/room/${encodeURIComponent(id)}`;
    } catch (error) {
      notify(`Could not join: ${error.message}`, { error: true });
      refresh();
    }
  }

  async function watch(id) {
    try {
      const answer = await api.watch(id);
      rememberRoom(id, answer?.ws, answer?.invite);
    } catch (error) {
      // Watching a public room needs no ticket: the room WebSocket takes spectators.
      if (error.status !== 404 && error.status !== 405) return notify(error.message, { error: true });
    }
    location.hash = `#/room/${encodeURIComponent(id)}`;
  }

  function inviteForm() {
    const code = h("input", {
      id: "invite-code",
      autocomplete: "off",
      required: true,
      "data-testid": "invite-code",
    });
    return h(
      "form",
      {
        class: "panel",
        "aria-labelledby": "invite-title",
        onsubmit: (event) => {
          event.preventDefault();
          joinInvite(code.value.trim()); // asked for by its code: no preview first
        },
      },
      h("h2", { id: "invite-title" }, "Join with an invite"),
      h("div", { class: "field" }, h("label", { for: "invite-code" }, "Invite code"), code),
      h("button", { type: "submit", "data-testid": "invite-join" }, "Join"),
    );
  }

  return () => {
    stopped = true;
    clearTimeout(timer);
    events.close();
    document.removeEventListener("visibilitychange", onVisible);
    document.title = plainTitle;
    quick?.stop();
  };
}
