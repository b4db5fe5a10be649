// A player's name wherever one is shown: a "BOT" label for bot accounts (the `bot` flag
// that leaderboards, seats and records carry) and, where it helps, a link to their profile.

import { h } from "./dom.js";

// The label, as its own element so that a screen reader says "Name, bot".
export const botTag = () =>
  h("span", { class: "tag bot", "data-testid": "bot-tag", title: "a bot" }, h("span", { class: "visually-hidden" }, ", "), "BOT");

// Whether an entry (a leaderboard row, a seat, a profile) is a bot's.
export const isBot = (entry) => entry?.bot === true || entry?.kind === "bot";

export const profileHash = (playerId) => `#/player/${encodeURIComponent(playerId)}`;

// The name, linked to the profile when there is a player id to link to.
export function playerName(entry, { link = true } = {}) {
  const name = entry?.name || "?";
  const label =
    link && entry?.player_id
      ? h("a", { href: profileHash(entry.player_id), "data-testid": "player-link" }, name)
      : h("span", {}, name);
  return h("span", { class: "player-name" }, label, isBot(entry) ? botTag() : null);
}
