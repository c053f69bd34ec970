// Alerts (APP-4): the edge rules' active and past alerts of the household's meters (by name),
// live; browser notifications while the app is open. Rules live in the edge's configuration;
// the edge lists them (GET /v1/rules) but has no endpoint to change them: shown read-only.
import { edge } from "../api.js";
import { ago, dateTime, empty, h } from "../format.js";

const num = (v) => (v == null ? "?" : String(v));

/** A rule's condition in words, from its configuration. */
function condition(r) {
  const prop = r.propertyId ?? "any register";
  const lasting = r.durationS ? ` for ${r.durationS} s` : "";
  switch (r.kind) {
    case "threshold":
      return [r.above != null ? `${prop} above ${r.above}` : null,
        r.below != null ? `${prop} below ${r.below}` : null].filter(Boolean).join(" or ") + lasting;
    case "silence":
      return `no reading for ${r.intervals} × ${r.intervalS} s`;
    case "register_backwards":
      return `${prop} goes backwards`;
    case "physical_range":
      return `${prop} outside ${num(r.minimum)} … ${num(r.maximum)}`;
    default:
      return r.kind;
  }
}

function notifications() {
  const box = h("p", { class: "muted", "data-testid": "notifications" });
  const show = () => {
    if (!("Notification" in window)) { box.textContent = "This browser cannot show notifications."; return; }
    if (Notification.permission === "granted") {
      box.replaceChildren("Notifications are on: a new alert shows as a notification while the app is open.");
      return;
    }
    if (Notification.permission === "denied") {
      box.textContent = "Notifications are blocked for this site in the browser's settings.";
      return;
    }
    box.replaceChildren(h("button", { type: "button", class: "ghost", "data-testid": "enable-notifications",
      onclick: () => Notification.requestPermission().then(show) }, "Turn on notifications"),
    " to hear of a new alert while the app is open in another tab.");
  };
  show();
  return box;
}

export async function render(root, ctx) {
  const mine = new Set(ctx.meters.map((m) => m.meterIndividualId));
  const ours = (a) => !ctx.config.cloud || mine.has(a.meterId);
  const name = (id) => ctx.meterName?.(id) ?? id;
  const activeBox = h("div", { "data-testid": "alerts-active" });
  const recentBox = h("div", { class: "table-wrap", "data-testid": "alerts-recent" });
  const rulesBox = h("div", { class: "table-wrap" });
  root.append(h("div", { class: "page-head" }, h("h1", {}, "Alerts"), notifications()),
    h("section", { class: "card" }, h("h2", {}, "Active now"), activeBox),
    h("section", { class: "card" }, h("h2", {}, "Recent changes"), recentBox),
    h("section", { class: "card" }, h("h2", {}, "Rules"), rulesBox,
      h("p", { class: "muted" }, "Rules are set in the edge's configuration (rules); they are shown here read-only.")));
  let data = { active: [], recent: [] };
  let configured = null; // the edge's rules; null when it does not list them

  function draw() {
    const active = data.active.filter(ours);
    activeBox.replaceChildren(active.length
      ? h("div", {}, active.map((a) => h("div", { class: "alert-item" },
        h("span", { class: "pill bad" }, "active"),
        h("div", { class: "what" }, h("strong", {}, a.message),
          h("div", { class: "muted" }, `${name(a.meterId)} · rule ${a.ruleId} · since ${dateTime(a.since)} (${ago(a.since)})`)))))
      : empty("Nothing is wrong: no alert is active."));
    const recent = data.recent.filter(ours);
    recentBox.replaceChildren(recent.length ? h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "State"), h("th", {}, "Meter"), h("th", {}, "Message"))),
      h("tbody", {}, recent.map((a) => h("tr", {},
        h("td", {}, dateTime(a.at)),
        h("td", {}, h("span", { class: `pill ${a.state === "raised" ? "bad" : "ok"}` }, a.state)),
        h("td", {}, name(a.meterId)), h("td", {}, a.message)))))
      : empty("No alert so far."));
    const fired = new Map();
    for (const a of [...data.active, ...data.recent]) if (!fired.has(a.ruleId)) fired.set(a.ruleId, a);
    const rules = configured ?? [...fired.values()].map((a) => ({ id: a.ruleId, threshold: a.threshold }));
    rulesBox.replaceChildren(rules.length ? h("table", { "data-testid": "alert-rules" },
      h("thead", {}, h("tr", {}, h("th", {}, "Rule"), h("th", {}, "When"), h("th", {}, "Meter"), h("th", {}, "Last fired"))),
      h("tbody", {}, rules.map((r) => h("tr", {}, h("td", {}, r.message ?? r.id),
        h("td", {}, r.kind ? condition(r) : `threshold ${r.threshold ?? "–"}`),
        h("td", {}, r.meterId ? name(r.meterId) : "all"),
        h("td", {}, fired.has(r.id) ? ago(fired.get(r.id).at) : "not yet")))))
      : empty("The edge has no alert rules."));
  }

  try {
    data = await edge("/v1/alerts");
    configured = (await edge("/v1/rules").catch(() => null))?.items ?? null;
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
