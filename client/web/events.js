// The player's own event stream (GET /api/me/events, docs/protocol.md "Player events"):
// one EventSource, opened with a single-use connect ticket (a token never goes in a URL),
// and opened again with a fresh ticket when it drops (EventSource's own retry would
// reuse the spent one).

import * as api from "./api.js";

const RETRY_MS = 3000;

/** Open the stream; `handlers` maps event names to functions of the parsed data.
 * Returns a function that closes it for good. */
export function playerEvents(handlers) {
  let source = null;
  let stopped = false;
  let timer = 0;

  async function open() {
    if (stopped) return;
    try {
      const ticket = await api.connectTicket();
      if (stopped) return;
      source = new EventSource(`/api/me/events?ticket=${encodeURIComponent(ticket)}`);
    } catch {
      timer = setTimeout(open, RETRY_MS);
      return;
    }
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => handle(JSON.parse(e.data)));
    }
    source.onerror = () => {
      source?.close();
      source = null;
      if (!stopped) timer = setTimeout(open, RETRY_MS);
    };
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}
