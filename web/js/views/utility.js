// Water, gas and heat (APP-2): consumption per hour, day or month in their units (m3, kWh), from
// the household's meters of that class, each in its own view.
import { energy } from "../api.js";
import { chart, chartCard, css } from "../charts.js";
import { L, addDays, bucketLabel, daysBetween, empty, h, isoLocal, num, startOf, stat, today } from "../format.js";
import { shiftRange, spanRange } from "./history.js";

const WHAT = {
  water: { title: "Water", colour: "--water", unit: "m3", shown: "m³" },
  gas: { title: "Gas", colour: "--gas", unit: "m3", shown: "m³" },
  heat: { title: "Heat", colour: "--heat", unit: "kWh", shown: "kWh" },
};
const SPANS = [["week", "Week"], ["month", "Month"], ["year", "Year"]];

export async function render(root, ctx) {
  const kind = ctx.kind;
  const what = WHAT[kind];
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const st = { span: SPANS.some(([s]) => s === q.get("span")) ? q.get("span") : "month", to: q.get("to") || today() };
  [st.from, st.to] = spanRange(st.span, st.to);
  const toolbar = h("div", { class: "toolbar" });
  const stats = h("div", { class: "grid stats" });
  const card = chartCard({ title: `${what.title} per day`, testid: "utility-chart", name: kind });
  const range = h("p", { class: "range", "data-testid": "utility-range" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, what.title), range), toolbar, stats, card.card);
  let plot = null;
  let seq = 0;

  function controls() {
    toolbar.replaceChildren(
      h("div", { class: "field" }, "Span", h("div", { class: "seg", role: "group", "aria-label": "Time span" },
        SPANS.map(([s, label]) => h("button", { type: "button", "aria-pressed": String(s === st.span), onclick: () => {
          st.span = s; [st.from, st.to] = spanRange(s, st.to); update();
        } }, label)))),
      h("div", { class: "field" }, "Dates", h("div", { class: "dates" },
        h("button", { type: "button", class: "ghost", "aria-label": "Earlier", onclick: () => { [st.from, st.to] = shiftRange(st.span, st.from, st.to, -1); update(); } }, "‹"),
        h("button", { type: "button", class: "ghost", "aria-label": "Later", onclick: () => { [st.from, st.to] = shiftRange(st.span, st.from, st.to, 1); update(); } }, "›"))));
  }

  async function update() {
    const my = ++seq;
    controls();
    history.replaceState(null, "", `#/${kind}?span=${st.span}&to=${st.to}`);
    const start = startOf(st.from);
    const end = startOf(addDays(st.to, 1));
    range.textContent = new Intl.DateTimeFormat(L.locale, { dateStyle: "medium", timeZone: L.tz }).formatRange(start, new Date(end - 1));
    const interval = st.span === "year" ? "month" : "day";
    card.heading.textContent = `${what.title} per ${interval}`;
    let doc;
    try {
      doc = await energy({ householdId: ctx.household.householdId, interval, start, end });
    } catch (err) {
      card.box.replaceChildren(h("p", { class: "notice bad" }, `Could not load: ${err.message}`));
      return;
    }
    if (my !== seq) return;
    const col = doc.series[kind];
    const values = col?.values ?? doc.t.map(() => null);
    const total = doc.totals[kind];
    const days = interval === "day" ? values.filter((v) => v != null).length : daysBetween(st.from, st.to) + 1;
    stats.replaceChildren(
      stat({ label: `${what.title} used`, value: total == null ? "–" : num(total, 2), unit: what.shown, testid: "utility-total" }),
      stat({ label: "Per day on average", value: total == null || !days ? "–" : num(total / days, 3), unit: what.shown, testid: "utility-daily", sub: interval === "day" ? `over the ${days} days with readings` : undefined }));
    plot?.release(); plot = null;
    root.dataset.buckets = String(doc.t.length);
    if (total == null) { card.box.replaceChildren(empty(`No ${what.title.toLowerCase()} readings in this span.`)); return; }
    plot = chart(card.box, { unit: what.shown, bars: true, zoom: false, height: 280, data: [doc.t, values], barStep: doc.tEnd - doc.t[0],
      series: [{ label: what.title, color: css(what.colour), bars: { size: 0.7, align: 0 }, decimals: 3 }] });
    card.describe(() => ({
      columns: [interval === "day" ? "Day" : "Month", `${what.title} (${what.shown})`],
      rows: doc.t.map((t, i) => [bucketLabel(t, interval), values[i] == null ? "–" : num(values[i], 3)]),
      csvRows: doc.t.map((t, i) => [isoLocal(t), values[i]]),
      summary: `${num(total, 2)} ${what.shown} in ${range.textContent}`,
    }));
    const meters = doc.meters.filter((m) => m.quantity === kind && m.method);
    card.note.textContent = meters.length
      ? `From ${meters.map((m) => `${m.meterName ?? m.meterId} (${m.source})`).join(", ")}. A missing bar is a period without data.`
      : "";
  }

  await update();
  return () => { seq += 1; plot?.release(); };
}
