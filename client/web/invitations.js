// The lobby's panel of the rooms you are invited into by name (GET /api/me/invitations,
// docs/protocol.md): Join takes the seat (with a private room's code), Decline forgets it.
// The room's form that sends them is inviteplayer.js.

import * as api from "./api.js";
import { h, notify } from "./dom.js";
import { rememberRoom } from "./room.js";

/** The lobby's "Invitations" panel; hidden while there are none. `titles()` gives the
 * games' titles by name; `refresh()` reloads the list (on an `invited` event). */
export function invitationsPanel(titles) {
  const list = h("ul", { class: "rooms", "data-testid": "invitations", "aria-live": "polite" });
  const el = h(
    "section",
    {
      class: "panel rooms-panel invitations-panel",
      "aria-labelledby": "invitations-title",
      "data-testid": "invitations-panel",
      hidden: true,
    },
    h("h2", { id: "invitations-title" }, "Invitations"),
    list,
  );
  let round = 0; // a slow answer never overwrites a newer one

  async function refresh() {
    const mine = ++round;
    try {
      const found = api.items(await api.myInvitations());
      if (mine !== round) return;
      el.hidden = found.length === 0;
      list.replaceChildren(...found.map(item));
    } catch {
      // Kept as it was: the next event or visit tries again.
    }
  }

  function item(invitation) {
    const room = invitation.room;
    const game = titles()[room.game] ?? room.game;
    const from = invitation.invited_by?.name ?? "Someone";
    const players = (room.seats ?? []).filter((s) => s.kind !== "empty").map((s) => s.name);
    const label = `${from} invites you to ${game}`;
    return h(
      "li",
      { class: "room-item", "data-testid": "invitation", "data-room": room.id },
      h("span", { class: "room-name" }, label),
      h(
        "span",
        { class: "muted" },
        `${players.length ? `with ${players.join(", ")} · ` : ""}${room.free} of ${room.seat_count} free${room.private ? " · private" : ""}`,
      ),
      h(
        "span",
        { class: "row" },
        h(
          "button",
          {
            type: "button",
            "data-testid": "invitation-join",
            "aria-label": `Join ${game} (invited by ${from})`,
            onclick: () => join(room),
          },
          "Join",
        ),
        h(
          "button",
          {
            type: "button",
            "data-testid": "invitation-decline",
            "aria-label": `Decline ${from}'s invitation to ${game}`,
            onclick: () => decline(room.id),
          },
          "Decline",
        ),
      ),
    );
  }

  async function join(room) {
    try {
      const seat = await api.takeSeat(room.id, room.invite ? { invite: room.invite } : {});
      rememberRoom(room.id, seat?.ws, room.invite);
      api.declineInvitation(room.id).catch(() => {}); // answered: done with it
      location.hash = `#/room/${encodeURIComponent(room.id)}`;
    } catch (error) {
      notify(`Could not join: ${error.message}`, { error: true });
      refresh();
    }
  }

  async function decline(id) {
    try {
      await api.declineInvitation(id);
    } catch (error) {
      notify(`Could not decline: ${error.message}`, { error: true });
    }
    refresh();
  }

  return { el, refresh };
}
