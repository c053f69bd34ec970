// History (APP-2): energy per hour/day/month as bars, power and other properties as lines with
// drag-zoom, a time span picker, gaps drawn as gaps, and a comparison with the previous period.
import { aggregates } from "../api.js";
import { alignOn, chart, css, withGaps } from "../charts.js";
import { h, kwh, localParts, stat, zonedMidnight } from "../format.js";

const SPANS = { day: 1, week: 7, month: 30, year: 365 };
const KINDS = {
  energy: { label: "Energy", unit: "kWh", intervals: ["hour", "day", "month"], def: "day" },
  power: { label: "Power", unit: "kW", intervals: ["15min", "hour", "day"], def: "hour" },
  other: { label: "Other", unit: "", intervals: ["15min", "hour", "day"], def: "hour" },
};
const INTERVAL_LABEL = { "15min": "15 min", hour: "Hour", day: "Day", month: "Month" };

function params() {
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
  return Object.fromEntries(q.entries());
}

function dateInput(d, tz) { return localParts(d, tz).ymd; }

export async function render(root, ctx) {
  const tz = ctx.household?.timezone ?? "UTC";
  const p = params();
  const st = {
    kind: KINDS[p.kind] ? p.kind : "energy",
    span: SPANS[p.span] ? p.span : "month",
    interval: p.interval,
    property: p.property ?? "OBIS_32.7.0",
    compare: p.compare === "1",
    end: null,
  };
  if (!KINDS[st.kind].intervals.includes(st.interval)) st.interval = KINDS[st.kind].def;
  const today = localParts(new Date(), tz);
  st.end = p.end ? new Date(p.end) : new Date(zonedMidnight(today.year, today.month, today.day, tz).getTime() + 86400e3);

  const props = new Set();
  for (const m of ctx.meters) for (const op of m.physicalMeterType?.physicalMeterOperationalProperties ?? []) props.add(op.propertyId);
  const others = [...props].filter((x) => !["OBIS_1.8.0", "OBIS_2.8.0", "OBIS_1.7.0", "OBIS_2.7.0"].includes(x)).sort();
  if (!others.includes(st.property)) st.property = others[0] ?? st.property;

  const seg = (items, current, onPick, label) => h("div", { class: "seg", role: "group", "aria-label": label },
    items.map(([value, text]) => h("button", { type: "button", "aria-pressed": String(value === current), "data-value": value, onclick: () => onPick(value) }, text)));

  const toolbar = h("div", { class: "toolbar" });
  const stats = h("div", { class: "grid stats" });
  const chartBox = h("div", { class: "chart", "data-testid": "history-chart" });
  const title = h("h2", {});
  const hint = h("p", { class: "muted" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "History")), toolbar, stats,
    h("section", { class: "card" }, title, chartBox, hint));

  let plot = null;
  let seq = 0;

  function start() { return new Date(st.end.getTime() - SPANS[st.span] * 86400e3); }

  function controls() {
    const from = h("input", { type: "date", value: dateInput(start(), tz), "aria-label": "From", "data-testid": "span-from" });
    const to = h("input", { type: "date", value: dateInput(new Date(st.end.getTime() - 1), tz), "aria-label": "To", "data-testid": "span-to" });
    const apply = () => {
      const [y1, m1, d1] = from.value.split("-").map(Number);
      const [y2, m2, d2] = to.value.split("-").map(Number);
      const a = zonedMidnight(y1, m1, d1, tz);
      const b = new Date(zonedMidnight(y2, m2, d2, tz).getTime() + 86400e3);
      if (!(b > a)) return;
      const days = (b - a) / 86400e3;
      st.span = days <= 1 ? "day" : days <= 7 ? "week" : days <= 31 ? "month" : "year";
      st.end = new Date(a.getTime() + SPANS[st.span] * 86400e3);
      update();
    };
    from.addEventListener("change", apply);
    to.addEventListener("change", apply);
    const shift = (dir) => { st.end = new Date(st.end.getTime() + dir * SPANS[st.span] * 86400e3); update(); };
    const cmp = h("input", { type: "checkbox", id: "compare", checked: st.compare, "data-testid": "compare" });
    cmp.addEventListener("change", () => { st.compare = cmp.checked; update(); });
    const kindItems = Object.entries(KINDS).filter(([k]) => k !== "other" || others.length).map(([k, v]) => [k, v.label]);
    const picker = st.kind === "other" && others.length
      ? h("label", { class: "field" }, "Property", h("select", { onchange: (e) => { st.property = e.target.value; update(); } },
        others.map((x) => h("option", { value: x, selected: x === st.property }, x))))
      : null;
    toolbar.replaceChildren(...[
      h("div", { class: "field" }, "Show", seg(kindItems, st.kind, (k) => { st.kind = k; st.interval = KINDS[k].def; update(); }, "What to show")),
      picker,
      h("div", { class: "field" }, "Per", seg(KINDS[st.kind].intervals.map((i) => [i, INTERVAL_LABEL[i]]), st.interval, (i) => { st.interval = i; update(); }, "Bucket")),
      h("div", { class: "field" }, "Span", seg(Object.keys(SPANS).map((s) => [s, s[0].toUpperCase() + s.slice(1)]), st.span, (s) => { st.span = s; update(); }, "Time span")),
      h("div", { class: "field" }, "Dates", h("div", { class: "dates" },
        h("button", { type: "button", class: "ghost", "aria-label": "Earlier", onclick: () => shift(-1) }, "‹"), from, to,
        h("button", { type: "button", class: "ghost", "aria-label": "Later", onclick: () => shift(1) }, "›"))),
      h("label", { class: "field inline", for: "compare" }, cmp, "Compare with the previous period")].filter(Boolean));
  }

  function syncHash() {
    const q = new URLSearchParams({ kind: st.kind, interval: st.interval, span: st.span });
    if (st.compare) q.set("compare", "1");
    if (st.kind === "other") q.set("property", st.property);
    history.replaceState(null, "", `#/history?${q}`);
  }

  async function fetchSet(s, e) {
    const base = { householdId: ctx.household.householdId, interval: st.interval, start: s, end: e };
    if (st.kind === "energy") {
      const [imp, exp] = await Promise.all([
        aggregates({ ...base, propertyId: "OBIS_1.8.0", functions: ["consumption"] }),
        aggregates({ ...base, propertyId: "OBIS_2.8.0", functions: ["consumption"] }).catch(() => []),
      ]);
      return { imp, exp, pick: (r) => r.consumption ?? null };
    }
    const prop = st.kind === "power" ? "OBIS_1.7.0" : st.property;
    const [imp, exp] = await Promise.all([
      aggregates({ ...base, propertyId: prop, functions: ["mean", "max"] }),
      st.kind === "power" ? aggregates({ ...base, propertyId: "OBIS_2.7.0", functions: ["mean", "max"] }).catch(() => []) : [],
    ]);
    return { imp, exp, pick: (r) => r.mean ?? null };
  }

  async function update() {
    const my = ++seq;
    controls();
    syncHash();
    if (!ctx.household) { chartBox.replaceChildren(h("div", { class: "empty" }, "No household.")); return; }
    const s = start();
    const e = st.end;
    const span = e - s;
    const kind = KINDS[st.kind];
    const unit = st.kind === "other" ? "" : kind.unit;
    title.textContent = `${st.kind === "energy" ? "Consumption and injection" : st.kind === "power" ? "Average power" : st.property} per ${INTERVAL_LABEL[st.interval].toLowerCase()}`;
    let cur; let prev = null;
    try {
      [cur, prev] = await Promise.all([
        fetchSet(s, e),
        st.compare ? fetchSet(new Date(s.getTime() - span), s) : null,
      ]);
    } catch (err) {
      if (my !== seq) return;
      plot?.release(); plot = null;
      chartBox.replaceChildren(h("div", { class: "empty notice bad" }, `Could not load: ${err.message}`));
      return;
    }
    if (my !== seq) return;
    const [xs, ys] = withGaps(cur.imp, cur.pick);
    const data = [xs, ys];
    const bars = st.kind === "energy";
    const label = st.kind === "energy" ? "Consumption" : st.kind === "power" ? "Import" : st.property;
    const series = [{ label, color: css(st.kind === "energy" ? "--import" : "--power"), align: st.compare ? -1 : 0, barSize: st.compare ? 0.4 : 0.7 }];
    if (st.compare) {
      data.push(alignOn(xs, prev.imp, prev.pick, span / 1000));
      series.push({ label: `${label}, previous ${st.span}`, color: css("--prev"), dash: bars ? undefined : [6, 4], align: 1, barSize: 0.4 });
    } else if (cur.exp.length) {
      data.push(alignOn(xs, cur.exp, cur.pick, 0));
      series.push({ label: st.kind === "energy" ? "Injection" : "Export", color: css("--export"), align: 0, barSize: 0.7 });
      if (bars) { series[0].align = -1; series[0].barSize = 0.4; series[1].align = 1; series[1].barSize = 0.4; }
    }
    root.dataset.points = String(xs.length);
    root.dataset.gaps = String(ys.filter((y) => y === null).length);
    summary(cur, prev, unit);
    plot?.release();
    plot = null;
    if (!xs.length) { chartBox.replaceChildren(h("div", { class: "empty" }, "No data in this span.")); mark(); return; }
    let marked = false;
    plot = chart(chartBox, {
      unit, bars, series, data, timeZone: tz, height: 320, zoom: true,
      onDraw: () => { if (!marked) { marked = true; mark(); } },
    });
    hint.textContent = bars ? "A missing bar is a period without data." : "Drag across the chart to zoom; double-click to zoom out. Gaps are missing data.";
  }

  function mark() {
    performance.mark("omdp:history-drawn");
    root.dataset.drawn = String(Number(root.dataset.drawn ?? 0) + 1);
  }

  function summary(cur, prev, unit) {
    const sum = (rows, f) => rows.reduce((a, r) => a + (f(r) ?? 0), 0);
    if (st.kind === "energy") {
      const used = sum(cur.imp, cur.pick);
      const cards = [
        stat({ label: "Used", value: kwh(used), unit: "kWh", swatch: "import", testid: "history-used" }),
        stat({ label: "Fed in", value: kwh(sum(cur.exp, cur.pick)), unit: "kWh", swatch: "export" }),
      ];
      if (prev) {
        const before = sum(prev.imp, prev.pick);
        const pct = before > 0 ? ((used - before) / before) * 100 : null;
        cards.push(stat({ label: `Previous ${st.span}`, value: kwh(before), unit: "kWh", swatch: "prev",
          sub: pct == null ? "" : `${pct >= 0 ? "+" : ""}${pct.toFixed(0)} % this ${st.span}` }));
      }
      stats.replaceChildren(...cards);
    } else {
      const peak = cur.imp.reduce((a, r) => Math.max(a, r.max ?? -Infinity), -Infinity);
      const mean = cur.imp.length ? sum(cur.imp, (r) => r.mean) / cur.imp.length : null;
      stats.replaceChildren(
        stat({ label: "Average", value: mean == null ? "–" : mean.toFixed(2), unit, swatch: "power" }),
        stat({ label: "Peak", value: Number.isFinite(peak) ? peak.toFixed(2) : "–", unit }));
    }
  }

  await update();
  return () => { seq += 1; plot?.release(); };
}
