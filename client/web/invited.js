// Someone who opens an invite link is told where it leads before they join: the game,
// who invited them, who is in the room, the seats free and the clock, from
// GET /api/invites/<code> (open to whoever holds the code; an unknown or expired code is
// a 404). Signed out, that is a note above the ways in (invitedNote), and signing in
// takes the seat; signed in, a screen of its own (mountInvited) with "Join" and "Not now".

import * as api from "./api.js";
import { h, notify } from "./dom.js";
import { playerName } from "./players.js";
import { rememberRoom } from "./room.js";

/** The code of an #/invite/<code> address, or null. */
export function inviteCode() {
  const [, code] = location.hash.match(/^#\/invite\/([^/?]+)/) ?? [];
  return code ? decodeURIComponent(code) : null;
}

// A time control as people say it: "5 min + 3 s", "30 s a move", "3 days a move".
function clockWords(clock) {
  if (!clock) return null;
  if (clock.days) return `${clock.days} ${clock.days === 1 ? "day" : "days"} a move`;
  if (clock.move) return `${clock.move} s a move`;
  const bank = clock.bank >= 60 ? `${+(clock.bank / 60).toFixed(1)} min` : `${clock.bank} s`;
  return clock.inc ? `${bank} + ${clock.inc} s` : bank;
}

const joinable = (room) => room.status === "waiting" && room.free > 0;

// The invite's lead line and its facts (hidden until known): `describe()` looks the code
// up and fills them in, answering the room, or null if the code leads nowhere.
function invitation(code) {
  const lead = h("p", { "data-testid": "invited-lead" }, `You are invited to a private room (invite ${code}).`);
  const facts = h("dl", { class: "invite-facts", "data-testid": "invited-room", hidden: true });
  async function describe() {
    let room;
    try {
      room = await api.lookUpInvite(code);
    } catch (error) {
      lead.textContent =
        error.status === 404
          ? `The invite ${code} does not lead to a room any more: it may have closed.`
          : `Could not look up the invite ${code}: ${error.message}`;
      return null;
    }
    const who = room.host ?? "Someone";
    lead.textContent = `${who} invited you to a game of ${room.title} (invite ${code}).`;
    const free =
      room.status === "waiting"
        ? `${room.free} of ${room.seat_count} free`
        : `none: the game ${room.status === "playing" ? "is being played" : "is over"}`;
    const players = room.players ?? [];
    const names = players.length
      ? players.flatMap((p, i) => [i ? ", " : "", playerName(p, { link: false })])
      : ["nobody yet"];
    const rows = [
      ["Game", [room.title], "invited-game"],
      ["Host", [who], "invited-host"],
      ["In the room", names, "invited-players"],
      ["Seats", [free], "invited-seats"],
      ["Clock", [clockWords(room.clock)], "invited-clock"],
    ].filter(([, value]) => value.some(Boolean));
    facts.replaceChildren(
      ...rows.flatMap(([term, value, testid]) => [h("dt", {}, term), h("dd", { "data-testid": testid }, ...value)]),
    );
    facts.hidden = false;
    return room;
  }
  return { lead, facts, describe };
}

/** Take the invite's seat and go to its room; to the lobby, saying why, if that fails. */
export async function joinInvite(code) {
  try {
    const seat = await api.useInvite(code);
    rememberRoom(seat.room, seat.ws, code);
    location.hash = `#/room/${encodeURIComponent(seat.room)}`;
  } catch (error) {
    notify(`That invite did not work: ${error.message}`, { error: true });
    location.hash = "#/lobby";
  }
}

/** The sign-in form's note for an invite address (null for any other address). */
export function invitedNote() {
  const code = inviteCode();
  if (!code) return null;
  const { lead, facts, describe } = invitation(code);
  const next = h("p", { "data-testid": "invited-next" }, "Play as a guest, log in or sign up, and you will join it.");
  const note = h("div", { class: "invited", "data-testid": "invited", "aria-live": "polite" }, lead, facts, next);
  describe().then((room) => {
    if (!room) next.textContent = "Play as a guest, log in or sign up to play in the lobby.";
    else if (!joinable(room)) {
      next.textContent = "No seat is free in it any more: play as a guest, log in or sign up to play in the lobby.";
    }
  });
  return note;
}

/** #/invite/<code> signed in: the invitation, then "Join" (takes the seat) or "Not now"
 * (back to the lobby, nothing taken). */
export function mountInvited(root, { code }) {
  let stopped = false;
  const { lead, facts, describe } = invitation(code);
  const next = h("p", { class: "muted", "data-testid": "invited-next" }, "Looking the invite up…");
  const join = h(
    "button",
    {
      type: "button",
      "data-testid": "invited-join",
      hidden: true,
      onclick: async () => {
        join.disabled = true;
        await joinInvite(code);
      },
    },
    "Join",
  );
  const later = h(
    "button",
    { type: "button", "data-testid": "invited-later", onclick: () => (location.hash = "#/lobby") },
    "Not now",
  );
  root.replaceChildren(
    h(
      "section",
      { class: "panel sign-in invited", "aria-labelledby": "invited-title", "data-testid": "invited" },
      h("h1", { id: "invited-title" }, "You are invited"),
      h("div", { "aria-live": "polite" }, lead, facts, next),
      h("div", { class: "row" }, join, later),
    ),
  );
  document.title = "Invitation · Meeple";
  later.focus();
  describe().then((room) => {
    if (stopped) return;
    if (room && joinable(room)) {
      next.textContent = "Join takes a seat in it; Not now leaves it for later (the link stays good while the room waits).";
      join.hidden = false;
      join.focus();
    } else {
      next.textContent = room ? "No seat is free in it any more." : "";
      later.textContent = "Back to the lobby";
    }
  });
  return () => {
    stopped = true;
    document.title = "Meeple";
  };
}
