// Talking to the cloud API and the edge's live API. Every call carries the bearer token; the
// session (in sessionStorage only) renews itself with its refresh token before the access token
// expires, and again on a 401, so that an open page keeps working for days. When a session
// really ends, the app says so and comes back to the same view after the next login.

const KEY = "omdp.session";
const RETURN = "omdp.returnTo";
const ENDED = "omdp.sessionEnded";
export const state = { config: null, session: null };

export async function loadConfig() {
  const base = new URL(".", document.baseURI).pathname.replace(/\/$/, "");
  const prefix = document.querySelector('link[rel="stylesheet"][href$="/css/app.css"]')
    ?.getAttribute("href").replace(/\/css\/app\.css$/, "") ?? base;
  // the page preloads it (<link rel=preload>), and the server has it revalidated every time
  const res = await fetch(`${prefix}/config.json`, { mode: "cors", credentials: "same-origin" });
  state.config = await res.json();
  return state.config;
}

export function loadSession() {
  try { state.session = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { state.session = null; }
  schedule();
  return state.session;
}

export function saveSession(session) {
  state.session = session;
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else {
    sessionStorage.removeItem(KEY);
    for (const k of Object.keys(sessionStorage)) if (k.startsWith("omdp.cache.")) sessionStorage.removeItem(k);
  }
  schedule();
}

/** Why the last session ended and where it was, once (for the login view). */
export function takeEnded() {
  const reason = sessionStorage.getItem(ENDED);
  const back = sessionStorage.getItem(RETURN);
  sessionStorage.removeItem(ENDED);
  return { reason, back };
}
export function takeReturn() {
  const back = sessionStorage.getItem(RETURN);
  sessionStorage.removeItem(RETURN);
  return back;
}

/** The session ends (refused refresh, revoked token): remember the view, tell the shell. */
export function endSession(reason) {
  if (!state.session) return;
  sessionStorage.setItem(ENDED, reason);
  sessionStorage.setItem(RETURN, location.hash || "#/live");
  saveSession(null);
  window.dispatchEvent(new Event("omdp:logout"));
}

const ended = (why) => `Your session has ended (${why.replace(/[:.]?\s*log in again\.?$/i, "")}).`;

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function failure(res) {
  let text = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json();
    const d = body.detail;
    if (Array.isArray(d)) text = d.map((e) => e.msg).join("; ");
    else if (typeof d === "string") text = d;
    else if (body.error_description) text = body.error_description;
  } catch { /* not JSON */ }
  return new ApiError(res.status, text);
}

// -- silent renewal ---------------------------------------------------------------------------

let timer = null;
let renewing = null;

function schedule() {
  clearTimeout(timer);
  const s = state.session;
  if (!s?.refreshToken || !s.expiresAt) return;
  const life = Math.max(30_000, (s.lifetimeS ?? 900) * 1000);
  const at = s.expiresAt - Math.min(60_000, life / 3) - Date.now();
  timer = setTimeout(() => renew().catch(() => {}), Math.max(1000, at));
}

/** Trade the refresh token for a new access token (one request at a time). */
export function renew() {
  renewing ??= (async () => {
    const s = state.session;
    if (!s?.refreshToken) throw new ApiError(401, "no refresh token");
    let res;
    try {
      res = await fetch(state.config.oauthTokenUrl, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: s.refreshToken }),
      });
    } catch (err) {
      schedule(); // offline: try again later, the session is not over
      throw err;
    }
    if (!res.ok) {
      const err = await failure(res);
      if (res.status === 400 || res.status === 401) endSession(ended(err.message));
      throw err;
    }
    const answer = await res.json();
    saveSession({ ...s, token: answer.access_token, refreshToken: answer.refresh_token ?? s.refreshToken,
      expiresAt: Date.now() + answer.expires_in * 1000, lifetimeS: answer.expires_in });
    return state.session;
  })().finally(() => { renewing = null; });
  return renewing;
}

document.addEventListener("visibilitychange", () => {
  const s = state.session;
  if (document.visibilityState === "visible" && s?.refreshToken && s.expiresAt - Date.now() < 60_000) {
    renew().catch(() => {});
  }
});

/** fetch with the bearer token; a 401 renews once and retries, else ends the session. */
export async function authed(url, init = {}, { token } = {}) {
  const send = (t) => fetch(url, { ...init, headers: { ...(init.headers ?? {}), ...(t ? { Authorization: `Bearer ${t}` } : {}) } });
  if (token) return send(token);
  let res = await send(state.session?.token);
  if (res.status !== 401 || !state.session) return res;
  if (state.session.refreshToken) {
    try { await renew(); } catch { return res; }
    res = await send(state.session?.token);
    if (res.status !== 401) return res;
  }
  const err = await failure(res.clone());
  endSession(ended(err.message));
  return res;
}

/** A call of the cloud API (JSON in, JSON out unless `raw`). */
export async function api(path, { method = "GET", body, raw = false, accept, token, contentType } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = contentType ?? "application/json";
  if (accept) headers.Accept = accept;
  const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
  const res = await authed(`${state.config.apiPrefix}${path}`, { method, headers, body: payload }, { token });
  if (!res.ok) throw await failure(res);
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}

/** Password login through the cloud's OAuth token endpoint (grant_type=password). */
export async function passwordLogin(username, password) {
  const res = await fetch(state.config.oauthTokenUrl, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams({ grant_type: "password", username, password }),
  });
  if (res.status === 404 || res.status === 405) {
    throw new ApiError(res.status, "This server has no password login yet: use an API token.");
  }
  if (!res.ok) {
    const err = await failure(res);
    if (res.status === 400 || res.status === 401) err.message = "Wrong username or password.";
    throw err;
  }
  return res.json();
}

/** Who the token stands for: scopes from the OAuth answer, else asked of the API. */
export async function whoAmI(token, scope) {
  let scopes = scope ? scope.split(/\s+/).filter(Boolean) : null;
  let households = [];
  let subject = null;
  try {
    const me = await api("/v1/me", { token });
    scopes = me.scopes ?? scopes;
    subject = me.subject ?? null;
  } catch (e) {
    if (e.status === 401) throw new ApiError(401, "This token is not valid.");
  }
  try {
    households = (await api("/v1/households?limit=1000", { token })).items;
  } catch (e) {
    if (e.status === 401) throw new ApiError(401, "This token is not valid.");
    if (e.status !== 403) throw e;
  }
  scopes ??= ["readings:read"];
  const operator = scopes.includes("operate") || scopes.includes("registry:write");
  return { token, scopes, subject, operator, households };
}

// -- the edge's live API ----------------------------------------------------------------------

/** The edge's live API (same origin through the cloud's proxy, or the edge itself). */
export function edgeUrl(path) {
  const base = state.config.edgeUrl;
  if (base === null || base === undefined) return null;
  return `${base}${path}`;
}

export async function edge(path) {
  const url = edgeUrl(path);
  if (url === null) throw new ApiError(0, "no edge configured");
  const res = await authed(url, { cache: "no-store" });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/**
 * The edge's event stream, read with fetch so that it carries the bearer token (EventSource
 * cannot send headers). Calls onEvent(name, data) per event and onStatus(connected); reconnects
 * with a growing pause. Returns a function that stops it.
 */
export function stream(onEvent, onStatus) {
  const url = edgeUrl("/v1/stream");
  if (url === null) return () => {};
  let stopped = false;
  let controller = null;
  let pause = 1000;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await authed(url, { headers: { Accept: "text/event-stream" }, cache: "no-store", signal: controller.signal });
        if (!res.ok || !res.body) throw new ApiError(res.status, "stream refused");
        onStatus(true);
        pause = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n/g, "\n");
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let name = "message";
            const data = [];
            for (const line of frame.split("\n")) {
              if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
            }
            if (data.length) {
              try { onEvent(name, JSON.parse(data.join("\n"))); } catch { /* not JSON: skipped */ }
            }
          }
        }
      } catch { /* dropped or refused: reconnect below */ }
      if (stopped) return;
      onStatus(false);
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 30_000);
    }
  };
  run();
  return () => { stopped = true; controller?.abort(); };
}

// -- the app's endpoints ----------------------------------------------------------------------

/** A household's energy picture per bucket (POST /v1/energy). */
export function energy({ householdId, interval, start, end, costs = false, meterIds }) {
  const body = { householdId, interval, start: start.toISOString(), end: end.toISOString(), costs };
  if (meterIds) body.meterIds = meterIds;
  return api("/v1/energy", { method: "POST", body });
}

/** Values decimated to a chart's width (POST /v1/series). */
export function series({ householdId, start, end, points, quantity, propertyId }) {
  const body = { householdId, start: start.toISOString(), end: end.toISOString(), points: Math.max(10, Math.round(points)) };
  if (quantity) body.quantity = quantity; else body.propertyId = propertyId;
  return api("/v1/series", { method: "POST", body });
}

const hh = (id) => `/v1/households/${encodeURIComponent(id)}`;
export const tariffs = {
  get: (id) => api(`${hh(id)}/tariff`).then((x) => x.tariff),
  put: (id, tariff) => api(`${hh(id)}/tariff`, { method: "PUT", body: tariff }).then((x) => x.tariff),
  prices: (id, start, end) => api(`${hh(id)}/prices?start=${encodeURIComponent(start.toISOString())}&end=${encodeURIComponent(end.toISOString())}`),
  upload: (id, csv) => api(`${hh(id)}/prices`, { method: "PUT", body: csv, contentType: "text/csv" }),
  roles: (id) => api(`${hh(id)}/meterRoles`).then((x) => x.items),
  setRoles: (id, items) => api(`${hh(id)}/meterRoles`, { method: "PUT", body: { items } }).then((x) => x.items),
};
