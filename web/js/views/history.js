// History (APP-2): energy per hour, day or month as bars (from the server's energy picture: the
// same numbers as every other view), PV production, self-consumption and autarky, the span's
// energy flow; power as lines decimated on the server to the chart's width (min/max bands keep
// peaks), full resolution when zoomed in; any other property likewise. Date ranges are exactly
// the days picked, weeks have 7 days across DST, gaps stay gaps (energy spread over a gap is
// hatched and counted apart).
import { energy, series as fetchSeries } from "../api.js";
import { chart, chartCard, css, uPlot } from "../charts.js";
import {
  L, addDays, addMonths, bucketLabel, daysBetween, empty, h, isoLocal, kwh, num, pct, startOf, stat, today,
} from "../format.js";
import { flowPicture } from "./live.js";

const SPANS = ["day", "week", "month", "year", "custom"];
const SPAN_LABEL = { day: "Day", week: "Week", month: "Month", year: "Year", custom: "Custom" };
const KINDS = { energy: "Energy", power: "Power", other: "Other" };
const INTERVALS = ["hour", "day", "month"];
const INTERVAL_LABEL = { "15min": "15 min", hour: "Hour", day: "Day", month: "Month" };
const ENERGY_PROPS = /^OBIS_(1|2|16)\.(7|8)\./;

function params() {
  return Object.fromEntries(new URLSearchParams(location.hash.split("?")[1] ?? "").entries());
}

/** The [from, to] (inclusive local dates) of a preset span ending at `to`. */
export function spanRange(span, to) {
  if (span === "day") return [to, to];
  if (span === "week") return [addDays(to, -6), to];
  if (span === "month") return [`${to.slice(0, 7)}-01`, addDays(addMonths(`${to.slice(0, 7)}-01`, 1), -1)];
  if (span === "year") return [addMonths(`${to.slice(0, 7)}-01`, -11), addDays(addMonths(`${to.slice(0, 7)}-01`, 1), -1)];
  return null;
}

/** The same span one step earlier (dir -1) or later (+1), in calendar terms. */
export function shiftRange(span, from, to, dir) {
  if (span === "month" || span === "year") {
    const months = span === "month" ? 1 : 12;
    const first = addMonths(`${from.slice(0, 7)}-01`, dir * months);
    return [first, addDays(addMonths(first, months), -1)];
  }
  const days = daysBetween(from, to) + 1;
  return [addDays(from, dir * days), addDays(to, dir * days)];
}

function autoInterval(from, to) {
  const days = daysBetween(from, to) + 1;
  return days <= 2 ? "hour" : days <= 62 ? "day" : "month";
}

export async function render(root, ctx) {
  const p = params();
  const now = today();
  const st = {
    kind: KINDS[p.kind] ? p.kind : "energy",
    span: SPANS.includes(p.span) ? p.span : "month",
    interval: p.interval,
    property: p.property,
    compare: p.compare === "1",
    from: p.from,
    to: p.to,
  };
  if (!st.to || !/^\d{4}-\d\d-\d\d$/.test(st.to)) st.to = now;
  if (st.span !== "custom" || !st.from) [st.from, st.to] = spanRange(st.span === "custom" ? "month" : st.span, st.to);
  if (!INTERVALS.includes(st.interval)) st.interval = autoInterval(st.from, st.to);

  const props = new Set();
  for (const m of ctx.meters) for (const op of m.physicalMeterType?.physicalMeterOperationalProperties ?? []) props.add(op.propertyId);
  const others = [...props].filter((x) => !ENERGY_PROPS.test(x)).sort();
  if (!others.includes(st.property)) st.property = others[0];

  const seg = (items, current, onPick, label) => h("div", { class: "seg", role: "group", "aria-label": label },
    items.map(([value, text]) => h("button", { type: "button", "aria-pressed": String(value === current), "data-value": value, onclick: () => onPick(value) }, text)));

  const toolbar = h("div", { class: "toolbar" });
  const rangeLabel = h("p", { class: "range", "data-testid": "history-range", "aria-live": "polite" });
  const stats = h("div", { class: "grid stats" });
  const card = chartCard({ title: "", testid: "history-chart", name: "history" });
  const extra = h("div", {});
  root.append(h("div", { class: "page-head" }, h("h1", {}, "History"), rangeLabel), toolbar, stats, card.card, extra);

  let plot = null;
  let seq = 0;
  let zoomed = null; // [t0, t1] seconds of a power/other chart zoomed in

  function controls() {
    const from = h("input", { type: "date", value: st.from, "aria-label": "From", "data-testid": "span-from" });
    const to = h("input", { type: "date", value: st.to, "aria-label": "To", "data-testid": "span-to" });
    const apply = () => {
      if (!from.value || !to.value || to.value < from.value) return;
      st.span = "custom";
      st.from = from.value;
      st.to = to.value;
      st.interval = autoInterval(st.from, st.to);
      update();
    };
    from.addEventListener("change", apply);
    to.addEventListener("change", apply);
    const shift = (dir) => { [st.from, st.to] = shiftRange(st.span, st.from, st.to, dir); update(); };
    const cmp = h("input", { type: "checkbox", id: "compare", checked: st.compare, "data-testid": "compare" });
    cmp.addEventListener("change", () => { st.compare = cmp.checked; update(); });
    const kinds = Object.entries(KINDS).filter(([k]) => k !== "other" || others.length);
    const picker = st.kind === "other" && others.length
      ? h("label", { class: "field" }, "Property", h("select", { onchange: (e) => { st.property = e.target.value; update(); } },
        others.map((x) => h("option", { value: x, selected: x === st.property }, x))))
      : null;
    toolbar.replaceChildren(...[
      h("div", { class: "field" }, "Show", seg(kinds, st.kind, (k) => { st.kind = k; zoomed = null; update(); }, "What to show")),
      picker,
      st.kind === "energy" ? h("div", { class: "field" }, "Per", seg(INTERVALS.map((i) => [i, INTERVAL_LABEL[i]]), st.interval, (i) => { st.interval = i; update(); }, "Bucket")) : null,
      h("div", { class: "field" }, "Span", seg(SPANS.filter((s) => s !== "custom" || st.span === "custom").map((s) => [s, SPAN_LABEL[s]]), st.span, (s) => {
        st.span = s;
        [st.from, st.to] = spanRange(s, st.to);
        st.interval = autoInterval(st.from, st.to);
        zoomed = null;
        update();
      }, "Time span")),
      h("div", { class: "field" }, "Dates", h("div", { class: "dates" },
        h("button", { type: "button", class: "ghost", "aria-label": "Earlier", "data-testid": "span-earlier", onclick: () => shift(-1) }, "‹"), from, to,
        h("button", { type: "button", class: "ghost", "aria-label": "Later", "data-testid": "span-later", onclick: () => shift(1) }, "›"))),
      st.kind === "energy" ? h("label", { class: "field inline", for: "compare" }, cmp, "Compare with the previous period") : null].filter(Boolean));
  }

  function syncHash() {
    const q = new URLSearchParams({ kind: st.kind, span: st.span, to: st.to });
    if (st.span === "custom") q.set("from", st.from);
    if (st.kind === "energy") q.set("interval", st.interval);
    if (st.compare) q.set("compare", "1");
    if (st.kind === "other") q.set("property", st.property);
    history.replaceState(null, "", `#/history?${q}`);
  }

  function mark() {
    performance.mark("omdp:history-drawn");
    root.dataset.drawn = String(Number(root.dataset.drawn ?? 0) + 1);
  }

  async function update() {
    const my = ++seq;
    controls();
    syncHash();
    const start = startOf(st.from);
    const end = startOf(addDays(st.to, 1));
    const last = new Date(end.getTime() - 1);
    rangeLabel.textContent = new Intl.DateTimeFormat(L.locale, { dateStyle: "medium", timeZone: L.tz }).formatRange(start, last);
    root.dataset.from = st.from;
    root.dataset.to = st.to;
    if (!ctx.household) { card.box.replaceChildren(empty("No household.")); return; }
    if (!ctx.meters.length) {
      plot?.release(); plot = null;
      stats.replaceChildren();
      extra.replaceChildren();
      card.heading.textContent = "History";
      card.box.replaceChildren(empty("This household has no meters yet: there is no history to show.", "history-empty"));
      root.dataset.buckets = "0";
      mark();
      return;
    }
    try {
      if (st.kind === "energy") await drawEnergy(my, start, end);
      else await drawSeries(my, zoomed ? new Date(zoomed[0] * 1000) : start, zoomed ? new Date(zoomed[1] * 1000) : end);
    } catch (err) {
      if (my !== seq) return;
      plot?.release(); plot = null;
      card.box.replaceChildren(h("div", { class: "notice bad" }, `Could not load: ${err.message}`));
    }
  }

  // -- energy -------------------------------------------------------------------------------

  async function drawEnergy(my, start, end) {
    const base = { householdId: ctx.household.householdId, interval: st.interval };
    let prevRange = null;
    if (st.compare) {
      const [pf, pt] = shiftRange(st.span, st.from, st.to, -1);
      prevRange = [startOf(pf), startOf(addDays(pt, 1))];
    }
    const [cur, prev] = await Promise.all([
      energy({ ...base, start, end }),
      prevRange ? energy({ ...base, start: prevRange[0], end: prevRange[1] }) : null,
    ]);
    if (my !== seq) return;
    const s = cur.series;
    const xs = cur.t;
    const imp = s.import?.values ?? xs.map(() => null);
    const est = s.import?.estimated ?? xs.map(() => 0);
    const measured = imp.map((v, i) => (v == null ? null : v - est[i]));
    const hatched = imp.map((v, i) => (v != null && est[i] > 1e-9 ? v : null));
    const right = prev ? xs.map((_, i) => prev.series.import?.values[i] ?? null) : s.export?.values;
    const series = [
      { label: "Spread over a gap (estimated)", color: css("--import"), hatched: true, bars: { size: 0.4, align: -1 } },
      { label: "From the grid", color: css("--import"), bars: { size: 0.4, align: -1 } },
    ];
    const data = [xs, hatched, measured];
    if (right) {
      series.push({ label: prev ? `From the grid, previous ${st.span === "custom" ? "period" : st.span}` : "Fed in", color: css(prev ? "--prev" : "--export"), bars: { size: 0.4, align: 1 } });
      data.push(right);
    }
    if (s.production) { series.push({ label: "Solar", color: css("--pv"), width: 2 }); data.push(s.production.values); }
    if (s.consumption && s.production) { series.push({ label: "Used in the house", color: css("--text"), width: 1.5, dash: [5, 4] }); data.push(s.consumption.values); }
    card.heading.textContent = `Energy per ${INTERVAL_LABEL[st.interval].toLowerCase()}`;
    root.dataset.buckets = String(xs.length);
    root.dataset.points = String(xs.length);
    root.dataset.gaps = String(imp.filter((v) => v == null).length);
    energyStats(cur, prev);
    energyExtras(cur);
    plot?.release();
    let marked = false;
    plot = chart(card.box, { unit: "kWh", bars: true, series, data, height: 320, zoom: false, barStep: cur.tEnd - xs[0],
      onDraw: () => { if (!marked) { marked = true; mark(); } } });
    const cols = [["import", "From the grid"], ["export", "Fed in"], ["production", "Solar"], ["consumption", "Used in the house"], ["water", "Water"]]
      .filter(([k]) => s[k]);
    card.describe(() => ({
      columns: [INTERVAL_LABEL[st.interval], ...cols.map(([k, l]) => `${l} (${s[k].unit})`), "Estimated over gaps (kWh)"],
      rows: xs.map((t, i) => [bucketLabel(t, st.interval), ...cols.map(([k]) => kwh(s[k].values[i])), est[i] ? kwh(est[i]) : ""]),
      csvRows: xs.map((t, i) => [isoLocal(t), ...cols.map(([k]) => s[k].values[i]), est[i] || 0]),
      summary: `${kwh(cur.totals.import)} kWh from the grid from ${rangeLabel.textContent}`,
    }));
    const estimated = est.reduce((a, b) => a + b, 0);
    card.note.textContent = estimated > 0
      ? `Hatched: ${kwh(estimated)} kWh the meter counted across a gap in its readings, spread over the gap's time (not measured per ${INTERVAL_LABEL[st.interval].toLowerCase()}).`
      : "A missing bar is a period without data.";
  }

  function energyStats(cur, prev) {
    const t = cur.totals;
    const cards = [
      stat({ label: "From the grid", value: kwh(t.import), unit: "kWh", swatch: "import", testid: "history-import" }),
      stat({ label: "Fed in", value: kwh(t.export), unit: "kWh", swatch: "export", testid: "history-export" }),
    ];
    if (t.production != null) {
      cards.push(stat({ label: "Solar produced", value: kwh(t.production), unit: "kWh", swatch: "pv", testid: "history-production" }),
        stat({ label: "Used in the house", value: kwh(t.consumption), unit: "kWh", testid: "history-consumption" }),
        stat({ label: "Self-consumption", value: pct(t.selfConsumptionRate), testid: "history-self", sub: `${kwh(t.selfConsumption)} kWh of the solar energy used at home` }),
        stat({ label: "Autarky", value: pct(t.autarky), testid: "history-autarky", sub: "of the house's energy not bought from the grid" }));
    }
    if (prev) {
      const before = prev.totals.import;
      const change = before > 0 && t.import != null ? ((t.import - before) / before) * 100 : null;
      cards.push(stat({ label: "Previous period", value: kwh(before), unit: "kWh", swatch: "prev", testid: "history-previous",
        sub: change == null ? "" : `${change >= 0 ? "+" : ""}${num(change, 0)} % now` }));
    }
    stats.replaceChildren(...cards);
  }

  function energyExtras(cur) {
    const t = cur.totals;
    const roles = new Set(cur.meters.map((m) => m.flow));
    const flows = {
      grid: t.import, feed: t.export, pv: t.production ?? null, charge: t.charge ?? null, discharge: t.discharge ?? null, house: t.consumption ?? null,
    };
    const rows = cur.meters.filter((m) => m.method).map((m) => h("tr", {},
      h("td", {}, m.meterName ?? m.meterId), h("td", {}, m.flow ?? m.quantity), h("td", {}, m.source),
      h("td", { class: "r", "data-testid": `meter-total-${m.meterId}-${m.quantity}` }, `${kwh(m.total)} ${m.unit}`),
      h("td", { class: "r" }, m.estimated ? `${kwh(m.estimated)} ${m.unit}` : "")));
    extra.replaceChildren(h("div", { class: "grid two" },
      h("section", { class: "card" }, h("h2", {}, "Energy flow in this span"),
        flowPicture(flows, { pv: roles.has("production"), battery: roles.has("charge") || roles.has("discharge"), unit: "kWh" }),
        t.production == null && t.export ? h("p", { class: "muted" }, "Energy was fed in, but no meter has the role PV: mark your PV meter under Meters to see production, self-consumption and autarky.") : null),
      h("section", { class: "card" }, h("h2", {}, "How each meter was measured"),
        rows.length ? h("div", { class: "table-wrap" }, h("table", { "data-testid": "history-meters" },
          h("thead", {}, h("tr", {}, h("th", {}, "Meter"), h("th", {}, "Counts as"), h("th", {}, "From"), h("th", { class: "r" }, "Total"), h("th", { class: "r" }, "Over gaps"))),
          h("tbody", {}, rows)))
          : empty("No meter has energy data in this span."))));
  }

  // -- power and other properties: decimated on the server -----------------------------------

  async function drawSeries(my, start, end) {
    const width = Math.max(300, card.box.clientWidth || 1000);
    const ask = { householdId: ctx.household.householdId, start, end, points: width };
    if (st.kind === "power") ask.quantity = "power"; else ask.propertyId = st.property;
    const doc = await fetchSeries(ask);
    if (my !== seq) return;
    const roles = ctx.roles ?? new Map();
    const tables = [];
    const series = [];
    const bands = [];
    const colour = (item) => {
      const role = roles.get(item.meterId) ?? "grid";
      if (st.kind !== "power") return css("--power");
      if (role === "pv") return css("--pv");
      return css(item.label === "export" ? "--export" : "--import");
    };
    const named = (item) => `${ctx.meterName?.(item.meterId) ?? item.meterId}${st.kind === "power" ? ` · ${item.label === "import" ? "in" : "out"}` : ""}`;
    let points = 0;
    const shown = (item) => st.kind !== "power" || ["grid", "pv"].includes(roles.get(item.meterId) ?? "grid");
    doc.items = doc.items.filter((item) => shown(item) && (st.kind !== "power" || item.mean.some((v) => v)));
    for (const item of doc.items) {
      const color = colour(item);
      points = Math.max(points, item.t.length);
      if (item.min) {
        tables.push([item.t, item.mean, item.max, item.min]);
        const at = series.length + 1;
        series.push({ label: named(item), color }, { label: `${named(item)} max`, color: "transparent", width: 0, legend: false },
          { label: `${named(item)} min`, color: "transparent", width: 0, legend: false });
        bands.push([at + 1, at + 2, `${color}33`]);
      } else {
        tables.push([item.t, item.mean]);
        series.push({ label: named(item), color });
      }
    }
    const unit = st.kind === "power" ? "kW" : "";
    card.heading.textContent = st.kind === "power" ? "Power" : st.property;
    stats.replaceChildren(...seriesStats(doc, unit));
    extra.replaceChildren();
    plot?.release(); plot = null;
    root.dataset.points = String(points);
    root.dataset.resolution = doc.items[0]?.resolution ?? "";
    if (!tables.length) { card.box.replaceChildren(empty("No data in this span.")); mark(); return; }
    const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    root.dataset.gaps = String(data[1].filter((v) => v === null).length);
    let marked = false;
    plot = chart(card.box, { unit, series, data, bands, height: 320, legend: true,
      onZoom: (a, b) => { zoomed = [a, b]; update(); },
      onDraw: () => { if (!marked) { marked = true; mark(); } } });
    card.describe(() => ({
      columns: ["Time", ...series.map((s) => `${s.label}${unit ? ` (${unit})` : ""}`)],
      rows: data[0].map((t, i) => [bucketLabel(t, "hour"), ...series.map((_, j) => num(data[j + 1][i], 3))]),
      csvRows: data[0].map((t, i) => [isoLocal(t), ...series.map((_, j) => data[j + 1][i] ?? "")]),
      summary: `${card.heading.textContent} from ${rangeLabel.textContent}`,
    }));
    const resolution = doc.items[0]?.resolution;
    card.note.replaceChildren(
      resolution === "raw" ? "Every reading in this span. " : `Each point: ${num((doc.items[0]?.step ?? 0) / 60, 0)} minutes (the band: lowest to highest value, so that peaks show). `,
      zoomed ? h("button", { type: "button", class: "ghost small", "data-testid": "zoom-out", onclick: () => { zoomed = null; update(); } }, "Whole span")
        : "Drag across the chart to zoom in to full resolution. Gaps are missing data.");
  }

  function seriesStats(doc, unit) {
    let peak = null;
    let sum = 0;
    let n = 0;
    const roles = ctx.roles ?? new Map();
    for (const item of doc.items) {
      if (st.kind === "power" && (item.label !== "import" || (roles.get(item.meterId) ?? "grid") !== "grid")) continue;
      for (const v of item.max ?? item.mean) if (v != null && (peak == null || v > peak)) peak = v;
      for (const v of item.mean) if (v != null) { sum += v; n += 1; }
    }
    return [
      stat({ label: st.kind === "power" ? "Average from the grid" : "Average", value: n ? num(sum / n) : "–", unit, swatch: "power", testid: "history-average" }),
      stat({ label: st.kind === "power" ? "Peak from the grid" : "Peak", value: peak == null ? "–" : num(peak), unit, testid: "history-peak" }),
    ];
  }

  await update();
  return () => { seq += 1; plot?.release(); };
}
