// Households and meters: the household's meters, their last reading and health (silent when
// not heard for twice their interval), and what each electricity meter measures in the energy
// flow (grid, PV, battery, sub-meter), kept on the server.
import { edge, tariffs } from "../api.js";
import { ago, dateTime, empty, h, num } from "../format.js";
import { silent } from "./live.js";

const ROLES = [
  ["grid", "Grid connection"],
  ["pv", "PV (production)"],
  ["battery", "Battery"],
  ["submeter", "Sub-meter (part of the house)"],
];

export async function render(root, ctx) {
  const hh = ctx.household;
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Meters"),
    hh ? h("span", { class: "muted" }, `${hh.householdName ?? hh.householdId} · ${hh.timezone ?? "UTC"}`) : null));
  const box = h("div", { class: "grid two", "data-testid": "meters" });
  const status = h("p", { class: "muted", role: "status", "data-testid": "roles-saved" });
  root.append(box, status);
  let live = [];
  let alerts = [];
  if (ctx.config.edgeUrl !== null && ctx.config.edgeUrl !== undefined && (ctx.meters.length || !ctx.config.cloud)) {
    try {
      [live, alerts] = await Promise.all([edge("/v1/live").then((x) => x.items), edge("/v1/alerts").then((x) => x.active)]);
    } catch { /* health shows unknown */ }
  }
  const meters = ctx.config.cloud ? ctx.meters : live.map((m) => ({ meterIndividualId: m.meterId }));
  if (!meters.length) { box.replaceChildren(empty("No meter in this household yet.", "meters-empty")); return; }
  const roles = ctx.roles ?? new Map();
  box.replaceChildren(...meters.map((m) => {
    const id = m.meterIndividualId;
    const l = live.find((x) => x.meterId === id);
    const mine = alerts.filter((a) => a.meterId === id);
    const quiet = l && silent(l);
    const health = !l ? ["idle", "no live data"] : mine.length ? ["bad", `${mine.length} alert(s)`] : quiet ? ["warn", "silent"] : ["ok", "healthy"];
    const values = l?.reading?.propertyValues ?? [];
    const faults = values.filter((v) => v.textValue !== undefined && /fault|error|alarm/i.test(`${v.propertyId} ${v.propertyDescription ?? ""}`));
    const el = m.physicalMeterType;
    const electric = !el || el.physicalMeterClass === "ELECTRICITY";
    const select = electric && ctx.config.cloud ? h("select", { id: `role-${id}`, "data-testid": "meter-role", onchange: async (e) => {
      status.textContent = "Saving…";
      try {
        const items = await tariffs.setRoles(hh.householdId, [{ meterId: id, role: e.target.value }]);
        for (const item of items) roles.set(item.meterId, item.role);
        sessionStorage.removeItem(`omdp.cache.${hh.householdId}`); // the next load asks again
        status.textContent = `Saved: ${m.meterIndividualName ?? id} counts as ${e.target.selectedOptions[0].textContent}.`;
      } catch (err) { status.textContent = `Not saved: ${err.message}`; }
    } }, ROLES.map(([value, label]) => h("option", { value, selected: (roles.get(id) ?? "grid") === value }, label))) : null;
    return h("section", { class: "card", "data-meter": id },
      h("div", { class: "page-head", style: "margin:0 0 .5rem" }, h("h2", {}, m.meterIndividualName ?? id), h("span", { class: `pill ${health[0]}` }, health[1])),
      h("div", { class: "muted" }, id),
      el ? h("div", { class: "muted" }, `${el.physicalElementName ?? el.physicalElementId} · ${el.physicalMeterClass ?? ""}`) : null,
      select ? h("label", { class: "field", for: `role-${id}` }, "Counts as", select) : null,
      h("p", {}, l ? `Last reading ${dateTime(l.readingTime)} (${ago(l.receivedAt)}${l.intervalS ? `, about every ${num(l.intervalS, 0)} s` : ""})` : "No reading seen by the edge."),
      faults.length ? h("p", { class: "notice bad" }, `Fault codes: ${faults.map((f) => `${f.propertyId}=${f.textValue}`).join(", ")}`) : null,
      mine.map((a) => h("p", { class: "notice bad" }, a.message)),
      values.length ? h("details", {}, h("summary", {}, `Last reading's ${values.length} values`),
        h("table", {}, h("tbody", {}, values.map((v) => h("tr", {}, h("td", {}, v.propertyDescription ?? v.propertyId),
          h("td", { class: "r" }, v.numericalValue != null ? num(v.numericalValue, 3) : v.textValue ?? ""), h("td", {}, v.unit ?? "")))))) : null);
  }));
}
