// The app's entry point: signing in (a guest or an account), the header (who you are,
// the connection indicator) and hash routing: #/lobby, #/room/<id>, #/invite/<code>
// (what it leads to, then Join or Not now: invited.js),
// #/profile, #/player/<id>, #/record/<id>, #/leaderboard/<game>, #/signup, #/login.
// A reload of a room page reconnects to it with the saved session token.

import * as api from "./api.js";
import * as account from "./account.js";
import { inviteCode, invitedNote, joinInvite, mountInvited } from "./invited.js";
import { mountLeaderboard } from "./leaderboard.js";
import * as lobby from "./lobby.js";
import { mountProfile } from "./profile.js";
import { mountRecord } from "./record.js";
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

// The header's account controls and the signed-out welcome (account.js).
function showMe(session) {
  account.renderMe(me, session, { onSignedOut: signIn });
}

function signIn(message = "") {
  unmount?.();
  unmount = null;
  setConn(null);
  me.replaceChildren();
  account.welcome(main, {
    message,
    invited: invitedNote(),
    onDone: (session) => {
      showMe(session);
      // Signed in from an invite link's note: that was the answer, so take the seat.
      const code = inviteCode();
      if (code) joinInvite(code);
      else route();
    },
  });
}

// Accounts, profiles, leaderboards and records (account.js, profile.js, leaderboard.js, record.js).
const screens = {
  signup: () => account.mountSignUp(main, { onSession: showMe }),
  login: () => account.mountLogIn(main, { onSession: showMe }),
  profile: () => mountProfile(main, { own: true, signedOut: signIn }),
  player: (id) => mountProfile(main, { playerId: id, signedOut: signIn }),
  record: (id) => mountRecord(main, { recordId: id }),
  leaderboard: (id) => mountLeaderboard(main, { game: id }),
};

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
    unmount = mountInvited(main, { code: id });
  } else if (page in screens && (id || page === "profile" || page === "signup" || page === "login")) {
    unmount = screens[page](id);
  } else if (page === "lobby") {
    unmount = lobby.mount(main);
  } else {
    location.hash = "#/lobby";
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("meeple:unauthorized", (event) =>
  signIn(
    event.detail?.account
      ? "You were logged out: log in again to play."
      : "Your session has expired: pick a name to play again.",
  ),
);

const session = await api.whoAmI();
if (session) {
  showMe(session);
  route();
} else {
  api.forget();
  signIn();
}
