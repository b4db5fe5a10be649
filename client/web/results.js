// How results read, on profiles, leaderboards and records: dates, won/lost, ratings;
// and saving JSON (a record, your data) as a file.

import { h } from "./dom.js";

const PROVISIONAL_RD = 110; // as lichess: a rating this unsure is shown with a "?"

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export const when = (iso) =>
  h("time", { datetime: iso }, Number.isNaN(Date.parse(iso)) ? iso : dateFormat.format(new Date(iso)));

export const ratingText = (rating, rd) => `${Math.round(rating)}${rd >= PROVISIONAL_RD ? "?" : ""}`;

// "Won", "Lost", "Draw" for the seat `seat` of a finished game's outcome.
export function resultFor(outcome, seat) {
  if (!outcome) return "Unfinished";
  if (outcome.draw) return "Draw";
  if (seat >= 0 && outcome.winners.includes(seat)) return "Won";
  return outcome.winners.length ? "Lost" : "No winner";
}

export function downloadJson(data, filename) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
