// Live (APP-1): import and export power now, a live line of the last minutes, today's energy.
import { aggregates, edge } from "../api.js";
import { chart, css } from "../charts.js";
import { ago, h, kw, kwh, localParts, setStat, stat, zonedMidnight } from "../format.js";

const WINDOW_S = 10 * 60;
const STORED_EVERY_MS = 60_000;

/** Energy of each meter since the household's local midnight as the cloud has stored it:
 *  meterId -> {imp, exp} (null where unknown). The edge counts only from the first reading it
 *  saw today, so after an edge restart it knows less of the day than the cloud. */
async function storedToday(ctx) {
  const tz = ctx.household?.timezone ?? "UTC";
  const now = new Date();
  const t = localParts(now, tz);
  const base = { interval: "day", start: zonedMidnight(t.year, t.month, t.day, tz),
    end: new Date(now.getTime() + 60e3), functions: ["consumption"] };
  const sum = (rows) => (rows.length ? rows.reduce((a, r) => a + (r.consumption ?? 0), 0) : null);
  const one = async (id) => {
    const [imp, exp] = await Promise.all(["OBIS_1.8.0", "OBIS_2.8.0"].map((propertyId) =>
      aggregates({ ...base, meterIds: [id], propertyId }).then(sum, () => null)));
    return [id, { imp, exp }];
  };
  return new Map(await Promise.all(ctx.meters.map((m) => one(m.meterIndividualId))));
}

export async function render(root, ctx) {
  const mine = new Set(ctx.meters.map((m) => m.meterIndividualId));
  const ours = (id) => mine.size === 0 || mine.has(id);
  const latest = new Map();
  const series = [[], [], []];

  const imp = stat({ label: "Using now", value: "–", unit: "kW", swatch: "import", testid: "live-import" });
  const exp = stat({ label: "Feeding in now", value: "–", unit: "kW", swatch: "export", testid: "live-export" });
  const tImp = stat({ label: "Used today", value: "–", unit: "kWh", testid: "today-import" });
  const tExp = stat({ label: "Fed in today", value: "–", unit: "kWh", testid: "today-export" });
  const chartBox = h("div", { class: "chart", "data-testid": "live-chart" });
  const meterBox = h("div", { class: "table-wrap" });
  const updated = h("span", { class: "muted", "data-testid": "live-updated" }, "waiting for readings…");
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, ctx.household?.householdName ?? ctx.household?.householdId ?? "Live"), updated),
    h("div", { class: "grid stats" }, imp, exp, tImp, tExp),
    h("section", { class: "card" }, h("h2", {}, "Last 10 minutes"), chartBox),
    h("section", { class: "card" }, h("h2", {}, "Meters"), meterBox));

  const plot = chart(chartBox, {
    unit: "kW", height: 220, zoom: false,
    xRange: () => { const now = Date.now() / 1000; return [now - WINDOW_S, now]; },
    series: [
      { label: "Import", color: css("--import"), fill: `${css("--import")}22` },
      { label: "Export", color: css("--export"), fill: `${css("--export")}22` },
    ],
    data: [[], [], []],
    timeZone: ctx.household?.timezone,
  });

  // Today's energy is the larger of the edge's count and the cloud's: both can only miss some
  // of the day (the edge before its start, the cloud the readings not yet stored).
  let stored = new Map();
  const most = (a, b) => (a == null ? b : b == null ? a : Math.max(a, b));
  const todayIn = (m) => most(m.today?.importedKwh, stored.get(m.meterId)?.imp);
  const todayOut = (m) => most(m.today?.exportedKwh, stored.get(m.meterId)?.exp);
  const refreshStored = () => storedToday(ctx).then((s) => { stored = s; draw(); }, () => {});

  function totals() {
    let i = null; let e = null; let ti = null; let te = null; let at = null;
    for (const m of latest.values()) {
      if (m.importPowerKw != null) i = (i ?? 0) + m.importPowerKw;
      if (m.exportPowerKw != null) e = (e ?? 0) + m.exportPowerKw;
      if (todayIn(m) != null) ti = (ti ?? 0) + todayIn(m);
      if (todayOut(m) != null) te = (te ?? 0) + todayOut(m);
      if (!at || m.receivedAt > at) at = m.receivedAt;
    }
    return { i, e, ti, te, at };
  }

  function draw() {
    const t = totals();
    setStat(imp, kw(t.i));
    setStat(exp, kw(t.e));
    setStat(tImp, kwh(t.ti));
    setStat(tExp, kwh(t.te));
    updated.textContent = t.at ? `updated ${ago(t.at)}` : "waiting for readings…";
    meterBox.replaceChildren(h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Meter"), h("th", { class: "r" }, "Import kW"), h("th", { class: "r" }, "Export kW"),
        h("th", { class: "r hide-sm" }, "Today kWh in / out"), h("th", { class: "hide-sm" }, "Last reading"))),
      h("tbody", {}, [...latest.values()].map((m) => {
        const name = ctx.meters.find((x) => x.meterIndividualId === m.meterId)?.meterIndividualName;
        return h("tr", {},
          h("td", {}, h("div", {}, name ?? m.meterId), name ? h("div", { class: "muted" }, m.meterId) : null),
          h("td", { class: "r" }, kw(m.importPowerKw)), h("td", { class: "r" }, kw(m.exportPowerKw)),
          h("td", { class: "r hide-sm" }, `${kwh(todayIn(m))} / ${kwh(todayOut(m))}`),
          h("td", { class: "hide-sm" }, ago(m.receivedAt)));
      }))));
  }

  function sample(at) {
    const t = totals();
    const x = Math.round(Date.parse(at) / 1000);
    const n = series[0].length;
    if (n && series[0][n - 1] === x) { series[1][n - 1] = t.i; series[2][n - 1] = t.e; }
    else if (!n || x > series[0][n - 1]) { series[0].push(x); series[1].push(t.i); series[2].push(t.e); }
    while (series[0].length && series[0][0] < x - WINDOW_S) series.forEach((s) => s.shift());
    plot.setData(series);
  }

  try {
    const { items } = await edge("/v1/live");
    for (const m of items) if (ours(m.meterId)) latest.set(m.meterId, m);
    draw();
    if (latest.size) sample(new Date().toISOString());
  } catch (err) {
    root.prepend(h("p", { class: "notice bad" }, `The edge does not answer: ${err.message}`));
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
