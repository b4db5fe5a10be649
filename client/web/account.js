// Who you are: the welcome screen (play as a guest, log in, sign up), the header's
// account controls, and the sign-up and log-in screens a guest reaches from it
// (#/signup, #/login). A guest who signs up becomes the account: same player id, so
// its ratings and games stay its own (POST /api/accounts with the guest's bearer).
// Errors are shown inline, at the field they are about, and announced.

import * as api from "./api.js";
import { h } from "./dom.js";
import { botTag } from "./players.js";

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 128;
// Letters, digits, "_", "." and "-", 3 to 32 of them; the server has the final word.
const USERNAME = /^[\p{L}\p{N}][\p{L}\p{M}\p{N}_.-]{1,30}[\p{L}\p{M}\p{N}]$/u;

export const isAccount = (session) => Boolean(session?.username);

// "12 seconds", "3 minutes": how long Retry-After says to wait.
export function waitText(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.ceil(s / 60);
  return `${m} minute${m === 1 ? "" : "s"}`;
}

// One labelled input with its help line and its own error line (aria-describedby both).
function field(id, label, attrs, help = "") {
  const input = h("input", {
    id,
    name: id,
    "data-testid": id,
    "aria-describedby": `${id}-help ${id}-error`,
    ...attrs,
  });
  const error = h("p", { id: `${id}-error`, class: "field-error", "data-testid": `${id}-error` });
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    h("p", { id: `${id}-help`, class: "help muted" }, help),
    error,
  );
  return {
    wrap,
    input,
    get value() {
      return input.value;
    },
    fail(message) {
      error.textContent = message;
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    },
  };
}

function passwordField(id, label, autocomplete, help) {
  const f = field(id, label, { type: "password", autocomplete, required: true, maxlength: MAX_PASSWORD }, help);
  const show = h("input", {
    id: `${id}-show`,
    type: "checkbox",
    "data-testid": `${id}-show`,
    onchange: () => (f.input.type = show.checked ? "text" : "password"),
  });
  f.wrap.insertBefore(
    h("span", { class: "check" }, show, h("label", { for: `${id}-show` }, "Show password")),
    f.wrap.querySelector(".help"),
  );
  return f;
}

// The form's own message line (role=alert, so a screen reader says it at once).
function formError() {
  const el = h("p", { class: "form-error", role: "alert", "data-testid": "account-error" });
  return {
    el,
    show(text) {
      el.textContent = text;
    },
  };
}

// An account form (`name`: its title's and test ids' stem) whose submit first clears
// the errors the last one left, then runs `submit(event)`.
function accountForm(name, fields, message, submit, ...children) {
  return h(
    "form",
    {
      class: "account-form",
      "aria-labelledby": `${name}-title`,
      novalidate: true,
      "data-testid": `${name}-form`,
      onsubmit: async (event) => {
        event.preventDefault();
        for (const f of Object.values(fields)) f.fail("");
        message.show("");
        await submit(event);
      },
    },
    ...children,
  );
}

// Blocks the submit button until `seconds` have passed (after a 429).
function holdSubmit(button, seconds) {
  button.setAttribute("aria-disabled", "true");
  button.disabled = true;
  setTimeout(() => {
    button.disabled = false;
    button.removeAttribute("aria-disabled");
  }, Math.ceil(seconds) * 1000);
}

// A refused request's message, at the field it names when it names one.
function showError(error, fields, form, button) {
  if (error.code === "validation_error" && error.errors.length) {
    let placed = false;
    for (const e of error.errors) {
      const name = e.loc?.[e.loc.length - 1];
      const f = fields[name];
      if (f) {
        f.fail(e.msg);
        placed = true;
      }
    }
    if (placed) return form.show("Please fix the fields marked above.");
  }
  const messages = {
    login_failed: "Wrong username or password.",
    username_taken: ["username", "That username is taken: pick another."],
    invalid_username: ["username", error.message],
    invalid_password: ["password", error.message],
    already_registered: "This player already has an account: log in instead.",
  };
  const found = messages[error.code];
  if (Array.isArray(found) && fields[found[0]]) {
    fields[found[0]].fail(found[1]);
    fields[found[0]].input.focus();
    return form.show("");
  }
  if (error.status === 429) {
    const wait = error.retryAfter ?? 60;
    if (button) holdSubmit(button, wait);
    const what = error.code === "too_many_attempts" ? "Too many failed log-ins" : "Too many attempts";
    return form.show(`${what}: try again in ${waitText(wait)}.`);
  }
  form.show(typeof found === "string" ? found : `That did not work: ${error.message}`);
}

/** The form that changes an account's password (your profile): the password now and a
 * new one. `onDone(session)` with the new session (every other one has ended),
 * `onCancel()` to close it. */
export function changePasswordForm({ onDone, onCancel }) {
  const fields = {
    password: passwordField("password-now", "Your password now", "current-password"),
    new_password: passwordField("new-password", "New password", "new-password", `${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`),
  };
  const message = formError();
  const submit = h("button", { type: "submit", "data-testid": "change-password-submit" }, "Change password");
  const cancel = h("button", { type: "button", "data-testid": "change-password-cancel", onclick: () => onCancel() }, "Cancel");
  const form = accountForm(
    "change-password",
    fields,
    message,
    async () => {
      if (!fields.password.value) return fields.password.fail("Your password now, please."), fields.password.input.focus();
      const length = [...fields.new_password.value].length;
      if (length < MIN_PASSWORD || length > MAX_PASSWORD) {
        fields.new_password.fail(`A password is ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
        return fields.new_password.input.focus();
      }
      submit.disabled = true;
      let held = false;
      try {
        onDone(await api.changePassword(fields.password.value, fields.new_password.value));
      } catch (error) {
        held = error.status === 429;
        if (error.code === "wrong_password") {
          fields.password.fail("That is not your password.");
          fields.password.input.select();
        } else if (error.code === "invalid_password") {
          fields.new_password.fail(error.message);
        } else {
          showError(error, fields, message, submit);
        }
      } finally {
        if (!held) submit.disabled = false;
      }
    },
    h("h3", { id: "change-password-title" }, "Change your password"),
    h("p", { class: "muted" }, "Every other device is logged out, so whoever knew the old password is too."),
    ...Object.values(fields).map((f) => f.wrap),
    message.el,
    h("div", { class: "row" }, submit, cancel),
  );
  return { form, focus: () => fields.password.input.focus() };
}

function checkSignUp(fields) {
  let ok = true;
  const username = fields.username.value.trim();
  if (!USERNAME.test(username)) {
    fields.username.fail("Not a username: use 3 to 32 letters, digits, “_”, “.” or “-”, starting and ending with a letter or digit.");
    ok = false;
  }
  const length = [...fields.password.value].length;
  if (length < MIN_PASSWORD || length > MAX_PASSWORD) {
    fields.password.fail(`A password is ${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`);
    ok = false;
  }
  const display = fields.display_name.value.trim();
  if ([...display].length > 32) {
    fields.display_name.fail("A display name is at most 32 characters.");
    ok = false;
  }
  return ok;
}

// The sign-up form. As a guest (`guest` set) it keeps the guest's player id.
function signUpForm({ guest, onDone, extra = null }) {
  const fields = {
    username: field(
      "username",
      "Username",
      { required: true, autocomplete: "username", maxlength: 32, autocapitalize: "none", spellcheck: "false" },
      "3 to 32 letters, digits, “_”, “.” or “-”. You log in with it.",
    ),
    password: passwordField("password", "Password", "new-password", `${MIN_PASSWORD} to ${MAX_PASSWORD} characters.`),
    display_name: field(
      "display_name",
      "Display name (optional)",
      { maxlength: 32, autocomplete: "nickname", value: guest?.name ?? "" },
      "What other players see; your username if empty.",
    ),
  };
  const message = formError();
  const submit = h("button", { type: "submit", "data-testid": "signup-submit" }, "Sign up");
  const form = accountForm(
    "signup",
    fields,
    message,
    async () => {
      if (!checkSignUp(fields)) return form.querySelector("[aria-invalid=true]")?.focus();
      const body = { username: fields.username.value.trim(), password: fields.password.value };
      const display = fields.display_name.value.trim();
      if (display) body.display_name = display;
      submit.disabled = true;
      try {
        const session = await api.signUp(body);
        onDone(session);
      } catch (error) {
        showError(error, fields, message, null);
      } finally {
        submit.disabled = false;
      }
    },
    h("h2", { id: "signup-title" }, guest ? "Sign up and keep your games" : "Sign up"),
    guest
      ? h(
          "p",
          { class: "muted" },
          `You are playing as the guest ${guest.name}. Sign up and this guest becomes your account: its ratings and games stay yours, and you can log in from anywhere.`,
        )
      : null,
    ...Object.values(fields).map((f) => f.wrap),
    message.el,
    h("div", { class: "row" }, submit, extra),
  );
  return { form, focus: () => fields.username.input.focus() };
}

function logInForm({ onDone, extra = null, note = null }) {
  const fields = {
    username: field("login-username", "Username", {
      required: true,
      autocomplete: "username",
      maxlength: 64,
      autocapitalize: "none",
      spellcheck: "false",
    }),
    password: passwordField("login-password", "Password", "current-password"),
  };
  const message = formError();
  const submit = h("button", { type: "submit", "data-testid": "login-submit" }, "Log in");
  const form = accountForm(
    "login",
    fields,
    message,
    async () => {
      if (!fields.username.value.trim()) return fields.username.fail("Your username, please."), fields.username.input.focus();
      if (!fields.password.value) return fields.password.fail("Your password, please."), fields.password.input.focus();
      submit.disabled = true;
      let held = false;
      try {
        onDone(await api.logIn(fields.username.value.trim(), fields.password.value));
      } catch (error) {
        held = error.status === 429;
        showError(error, {}, message, submit);
        fields.password.input.select();
      } finally {
        if (!held) submit.disabled = false;
      }
    },
    h("h2", { id: "login-title" }, "Log in"),
    note,
    ...Object.values(fields).map((f) => f.wrap),
    message.el,
    h("div", { class: "row" }, submit, extra),
  );
  return { form, focus: () => fields.username.input.focus() };
}

function guestForm({ onDone }) {
  const name = h("input", {
    id: "name",
    name: "name",
    required: true,
    maxlength: 32,
    autocomplete: "nickname",
    "data-testid": "name-input",
  });
  const message = formError();
  const form = h(
    "form",
    {
      class: "account-form",
      "aria-labelledby": "guest-title",
      onsubmit: async (event) => {
        event.preventDefault();
        message.show("");
        try {
          onDone(await api.signIn(name.value.trim()));
        } catch (error) {
          showError(error, {}, message, null);
        }
      },
    },
    h("h2", { id: "guest-title" }, "Play as a guest"),
    h("p", { class: "muted" }, "No account needed. You can sign up later and keep your games."),
    h("div", { class: "field" }, h("label", { for: "name" }, "Your name"), name),
    message.el,
    h("button", { type: "submit", "data-testid": "name-submit" }, "Play as guest"),
  );
  return { form, focus: () => name.focus() };
}

/** The signed-out screen: play as a guest, log in or sign up (#/login and #/signup open
 * those two). `invited`: the invite link's note (invited.js) or null, shown above all
 * three (an account's holder logs in to take the seat too). `onDone(session)` once
 * signed in. */
export function welcome(root, { message = "", invited = null, onDone }) {
  const [, page] = location.hash.match(/^#\/(login|signup)\b/) ?? [];
  const done = (session) => {
    if (page) history.replaceState(null, "", "#/lobby");
    onDone(session);
  };
  const slot = h("div", { class: "welcome-form" });
  const switcher = h("nav", { class: "row welcome-switch", "aria-label": "Ways in" });
  const ways = {
    guest: ["Play as a guest", () => guestForm({ onDone: done })],
    login: ["Log in", () => logInForm({ onDone: done })],
    signup: ["Sign up", () => signUpForm({ onDone: done })],
  };
  function show(way, focus = true) {
    const made = ways[way][1]();
    slot.replaceChildren(made.form);
    switcher.replaceChildren(
      ...Object.entries(ways).map(([key, [label]]) =>
        h(
          "button",
          {
            type: "button",
            class: "link",
            "data-testid": `welcome-${key}`,
            "aria-current": key === way ? "true" : null,
            onclick: () => show(key),
          },
          label,
        ),
      ),
    );
    if (focus) made.focus();
  }
  root.replaceChildren(
    h(
      "section",
      { class: "panel sign-in", "aria-labelledby": "sign-in-title" },
      h("h1", { id: "sign-in-title" }, "Welcome to Meeple"),
      message ? h("p", { role: "alert", "data-testid": "signed-out-why" }, message) : null,
      invited,
      switcher,
      slot,
    ),
  );
  show(page ?? "guest");
}

/** The header's account controls: your name (to your profile), then Sign up / Log in /
 * Sign out for a guest, Log out for an account. */
export function renderMe(el, session, { onSignedOut }) {
  const name = h(
    "a",
    { href: "#/profile", "data-testid": "my-name", "aria-label": `${session.name}: your profile` },
    session.name,
  );
  const out = async (how) => {
    await how().catch(() => {}); // the token is forgotten either way
    onSignedOut("");
  };
  const parts = [
    name,
    session.bot ? botTag() : null,
    isAccount(session) ? null : h("span", { class: "tag", "data-testid": "guest-tag" }, "guest"),
    ...(isAccount(session)
      ? [h("button", { type: "button", class: "link", "data-testid": "log-out", onclick: () => out(api.logOut) }, "Log out")]
      : [
          h("a", { href: "#/signup", class: "button small", "data-testid": "sign-up" }, "Sign up"),
          h("a", { href: "#/login", "data-testid": "log-in" }, "Log in"),
          h(
            "button",
            {
              type: "button",
              class: "link",
              "data-testid": "sign-out",
              title: "Leave this guest for good (sign up first to keep it)",
              onclick: () => out(api.logOut),
            },
            "Sign out",
          ),
        ]),
  ];
  el.replaceChildren(...parts.filter(Boolean));
}

/** #/signup and #/login for a signed-in guest: sign up keeping the guest, or log in to an
 * account (leaving the guest). "Keep playing as guest" goes back to the lobby. */
export function mountSignUp(root, { onSession }) {
  const session = api.session();
  if (isAccount(session)) {
    location.hash = "#/profile";
    return null;
  }
  const keep = h("a", { href: "#/lobby", "data-testid": "keep-guest" }, "Keep playing as guest");
  const made = signUpForm({
    guest: session,
    extra: keep,
    onDone: (account) => {
      onSession(account);
      location.hash = "#/profile";
    },
  });
  root.replaceChildren(h("section", { class: "panel sign-in" }, made.form));
  made.focus();
  return null;
}

export function mountLogIn(root, { onSession }) {
  const session = api.session();
  const keep = h("a", { href: "#/lobby", "data-testid": "keep-guest" }, "Keep playing as guest");
  const note = isAccount(session)
    ? null
    : h(
        "p",
        { class: "muted" },
        `You are playing as the guest ${session?.name}. Logging in leaves this guest; to keep its games, `,
        h("a", { href: "#/signup" }, "sign up"),
        " instead.",
      );
  const made = logInForm({
    note,
    extra: keep,
    onDone: (account) => {
      onSession(account);
      location.hash = "#/lobby";
    },
  });
  root.replaceChildren(h("section", { class: "panel sign-in" }, made.form));
  made.focus();
  return null;
}
