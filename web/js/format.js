// Formatting and small DOM helpers.

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

export function kw(v, digits = 2) { return v == null ? "–" : v.toFixed(digits); }
export function kwh(v) { return v == null ? "–" : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2); }

export function money(v, currency = "EUR") {
  if (v == null || Number.isNaN(v)) return "–";
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(v);
}

export function dateTime(iso, timeZone) {
  if (!iso) return "–";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", timeZone }).format(new Date(iso));
}

export function ago(iso) {
  if (!iso) return "never";
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
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

/** Local date parts of an instant in a time zone (cached formatter). */
const partsCache = new Map();
export function localParts(date, timeZone) {
  let f = partsCache.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", hourCycle: "h23", weekday: "short" });
    partsCache.set(timeZone, f);
  }
  const p = {};
  for (const { type, value } of f.formatToParts(date)) p[type] = value;
  return { year: +p.year, month: +p.month, day: +p.day, hour: +p.hour, weekday: p.weekday, ymd: `${p.year}-${p.month}-${p.day}`, ym: `${p.year}-${p.month}` };
}

/** The instant of local midnight of y-m-d in a time zone. */
export function zonedMidnight(y, m, d, timeZone) {
  let t = Date.UTC(y, m - 1, d);
  for (let i = 0; i < 2; i++) {
    const p = localParts(new Date(t), timeZone);
    const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour);
    t += Date.UTC(y, m - 1, d) - asUtc;
  }
  return new Date(t);
}
