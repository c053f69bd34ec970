// Households and meters: the household's meters, their last reading and health.
import { edge } from "../api.js";
import { ago, dateTime, h } from "../format.js";

const SILENT_S = 5 * 60;

export async function render(root, ctx) {
  const tz = ctx.household?.timezone;
  const hh = ctx.household;
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Meters"),
    hh ? h("span", { class: "muted" }, `${hh.householdName ?? hh.householdId} · ${hh.timezone ?? "UTC"}`) : null));
  const box = h("div", { class: "grid two", "data-testid": "meters" });
  root.append(box);
  let live = [];
  let alerts = [];
  if (ctx.config.edgeUrl !== null && ctx.config.edgeUrl !== undefined) {
    try {
      [live, alerts] = await Promise.all([edge("/v1/live").then((x) => x.items), edge("/v1/alerts").then((x) => x.active)]);
    } catch { /* health shows unknown */ }
  }
  const meters = ctx.meters.length ? ctx.meters : live.map((m) => ({ meterIndividualId: m.meterId }));
  if (!meters.length) { box.replaceChildren(h("p", { class: "muted" }, "No meter in this household yet.")); return; }
  box.replaceChildren(...meters.map((m) => {
    const id = m.meterIndividualId;
    const l = live.find((x) => x.meterId === id);
    const mine = alerts.filter((a) => a.meterId === id);
    const silent = l && (Date.now() - Date.parse(l.receivedAt)) / 1000 > SILENT_S;
    const health = !l ? ["idle", "no live data"] : mine.length ? ["bad", `${mine.length} alert(s)`] : silent ? ["warn", "silent"] : ["ok", "healthy"];
    const values = l?.reading?.propertyValues ?? [];
    const faults = values.filter((v) => v.textValue !== undefined && /fault|error|alarm/i.test(`${v.propertyId} ${v.propertyDescription ?? ""}`));
    const el = m.physicalMeterType;
    return h("section", { class: "card", "data-meter": id },
      h("div", { class: "page-head", style: "margin:0 0 .5rem" }, h("h2", {}, m.meterIndividualName ?? id), h("span", { class: `pill ${health[0]}` }, health[1])),
      h("div", { class: "muted" }, id),
      el ? h("div", { class: "muted" }, `${el.physicalElementName ?? el.physicalElementId} · ${el.physicalMeterClass ?? ""}`) : null,
      h("p", {}, l ? `Last reading ${dateTime(l.readingTime, tz)} (${ago(l.receivedAt)})` : "No reading seen by the edge."),
      faults.length ? h("p", { class: "notice bad" }, `Fault codes: ${faults.map((f) => `${f.propertyId}=${f.textValue}`).join(", ")}`) : null,
      mine.map((a) => h("p", { class: "notice bad" }, a.message)),
      values.length ? h("details", {}, h("summary", {}, `Last reading's ${values.length} values`),
        h("table", {}, h("tbody", {}, values.map((v) => h("tr", {}, h("td", {}, v.propertyDescription ?? v.propertyId),
          h("td", { class: "r" }, v.numericalValue ?? v.textValue ?? ""), h("td", {}, v.unit ?? "")))))) : null);
  }));
}
