// Tariffs (APP-3): stored per household in localStorage; costs from hourly energy.
import { localParts } from "./format.js";

export const DEFAULT_TARIFF = {
  kind: "flat", // flat | tou
  currency: "EUR",
  flatPrice: 0.3,
  peakPrice: 0.36,
  offPeakPrice: 0.24,
  peakStart: 7,
  peakEnd: 22,
  peakWeekdaysOnly: true,
  monthlyFee: 12,
  feedInPrice: 0.06,
};

const key = (householdId) => `omdp.tariff.${householdId}`;

export function loadTariff(householdId) {
  try {
    const saved = JSON.parse(localStorage.getItem(key(householdId)) || "null");
    return saved ? { ...DEFAULT_TARIFF, ...saved } : null;
  } catch { return null; }
}
export function saveTariff(householdId, tariff) {
  localStorage.setItem(key(householdId), JSON.stringify(tariff));
}

/** The energy price at a local hour (peak hours [peakStart, peakEnd), weekdays if set). */
export function priceAt(tariff, parts) {
  if (tariff.kind !== "tou") return tariff.flatPrice;
  const weekend = parts.weekday === "Sat" || parts.weekday === "Sun";
  const inPeak = tariff.peakStart <= tariff.peakEnd
    ? parts.hour >= tariff.peakStart && parts.hour < tariff.peakEnd
    : parts.hour >= tariff.peakStart || parts.hour < tariff.peakEnd;
  return inPeak && !(tariff.peakWeekdaysOnly && weekend) ? tariff.peakPrice : tariff.offPeakPrice;
}

/**
 * Costs per local day and month from hourly rows ({start, consumption}) of import and export.
 * Returns {days: Map(ymd -> {energy, credit, importKwh, exportKwh}), months: Map(ym -> ...)}.
 */
export function costs(tariff, importRows, exportRows, timeZone) {
  const days = new Map();
  const months = new Map();
  const add = (map, k, field, kwhValue, money) => {
    let e = map.get(k);
    if (!e) { e = { energy: 0, credit: 0, importKwh: 0, exportKwh: 0 }; map.set(k, e); }
    e[field === "import" ? "importKwh" : "exportKwh"] += kwhValue;
    if (field === "import") e.energy += money; else e.credit += money;
  };
  for (const [rows, field] of [[importRows, "import"], [exportRows, "export"]]) {
    for (const r of rows) {
      const v = r.consumption;
      if (v == null || v < 0) continue;
      const parts = localParts(new Date(r.start), timeZone);
      const money = field === "import" ? v * priceAt(tariff, parts) : v * tariff.feedInPrice;
      add(days, parts.ymd, field, v, money);
      add(months, parts.ym, field, v, money);
    }
  }
  return { days, months };
}

/** The month's total with the fixed fee: energy - feed-in credit + fee. */
export function monthTotal(tariff, m) {
  return (m?.energy ?? 0) - (m?.credit ?? 0) + tariff.monthlyFee;
}

/** Projection of the current month: the days so far, their mean day for the rest, plus the fee. */
export function projectMonth(tariff, days, ym, today, daysInMonth) {
  let sum = 0;
  let n = 0;
  for (const [ymd, d] of days) {
    if (!ymd.startsWith(ym)) continue;
    sum += d.energy - d.credit;
    if (ymd < today) n += 1;
  }
  const todayEntry = days.get(today);
  const done = todayEntry ? sum - (todayEntry.energy - todayEntry.credit) : sum;
  const mean = n > 0 ? done / n : 0;
  const remaining = daysInMonth - n;
  return { soFar: sum + tariff.monthlyFee, projected: done + mean * remaining + tariff.monthlyFee };
}
