// The app shell: login, household choice, navigation, the live event stream and toasts.
import { api, edge, edgeUrl, loadConfig, loadSession, saveSession, state } from "./api.js";
import { h } from "./format.js";
import * as alertsView from "./views/alerts.js";
import * as costsView from "./views/costs.js";
import * as historyView from "./views/history.js";
import * as liveView from "./views/live.js";
import * as loginView from "./views/login.js";
import * as metersView from "./views/meters.js";
import * as registryView from "./views/registry.js";

const VIEWS = [
  { id: "live", title: "Live", view: liveView, needs: "edge" },
  { id: "history", title: "History", view: historyView, needs: "cloud" },
  { id: "costs", title: "Costs", view: costsView, needs: "cloud" },
  { id: "alerts", title: "Alerts", view: alertsView, needs: "edge" },
  { id: "meters", title: "Meters", view: metersView },
  { id: "registry", title: "Registry", view: registryView, needs: "cloud", operator: true },
];

/** Live events from the edge, shared by every view. The stream is read with fetch (not
 *  EventSource) so that the token goes in the Authorization header, never in a URL. */
class Hub extends EventTarget {
  constructor() { super(); this.abort = null; this.active = new Map(); this.connected = false; }
  start() {
    const url = edgeUrl("/v1/stream");
    if (url === null || this.abort) return;
    this.abort = new AbortController();
    this.read(url, this.abort.signal);
  }
  async read(url, signal) {
    let delay = 1000;
    while (!signal.aborted) {
      try {
        const token = state.session?.token;
        const headers = token ? { Authorization: `Bearer ${token}` } : {};
        const res = await fetch(url, { headers, cache: "no-store", signal });
        if (!res.ok || !res.body) throw new Error(`${res.status}`);
        this.status(true); this.loadAlerts(); delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
            this.frame(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
        }
      } catch { if (signal.aborted) return; }
      this.status(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  }
  frame(text) {
    let event = "message"; const data = [];
    for (const line of text.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (!data.length) return;
    const doc = JSON.parse(data.join("\n"));
    if (event === "reading") this.dispatchEvent(new CustomEvent("reading", { detail: doc }));
    if (event !== "alert") return;
    const k = `${doc.ruleId}/${doc.meterId}`;
    if (doc.state === "raised") this.active.set(k, doc); else this.active.delete(k);
    this.dispatchEvent(new CustomEvent("alert", { detail: doc }));
    toast(doc);
    badge();
  }
  status(on) {
    this.connected = on;
    const dot = document.getElementById("status-dot");
    dot.className = `dot ${on ? "on" : "off"}`;
    dot.title = on ? "Live: connected to the edge" : "Live: reconnecting to the edge…";
    this.dispatchEvent(new CustomEvent("status", { detail: on }));
  }
  async loadAlerts() {
    try {
      const { active } = await edge("/v1/alerts");
      this.active = new Map(active.map((a) => [`${a.ruleId}/${a.meterId}`, a]));
      badge();
    } catch { /* the edge may be down: the stream tells */ }
  }
  stop() { this.abort?.abort(); this.abort = null; }
}

const hub = new Hub();
let cleanup = null;
let ctx = null;

function toast(alert) {
  const box = document.getElementById("toasts");
  const raised = alert.state === "raised";
  const el = h("div", { class: `toast ${raised ? "" : "cleared"}`, role: raised ? "alert" : "status", "data-testid": "toast" },
    h("div", { class: "what" },
      h("strong", {}, raised ? "Alert: " : "Resolved: "), alert.message,
      h("div", { class: "muted" }, `${alert.meterId} · rule ${alert.ruleId}`)),
    h("button", { type: "button", class: "ghost", "aria-label": "Dismiss", onclick: () => el.remove() }, "×"));
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => el.remove(), raised ? 15000 : 6000);
}

function badge() {
  const tab = document.querySelector('.tabs a[data-view="alerts"]');
  if (!tab) return;
  tab.querySelector(".badge")?.remove();
  if (hub.active.size) tab.append(h("span", { class: "badge", "data-testid": "alert-badge" }, hub.active.size));
}

function available(v) {
  if (v.operator && !state.session?.operator) return false;
  if (v.needs === "edge") return state.config.edgeUrl !== null && state.config.edgeUrl !== undefined;
  if (v.needs === "cloud") return Boolean(state.config.cloud);
  return true;
}

function nav() {
  const tabs = document.querySelector(".tabs");
  tabs.replaceChildren(...VIEWS.filter(available).map((v) =>
    h("a", { href: `#/${v.id}`, "data-view": v.id }, v.title)));
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

async function meterList(household) {
  if (!state.config.cloud || !household) return [];
  try {
    return (await api(`/v1/meterIndividuals?householdId=${encodeURIComponent(household.householdId)}&limit=1000`)).items;
  } catch { return []; }
}

async function route() {
  const session = state.session;
  const wanted = location.hash.replace(/^#\/?/, "").split("?")[0] || "live";
  cleanup?.();
  cleanup = null;
  const main = document.getElementById("view");
  if (!session && state.config.cloud) {
    document.querySelector(".topbar").hidden = true;
    hub.stop();
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
  document.title = `${v.title} · omdp`;
  main.replaceChildren();
  cleanup = (await v.view.render(main, ctx)) ?? null;
}

async function start() {
  ctx = { hub, household: null, meters: [], config: state.config, session: state.session };
  nav();
  ctx.household = await households();
  ctx.meters = await meterList(ctx.household);
  hub.start();
  hub.loadAlerts();
  await route();
}

async function onLogin(session) {
  saveSession(session);
  ctx = null;
  await start();
}

async function boot() {
  await loadConfig();
  loadSession();
  if (!state.config.cloud) saveSession({ token: null, operator: false, households: [], scopes: [] });
  window.addEventListener("hashchange", () => route());
  window.addEventListener("omdp:logout", () => { hub.stop(); route(); });
  document.getElementById("logout").addEventListener("click", () => {
    saveSession(null);
    hub.stop();
    location.hash = "#/live";
    route();
  });
  document.getElementById("logout").hidden = !state.config.cloud;
  document.getElementById("household").addEventListener("change", async (e) => {
    localStorage.setItem("omdp.household", e.target.value);
    ctx.household = state.session.households.find((x) => x.householdId === e.target.value);
    ctx.meters = await meterList(ctx.household);
    await route();
  });
  if (state.session) await start(); else await route();
}

boot().catch((e) => {
  document.getElementById("view").replaceChildren(h("p", { class: "notice bad" }, `The app could not start: ${e.message}`));
});
