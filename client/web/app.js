// The app's entry point: the guest sign-in, the header (who you are, the connection
// indicator) and hash routing: #/lobby, #/room/<id>, #/invite/<code>. A reload of a
// room page reconnects to it with the saved session token.

import * as api from "./api.js";
import { h, notify } from "./dom.js";
import { invitedNote } from "./invited.js";
import * as lobby from "./lobby.js";
import * as room from "./room.js";

const main = document.querySelector("main");
const me = document.querySelector("[data-testid=me]");
const conn = document.querySelector("[data-testid=conn]");
let unmount = null;

function setConn(text, state) {
  conn.hidden = text === null;
  conn.textContent = text ?? "";
  conn.dataset.state = state ?? "";
}

function showMe(session) {
  me.replaceChildren(
    h("span", { "data-testid": "my-name" }, session.name),
    " ",
    h("button", { type: "button", class: "link", "data-testid": "sign-out", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  api.forget();
  signIn();
}

function signIn(message = "") {
  unmount?.();
  unmount = null;
  setConn(null);
  me.replaceChildren();
  const name = h("input", {
    id: "name",
    name: "name",
    required: true,
    maxlength: 32,
    autocomplete: "nickname",
    "data-testid": "name-input",
  });
  const form = h(
    "form",
    {
      class: "panel sign-in",
      "aria-labelledby": "sign-in-title",
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          showMe(await api.signIn(name.value.trim()));
          route();
        } catch (error) {
          notify(`Could not sign in: ${error.message}`, { error: true });
        }
      },
    },
    h("h1", { id: "sign-in-title" }, "Welcome to Meeple"),
    message ? h("p", { role: "alert" }, message) : null,
    invitedNote(),
    h("div", { class: "field" }, h("label", { for: "name" }, "Your name"), name),
    h("button", { type: "submit", "data-testid": "name-submit" }, "Play"),
  );
  main.replaceChildren(form);
  name.focus();
}

async function route() {
  if (!api.token()) return signIn();
  unmount?.();
  unmount = null;
  main.replaceChildren();
  const [, page, arg] = location.hash.match(/^#\/([a-z]+)(?:\/([^/?]+))?/) ?? [];
  const id = arg ? decodeURIComponent(arg) : null;
  if (page === "room" && id) {
    unmount = room.mount(main, { roomId: id, setConn });
  } else if (page === "invite" && id) {
    try {
      const seat = await api.useInvite(id);
      room.rememberRoom(seat.room, seat.ws, id);
      location.hash = `#/room/${encodeURIComponent(seat.room)}`;
    } catch (error) {
      notify(`That invite did not work: ${error.message}`, { error: true });
      location.hash = "#/lobby";
    }
  } else if (page === "lobby") {
    unmount = lobby.mount(main);
  } else {
    location.hash = "#/lobby";
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("meeple:unauthorized", () =>
  signIn("Your session has expired: pick a name to play again."),
);

const session = await api.whoAmI();
if (session) {
  showMe(session);
  route();
} else {
  api.forget();
  signIn();
}
