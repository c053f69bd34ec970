// Tariffs (APP-3) as the server keeps them per household, and the sums the views make of the
// costs the server computes: the price now (for the live screen) and the month's projection.
import { localParts } from "./format.js";

export const DEFAULT_TARIFF = {
  kind: "flat", // flat | tou | dynamic
  currency: "EUR",
  flatPrice: 0.3,
  peakPrice: 0.36,
  offPeakPrice: 0.24,
  peakStart: 7,
  peakEnd: 22,
  peakWeekdaysOnly: true,
  dynamicMarkup: 0,
  monthlyFee: 12,
  feedInPrice: 0.06,
};

/** The energy price at an instant: flat, peak/off-peak by the local hour, or the series'. */
export function priceAt(tariff, when, prices = []) {
  if (tariff.kind === "dynamic") {
    let found = null;
    for (const p of prices) if (Date.parse(p.t) <= when.getTime()) found = p;
    return found ? found.price + (tariff.dynamicMarkup ?? 0) : null;
  }
  if (tariff.kind !== "tou") return tariff.flatPrice;
  const parts = localParts(when);
  const weekend = parts.weekday === "Sat" || parts.weekday === "Sun";
  const inPeak = tariff.peakStart <= tariff.peakEnd
    ? parts.hour >= tariff.peakStart && parts.hour < tariff.peakEnd
    : parts.hour >= tariff.peakStart || parts.hour < tariff.peakEnd;
  return inPeak && !(tariff.peakWeekdaysOnly && weekend) ? tariff.peakPrice : tariff.offPeakPrice;
}

/** Net energy cost (bought less fed in, no fee) of bucket i of an energy answer. */
export function netCost(costs, i) {
  const e = costs.energy[i];
  const c = costs.credit[i];
  return e == null && c == null ? null : (e ?? 0) - (c ?? 0);
}

/**
 * The month so far and its projection, from hourly costs (an energy answer with costs) that
 * cover at least the month so far and the week before now:
 * so far = the month's net energy cost until now + the monthly fee;
 * projected = so far + the mean cost of an hour of the last 7 days x the hours left.
 * On the 1st the week before is last month's: the projection never falls below what is spent.
 */
export function projectMonth(doc, { now, monthStart, monthEnd, fee }) {
  const costs = doc.costs;
  let month = 0;
  let recent = 0;
  let hours = 0;
  const weekAgo = now.getTime() / 1000 - 7 * 86400;
  doc.t.forEach((t, i) => {
    const c = netCost(costs, i);
    if (c == null) return;
    if (t >= monthStart.getTime() / 1000) month += c;
    if (t >= weekAgo) { recent += c; hours += 1; }
  });
  const rate = hours ? recent / hours : 0;
  const left = Math.max(0, (monthEnd.getTime() - now.getTime()) / 3600e3);
  const soFar = month + fee;
  return { soFar, projected: soFar + rate * left, ratePerHour: rate, hoursLeft: left };
}
