// Registry (operators): households, meter elements, and creating an adapter configuration.
import { api } from "../api.js";
import { h } from "../format.js";

export async function render(root, ctx) {
  const [households, elements] = await Promise.all([
    api("/v1/households?limit=1000").then((x) => x.items),
    api("/v1/physicalMeterElements?limit=1000").then((x) => x.items).catch(() => []),
  ]);
  const result = h("div", { "data-testid": "adapter-result" });
  const err = h("p", { class: "error", role: "alert", style: "color:var(--bad)" });
  const form = h("form", { style: "display:grid;gap:.75rem", "data-testid": "adapter-form" },
    h("label", { class: "field", for: "ac-element" }, "Physical meter element",
      h("select", { id: "ac-element", required: true }, elements.map((e) => h("option", { value: e.physicalElementId }, `${e.physicalElementName ?? e.physicalElementId} (${e.physicalMeterClass ?? "?"})`)))),
    h("label", { class: "field", for: "ac-household" }, "Household",
      h("select", { id: "ac-household", required: true }, households.map((x) => h("option", { value: x.householdId, selected: x.householdId === ctx.household?.householdId }, x.householdName ?? x.householdId)))),
    h("label", { class: "field", for: "ac-name" }, "Meter name", h("input", { type: "text", id: "ac-name", placeholder: "e.g. Main meter, hallway" })),
    err, h("div", {}, h("button", { type: "submit" }, "Create meter and adapter file")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.textContent = "";
    const body = { physicalElementId: form.querySelector("#ac-element").value, householdId: form.querySelector("#ac-household").value };
    const name = form.querySelector("#ac-name").value.trim();
    if (name) body.meterIndividualName = name;
    try {
      const res = await api("/v1/adapterConfigurations?format=yaml", { method: "POST", body, raw: true, accept: "application/yaml" });
      const text = await res.text();
      const id = (res.headers.get("Location") ?? "").split("/").pop() || "adapter";
      const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
      result.replaceChildren(
        h("p", { class: "notice" }, "Meter created. The file holds the device's password, shown only now: keep it safe."),
        h("p", {}, h("a", { href: url, download: `adapter-${id}.yaml`, class: "button", "data-testid": "adapter-download" }, `Download adapter-${id}.yaml`)),
        h("pre", { class: "file" }, text));
    } catch (x) { err.textContent = x.message; }
  });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Registry")),
    h("div", { class: "grid two" },
      h("section", { class: "card" }, h("h2", {}, "Create an adapter configuration"), form, result),
      h("section", { class: "card" }, h("h2", {}, `Households (${households.length})`), h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Household"), h("th", {}, "Time zone"), h("th", { class: "r" }, "Size"))),
        h("tbody", {}, households.map((x) => h("tr", {}, h("td", {}, x.householdName ?? x.householdId), h("td", {}, x.timezone ?? "UTC"), h("td", { class: "r" }, x.householdSize ?? "–")))))))),
    h("section", { class: "card" }, h("h2", {}, `Meter elements (${elements.length})`), h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Element"), h("th", {}, "Class"), h("th", {}, "Properties"))),
      h("tbody", {}, elements.map((e) => h("tr", {}, h("td", {}, e.physicalElementName ?? e.physicalElementId), h("td", {}, e.physicalMeterClass ?? ""),
        h("td", {}, (e.physicalMeterOperationalProperties ?? []).map((p) => p.propertyId).join(", ")))))))));
}
