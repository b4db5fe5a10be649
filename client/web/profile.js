// A player's profile (#/profile for yours, #/player/<id> for anyone's): their rating in
// each game (GET /api/players/{id}) and their finished games, newest first, with the
// opponents, the result, the date and a link to the game's record (#/record/<id>).
// Your own adds the account's controls: sign up (a guest), download your data, change
// the password, log out everywhere, delete the account (each asks first where it cannot
// be undone).

import * as api from "./api.js";
import { changePasswordForm, isAccount, waitText } from "./account.js";
import { h } from "./dom.js";
import { botTag, isBot, playerName } from "./players.js";
import { downloadJson, ratingText, resultFor, when } from "./results.js";

async function titles() {
  const catalog = await api.games().catch(() => []);
  return Object.fromEntries(catalog.map((g) => [g.name, g.title || g.name]));
}

/** #/player/<id>, or your own with `own`. `signedOut(message)` after you log out or delete. */
export function mountProfile(root, { playerId, own = false, signedOut }) {
  const me = api.session();
  const id = own ? me.player_id : playerId;
  const mine = id === me.player_id;
  let stopped = false;
  const heading = h("h1", { id: "profile-title", "data-testid": "profile-name" }, "Player");
  const sub = h("p", { class: "muted", "data-testid": "profile-sub" });
  const ratings = h("tbody", { "data-testid": "profile-ratings" });
  const history = h("tbody", { "data-testid": "profile-history" });
  const more = h("button", { type: "button", hidden: true, "data-testid": "history-more" }, "More games");
  const historyNote = h("p", { class: "muted", role: "status" });
  const page = h(
    "div",
    { class: "profile" },
    h(
      "section",
      { class: "panel", "aria-labelledby": "profile-title" },
      heading,
      sub,
      h("h2", { id: "ratings-title" }, "Ratings"),
      h(
        "table",
        { class: "leaderboard", "aria-labelledby": "ratings-title" },
        h("thead", {}, h("tr", {}, ["Game", "Rating", "Games"].map((c) => h("th", { scope: "col" }, c)))),
        ratings,
      ),
    ),
    h(
      "section",
      { class: "panel", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "Games"),
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "history", "aria-labelledby": "history-title" },
          h("thead", {}, h("tr", {}, ["Game", "Opponents", "Result", "Record"].map((c) => h("th", { scope: "col" }, c)))),
          history,
        ),
      ),
      historyNote,
      more,
    ),
    mine ? accountPanel(me, signedOut) : null,
  );
  root.replaceChildren(page);

  let names = {};
  let cursor = null;
  let shownName = mine ? me.name : null;

  function showName(name, bot, account) {
    heading.replaceChildren(name || "Player");
    if (bot) heading.append(botTag());
    if (mine) {
      sub.textContent = isAccount(me) ? `Username: ${me.username}` : "Guest: sign up to keep this player for good.";
    } else sub.textContent = account ? "" : "Guest";
    document.title = `${name || "Player"} · Meeple`;
  }

  async function loadProfile() {
    names = await titles();
    try {
      const profile = await api.player(id);
      if (stopped) return;
      shownName = profile.name ?? shownName;
      showName(shownName, profile.bot || (mine && me.bot), profile.account);
      ratings.replaceChildren(
        ...profile.ratings.map((r) =>
          h(
            "tr",
            { "data-testid": "rating-row", "data-game": r.game },
            h(
              "th",
              { scope: "row" },
              h("a", { href: `#/leaderboard/${encodeURIComponent(r.game)}`, title: "the leaderboard" }, names[r.game] ?? r.game),
            ),
            h("td", { title: `rating deviation ${Math.round(r.rd)}`, "data-testid": "rating" }, ratingText(r.rating, r.rd)),
            h("td", {}, r.games),
          ),
        ),
      );
      if (!profile.ratings.length)
        ratings.replaceChildren(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No rated games yet.")));
    } catch (error) {
      ratings.replaceChildren(h("tr", {}, h("td", { colspan: 3, class: "muted" }, `Unavailable: ${error.message}`)));
    }
    await loadGames();
  }

  async function loadGames() {
    more.hidden = true;
    try {
      const data = await api.playerGames(id, cursor);
      if (stopped) return;
      const rows = api.items(data);
      if (!shownName) {
        const seat = rows.flatMap((r) => r.seats).find((s) => s.player_id === id);
        if (seat) showName(seat.name, isBot(seat), false);
      }
      history.append(...rows.map(gameRow));
      if (!history.children.length)
        history.replaceChildren(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No finished games yet.")));
      cursor = data.next_cursor;
      more.hidden = !cursor;
    } catch (error) {
      historyNote.textContent = `Could not load the games: ${error.message}`;
    }
  }
  more.addEventListener("click", loadGames);

  function gameRow(record) {
    const seat = record.seats.findIndex((s) => s.player_id === id);
    const opponents = record.seats.filter((_, i) => i !== seat);
    const result = resultFor(record.outcome, seat);
    const title = names[record.game] ?? record.game;
    return h(
      "tr",
      { "data-testid": "history-row", "data-record": record.id },
      h("td", {}, h("span", { class: "game-title" }, title), " ", h("span", { class: "muted when" }, when(record.finished_at))),
      h("td", { class: "opponents" }, ...opponents.flatMap((s, i) => [i ? ", " : "", playerName(s)])),
      h("td", { "data-testid": "history-result", "data-result": result.toLowerCase() }, result),
      h(
        "td",
        {},
        h("a", { href: `#/record/${encodeURIComponent(record.id)}`, "data-testid": "record-link", "aria-label": `View the record of ${title}, ${when(record.finished_at).textContent}` }, "View"),
      ),
    );
  }

  loadProfile();
  return () => {
    stopped = true;
    document.title = "Meeple";
  };
}

// Your account's controls on your own profile.
function accountPanel(me, signedOut) {
  const status = h("p", { role: "status", class: "muted", "data-testid": "account-status" });
  const panel = h("section", { class: "panel account-panel", "aria-labelledby": "account-title" }, h("h2", { id: "account-title" }, "Your account"));
  if (!isAccount(me)) {
    panel.append(
      h("p", {}, "You are playing as a guest: this player lasts as long as this browser's session. Sign up to keep your ratings and games and to log in from anywhere."),
      h("a", { href: "#/signup", class: "button", "data-testid": "profile-sign-up" }, "Sign up"),
    );
    return panel;
  }
  const download = h(
    "button",
    {
      type: "button",
      "data-testid": "export",
      onclick: async () => {
        try {
          const data = await api.exportMine();
          downloadJson(data, `meeple-${me.username}.json`);
          status.textContent = `Downloaded everything Meeple holds about you (${data.games.length} game${data.games.length === 1 ? "" : "s"}).`;
        } catch (error) {
          status.textContent = `Could not export: ${error.message}`;
        }
      },
    },
    "Download my data",
  );
  const everywhere = confirmAction({
    label: "Log out everywhere",
    testid: "log-out-everywhere",
    question: "End every session of this account, on every device, this one too?",
    yes: "Yes, log out everywhere",
    action: async () => {
      await api.logOutEverywhere().catch(() => {});
      signedOut("You are logged out on every device.");
    },
  });
  const remove = confirmAction({
    label: "Delete my account",
    testid: "delete-account",
    danger: true,
    question: "This cannot be undone. Your username, password and display name are removed and every session ends; your games stay in other players' histories as “deleted player”. Type your password to confirm.",
    askPassword: true,
    yes: "Delete my account for good",
    action: async (password, fail) => {
      try {
        await api.deleteAccount(password);
        signedOut("Your account is deleted.");
      } catch (error) {
        if (error.code === "wrong_password") fail("That is not your password: your account is kept.");
        else if (error.status === 429) fail(`Too many wrong passwords: try again in ${waitText(error.retryAfter ?? 60)}.`);
        else status.textContent = `Could not delete the account: ${error.message}`;
      }
    },
  });
  const passwordSlot = h("div", { class: "row" });
  const openPassword = h(
    "button",
    {
      type: "button",
      "data-testid": "change-password",
      onclick: () => {
        const closed = (text) => {
          passwordSlot.replaceChildren(openPassword);
          openPassword.focus();
          status.textContent = text;
        };
        const made = changePasswordForm({
          onDone: () => closed("Your password is changed, and every other device is logged out."),
          onCancel: () => closed(""),
        });
        passwordSlot.replaceChildren(made.form);
        made.focus();
      },
    },
    "Change password",
  );
  passwordSlot.append(openPassword);
  panel.append(
    h("p", { class: "muted" }, "Everything Meeple holds about you (account, ratings, every game) as a JSON file."),
    h("div", { class: "row" }, download),
    passwordSlot,
    h("div", { class: "row" }, everywhere),
    h("div", { class: "row" }, remove),
    status,
  );
  return panel;
}

// A button that asks first, inline: the question, with `askPassword` the account's
// password to type, Yes / Cancel. `action(password, fail)`: `fail(message)` shows why it
// was refused, at the password.
function confirmAction({ label, testid, question, yes, action, danger = false, askPassword = false }) {
  const wrap = h("div", { class: "confirm-box" });
  const first = h("button", { type: "button", class: danger ? "danger" : null, "data-testid": testid, onclick: () => ask() }, label);
  function ask() {
    const qid = `${testid}-question`;
    const eid = `${testid}-error`;
    const typed = askPassword
      ? h("input", {
          id: `${testid}-password`,
          type: "password",
          "data-testid": `${testid}-password`,
          autocomplete: "current-password",
          required: true,
          "aria-describedby": eid,
        })
      : null;
    const go = h(
      "button",
      {
        type: "submit",
        class: danger ? "danger" : null,
        "data-testid": `${testid}-confirm`,
      },
      yes,
    );
    const error = h("p", { id: eid, class: "field-error", role: "alert", "data-testid": eid });
    const fail = (message) => {
      error.textContent = message;
      typed?.setAttribute("aria-invalid", "true");
      typed?.select();
      (typed ?? go).focus();
    };
    const cancel = () => {
      wrap.replaceChildren(first);
      first.focus();
    };
    const form = h(
      "form",
      {
        class: "confirm-form",
        role: "group",
        "aria-labelledby": qid,
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = "";
          typed?.removeAttribute("aria-invalid");
          if (typed && !typed.value) return fail("Your password, please.");
          go.disabled = true;
          await action(typed?.value ?? null, fail);
          go.disabled = false;
        },
        onkeydown: (event) => event.key === "Escape" && cancel(),
      },
      h("p", { id: qid }, question),
      typed ? h("div", { class: "field" }, h("label", { for: typed.id }, "Your password"), typed) : null,
      error,
      h("div", { class: "row" }, go, h("button", { type: "button", "data-testid": `${testid}-cancel`, onclick: cancel }, "Cancel")),
    );
    wrap.replaceChildren(form);
    (typed ?? go).focus();
  }
  wrap.append(first);
  return wrap;
}
