// Someone who opens an invite link signed out is told where it leads before they pick a
// name: the game, who invited them and the seats free, from GET /api/invites/<code>
// (open to whoever holds the code; an unknown or expired code is a 404).

import * as api from "./api.js";
import { h } from "./dom.js";

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

/** The sign-in form's note for an invite address (null for any other address). */
export function invitedNote() {
  const code = inviteCode();
  if (!code) return null;
  const lead = h("p", { "data-testid": "invited-lead" }, `You are invited to a private room (invite ${code}).`);
  const facts = h("dl", { class: "invite-facts", "data-testid": "invited-room", hidden: true });
  const next = h("p", { "data-testid": "invited-next" }, "Play as a guest, log in or sign up, and you will join it.");
  const note = h("div", { class: "invited", "data-testid": "invited", "aria-live": "polite" }, lead, facts, next);
  api.lookUpInvite(code).then(
    (room) => {
      const who = room.host ?? "Someone";
      lead.textContent = `${who} invited you to a game of ${room.title} (invite ${code}).`;
      const free =
        room.status === "waiting"
          ? `${room.free} of ${room.seat_count} free`
          : `none: the game ${room.status === "playing" ? "is being played" : "is over"}`;
      const rows = [
        ["Game", room.title, "invited-game"],
        ["Host", who, "invited-host"],
        ["Seats", free, "invited-seats"],
        ["Clock", clockWords(room.clock), "invited-clock"],
      ].filter(([, value]) => value);
      facts.replaceChildren(
        ...rows.flatMap(([term, value, testid]) => [h("dt", {}, term), h("dd", { "data-testid": testid }, value)]),
      );
      facts.hidden = false;
      if (room.status !== "waiting" || room.free === 0) {
        next.textContent = "No seat is free in it any more: play as a guest, log in or sign up to play in the lobby.";
      }
    },
    (error) => {
      lead.textContent =
        error.status === 404
          ? `The invite ${code} does not lead to a room any more: it may have closed.`
          : `Could not look up the invite ${code}: ${error.message}`;
      next.textContent = "Play as a guest, log in or sign up to play in the lobby.";
    },
  );
  return note;
}
