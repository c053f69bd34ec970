// Costs (APP-3): the household's tariff, kept on the server (flat, peak/off-peak or dynamic
// prices imported from a CSV file, a monthly fee, a feed-in price); the costs the server computes
// from the same energy as every other view; this month so far and its projection.
import { energy, tariffs } from "../api.js";
import { chart, chartCard, css } from "../charts.js";
import {
  L, bucketLabel, date, dateTime, empty, h, isoLocal, kwh, localParts, money, num, stat, zonedMidnight,
} from "../format.js";
import { DEFAULT_TARIFF, netCost, projectMonth } from "../tariff.js";

const HOUR = 3600e3;

export async function render(root, ctx) {
  const hid = ctx.household?.householdId;
  const out = h("div", { "data-testid": "costs" });
  const saved = h("span", { class: "muted", role: "status", "data-testid": "tariff-saved" });
  const formBox = h("div", {});
  const charts = h("div", {});
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Costs")),
    h("div", { class: "grid two" },
      h("section", { class: "card" }, h("h2", {}, "Your tariff"), formBox, saved),
      h("section", { class: "card", id: "cost-summary" }, out)),
    charts);
  if (!hid) { out.replaceChildren(empty("No household.")); return () => {}; }
  if (!ctx.meters.length) {
    out.replaceChildren(h("h2", {}, "This month"), empty("This household has no meters yet: there is nothing to cost.", "costs-empty"));
  }
  const plots = [];
  let tariff = null;
  try {
    tariff = await tariffs.get(hid);
  } catch (err) {
    out.replaceChildren(h("p", { class: "notice bad" }, `Could not load the tariff: ${err.message}`));
  }
  formBox.replaceChildren(tariffForm(tariff ?? DEFAULT_TARIFF, hid, async (t) => {
    tariff = await tariffs.put(hid, t);
    await draw();
    saved.textContent = "Saved for this household: every device shows the same costs.";
  }));

  async function draw() {
    plots.splice(0).forEach((p) => p.release());
    if (!ctx.meters.length) return;
    if (!tariff) {
      out.replaceChildren(h("h2", {}, "This month"), empty("Set your tariff to see what your energy costs.", "costs-no-tariff"));
      charts.replaceChildren();
      return;
    }
    const now = new Date();
    const t = localParts(now);
    const monthStart = zonedMidnight(t.year, t.month, 1);
    const next = t.month === 12 ? [t.year + 1, 1] : [t.year, t.month + 1];
    const monthEnd = zonedMidnight(next[0], next[1], 1);
    const weekAgo = new Date(Math.floor((now.getTime() - 7 * 86400e3) / HOUR) * HOUR);
    const first = t.month === 12 ? [t.year, 1] : [t.year - 1, t.month + 1];
    let hours;
    let months;
    try {
      [hours, months] = await Promise.all([
        energy({ householdId: hid, interval: "hour", start: weekAgo < monthStart ? weekAgo : monthStart, end: now, costs: true }),
        energy({ householdId: hid, interval: "month", start: zonedMidnight(first[0], first[1], 1), end: monthEnd, costs: true }),
      ]);
    } catch (err) {
      out.replaceChildren(h("p", { class: "notice bad" }, `Could not load the costs: ${err.message}`));
      return;
    }
    const cur = tariff.currency;
    const proj = projectMonth(hours, { now, monthStart, monthEnd, fee: tariff.monthlyFee });
    const lastIdx = months.t.length - 2;
    const lastMonth = lastIdx >= 0 ? months.costs.total[lastIdx] : null;
    const unpriced = (hours.costs.unpricedKwh ?? []).reduce((a, b) => a + (b ?? 0), 0);
    const daysInMonth = Math.round((monthEnd - monthStart) / 86400e3);
    root.dataset.now = now.toISOString();
    out.replaceChildren(h("h2", {}, `This month (${new Intl.DateTimeFormat(L.locale, { month: "long", year: "numeric", timeZone: L.tz }).format(now)})`),
      h("div", { class: "grid stats" },
        stat({ label: "So far", value: money(proj.soFar, cur), testid: "cost-so-far", sub: `until ${dateTime(now)}, with the monthly fee` }),
        stat({ label: "Projected", value: money(proj.projected, cur), testid: "cost-projected",
          sub: `for all ${daysInMonth} days: ${money(proj.ratePerHour, cur)} an hour as in the last 7 days` }),
        stat({ label: "Last month", value: lastMonth == null ? "–" : money(lastMonth, cur), testid: "cost-last-month" })),
      ...(unpriced > 0 ? [h("p", { class: "notice", "data-testid": "cost-unpriced" },
        `${kwh(unpriced)} kWh had no price: the price series does not cover all of this time.`)] : []));

    // per day this month: the hours' net energy cost (the fee is the same every day)
    const perDay = new Map();
    hours.t.forEach((ts, i) => {
      if (ts * 1000 < monthStart.getTime()) return;
      const c = netCost(hours.costs, i);
      if (c == null) return;
      const day = localParts(new Date(ts * 1000)).ymd;
      perDay.set(day, (perDay.get(day) ?? 0) + c);
    });
    const days = [...perDay.keys()].sort();
    const dayXs = days.map((d) => { const [y, m, dd] = d.split("-").map(Number); return zonedMidnight(y, m, dd).getTime() / 1000; });
    const dayCard = chartCard({ title: "Per day this month (energy less feed-in)", testid: "cost-days", name: "costs-per-day" });
    const monthCard = chartCard({ title: "Per month (with the fee)", testid: "cost-months", name: "costs-per-month" });
    const energyOf = (name, i) => months.series[name]?.values[i] ?? null;
    charts.replaceChildren(h("div", { class: "grid two" }, dayCard.card, monthCard.card));
    const series = (label) => [{ label, color: css("--accent"), decimals: 2, bars: { size: 0.7, align: 0 } }];
    plots.push(chart(dayCard.box, { unit: cur, bars: true, zoom: false, height: 240, barStep: 86400, series: series("Cost"), data: [dayXs, days.map((d) => perDay.get(d))] }));
    plots.push(chart(monthCard.box, { unit: cur, bars: true, zoom: false, height: 240, series: series("Cost"), data: [months.t, months.costs.total] }));
    dayCard.describe(() => ({
      columns: ["Day", `Cost (${cur})`],
      rows: dayXs.map((x, i) => [date(x), money(perDay.get(days[i]), cur)]),
      csvRows: dayXs.map((x, i) => [isoLocal(x), perDay.get(days[i])]),
      summary: `${days.length} days`,
    }));
    monthCard.describe(() => ({
      columns: ["Month", "From the grid (kWh)", "Fed in (kWh)", `Energy (${cur})`, `Feed-in credit (${cur})`, `Fee (${cur})`, `Total (${cur})`],
      rows: months.t.map((x, i) => [bucketLabel(x, "month"), kwh(energyOf("import", i)), kwh(energyOf("export", i)),
        money(months.costs.energy[i], cur), money(months.costs.credit[i], cur), money(months.costs.fee[i], cur), money(months.costs.total[i], cur)]),
      csvRows: months.t.map((x, i) => [isoLocal(x), energyOf("import", i), energyOf("export", i), months.costs.energy[i],
        months.costs.credit[i], months.costs.fee[i], months.costs.total[i]]),
      summary: `${months.t.length} months`,
    }));
    const unpricedMonths = (months.costs.unpricedKwh ?? []).reduce((a, b) => a + (b ?? 0), 0);
    monthCard.note.textContent = `The current month shows its whole fee and the energy so far.${unpricedMonths > 0
      ? ` ${kwh(unpricedMonths)} kWh of these months had no price (outside the price series) and are not in the totals.` : ""}`;
  }
  await draw();
  return () => plots.forEach((p) => p.release());
}

function tariffForm(t, hid, onSave) {
  const num3 = (id, label, value, step = "0.001", min = "0") => h("label", { class: "field", for: id }, label,
    h("input", { type: "number", id, name: id, value, step, min, inputmode: "decimal", required: true }));
  const kind = h("div", { class: "seg", role: "radiogroup", "aria-label": "Kind of tariff" });
  let current = t.kind;
  const flat = h("div", {}, num3("flatPrice", "Price per kWh", t.flatPrice));
  const tou = h("div", { class: "grid" },
    num3("peakPrice", "Peak price per kWh", t.peakPrice), num3("offPeakPrice", "Off-peak price per kWh", t.offPeakPrice),
    num3("peakStart", "Peak from (hour)", t.peakStart, "1"), num3("peakEnd", "Peak until (hour)", t.peakEnd, "1"),
    h("label", { class: "field inline", for: "peakWeekdaysOnly" },
      h("input", { type: "checkbox", id: "peakWeekdaysOnly", checked: t.peakWeekdaysOnly }), "Weekends off-peak"));
  const file = h("input", { type: "file", id: "prices-file", accept: ".csv,text/csv,text/plain", "data-testid": "prices-file" });
  const priceNote = h("p", { class: "muted", role: "status", "data-testid": "prices-status" },
    "A CSV file of lines start,price (per kWh; a header line and ; with decimal commas are fine).");
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    priceNote.textContent = "Importing…";
    try {
      const r = await tariffs.upload(hid, await chosen.text());
      priceNote.textContent = `Imported ${num(r.stored, 0)} prices from ${dateTime(r.first)} to ${dateTime(r.last)}.`;
    } catch (err) {
      priceNote.textContent = `Not imported: ${err.message}`;
    }
  });
  const dynamic = h("div", { class: "grid" },
    num3("dynamicMarkup", "Added per kWh (grid fees, taxes)", t.dynamicMarkup ?? 0, "0.001", "-100"),
    h("label", { class: "field", for: "prices-file" }, "Import prices (CSV)", file), priceNote);
  const setKind = (k) => {
    current = k;
    flat.hidden = k !== "flat";
    tou.hidden = k !== "tou";
    dynamic.hidden = k !== "dynamic";
    for (const b of kind.children) b.setAttribute("aria-pressed", String(b.dataset.value === k));
  };
  kind.append(
    h("button", { type: "button", "data-value": "flat", onclick: () => setKind("flat") }, "Flat price"),
    h("button", { type: "button", "data-value": "tou", onclick: () => setKind("tou") }, "Peak / off-peak"),
    h("button", { type: "button", "data-value": "dynamic", onclick: () => setKind("dynamic") }, "Dynamic prices"));
  const currency = h("select", { id: "currency", name: "currency" },
    ["EUR", "CHF", "GBP", "USD", "SEK", "DKK", "NOK", "PLN", "CZK"].map((c) => h("option", { value: c, selected: c === t.currency }, c)));
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "tariff-form" }, kind, flat, tou, dynamic,
    h("div", { class: "grid" }, num3("monthlyFee", "Fixed fee per month", t.monthlyFee, "0.01"),
      num3("feedInPrice", "Feed-in price per kWh", t.feedInPrice), h("label", { class: "field", for: "currency" }, "Currency", currency)),
    error, h("div", {}, h("button", { type: "submit", "data-testid": "save-tariff" }, "Save tariff")));
  setKind(current);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const v = (id) => Number(form.querySelector(`#${id}`).value);
    try {
      await onSave({
        kind: current, currency: currency.value, flatPrice: v("flatPrice"), peakPrice: v("peakPrice"),
        offPeakPrice: v("offPeakPrice"), peakStart: v("peakStart"), peakEnd: v("peakEnd"),
        peakWeekdaysOnly: form.querySelector("#peakWeekdaysOnly").checked, dynamicMarkup: v("dynamicMarkup"),
        monthlyFee: v("monthlyFee"), feedInPrice: v("feedInPrice"),
      });
    } catch (err) { error.textContent = `Not saved: ${err.message}`; }
  });
  return form;
}
