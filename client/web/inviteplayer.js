// The room's "Invite a player" form (POST /api/rooms/{id}/invitations, docs/protocol.md):
// a seated player names someone by username while the room waits with a free seat. The
// server answers 202 whether or not the name plays here, so the notice says "if".

import * as api from "./api.js";
import { h, notify } from "./dom.js";

// What each refusal of POST /api/rooms/{id}/invitations means to the one inviting.
const REFUSALS = {
  not_a_member: "Only the room's players can invite others into it.",
  already_started: "The game has started: no one can be invited now.",
  room_full: "Every seat is taken: no one can be invited now.",
  already_seated: (name) => `${name} already has a seat here.`,
  invite_yourself: "That is you: invite someone else.",
};

/** The room's "Invite a player" form (shown by the room while it waits with a free seat
 * and you sit in it). The server answers 202 whether or not the name plays here. */
export function invitePlayerForm(roomId) {
  const input = h("input", {
    id: "invite-username",
    autocomplete: "off",
    required: true,
    maxlength: 32,
    "data-testid": "invite-username",
  });
  const button = h("button", { type: "submit", "data-testid": "invite-send" }, "Invite");
  const el = h(
    "form",
    {
      class: "invite-player",
      "data-testid": "invite-player",
      "aria-label": "Invite a player",
      hidden: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const name = input.value.trim();
        if (!name) return;
        button.disabled = true;
        try {
          await api.invitePlayer(roomId, { username: name });
          notify(`Invitation sent: if ${name} plays here, they have been invited.`);
          input.value = "";
        } catch (error) {
          notify(refusal(error, name), { error: true });
        } finally {
          button.disabled = false;
          input.focus();
        }
      },
    },
    h("label", { for: "invite-username" }, "Invite a player by username"),
    h("span", { class: "row" }, input, button),
  );
  return el;
}

function refusal(error, name) {
  const known = REFUSALS[error.code];
  if (known) return typeof known === "function" ? known(name) : known;
  if (error.status === 429) {
    const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
    return `Too many invitations at once.${wait}`;
  }
  if (error.status === 422) return `Could not invite ${name}: ${error.errors[0]?.msg ?? error.message}`;
  return `Could not invite ${name}: ${error.message}`;
}
