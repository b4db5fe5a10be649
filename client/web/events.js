// The player's own event stream (GET /api/me/events, docs/protocol.md "Player events"):
// one EventSource a page, opened with a single-use connect ticket (a token never goes in
// a URL), and opened again with a fresh ticket when it drops (EventSource's own retry
// would reuse the spent one). The lobby opens it; quick match listens on it too.

import * as api from "./api.js";

const RETRY_MS = 3000;

/** Open the stream; `handlers` maps event names to functions of the parsed data.
 * Returns `close()`, which closes it for good, and `whenOpen(ms)`, a promise that
 * resolves once the stream is open (the events from then on will reach the page), or
 * after `ms` if it does not open by then. */
export function playerEvents(handlers) {
  let source = null;
  let stopped = false;
  let timer = 0;
  let isOpen = false;
  let waiting = [];

  function opened() {
    isOpen = true;
    for (const resolve of waiting) resolve();
    waiting = [];
  }

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
    source.onopen = opened;
    source.onerror = () => {
      isOpen = false;
      source?.close();
      source = null;
      if (!stopped) timer = setTimeout(open, RETRY_MS);
    };
  }

  function whenOpen(ms) {
    if (isOpen) return Promise.resolve();
    return new Promise((resolve) => {
      waiting.push(resolve);
      setTimeout(resolve, ms);
    });
  }

  open();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      source?.close();
      opened(); // no one waits for a stream that will not come
    },
    whenOpen,
  };
}
