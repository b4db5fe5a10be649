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

export async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const saved = token();
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
    if (response.status === 401 && saved) {
      forget();
      window.dispatchEvent(new CustomEvent("meeple:unauthorized"));
    }
    const retry = Number(response.headers.get("Retry-After")) || null;
    throw new ApiError(response.status, data, retry);
  }
  return data;
}

// Lists come as a bare array or as {items}; accept either.
export const items = (data) => (Array.isArray(data) ? data : (data?.items ?? []));

export async function signIn(name) {
  const data = await request("POST", "/api/sessions", { name });
  localStorage.setItem(SESSION_KEY, JSON.stringify(data));
  return data;
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
export const newTicket = (body) => request("POST", "/api/matchmaking/tickets", body);
export const getTicket = (id) => request("GET", `/api/matchmaking/tickets/${encodeURIComponent(id)}`);
export const cancelTicket = (id) => request("DELETE", `/api/matchmaking/tickets/${encodeURIComponent(id)}`);
export const leaderboard = (game) => request("GET", `/api/leaderboards/${encodeURIComponent(game)}`);
