// Alerts (APP-4): the edge rules' active and past alerts, live. Rules live in the edge's
// configuration; the edge has no endpoint to change them, so thresholds are shown read-only.
import { edge } from "../api.js";
import { ago, dateTime, h } from "../format.js";

export async function render(root, ctx) {
  const tz = ctx.household?.timezone;
  const mine = new Set(ctx.meters.map((m) => m.meterIndividualId));
  const ours = (a) => mine.size === 0 || mine.has(a.meterId);
  const activeBox = h("div", { "data-testid": "alerts-active" });
  const recentBox = h("div", { class: "table-wrap", "data-testid": "alerts-recent" });
  const rulesBox = h("div", { class: "table-wrap" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Alerts")),
    h("section", { class: "card" }, h("h2", {}, "Active now"), activeBox),
    h("section", { class: "card" }, h("h2", {}, "Recent changes"), recentBox),
    h("section", { class: "card" }, h("h2", {}, "Rules"), rulesBox,
      h("p", { class: "muted" }, "Thresholds are set in the edge's configuration (rules); they are shown here read-only.")));
  let data = { active: [], recent: [] };

  function draw() {
    const active = data.active.filter(ours);
    activeBox.replaceChildren(active.length
      ? h("div", {}, active.map((a) => h("div", { class: "alert-item" },
        h("span", { class: "pill bad" }, "active"),
        h("div", { class: "what" }, h("strong", {}, a.message),
          h("div", { class: "muted" }, `${a.meterId} · rule ${a.ruleId} · since ${dateTime(a.since, tz)} (${ago(a.since)})`)))))
      : h("p", { class: "muted" }, "Nothing is wrong: no alert is active."));
    const recent = data.recent.filter(ours);
    recentBox.replaceChildren(recent.length ? h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "State"), h("th", {}, "Meter"), h("th", {}, "Message"))),
      h("tbody", {}, recent.map((a) => h("tr", {},
        h("td", {}, dateTime(a.at, tz)),
        h("td", {}, h("span", { class: `pill ${a.state === "raised" ? "bad" : "ok"}` }, a.state)),
        h("td", {}, a.meterId), h("td", {}, a.message)))))
      : h("p", { class: "muted" }, "No alert so far."));
    const rules = new Map();
    for (const a of [...data.active, ...data.recent]) if (!rules.has(a.ruleId)) rules.set(a.ruleId, a);
    rulesBox.replaceChildren(rules.size ? h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Rule"), h("th", { class: "r" }, "Threshold"), h("th", {}, "Last seen"))),
      h("tbody", {}, [...rules.values()].map((a) => h("tr", {}, h("td", {}, a.ruleId),
        h("td", { class: "r" }, a.threshold ?? "–"), h("td", {}, ago(a.at))))))
      : h("p", { class: "muted" }, "The edge's rules show here once they have fired."));
  }

  try {
    data = await edge("/v1/alerts");
  } catch (err) {
    root.prepend(h("p", { class: "notice bad" }, `The edge does not answer: ${err.message}`));
  }
  draw();
  const onAlert = (e) => {
    const a = e.detail;
    data.recent.unshift(a);
    data.active = data.active.filter((x) => !(x.ruleId === a.ruleId && x.meterId === a.meterId));
    if (a.state === "raised") data.active.push(a);
    draw();
  };
  ctx.hub.addEventListener("alert", onAlert);
  return () => ctx.hub.removeEventListener("alert", onAlert);
}
