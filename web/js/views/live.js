// Live (APP-1): grid power in and out, PV, the house and a battery where metered, as numbers
// and as an energy-flow picture; what it costs now; today's energy and cost; the last minutes as
// a line. A meter silent for more than twice its interval is shown as silent and left out of
// every sum.
import { edge, energy, tariffs } from "../api.js";
import { chart, chartCard, css } from "../charts.js";
import { ago, dateTime, empty, h, isoLocal, kw, kwh, localParts, money, num, setStat, stat, time, zonedMidnight } from "../format.js";
import { priceAt } from "../tariff.js";

const WINDOW_S = 10 * 60;
const STORED_EVERY_MS = 60_000;
const FALLBACK_INTERVAL_S = 300;

/** Whether a live entry is silent: heard longer ago than twice its interval. */
export function silent(m, now = Date.now()) {
  const interval = m.intervalS ?? FALLBACK_INTERVAL_S;
  return (now - Date.parse(m.receivedAt)) / 1000 > 2 * interval;
}

/** The household's flows now (kW) from the live entries of meters that are not silent. */
function flows(latest, roles) {
  const f = { grid: null, feed: null, pv: null, charge: null, discharge: null };
  const add = (k, v) => { if (v != null) f[k] = (f[k] ?? 0) + v; };
  for (const m of latest.values()) {
    if (silent(m)) continue;
    const role = roles.get(m.meterId) ?? "grid";
    if (role === "grid") { add("grid", m.importPowerKw); add("feed", m.exportPowerKw); }
    else if (role === "pv") add("pv", m.exportPowerKw ?? m.importPowerKw);
    else if (role === "battery") { add("charge", m.importPowerKw); add("discharge", m.exportPowerKw); }
  }
  f.house = f.grid == null ? null : Math.max(0, f.grid + (f.pv ?? 0) - (f.feed ?? 0) - (f.charge ?? 0) + (f.discharge ?? 0));
  return f;
}

function arrow(x1, y1, x2, y2, value, label, testid, fmt) {
  const on = value != null && value > 0.005;
  const g = svg("g", { class: `flow-edge ${on ? "on" : ""}`, "data-testid": testid });
  g.append(svg("line", { x1, y1, x2, y2, "marker-end": on ? "url(#arrowhead)" : "" }),
    svg("text", { x: x1 + (x2 - x1) * 0.45, y: y1 + (y2 - y1) * 0.45 - 7, "text-anchor": "middle" }, on ? fmt(value) : label));
  return g;
}

function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== "" && v != null) el.setAttribute(k, v);
  if (text != null) el.textContent = text;
  return el;
}

function node(x, y, name, value, cls, fmt) {
  const g = svg("g", { class: `flow-node ${cls}` });
  g.append(svg("circle", { cx: x, cy: y, r: 44 }),
    svg("text", { x, y: y - 4, "text-anchor": "middle", class: "flow-name" }, name),
    svg("text", { x, y: y + 14, "text-anchor": "middle", class: "flow-value" }, value === undefined ? "" : value == null ? "–" : fmt(value)));
  return g;
}

/** The energy-flow picture: grid, PV, house and battery (where metered), arrows by direction;
 *  power in kW (live) or energy in kWh (a span of history). */
export function flowPicture(f, { pv, battery, unit = "kW" }) {
  const fmt = (v) => `${unit === "kW" ? kw(v) : kwh(v)} ${unit}`;
  const label = (v) => (v == null ? "–" : fmt(v));
  const root = svg("svg", { viewBox: "0 0 440 280", class: "flow", role: "img", "data-testid": "flow",
    "aria-label": `Grid in ${label(f.grid)}, out ${label(f.feed)}; house ${label(f.house)}${pv ? `; solar ${label(f.pv)}` : ""}${battery ? `; battery in ${label(f.charge)}, out ${label(f.discharge)}` : ""}` });
  const defs = svg("defs", {});
  const marker = svg("marker", { id: `arrowhead-${unit}`, markerWidth: 12, markerHeight: 12, refX: 11, refY: 6, orient: "auto", markerUnits: "userSpaceOnUse" });
  marker.append(svg("path", { d: "M0,0 L12,6 L0,12 z" }));
  defs.append(marker);
  root.append(defs);
  const grid = [56, 140];
  const house = [384, 140];
  const sun = [220, 50];
  const bat = [220, 230];
  const edge = (a, b, value, name, testid) => {
    const g = arrow(...a, ...b, value, name, testid, fmt);
    g.querySelector("line").setAttribute("marker-end", value > 0.005 ? `url(#arrowhead-${unit})` : "");
    return g;
  };
  const into = (from, dx, dy) => [from[0] + dx, from[1] + dy];
  // a span has energy both ways; the live picture shows the net direction
  if (unit === "kW") {
    const net = (f.grid ?? 0) - (f.feed ?? 0);
    root.append(net >= 0 ? edge(into(grid, 46, 0), into(house, -46, 0), f.grid, "grid", "flow-grid")
      : edge(into(house, -46, 0), into(grid, 46, 0), f.feed, "grid", "flow-grid"));
  } else {
    root.append(edge(into(grid, 46, -10), into(house, -46, -10), f.grid, "bought", "flow-grid"),
      edge(into(house, -46, 14), into(grid, 46, 14), f.feed, "fed in", "flow-feed"));
  }
  if (pv) root.append(edge(into(sun, 38, 22), into(house, -36, -28), f.pv, "solar", "flow-pv"));
  if (battery && unit === "kW") {
    const net = (f.discharge ?? 0) - (f.charge ?? 0);
    root.append(net >= 0 ? edge(into(bat, 38, -22), into(house, -36, 28), f.discharge, "battery", "flow-battery")
      : edge(into(house, -36, 28), into(bat, 38, -22), f.charge, "battery", "flow-battery"));
  } else if (battery) {
    root.append(edge(into(bat, 44, -8), into(house, -26, 36), f.discharge, "discharged", "flow-battery"),
      edge(into(house, -40, 22), into(bat, 26, -36), f.charge, "charged", "flow-charge"));
  }
  root.append(node(...grid, "Grid", unit === "kW" ? (f.grid ?? 0) - (f.feed ?? 0) : f.grid, "grid", fmt),
    node(...house, "House", f.house, "house", fmt));
  if (pv) root.append(node(...sun, "Solar", f.pv, "pv", fmt));
  if (battery) root.append(node(...bat, "Battery", unit === "kW" ? (f.discharge ?? 0) - (f.charge ?? 0) : undefined, "battery", fmt));
  return root;
}

/** Today's energy and cost of the household as the cloud has stored it. */
async function storedToday(ctx) {
  const now = new Date();
  const t = localParts(now);
  const start = zonedMidnight(t.year, t.month, t.day);
  const doc = await energy({ householdId: ctx.household.householdId, interval: "day", start, end: new Date(start.getTime() + 86400e3 * 1.1), costs: true });
  const i = 0;
  const value = (name) => doc.series[name]?.values[i] ?? null;
  const c = doc.costs;
  return { imp: value("import"), exp: value("export"), pv: value("production"), used: value("consumption"),
    cost: c && (c.energy[i] != null || c.credit[i] != null) ? (c.energy[i] ?? 0) - (c.credit[i] ?? 0) + c.fee[i] : null,
    currency: c?.currency };
}

export async function render(root, ctx) {
  const mine = new Set(ctx.meters.map((m) => m.meterIndividualId));
  const ours = (id) => !ctx.config.cloud || mine.has(id);
  const roles = ctx.roles ?? new Map();
  const hasRole = (r) => [...mine].some((id) => roles.get(id) === r);
  const pv = hasRole("pv");
  const battery = hasRole("battery");
  const latest = new Map();
  const line = [[], [], [], []];
  let tariff = null;
  let prices = [];

  const imp = stat({ label: "Using now (grid)", value: "–", unit: "kW", swatch: "import", testid: "live-import" });
  const exp = stat({ label: "Feeding in now", value: "–", unit: "kW", swatch: "export", testid: "live-export" });
  const sun = pv ? stat({ label: "Solar now", value: "–", unit: "kW", swatch: "pv", testid: "live-pv" }) : null;
  const houseNow = pv || battery ? stat({ label: "House uses now", value: "–", unit: "kW", testid: "live-house" }) : null;
  const costNow = stat({ label: "Costs now", value: "–", unit: "per hour", testid: "live-cost" });
  const tImp = stat({ label: "From the grid today", value: "–", unit: "kWh", testid: "today-import" });
  const tExp = stat({ label: "Fed in today", value: "–", unit: "kWh", testid: "today-export" });
  const tCost = stat({ label: "Cost today", value: "–", testid: "today-cost", sub: "energy less feed-in, with the day's share of the fee" });
  const flowBox = h("div", { class: "flow-box" });
  const card = chartCard({ title: "Last 10 minutes", testid: "live-chart", name: "live" });
  const meterBox = h("div", { class: "table-wrap", "data-testid": "live-meters" });
  const updated = h("span", { class: "muted", "data-testid": "live-updated" }, "waiting for readings…");
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, ctx.household?.householdName ?? ctx.household?.householdId ?? "Live"), updated),
    h("div", { class: "grid stats" }, imp, exp, sun, houseNow, costNow),
    h("div", { class: "grid two" },
      h("section", { class: "card" }, h("h2", {}, "Energy flow now"), flowBox),
      h("div", { class: "grid stats stack" }, tImp, tExp, tCost)),
    card.card,
    h("section", { class: "card" }, h("h2", {}, "Meters"), meterBox));
  if (ctx.config.cloud && !ctx.meters.length) {
    meterBox.replaceChildren(empty("This household has no meters yet: nothing to show live.", "live-empty"));
  }

  const series = [
    { label: "Grid in", color: css("--import"), fill: `${css("--import")}22` },
    { label: "Fed in", color: css("--export"), fill: `${css("--export")}22` },
  ];
  if (pv) series.push({ label: "Solar", color: css("--pv") });
  const plot = chart(card.box, { unit: "kW", height: 220, zoom: false, series, data: line.slice(0, series.length + 1),
    xRange: () => { const now = Date.now() / 1000; return [now - WINDOW_S, now]; } });
  card.describe(() => ({
    columns: ["Time", ...series.map((s) => `${s.label} (kW)`)],
    rows: line[0].map((t, i) => [time(t), ...series.map((_, j) => kw(line[j + 1][i]))]),
    csvRows: line[0].map((t, i) => [isoLocal(t), ...series.map((_, j) => line[j + 1][i])]),
    summary: "the household's power in the last 10 minutes",
  }));

  let stored = {};
  const most = (a, b) => (a == null ? b : b == null ? a : Math.max(a, b));
  const refreshStored = () => (ctx.household && ctx.config.cloud ? storedToday(ctx) : Promise.reject(new Error("no cloud")))
    .then((s) => { stored = s; draw(); }, () => {});

  function edgeToday(key, role) {
    let sum = null;
    for (const m of latest.values()) {
      if ((roles.get(m.meterId) ?? "grid") !== role || m.today?.[key] == null) continue;
      sum = (sum ?? 0) + m.today[key];
    }
    return sum;
  }

  function draw() {
    const f = flows(latest, roles);
    setStat(imp, kw(f.grid));
    setStat(exp, kw(f.feed));
    if (sun) setStat(sun, kw(f.pv));
    if (houseNow) setStat(houseNow, kw(f.house));
    if (tariff && f.grid != null) {
      const p = priceAt(tariff, new Date(), prices);
      setStat(costNow, p == null ? "–" : money(f.grid * p - (f.feed ?? 0) * tariff.feedInPrice, tariff.currency),
        p == null ? "no price for this hour" : `${money(p, tariff.currency)} per kWh now`);
    } else if (!tariff) {
      setStat(costNow, "–", "set your tariff under Costs");
    }
    setStat(tImp, kwh(most(edgeToday("importedKwh", "grid"), stored.imp)));
    setStat(tExp, kwh(most(edgeToday("exportedKwh", "grid"), stored.exp)));
    setStat(tCost, stored.cost == null ? "–" : money(stored.cost, stored.currency));
    flowBox.replaceChildren(flowPicture(f, { pv, battery }));
    const at = [...latest.values()].reduce((a, m) => (!a || m.receivedAt > a ? m.receivedAt : a), null);
    updated.textContent = at ? `updated ${ago(at)}` : "waiting for readings…";
    if (!latest.size) return;
    meterBox.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Meter"), h("th", {}, "Role"), h("th", { class: "r" }, "In kW"), h("th", { class: "r" }, "Out kW"),
        h("th", { class: "hide-sm" }, "Last reading"), h("th", {}, "State"))),
      h("tbody", {}, [...latest.values()].map((m) => {
        const quiet = silent(m);
        return h("tr", { "data-testid": "live-meter", "data-meter": m.meterId, "data-silent": String(quiet) },
          h("td", {}, ctx.meterName?.(m.meterId) ?? m.meterId),
          h("td", {}, roles.get(m.meterId) ?? "grid"),
          h("td", { class: "r" }, kw(m.importPowerKw)), h("td", { class: "r" }, kw(m.exportPowerKw)),
          h("td", { class: "hide-sm" }, `${dateTime(m.readingTime)} (${ago(m.receivedAt)})`),
          h("td", {}, quiet
            ? h("span", { class: "pill warn", title: `no reading for over ${num(2 * (m.intervalS ?? FALLBACK_INTERVAL_S), 0)} s: left out of the sums` }, "silent")
            : h("span", { class: "pill ok" }, "live")));
      }))));
  }

  function sample(at) {
    const f = flows(latest, roles);
    const x = Math.round(Date.parse(at) / 1000);
    const values = [f.grid, f.feed, f.pv].slice(0, series.length);
    const n = line[0].length;
    if (n && line[0][n - 1] === x) values.forEach((v, j) => { line[j + 1][n - 1] = v; });
    else if (!n || x > line[0][n - 1]) { line[0].push(x); values.forEach((v, j) => line[j + 1].push(v)); }
    while (line[0].length && line[0][0] < x - WINDOW_S) line.forEach((s) => s.shift());
    plot.setData(line.slice(0, series.length + 1));
  }

  if (ctx.config.cloud && ctx.household) {
    tariffs.get(ctx.household.householdId).then(async (t) => {
      tariff = t;
      if (t?.kind === "dynamic") {
        const now = Date.now();
        prices = (await tariffs.prices(ctx.household.householdId, new Date(now - 86400e3), new Date(now + 86400e3))).items;
      }
      draw();
    }, () => {});
  }
  if (!ctx.config.cloud || ctx.meters.length) {
    try {
      const { items } = await edge("/v1/live");
      for (const m of items) if (ours(m.meterId)) latest.set(m.meterId, m);
      draw();
      if (latest.size) sample(new Date().toISOString());
    } catch (err) {
      root.prepend(h("p", { class: "notice bad" }, `The edge does not answer: ${err.message}`));
    }
  }

  const onReading = (e) => {
    const m = e.detail;
    if (!ours(m.meterId)) return;
    latest.set(m.meterId, m);
    draw();
    sample(m.receivedAt);
  };
  ctx.hub.addEventListener("reading", onReading);
  const ticker = setInterval(draw, 5000);
  refreshStored();
  const storedTicker = setInterval(refreshStored, STORED_EVERY_MS);
  return () => {
    ctx.hub.removeEventListener("reading", onReading);
    clearInterval(ticker);
    clearInterval(storedTicker);
    plot.release();
  };
}
