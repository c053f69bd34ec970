// Talking to the cloud API and the edge's live API. The token lives in sessionStorage only.

const KEY = "omdp.session";
export const state = { config: null, session: null };

export async function loadConfig() {
  const base = new URL(".", document.baseURI).pathname.replace(/\/$/, "");
  const prefix = document.querySelector('link[rel="stylesheet"][href$="/css/app.css"]')
    ?.getAttribute("href").replace(/\/css\/app\.css$/, "") ?? base;
  const res = await fetch(`${prefix}/config.json`, { cache: "no-cache" });
  state.config = await res.json();
  return state.config;
}

export function loadSession() {
  try { state.session = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { state.session = null; }
  return state.session;
}
export function saveSession(session) {
  state.session = session;
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session)); else sessionStorage.removeItem(KEY);
}

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

/** A call of the cloud API (JSON in, JSON out unless `raw`). */
export async function api(path, { method = "GET", body, raw = false, accept, token } = {}) {
  const headers = { Authorization: `Bearer ${token ?? state.session?.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accept) headers.Accept = accept;
  const res = await fetch(`${state.config.apiPrefix}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !token) {
    saveSession(null);
    window.dispatchEvent(new Event("omdp:logout"));
  }
  if (!res.ok) throw await failure(res);
  return raw ? res : res.json();
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
  if (scopes === null) {
    // No scope list: writing the registry is what tells an operator (an empty body is refused
    // with 403 before it is validated (422), so nothing is ever created).
    try {
      await api("/v1/households", { method: "POST", body: {}, token });
    } catch (e) {
      scopes = e.status === 422 ? ["registry:write", "readings:read"] : ["readings:read"];
    }
  }
  const operator = scopes.includes("operate") || scopes.includes("registry:write");
  return { token, scopes, subject, operator, households };
}

/** The edge's live API (same origin through the cloud's proxy, or the edge itself). */
export function edgeUrl(path) {
  const base = state.config.edgeUrl;
  if (base === null || base === undefined) return null;
  return `${base}${path}`;
}

export async function edge(path) {
  const url = edgeUrl(path);
  if (url === null) throw new ApiError(0, "no edge configured");
  const headers = state.session?.token ? { Authorization: `Bearer ${state.session.token}` } : {};
  const res = await fetch(url, { headers, cache: "no-store" });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/** Aggregates of one property for a household, one row per bucket over its meters. */
export async function aggregates({ householdId, meterIds, propertyId, interval, start, end, functions, timezone }) {
  const body = { propertyId, interval, start: start.toISOString(), end: end.toISOString(), functions, combine: true };
  if (meterIds) body.meterIds = meterIds; else body.householdId = householdId;
  if (timezone) body.timezone = timezone;
  return (await api("/v1/aggregates", { method: "POST", body })).items;
}
