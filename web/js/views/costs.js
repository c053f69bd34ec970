// Costs (APP-3): the household's tariff (flat or time-of-use, monthly fee, feed-in price) kept in
// localStorage; costs per day and month from hourly energy; the current month's projection.
import { aggregates } from "../api.js";
import { chart, css } from "../charts.js";
import { h, localParts, money, stat, zonedMidnight } from "../format.js";
import { DEFAULT_TARIFF, costs, loadTariff, monthTotal, projectMonth, saveTariff } from "../tariff.js";

export async function render(root, ctx) {
  const hid = ctx.household?.householdId;
  const tz = ctx.household?.timezone ?? "UTC";
  let tariff = loadTariff(hid);
  const saved = h("span", { class: "muted", role: "status", "data-testid": "tariff-saved" });
  const form = tariffForm(tariff ?? DEFAULT_TARIFF, (t) => {
    tariff = t;
    saveTariff(hid, t);
    saved.textContent = "Saved for this household on this device.";
    draw();
  });
  const out = h("div", { "data-testid": "costs" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Costs")),
    h("div", { class: "grid two" },
      h("section", { class: "card" }, h("h2", {}, "Your tariff"), form, saved),
      h("section", { class: "card", id: "cost-summary" }, out)));
  const charts = h("div", {});
  root.append(charts);
  const plots = [];

  // A year of hourly energy, up to the end of today (local), fetched once.
  const now = new Date();
  const t = localParts(now, tz);
  const end = new Date(zonedMidnight(t.year, t.month, t.day, tz).getTime() + 86400e3);
  const first = t.month === 12 ? [t.year, 1] : [t.year - 1, t.month + 1];
  const start = zonedMidnight(first[0], first[1], 1, tz);
  let imp = [];
  let exp = [];
  try {
    const base = { householdId: hid, interval: "hour", start, end, functions: ["consumption"] };
    [imp, exp] = await Promise.all([
      aggregates({ ...base, propertyId: "OBIS_1.8.0" }),
      aggregates({ ...base, propertyId: "OBIS_2.8.0" }).catch(() => []),
    ]);
  } catch (err) {
    out.replaceChildren(h("p", { class: "notice bad" }, `Could not load energy: ${err.message}`));
    return () => {};
  }

  function draw() {
    plots.splice(0).forEach((p) => p.release());
    if (!tariff) {
      out.replaceChildren(h("h2", {}, "This month"), h("p", { class: "muted" }, "Set your tariff to see what your energy costs."));
      charts.replaceChildren();
      return;
    }
    const { days, months } = costs(tariff, imp, exp, tz);
    const ym = t.ym;
    const dim = new Date(Date.UTC(t.year, t.month, 0)).getUTCDate();
    const proj = projectMonth(tariff, days, ym, t.ymd, dim);
    const prevYm = t.month === 1 ? `${t.year - 1}-12` : `${t.year}-${String(t.month - 1).padStart(2, "0")}`;
    const cur = tariff.currency;
    out.replaceChildren(h("h2", {}, "This month"), h("div", { class: "grid stats" },
      stat({ label: "So far", value: money(proj.soFar, cur), testid: "cost-so-far", sub: "including the monthly fee" }),
      stat({ label: "Projected", value: money(proj.projected, cur), testid: "cost-projected", sub: `for all ${dim} days` }),
      stat({ label: "Last month", value: months.has(prevYm) ? money(monthTotal(tariff, months.get(prevYm)), cur) : "–", testid: "cost-last-month" })));

    const dayKeys = [...days.keys()].filter((k) => k.startsWith(ym)).sort();
    const dayXs = dayKeys.map((k) => { const [y, m, d] = k.split("-").map(Number); return zonedMidnight(y, m, d, tz).getTime() / 1000; });
    const monthKeys = [...months.keys()].sort();
    const monthXs = monthKeys.map((k) => { const [y, m] = k.split("-").map(Number); return zonedMidnight(y, m, 1, tz).getTime() / 1000; });
    const dayBox = h("div", { class: "chart", "data-testid": "cost-days" });
    const monthBox = h("div", { class: "chart", "data-testid": "cost-months" });
    const table = h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Month"), h("th", { class: "r" }, "Used kWh"), h("th", { class: "r" }, "Fed in kWh"), h("th", { class: "r" }, "Total"))),
      h("tbody", {}, monthKeys.slice().reverse().map((k) => {
        const m = months.get(k);
        return h("tr", {}, h("td", {}, monthName(k)), h("td", { class: "r" }, m.importKwh.toFixed(0)),
          h("td", { class: "r" }, m.exportKwh.toFixed(0)), h("td", { class: "r" }, money(monthTotal(tariff, m), cur)));
      })));
    charts.replaceChildren(h("div", { class: "grid two" },
      h("section", { class: "card" }, h("h2", {}, "Per day this month (energy, less feed-in)"), dayBox),
      h("section", { class: "card" }, h("h2", {}, "Per month (with the fee)"), monthBox)),
      h("section", { class: "card" }, h("h2", {}, "Months"), h("div", { class: "table-wrap" }, table)));
    const series = (label) => [{ label, color: css("--accent"), decimals: 2 }];
    plots.push(chart(dayBox, { unit: cur, bars: true, zoom: false, timeZone: tz, height: 240,
      series: series("Cost"), data: [dayXs, dayKeys.map((k) => days.get(k).energy - days.get(k).credit)] }));
    plots.push(chart(monthBox, { unit: cur, bars: true, zoom: false, timeZone: tz, height: 240,
      series: series("Cost"), data: [monthXs, monthKeys.map((k) => monthTotal(tariff, months.get(k)))] }));
  }
  draw();
  return () => plots.forEach((p) => p.release());
}

function monthName(ym) {
  const [y, m] = ym.split("-").map(Number);
  return new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 15)));
}

function tariffForm(t, onSave) {
  const num = (id, label, value, step = "0.001") => h("label", { class: "field", for: id }, label,
    h("input", { type: "number", id, name: id, value, step, min: "0", inputmode: "decimal", required: true }));
  const kind = h("div", { class: "seg", role: "radiogroup", "aria-label": "Kind of tariff" });
  let current = t.kind;
  const flat = h("div", {}, num("flatPrice", "Price per kWh", t.flatPrice));
  const tou = h("div", { class: "grid" },
    num("peakPrice", "Peak price per kWh", t.peakPrice), num("offPeakPrice", "Off-peak price per kWh", t.offPeakPrice),
    num("peakStart", "Peak from (hour)", t.peakStart, "1"), num("peakEnd", "Peak until (hour)", t.peakEnd, "1"),
    h("label", { class: "field inline", for: "peakWeekdaysOnly" },
      h("input", { type: "checkbox", id: "peakWeekdaysOnly", checked: t.peakWeekdaysOnly }), "Weekends off-peak"));
  const setKind = (k) => {
    current = k;
    flat.hidden = k !== "flat";
    tou.hidden = k !== "tou";
    for (const b of kind.children) b.setAttribute("aria-pressed", String(b.dataset.value === k));
  };
  kind.append(
    h("button", { type: "button", "data-value": "flat", onclick: () => setKind("flat") }, "Flat price"),
    h("button", { type: "button", "data-value": "tou", onclick: () => setKind("tou") }, "Peak / off-peak"));
  const currency = h("select", { id: "currency", name: "currency" },
    ["EUR", "CHF", "GBP", "USD", "SEK", "DKK", "NOK", "PLN", "CZK"].map((c) => h("option", { value: c, selected: c === t.currency }, c)));
  const form = h("form", { style: "display:grid;gap:.75rem" }, kind, flat, tou,
    h("div", { class: "grid" }, num("monthlyFee", "Fixed fee per month", t.monthlyFee, "0.01"),
      num("feedInPrice", "Feed-in price per kWh", t.feedInPrice), h("label", { class: "field", for: "currency" }, "Currency", currency)),
    h("div", {}, h("button", { type: "submit", "data-testid": "save-tariff" }, "Save tariff")));
  setKind(current);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const v = (id) => Number(form.querySelector(`#${id}`).value);
    onSave({
      kind: current, currency: currency.value, flatPrice: v("flatPrice"), peakPrice: v("peakPrice"),
      offPeakPrice: v("offPeakPrice"), peakStart: v("peakStart"), peakEnd: v("peakEnd"),
      peakWeekdaysOnly: form.querySelector("#peakWeekdaysOnly").checked,
      monthlyFee: v("monthlyFee"), feedInPrice: v("feedInPrice"),
    });
  });
  return form;
}
