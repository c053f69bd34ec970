// The app shell: login, household choice, navigation (one header row on a phone, the views in
// a menu), the live event stream, alerts as toasts kept until dismissed and as browser
// notifications while the app is open.
import { api, edge, loadConfig, loadSession, saveSession, state, stream, takeReturn, tariffs } from "./api.js";
import { h, useZone } from "./format.js";
import * as alertsView from "./views/alerts.js";
import * as costsView from "./views/costs.js";
import * as historyView from "./views/history.js";
import * as liveView from "./views/live.js";
import * as loginView from "./views/login.js";
import * as metersView from "./views/meters.js";
import * as registryView from "./views/registry.js";
import * as utilityView from "./views/utility.js";

const VIEWS = [
  { id: "live", title: "Live", view: liveView, needs: "edge" },
  { id: "history", title: "History", view: historyView, needs: "cloud" },
  { id: "water", title: "Water", view: utilityView, needs: "cloud", meterClass: "WATER" },
  { id: "gas", title: "Gas", view: utilityView, needs: "cloud", meterClass: "GAS" },
  { id: "heat", title: "Heat", view: utilityView, needs: "cloud", meterClass: "HEAT" },
  { id: "costs", title: "Costs", view: costsView, needs: "cloud" },
  { id: "alerts", title: "Alerts", view: alertsView, needs: "edge" },
  { id: "meters", title: "Meters", view: metersView },
  { id: "registry", title: "Registry", view: registryView, needs: "cloud", operator: true },
];

const DISMISSED = "omdp.dismissed";
const CACHE = "omdp.cache.";
const alertKey = (a) => `${a.ruleId}/${a.meterId}`;

/** Live events from the edge, shared by every view. */
class Hub extends EventTarget {
  constructor() { super(); this.stopStream = null; this.active = new Map(); this.connected = false; }
  start() {
    if (this.stopStream || state.config.edgeUrl == null) return;
    this.stopStream = stream((name, data) => {
      if (name === "reading") {
        if (ours(data.meterId)) this.dispatchEvent(new CustomEvent("reading", { detail: data }));
      } else if (name === "alert") {
        if (!ours(data.meterId)) return;
        if (data.state === "raised") this.active.set(alertKey(data), data); else this.active.delete(alertKey(data));
        this.dispatchEvent(new CustomEvent("alert", { detail: data }));
        toast(data);
        notify(data);
        badge();
      }
    }, (on) => { this.status(on); if (on) this.loadAlerts(); });
  }
  status(on) {
    this.connected = on;
    const dot = document.getElementById("status-dot");
    dot.className = `dot ${on ? "on" : "off"}`;
    const text = on ? "Live: connected to the edge" : "Live: reconnecting to the edge…";
    dot.title = text;
    dot.setAttribute("aria-label", text);
    this.dispatchEvent(new CustomEvent("status", { detail: on }));
  }
  async loadAlerts() {
    try {
      const { active } = await edge("/v1/alerts");
      this.active = new Map(active.filter((a) => ours(a.meterId)).map((a) => [alertKey(a), a]));
      for (const a of this.active.values()) toast(a);
      badge();
    } catch { /* the edge may be down: the stream tells */ }
  }
  stop() { this.stopStream?.(); this.stopStream = null; }
}

const hub = new Hub();
let cleanup = null;
let ctx = null;

/** Whether a meter is one of the chosen household's (others are never shown). */
function ours(meterId) {
  if (!state.config.cloud) return true; // the edge alone serves one site: all its meters
  return Boolean(ctx?.meters.some((m) => m.meterIndividualId === meterId));
}
export function meterName(meterId) {
  return ctx?.meters.find((m) => m.meterIndividualId === meterId)?.meterIndividualName ?? meterId;
}

function dismissed() {
  try { return new Set(JSON.parse(sessionStorage.getItem(DISMISSED) || "[]")); } catch { return new Set(); }
}

function toast(alert) {
  const box = document.getElementById("toasts");
  const key = `${alertKey(alert)}@${alert.since ?? alert.at ?? ""}`;
  const raised = alert.state === "raised" || alert.state === undefined;
  const existing = box.querySelector(`[data-key="${CSS.escape(alertKey(alert))}"]`);
  if (raised && dismissed().has(key)) return;
  const el = h("div", { class: `toast ${raised ? "" : "cleared"}`, role: raised ? "alert" : "status", "data-testid": "toast", "data-key": alertKey(alert) },
    h("div", { class: "what" },
      h("strong", {}, raised ? "Alert: " : "Resolved: "), alert.message,
      h("div", { class: "muted" }, `${meterName(alert.meterId)} · rule ${alert.ruleId}`)),
    h("button", { type: "button", class: "ghost", "aria-label": "Dismiss", "data-testid": "toast-dismiss", onclick: () => {
      const seen = dismissed();
      seen.add(el.dataset.dismissKey);
      sessionStorage.setItem(DISMISSED, JSON.stringify([...seen].slice(-200)));
      el.remove();
    } }, "×"));
  el.dataset.dismissKey = key;
  if (existing) {
    if (!raised) el.dataset.dismissKey = existing.dataset.dismissKey;
    existing.replaceWith(el);
  } else if (raised) box.append(el);
}

function notify(alert) {
  if (alert.state !== "raised" || !("Notification" in window) || Notification.permission !== "granted") return;
  try {
    new Notification(`Alert: ${alert.message}`, { body: `${meterName(alert.meterId)} · rule ${alert.ruleId}`, tag: alertKey(alert) });
  } catch { /* some browsers allow notifications from a service worker only */ }
}

function badge() {
  const tab = document.querySelector('.tabs a[data-view="alerts"]');
  if (!tab) return;
  tab.querySelector(".badge")?.remove();
  if (hub.active.size) tab.append(h("span", { class: "badge", "data-testid": "alert-badge" }, hub.active.size));
}

function available(v) {
  if (v.operator && !state.session?.operator) return false;
  if (v.needs === "edge" && (state.config.edgeUrl === null || state.config.edgeUrl === undefined)) return false;
  if (v.needs === "cloud" && !state.config.cloud) return false;
  if (v.meterClass) return Boolean(ctx?.meters.some((m) => m.physicalMeterType?.physicalMeterClass === v.meterClass));
  return true;
}

function setMenu(open) {
  const nav = document.getElementById("nav");
  nav.classList.toggle("open", open);
  document.getElementById("menu").setAttribute("aria-expanded", String(open));
}

function nav() {
  const tabs = document.getElementById("nav");
  tabs.replaceChildren(...VIEWS.filter(available).map((v) =>
    h("a", { href: `#/${v.id}`, "data-view": v.id, onclick: () => setMenu(false) }, v.title)),
  h("button", { type: "button", class: "ghost phone-only", onclick: logout }, "Log out"));
  badge();
}

async function households() {
  const select = document.getElementById("household");
  const list = state.session.households ?? [];
  const saved = localStorage.getItem("omdp.household");
  const chosen = list.find((x) => x.householdId === saved) ?? list[0] ?? null;
  select.replaceChildren(...list.map((x) =>
    h("option", { value: x.householdId, selected: chosen?.householdId === x.householdId }, x.householdName ?? x.householdId)));
  select.parentElement.hidden = list.length === 0;
  select.disabled = list.length < 2;
  return chosen;
}

/** The household's meters and their roles. A reload of the page uses what this tab fetched
 *  before (sessionStorage, cleared at logout) and refreshes it meanwhile, so that the view's own
 *  data is asked for at once; a change found then redraws the view. */
async function loadHousehold(household) {
  ctx.household = household;
  useZone(household?.timezone ?? "UTC");
  ctx.meters = [];
  ctx.roles = new Map();
  if (!state.config.cloud || !household) return;
  const id = encodeURIComponent(household.householdId);
  const key = `${CACHE}${household.householdId}`;
  const apply = ({ meters, roles }) => {
    ctx.meters = meters;
    ctx.roles = new Map(roles.map((r) => [r.meterId, r.role]));
  };
  const fresh = Promise.all([
    api(`/v1/meterIndividuals?householdId=${id}&limit=1000`).then((x) => x.items, () => []),
    tariffs.roles(household.householdId).catch(() => []),
  ]).then(([meters, roles]) => {
    const found = { meters, roles };
    sessionStorage.setItem(key, JSON.stringify(found));
    return found;
  });
  let cached = null;
  try { cached = JSON.parse(sessionStorage.getItem(key) || "null"); } catch { /* fetched below */ }
  if (!cached) { apply(await fresh); return; }
  apply(cached);
  fresh.then((found) => {
    if (ctx?.household !== household || JSON.stringify(found) === JSON.stringify(cached)) return;
    apply(found);
    nav();
    route();
  }, () => {});
}

async function route() {
  const session = state.session;
  const wanted = location.hash.replace(/^#\/?/, "").split("?")[0] || "live";
  cleanup?.();
  cleanup = null;
  setMenu(false);
  const main = document.getElementById("view");
  if (!session && state.config.cloud) {
    document.querySelector(".topbar").hidden = true;
    hub.stop();
    document.getElementById("toasts").replaceChildren();
    main.replaceChildren();
    cleanup = await loginView.render(main, { onLogin });
    return;
  }
  document.querySelector(".topbar").hidden = false;
  const usable = VIEWS.filter(available);
  const v = usable.find((x) => x.id === wanted) ?? usable[0];
  for (const a of document.querySelectorAll(".tabs a")) {
    if (a.dataset.view === v.id) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.getElementById("menu-label").textContent = v.title;
  document.title = `${v.title} · omdp`;
  main.replaceChildren();
  cleanup = (await v.view.render(main, { ...ctx, kind: v.meterClass ? v.id : undefined })) ?? null;
}

async function start() {
  ctx = { hub, household: null, meters: [], roles: new Map(), config: state.config, session: state.session, meterName };
  await loadHousehold(await households());
  nav();
  hub.start();
  hub.loadAlerts();
  const back = takeReturn();
  if (back && back !== location.hash) { location.hash = back; return; } // hashchange routes
  await route();
}

async function onLogin(session) {
  saveSession(session);
  ctx = null;
  await start();
}

function logout() {
  saveSession(null);
  hub.stop();
  location.hash = "#/live";
  route();
}

async function boot() {
  await loadConfig();
  loadSession();
  if (!state.config.cloud) saveSession({ token: null, operator: false, households: [], scopes: [] });
  window.addEventListener("hashchange", () => route());
  window.addEventListener("omdp:logout", () => { hub.stop(); route(); });
  document.getElementById("logout").addEventListener("click", logout);
  document.getElementById("logout").hidden = !state.config.cloud;
  document.getElementById("menu").addEventListener("click", () => setMenu(!document.getElementById("nav").classList.contains("open")));
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") setMenu(false); });
  document.getElementById("household").addEventListener("change", async (e) => {
    localStorage.setItem("omdp.household", e.target.value);
    hub.active.clear();
    document.getElementById("toasts").replaceChildren();
    await loadHousehold(state.session.households.find((x) => x.householdId === e.target.value));
    nav();
    hub.loadAlerts();
    await route();
  });
  if (state.session) await start(); else await route();
}

boot().catch((e) => {
  document.getElementById("view").replaceChildren(h("p", { class: "notice bad" }, `The app could not start: ${e.message}`));
});
