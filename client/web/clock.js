// Clocks as the server sends them (`k: {ms, run}` on snap and d, docs/protocol.md
// "Clocks"): each seat's remaining ms as of the message, and whose clocks run. A client
// counts the running ones down from when the message arrived (its own monotonic clock),
// so it never drifts by more than a message's trip and never trusts the wall clock.

/** Remember a `k` with the moment it arrived; null stays null. */
export function clocksAt(k, arrived = performance.now()) {
  return k ? { ms: k.ms, run: k.run, arrived } : null;
}

/** What `seat` has left now, in ms (never below 0). */
export function clockLeft(clocks, seat, now = performance.now()) {
  if (!clocks || clocks.ms[seat] === undefined) return null;
  const running = clocks.run.includes(seat);
  return Math.max(0, clocks.ms[seat] - (running ? now - clocks.arrived : 0));
}

/** A remaining time as people read it: "2d 4h", "3:07:15", "4:05", "0:09.4". */
export function clockText(ms) {
  const s = Math.floor(ms / 1000);
  if (s >= 86400) return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  const two = (n) => String(n).padStart(2, "0");
  if (s >= 3600) return `${Math.floor(s / 3600)}:${two(Math.floor((s % 3600) / 60))}:${two(s % 60)}`;
  if (s >= 10) return `${Math.floor(s / 60)}:${two(s % 60)}`;
  return `0:0${Math.floor(ms / 1000)}.${Math.floor((ms % 1000) / 100)}`;
}
