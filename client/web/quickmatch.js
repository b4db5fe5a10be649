// Quick match: files a ticket once the lobby's event stream (events.js) is open, so
// that its `matched` event (or, as a fallback, polling the ticket) opens the room.
// Cancelling, or leaving the lobby, withdraws the ticket. Beside it, "Play the
// computer": one click makes a room of the chosen game against a bot (easy or strong),
// also offered when a search finds nobody.

import * as api from "./api.js";
import { h, notify } from "./dom.js";
import { rememberRoom } from "./room.js";

const POLL_MS = 3000;
const STREAM_WAIT_MS = 5000; // a stream that does not open: polling finds the match

/** The panel; `events` is the page's event stream (`playerEvents`), whose `matched` and
 * `expired` events the lobby hands to `heard`. */
export function createQuickMatch(catalog, events) {
  let ticket = null;
  let poll = 0;
  let found = null; // the ticket of a `matched` event that came before the answer
  let searching = false; // from "Find a game" until matched, expired or cancelled
  let run = 0; // counts searches begun and ended: an answer for an ended one is stale
  const game = h(
    "select",
    { id: "qm-game", "data-testid": "qm-game" },
    catalog.map((g) => h("option", { value: g.name }, g.title || g.name)),
  );
  const start = h("button", { type: "submit", "data-testid": "quick-match" }, "Find a game");
  const cancel = h(
    "button",
    { type: "button", hidden: true, "data-testid": "qm-cancel", onclick: () => stop(true) },
    "Cancel",
  );
  const info = h("p", { class: "muted", "data-testid": "qm-status", "aria-live": "polite" });
  const botButton = (label, bot) =>
    h(
      "button",
      { type: "button", "data-testid": `play-bot-${bot}`, onclick: () => playBot(bot) },
      label,
    );
  const vsBot = h(
    "div",
    { class: "row vs-bot", role: "group", "aria-labelledby": "qm-bot-title" },
    h("span", { id: "qm-bot-title" }, "Play the computer:"),
    botButton("Easy", "random"),
    botButton("Strong", "best"),
  );

  // A room of the chosen game with the computer in every other seat (the game's fewest).
  async function playBot(bot) {
    stop(true);
    const info = catalog.find((g) => g.name === game.value);
    const seats = info?.min_seats ?? 2;
    try {
      const room = await api.createRoom({
        game: game.value,
        seats,
        bot,
        bots: Array.from({ length: seats - 1 }, (_, i) => i + 1),
      });
      const seat = room.reservation ?? (await api.takeSeat(room.id));
      rememberRoom(room.id, seat?.ws ?? room.ws, room.invite);
      location.hash = `#/room/${encodeURIComponent(room.id)}`;
    } catch (error) {
      notify(`Could not start a game against the computer: ${error.message}`, { error: true });
    }
  }

  function matched(room, ws) {
    stop(false);
    rememberRoom(room, ws);
    location.hash = `#/room/${encodeURIComponent(room)}`;
  }

  async function begin(event) {
    event.preventDefault();
    if (searching) return;
    searching = true;
    const mine = ++run;
    found = null;
    start.disabled = true;
    info.textContent = "Looking for opponents…";
    await events.whenOpen(STREAM_WAIT_MS);
    if (mine !== run) return; // stopped meanwhile: no ticket filed, nothing to withdraw
    try {
      const filed = await api.newTicket({ game: game.value });
      // The `matched` event can beat the answer (the matchmaker runs as soon as the
      // ticket is filed; the answer still says "waiting"): then the search is over and
      // there is nothing to withdraw (DELETE would be refused: 409, already matched).
      // Leaving the lobby meanwhile withdraws a ticket that still waits.
      if (mine !== run) {
        if (filed.status === "waiting" && filed.id !== found) {
          api.cancelTicket(filed.id).catch(() => {});
        }
        return;
      }
      ticket = filed;
      cancel.hidden = false;
      poll = setInterval(check, POLL_MS);
    } catch (error) {
      if (mine !== run) return;
      stop(false);
      info.textContent = "";
      notify(`Quick match failed: ${error.message}`, { error: true });
    }
  }

  async function check() {
    if (!ticket) return;
    const id = ticket.id;
    try {
      const now = await api.getTicket(id);
      if (ticket?.id !== id) return; // the search ended meanwhile
      if (now.status === "matched") matched(now.room, now.ws);
      else if (now.status !== "waiting") {
        stop(false);
        info.textContent = `The ticket ${now.status}.`;
      }
    } catch (error) {
      if (error.status === 404 && ticket?.id === id) {
        stop(false);
        info.textContent = "The ticket expired.";
      }
    }
  }

  // The stream's events of this player's tickets (the lobby listens for them).
  function heard(name, data) {
    if (!searching) return;
    if (name === "matched") {
      if (ticket && data.ticket !== ticket.id) return;
      found = data.ticket;
      matched(data.room, data.ws);
    } else if (name === "expired" && ticket && data.ticket === ticket.id) {
      stop(false);
      info.textContent = "Nobody turned up in time: try again, or play the computer.";
      vsBot.querySelector("button")?.focus();
    }
  }

  function stop(withdraw) {
    if (withdraw && ticket) api.cancelTicket(ticket.id).catch(() => {});
    if (withdraw) info.textContent = "";
    ticket = null;
    searching = false;
    run += 1;
    clearInterval(poll);
    start.disabled = false;
    cancel.hidden = true;
  }

  const el = h(
    "form",
    { class: "panel quick-panel", "aria-labelledby": "qm-title", onsubmit: begin },
    h("h2", { id: "qm-title" }, "Quick match"),
    h("div", { class: "field" }, h("label", { for: "qm-game" }, "Game"), game),
    h("div", { class: "row" }, start, cancel),
    info,
    vsBot,
  );
  return { el, heard, stop: () => stop(true) };
}
