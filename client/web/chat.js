// The room's chat panel: the log (newest last, announced politely) and a one-line form;
// the room sends its last lines when a connection joins, so a reload keeps them.

import { h } from "./dom.js";

const MAX_LINES = 200;
const MAX_CHARS = 500;

export function createChat(send) {
  const log = h("ol", { class: "chat-log", "data-testid": "chat-log", "aria-live": "polite" });
  const input = h("input", {
    id: "chat-input",
    type: "text",
    maxlength: MAX_CHARS,
    autocomplete: "off",
    placeholder: "Say something",
    "data-testid": "chat-input",
  });
  const form = h(
    "form",
    {
      class: "chat-form",
      onsubmit: (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        if (send({ t: "chat", text }) !== null) input.value = "";
      },
    },
    h("label", { for: "chat-input", class: "visually-hidden" }, "Chat message"),
    input,
    h("button", { type: "submit", "data-testid": "chat-send" }, "Send"),
  );
  const el = h("section", { class: "panel chat", "aria-label": "Chat" }, h("h2", {}, "Chat"), log, form);

  function add({ seat, name, text, at }) {
    const time = at ? new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
    const who = seat === null || seat === undefined ? `${name} (watching)` : name;
    log.append(
      h(
        "li",
        { "data-testid": "chat-line" },
        h("time", { datetime: at ?? "" }, time),
        " ",
        h("strong", {}, who),
        ": ",
        h("span", { class: "chat-text" }, text),
      ),
    );
    while (log.children.length > MAX_LINES) log.firstElementChild.remove();
    log.scrollTop = log.scrollHeight;
  }

  // The room's history (a `chats` message on every connect): it replaces the log, so a
  // reload or a reconnect shows the lines it missed, none twice.
  function replace(lines) {
    log.replaceChildren();
    lines.forEach(add);
  }

  return { el, add, replace };
}
