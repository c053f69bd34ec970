// Formatting in one locale (the browser's) and the household's time zone, and small DOM helpers.
// Every number, date and time the app shows goes through here, so that "21,10 €" never stands
// beside "2:46am 12/6/26".

export const L = { locale: navigator.languages?.[0] ?? navigator.language ?? "en", tz: "UTC" };

/** The household's time zone for every date and time from now on. */
export function useZone(timeZone) { L.tz = timeZone || "UTC"; }

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const numbers = new Map();
function nf(digits, extra = {}) {
  const key = `${L.locale}|${digits}|${JSON.stringify(extra)}`;
  let f = numbers.get(key);
  if (!f) {
    f = new Intl.NumberFormat(L.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits, ...extra });
    numbers.set(key, f);
  }
  return f;
}

export function num(v, digits = 2) { return v == null || Number.isNaN(v) ? "–" : nf(digits).format(v); }
export function kw(v, digits = 2) { return num(v, digits); }
export function kwh(v) { return v == null ? "–" : num(v, Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2); }
export function pct(v) { return v == null ? "–" : nf(0, { style: "percent" }).format(v / 100); }
export function money(v, currency = "EUR") {
  if (v == null || Number.isNaN(v)) return "–";
  return nf(2, { style: "currency", currency }).format(v);
}

const dates = new Map();
function df(opts) {
  const key = `${L.locale}|${L.tz}|${JSON.stringify(opts)}`;
  let f = dates.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(L.locale, { timeZone: L.tz, ...opts });
    dates.set(key, f);
  }
  return f;
}
const when = (x) => (x instanceof Date ? x : new Date(typeof x === "number" ? x * 1000 : x));

export function dateTime(x) { return x ? df({ dateStyle: "medium", timeStyle: "short" }).format(when(x)) : "–"; }
export function date(x) { return x ? df({ dateStyle: "medium" }).format(when(x)) : "–"; }
export function time(x) { return x ? df({ timeStyle: "short" }).format(when(x)) : "–"; }
export function day(x) { return df({ weekday: "short", day: "numeric", month: "numeric" }).format(when(x)); }
export function month(x) { return df({ month: "long", year: "numeric" }).format(when(x)); }
/** A bucket's start as its table label, by the bucket's width. */
export function bucketLabel(t, interval) {
  if (interval === "month") return month(t);
  if (interval === "day") return date(t);
  return dateTime(t);
}

export function ago(iso) {
  if (!iso) return "never";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  const rtf = new Intl.RelativeTimeFormat(L.locale, { numeric: "auto", style: "short" });
  if (s < 5) return rtf.format(0, "second");
  if (s < 60) return rtf.format(-s, "second");
  if (s < 3600) return rtf.format(-Math.round(s / 60), "minute");
  if (s < 86400) return rtf.format(-Math.round(s / 3600), "hour");
  return rtf.format(-Math.round(s / 86400), "day");
}

export function stat({ label, value, unit, sub, swatch, testid }) {
  return h("div", { class: "card stat", "data-testid": testid },
    h("div", { class: "label" }, swatch ? h("span", { class: `swatch sw-${swatch}`, "aria-hidden": "true" }) : null, label),
    h("div", { class: "value" }, h("span", { class: "v" }, value), unit ? h("small", {}, unit) : null),
    sub ? h("div", { class: "sub" }, sub) : null);
}

export function setStat(card, value, sub) {
  card.querySelector(".v").textContent = value;
  if (sub !== undefined) {
    let el = card.querySelector(".sub");
    if (!el) { el = h("div", { class: "sub" }); card.append(el); }
    el.textContent = sub;
  }
}

/** A polite empty state (no error colour): nothing is wrong, there is just nothing yet. */
export function empty(text, testid = "empty") {
  return h("p", { class: "empty-state", "data-testid": testid }, text);
}

// -- calendar in the household's zone ---------------------------------------------------------

const partsCache = new Map();
/** Local date parts of an instant in a time zone (cached formatter). */
export function localParts(d, timeZone = L.tz) {
  let f = partsCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23", weekday: "short" });
    partsCache.set(timeZone, f);
  }
  const p = {};
  for (const { type, value } of f.formatToParts(d)) p[type] = value;
  return { year: +p.year, month: +p.month, day: +p.day, hour: +p.hour, minute: +p.minute, weekday: p.weekday, ymd: `${p.year}-${p.month}-${p.day}`, ym: `${p.year}-${p.month}` };
}

/** The instant of local midnight of y-m-d in a time zone. */
export function zonedMidnight(y, m, d, timeZone = L.tz) {
  let t = Date.UTC(y, m - 1, d);
  for (let i = 0; i < 3; i++) {
    const p = localParts(new Date(t), timeZone);
    const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    t += Date.UTC(y, m - 1, d) - asUtc;
  }
  return new Date(t);
}

/** "2026-11-03" -> its local midnight. */
export function startOf(ymd, timeZone = L.tz) {
  const [y, m, d] = ymd.split("-").map(Number);
  return zonedMidnight(y, m, d, timeZone);
}

/** Calendar arithmetic on local dates ("2026-10-25" + 7 days), independent of DST. */
export function addDays(ymd, n) {
  const [y, m, d] = ymd.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}
export function addMonths(ymd, n) {
  const [y, m, d] = ymd.split("-").map(Number);
  const first = new Date(Date.UTC(y, m - 1 + n, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), Math.min(d, last))).toISOString().slice(0, 10);
}
export function daysBetween(a, b) {
  const [y1, m1, d1] = a.split("-").map(Number);
  const [y2, m2, d2] = b.split("-").map(Number);
  return Math.round((Date.UTC(y2, m2 - 1, d2) - Date.UTC(y1, m1 - 1, d1)) / 86400e3);
}
export function today(timeZone = L.tz) { return localParts(new Date(), timeZone).ymd; }

/** CSV of a table (RFC 4180, dot decimals: for spreadsheets and programs alike). */
export function csv(columns, rows) {
  const cell = (v) => {
    if (v == null) return "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(cell).join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n";
}

/** An instant as RFC 3339 in the household's zone, e.g. 2026-11-01T00:00:00+01:00. */
export function isoLocal(x) {
  const d = when(x);
  const p = localParts(d);
  const offset = Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(d.getTime() / 60000) * 60000) / 60000);
  const sign = offset < 0 ? "-" : "+";
  const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, "0");
  const mm = String(Math.abs(offset) % 60).padStart(2, "0");
  const sec = String(d.getUTCSeconds()).padStart(2, "0");
  return `${p.ymd}T${String(p.hour).padStart(2, "0")}:${String(p.minute).padStart(2, "0")}:${sec}${sign}${hh}:${mm}`;
}
