// uPlot in the app's theme: axes and legends in the household's locale and time zone, bars
// whose estimated part (energy spread over a gap) is hatched, min/max bands, and a card around
// every chart with its text alternative (a table) and a CSV download of what it shows.
import uPlot from "uplot";
import { L, csv, dateTime, h, localParts, num } from "./format.js";

export { uPlot };

export function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const fmt = new Map();
function dtf(opts) {
  const key = `${L.locale}|${L.tz}|${JSON.stringify(opts)}`;
  if (!fmt.has(key)) fmt.set(key, new Intl.DateTimeFormat(L.locale, { timeZone: L.tz, ...opts }));
  return fmt.get(key);
}

/** Tick labels of a time axis in the household's locale and zone, by the tick spacing. */
export function timeTicks(splits, incr) {
  return splits.map((v, i) => {
    if (v == null) return "";
    // day and month ticks sit on local midnights, give or take the hour by which the browser's
    // own zone and the household's change to summer time on different days
    const d = new Date((incr >= 86400 ? v + 6 * 3600 : v) * 1000);
    if (incr >= 28 * 86400) return dtf({ month: "short", year: "2-digit" }).format(d);
    if (incr >= 86400) return dtf({ day: "numeric", month: "numeric" }).format(d);
    const p = localParts(d);
    const midnight = p.hour === 0 && p.minute === 0;
    if (midnight || i === 0) return `${dtf({ day: "numeric", month: "numeric" }).format(d)}\n${dtf({ hour: "2-digit", minute: "2-digit" }).format(d)}`;
    return dtf({ hour: "2-digit", minute: "2-digit" }).format(d);
  });
}

function axisNumber(v) {
  const a = Math.abs(v);
  return num(v, a >= 10 || v === 0 ? 0 : a >= 1 ? 1 : 2);
}

function axes(unit) {
  const stroke = css("--muted");
  const grid = { stroke: css("--line"), width: 1 };
  const ticks = { stroke: css("--line"), width: 1 };
  return [
    { stroke, grid, ticks, space: 70, values: (u, splits, ai, space, incr) => timeTicks(splits, incr) },
    { stroke, grid, ticks, size: 60, label: unit, labelSize: 18, labelGap: 0,
      values: (u, vals) => vals.map((v) => (v == null ? "" : axisNumber(v))) },
  ];
}

function sized(el, height) {
  const width = Math.max(260, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 600));
  return { width, height };
}

/** The x range of a bar chart: half a bucket beyond the ends, so both end bars are whole
 *  (`step`: the width of a lone bucket, which its neighbours cannot tell). */
function barRange(step) {
  return (u, min, max) => {
    const xs = u.data[0];
    const width = xs.length > 1 ? xs[1] - xs[0] : step ?? 3600;
    return [min - width / 2, max + width / 2];
  };
}

const patterns = new Map();
/** Diagonal hatching in a colour: the estimated part of a bar. */
export function hatch(color) {
  if (!patterns.has(color)) {
    const c = document.createElement("canvas");
    c.width = c.height = 8;
    const g = c.getContext("2d");
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(0, 8); g.lineTo(8, 0); g.moveTo(-2, 2); g.lineTo(2, -2); g.moveTo(6, 10); g.lineTo(10, 6);
    g.stroke();
    patterns.set(color, g.createPattern(c, "repeat"));
  }
  return patterns.get(color);
}

/**
 * A chart in `el`, redrawn to the element's width. Series: {label, color, fill, dash, width,
 * bars: {size, align} | undefined, hatched, decimals, show}. `bands`: [[upperIdx, lowerIdx, fill]].
 */
export function chart(el, { series, data, unit, height = 280, zoom = true, onDraw, onZoom, legend = true, xRange, bands, bars = false, barStep }) {
  el.replaceChildren();
  const barPath = (s) => uPlot.paths.bars({ size: [s.bars?.size ?? 0.7, 64], align: s.bars?.align ?? 0 });
  const opts = {
    ...sized(el, height),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), L.tz),
    legend: { show: legend, live: true },
    cursor: { drag: { x: zoom, y: false, setScale: zoom }, points: { size: 6 } },
    scales: {
      x: { time: true, range: xRange ?? (bars ? barRange(barStep) : undefined) },
      y: { range: (u, min, max) => [Math.min(0, min ?? 0), max == null || max <= 0 ? 1 : max * 1.08] },
    },
    axes: axes(unit),
    series: [
      { label: "Time", value: (u, v) => (v == null ? "–" : dateTime(v)) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? (s.bars ? 0 : 2),
        fill: s.hatched ? () => hatch(s.color) : s.bars ? s.color : s.fill,
        dash: s.dash,
        show: s.show ?? true,
        spanGaps: false,
        points: { show: false },
        paths: s.bars ? barPath(s) : undefined,
        value: (u, v) => (v == null ? "–" : `${num(v, s.decimals ?? 2)} ${unit}`),
      })),
    ],
    bands: bands?.map(([a, b, fill]) => ({ series: [a, b], fill })),
    hooks: {
      draw: onDraw ? [onDraw] : [],
      setSelect: onZoom ? [(u) => {
        if (u.select.width < 5) return;
        const a = u.posToVal(u.select.left, "x");
        const b = u.posToVal(u.select.left + u.select.width, "x");
        onZoom(a, b);
      }] : [],
    },
  };
  if (onZoom) opts.cursor.drag.setScale = false;
  const plot = new uPlot(opts, data, el);
  series.forEach((s, i) => { // band edges are drawn, not listed
    if (s.legend === false) plot.root.querySelectorAll(".u-legend .u-series")[i + 1]?.setAttribute("hidden", "");
  });
  const observer = new ResizeObserver(() => {
    const size = sized(el, height);
    if (size.width !== plot.width) plot.setSize(size);
  });
  observer.observe(el);
  plot.release = () => { observer.disconnect(); plot.destroy(); };
  return plot;
}

/** A download of text as a file (CSV), through a blob: link. */
export function download(name, text, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
}

/**
 * A card with a chart and its text alternative: a "Table" toggle shows the same data as a
 * table, "CSV" downloads it. `data()` returns {columns, rows, csvRows?, summary}: display rows
 * (formatted) and raw rows for the CSV (ISO times in the household's zone, dot decimals).
 */
export function chartCard({ title, testid, name }) {
  const box = h("div", { class: "chart", "data-testid": testid, role: "img" });
  const tableBox = h("div", { class: "table-wrap chart-table", hidden: true, "data-testid": `${testid}-table` });
  const heading = h("h2", {}, title);
  const note = h("p", { class: "muted chart-note" });
  let source = null;
  const toggle = h("button", { type: "button", class: "ghost small", "aria-pressed": "false", "data-testid": `${testid}-table-toggle` }, "Table");
  const save = h("button", { type: "button", class: "ghost small", "data-testid": `${testid}-csv` }, "CSV");
  const drawTable = () => {
    if (!source) return;
    const { columns, rows } = source();
    tableBox.replaceChildren(rows.length ? h("table", {},
      h("caption", { class: "sr-only" }, heading.textContent),
      h("thead", {}, h("tr", {}, columns.map((c, i) => h("th", { scope: "col", class: i ? "r" : "" }, c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((v, i) => (i ? h("td", { class: "r" }, v) : h("th", { scope: "row" }, v)))))))
      : h("p", { class: "muted" }, "No data."));
  };
  toggle.addEventListener("click", () => {
    const showing = tableBox.hidden;
    tableBox.hidden = !showing;
    box.hidden = showing;
    toggle.setAttribute("aria-pressed", String(showing));
    if (showing) drawTable();
  });
  save.addEventListener("click", () => {
    if (!source) return;
    const { columns, rows, csvRows } = source();
    download(`${name}.csv`, csv(columns, csvRows ?? rows));
  });
  const card = h("section", { class: "card chart-card" },
    h("div", { class: "card-head" }, heading, h("div", { class: "card-tools" }, toggle, save)),
    box, tableBox, note);
  return {
    card, box, note, heading,
    /** What the chart shows now: for the table, the CSV and the chart's accessible name. */
    describe(fn) {
      source = fn;
      box.setAttribute("aria-label", `${heading.textContent}: ${fn().summary ?? ""}`);
      if (!tableBox.hidden) drawTable();
    },
  };
}
