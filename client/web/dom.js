// Tiny DOM helpers shared by every screen: element building, notices, grid keys.

// h("button", {class: "x", onclick: f, "aria-label": "y"}, "text", child, ...)
// Attributes starting with "on" become listeners; true/false toggle boolean attributes;
// null/undefined are skipped; "dataset" takes an object.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value") {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let noticeTimer = 0;

// A short message in the page's notice area (role=status, or role=alert for errors).
export function notify(text, { error = false, ms = 5000 } = {}) {
  const el = document.querySelector("[data-testid=notice]");
  if (!el) return;
  el.textContent = text;
  el.setAttribute("role", error ? "alert" : "status");
  el.classList.toggle("error", error);
  el.hidden = false;
  clearTimeout(noticeTimer);
  if (ms) noticeTimer = setTimeout(() => (el.hidden = true), ms);
}

// Take an error notice down (the game moved on, so the refusal it reported is stale).
export function dismissError() {
  const el = document.querySelector("[data-testid=notice]");
  if (!el || !el.classList.contains("error")) return;
  clearTimeout(noticeTimer);
  el.hidden = true;
}

// Arrow keys move the focus around a grid of buttons laid out `cols` wide.
export function gridKeys(container, cols, selector = "button") {
  container.addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols };
    if (!(event.key in moves)) return;
    const items = [...container.querySelectorAll(selector)];
    const at = items.indexOf(document.activeElement);
    if (at < 0) return;
    const next = items[at + moves[event.key]];
    if (next) {
      next.focus();
      event.preventDefault();
    }
  });
}

// The display name for a seat from a room message's seats list.
export function seatName(seats, seat) {
  if (seat === null || seat === undefined) return "nobody";
  const info = seats?.[seat];
  if (!info || info.kind === "empty") return `seat ${seat}`;
  return info.name || `seat ${seat}`;
}
