// uPlot helpers: theme colours from CSS, responsive width, bars, gaps as gaps.
import uPlot from "uplot";

export { uPlot };

export function css(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function axes(unit, { timeZone } = {}) {
  const stroke = css("--muted");
  const grid = { stroke: css("--line"), width: 1 };
  const ticks = { stroke: css("--line"), width: 1 };
  return [
    { stroke, grid, ticks, space: 60 },
    {
      stroke, grid, ticks, size: 56,
      label: unit, labelSize: 18, labelGap: 0,
      values: (u, vals) => vals.map((v) => (v == null ? "" : fmtAxis(v))),
    },
  ];
}

function fmtAxis(v) {
  const a = Math.abs(v);
  if (a >= 1000) return `${(v / 1000).toFixed(a >= 10000 ? 0 : 1)}k`;
  if (a >= 10 || v === 0) return v.toFixed(0);
  return v.toFixed(a >= 1 ? 1 : 2);
}

function sized(el, height) {
  const width = Math.max(280, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 600));
  return { width, height };
}

/** The x range of a bar chart: half a bucket beyond the first and the last, so that the
 *  bars at both ends are drawn whole (the data's own range cut them in half). */
function barRange(u, min, max) {
  const xs = u.data[0];
  const step = xs.length > 1 ? xs[1] - xs[0] : 3600;
  return [min - step / 2, max + step / 2];
}

/** Build a chart in `el`; redrawn to the element's width when the window resizes. */
export function chart(el, { series, data, unit, height = 280, bars = false, zoom = true, timeZone, onDraw, legend = true, xRange }) {
  el.replaceChildren();
  const tz = timeZone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), timeZone) : undefined;
  const barPaths = bars ? series.map((s) => uPlot.paths.bars({ size: [s.barSize ?? 0.7, 64], align: s.align ?? 0 })) : null;
  const opts = {
    ...sized(el, height),
    tzDate: tz,
    legend: { show: legend, live: true },
    cursor: { drag: { x: zoom, y: false, setScale: zoom }, points: { size: 6 } },
    scales: { x: { time: true, range: xRange ?? (bars ? barRange : undefined) }, y: { range: (u, min, max) => [Math.min(0, min ?? 0), max == null || max <= 0 ? 1 : max * 1.08] } },
    axes: axes(unit, { timeZone }),
    series: [
      { label: "Time" },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color,
        width: s.width ?? (bars ? 0 : 2),
        fill: bars ? s.color : s.fill,
        dash: s.dash,
        spanGaps: false,
        points: { show: false },
        paths: barPaths ? barPaths[i] : s.paths,
        value: (u, v) => (v == null ? "–" : `${v.toFixed(s.decimals ?? 2)} ${unit}`),
      })),
    ],
    hooks: onDraw ? { draw: [onDraw] } : {},
  };
  const plot = new uPlot(opts, data, el);
  const observer = new ResizeObserver(() => {
    const size = sized(el, height);
    if (size.width !== plot.width) plot.setSize(size);
  });
  observer.observe(el);
  plot.release = () => { observer.disconnect(); plot.destroy(); };
  return plot;
}

/** Rows [{start, end, value}] to uPlot columns, with a null where a bucket is missing. */
export function withGaps(rows, pick) {
  const xs = [];
  const ys = [];
  let lastEnd = null;
  for (const r of rows) {
    const start = Date.parse(r.start) / 1e3;
    if (lastEnd !== null && start > lastEnd) { xs.push(lastEnd); ys.push(null); }
    xs.push(start);
    ys.push(pick(r));
    lastEnd = Date.parse(r.end) / 1e3;
  }
  return [xs, ys];
}

/** Align a second series (shifted by `shift` seconds) onto the x values of the first. */
export function alignOn(xs, rows, pick, shift) {
  const byX = new Map();
  for (const r of rows) byX.set(Date.parse(r.start) / 1e3 + shift, pick(r));
  return xs.map((x) => (byX.has(x) ? byX.get(x) : null));
}
