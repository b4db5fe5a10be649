// The REST API (docs/protocol.md): the guest session, kept in localStorage so a reload
// resumes, and fetch calls that send it as a bearer token and turn problem details
// (RFC 9457) into ApiError.

const SESSION_KEY = "meeple.session";

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code || String(status);
    this.retryAfter = retryAfter;
    this.errors = problem?.errors ?? []; // a validation_error's [{loc, msg, type}]
  }
}

export function session() {
  try {
    const saved = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
    return saved?.token ? saved : null;
  } catch {
    return null;
  }
}

export function token() {
  return session()?.token ?? null;
}

export function forget() {
  localStorage.removeItem(SESSION_KEY);
}

// `auth: false` sends no bearer (logging in is not the current session's business).
export async function request(method, path, body, { auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const saved = auth ? token() : null;
  if (saved) headers.Authorization = `Bearer ${saved}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    // Only a dead token ends the session (a wrong password at log-in is 401 too).
    if (response.status === 401 && saved && data?.code === "unauthorized") {
      const account = Boolean(session()?.username);
      forget();
      window.dispatchEvent(new CustomEvent("meeple:unauthorized", { detail: { account } }));
    }
    const retry = Number(response.headers.get("Retry-After")) || null;
    throw new ApiError(response.status, data, retry);
  }
  return data;
}

// Lists come as a bare array or as {items}; accept either.
export const items = (data) => (Array.isArray(data) ? data : (data?.items ?? []));

function keep(data) {
  localStorage.setItem(SESSION_KEY, JSON.stringify(data));
  return data;
}

// A guest session.
export const signIn = async (name) => keep(await request("POST", "/api/sessions", { name }));

// Accounts (docs/protocol.md "Accounts"). Signing up as a guest (the bearer goes with
// it) turns that guest into the account: same player id, ratings and history. The
// answer carries `username`, which is how the client knows the session is an account's.
export const signUp = async (body) => keep(await request("POST", "/api/accounts", body));
export const logIn = async (username, password) =>
  keep(await request("POST", "/api/login", { username, password }, { auth: false }));
// Ending the session on the server; the token is forgotten here whatever it answers.
async function end(path) {
  try {
    await request("POST", path);
  } finally {
    forget();
  }
}
export const logOut = () => end("/api/logout");
export const logOutEverywhere = () => end("/api/logout/everywhere");
// A new password, given the one now: every session ends, this one is replaced by the
// answer's (as a log-in's).
export const changePassword = async (password, newPassword) =>
  keep(await request("POST", "/api/me/password", { password, new_password: newPassword }));
export const exportMine = () => request("GET", "/api/me/export");
// Deleting the account takes its password now (a session alone is not enough).
export async function deleteAccount(password) {
  await request("DELETE", "/api/me", { password });
  forget();
}

// Checks the saved token is still good; null (and forgotten) if it is not.
export async function whoAmI() {
  if (!token()) return null;
  try {
    const me = await request("GET", "/api/session");
    return { ...session(), ...me };
  } catch (error) {
    if (error.status === 401) return null;
    return session(); // server unreachable: keep the session and try later
  }
}

let catalog = null;

export async function games() {
  catalog ??= request("GET", "/api/games")
    .then(items)
    .catch((error) => {
      catalog = null;
      throw error;
    });
  return catalog;
}

// A single-use, short-lived stand-in for the token, for the URLs of the room WebSocket
// and the event stream (a URL reaches logs; the token must not).
export const connectTicket = async () => (await request("POST", "/api/session/ticket")).ticket;

export const listRooms = (query) => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  return request("GET", `/api/rooms?${params}`);
};
export const myGames = () => request("GET", "/api/me/games");
export const getRoom = (id) => request("GET", `/api/rooms/${encodeURIComponent(id)}`);
export const createRoom = (body) => request("POST", "/api/rooms", body);
export const takeSeat = (id, body = {}) =>
  request("POST", `/api/rooms/${encodeURIComponent(id)}/seats`, body);
export const leaveSeat = (id) => request("DELETE", `/api/rooms/${encodeURIComponent(id)}/seats/me`);
export const watch = (id, body = {}) => request("POST", `/api/rooms/${encodeURIComponent(id)}/watch`, body);
export const useInvite = (code) => request("POST", `/api/invites/${encodeURIComponent(code)}`);
export const lookUpInvite = (code) => request("GET", `/api/invites/${encodeURIComponent(code)}`);
// Invitations by name: send one, list yours (newest first), decline one.
export const invitePlayer = (id, body) =>
  request("POST", `/api/rooms/${encodeURIComponent(id)}/invitations`, body);
export const myInvitations = () => request("GET", "/api/me/invitations");
export const declineInvitation = (id) => request("DELETE", `/api/me/invitations/${encodeURIComponent(id)}`);
export const newTicket = (body) => request("POST", "/api/matchmaking/tickets", body);
export const getTicket = (id) => request("GET", `/api/matchmaking/tickets/${encodeURIComponent(id)}`);
export const cancelTicket = (id) => request("DELETE", `/api/matchmaking/tickets/${encodeURIComponent(id)}`);
export const leaderboard = (game, cursor = null) =>
  request("GET", `/api/leaderboards/${encodeURIComponent(game)}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
export const player = (id) => request("GET", `/api/players/${encodeURIComponent(id)}`);
export const playerGames = (id, cursor = null) =>
  request("GET", `/api/players/${encodeURIComponent(id)}/games${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
export const record = (id) => request("GET", `/api/records/${encodeURIComponent(id)}`);
