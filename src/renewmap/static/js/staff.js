/* RenewMap staff workspace: my area's requests on the map and in a list, one request in
   full, and the workflow buttons; patrols. Data from the scoped staff API; words and labels
   from the page's configuration. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, bdi, dotted, fill, h, readConfig } from "./lib/dom.js";
import { formatTime, today, translator } from "./lib/i18n.js";
import { latLngBounds, siteMap } from "./lib/sitemap.js";

const S = readConfig();
const T = translator(S.t);
const map = siteMap($("#rm-map"), S.plan);
map.fitBounds(latLngBounds(S.bounds), { padding: [8, 8], animate: false });
const markers = L.layerGroup().addTo(map);
const byReceipt = new Map();  // receipt code → request id, of the requests listed

async function api(method, url, body) {
  const r = await call(method, url, { body, csrf: method === "GET" ? null : staffCsrf(), language: S.locale });
  if (r.status === 401) {
    location.href = `/staff/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  }
  return r;
}
const label = (table, code) => table[code] || code;
const actor = (a) => S.actors[a] || a;

async function loadList() {
  const p = new URLSearchParams({ community: S.community, sort: $("#rm-f-sort").value, limit: 500 });
  for (const [k, id] of [["status", "#rm-f-status"], ["category", "#rm-f-category"], ["grid", "#rm-f-grid"], ["building", "#rm-f-building"]]) {
    if ($(id).value) p.set(k, $(id).value);
  }
  const r = await api("GET", `/api/staff/requests?${p}`);
  if (!r.ok) { $("#rm-count").textContent = errorText(r, T); return; }
  const fc = r.data;
  markers.clearLayers();
  const items = [];
  for (const f of fc.features) {
    const q = f.properties;
    if (q.receipt_code) byReceipt.set(q.receipt_code.toUpperCase(), f.id);
    const layer = L.geoJSON(f, { pointToLayer: (_, ll) => L.circleMarker(ll, {
      radius: 8, weight: 2, color: "#fff", fillOpacity: 0.95,
      fillColor: q.overdue ? "#c92a2a" : q.status === "new" || q.status === "reopened" ? "#e8590c" : "#1971c2" }) });
    layer.bindTooltip(() => h("span", {}, q.title));
    layer.on("click", () => showDetail(f.id));
    markers.addLayer(layer);
    const meta = dotted([label(S.categories, q.category), label(S.statuses, q.status),
      q.grid ? bdi(q.grid.name) : null, T("{n} days", { n: Math.floor(q.age_days) }), `+${q.supports}`]);
    items.push(h("li", {},
      h("button", { type: "button", class: "rm-open", dataset: { id: f.id } }, h("strong", {}, bdi(q.title))),
      h("div", { class: "rm-meta" }, meta,
        q.overdue ? [" · ", h("span", { class: "rm-overdue" }, T("Overdue"))] : null)));
  }
  fill($("#rm-list"), items);
  $("#rm-count").textContent = T("{n} requests", { n: fc.numberMatched });
}

function historyItem(e) {
  return h("li", { class: e.public ? null : "rm-internal" },
    dotted([label(S.history, e.kind), formatTime(e.at, S.timeZone), e.actor ? bdi(actor(e.actor)) : null]),
    e.note ? h("div", { class: "rm-text" }, e.note) : null,
    e.public ? null : [" ", h("em", {}, `(${T("internal")})`)]);
}

// The answers to the category's questions, each under its question and in words.
function answers(q) {
  const asked = S.questions[q.category] || [];
  const rows = asked.filter((a) => q.answers[a.code] != null).map((a) => {
    const given = [].concat(q.answers[a.code]);
    const words = given.map((v) => (a.values.find((c) => c.key === v) || { label: v }).label);
    return h("tr", {}, h("th", {}, a.label), h("td", {}, bdi(words.join("、"))));
  });
  return rows.length ? h("table", { class: "rm-fields rm-answers" }, rows) : null;
}

async function showDetail(id) {
  const r = await api("GET", `/api/staff/requests/${id}`);
  const box = $("#rm-detail");
  if (!r.ok) { box.hidden = false; fill(box, errorText(r, T)); return; }
  const f = r.data;
  const q = f.properties;
  const meta = dotted([label(S.categories, q.category),
    h("strong", { id: "rm-d-status" }, label(S.statuses, q.status)), q.grid ? bdi(q.grid.name) : null,
    q.receipt_code]);
  const others = S.grids.filter((g) => !q.grid || g.code !== q.grid.code);
  fill(box,
    h("h2", { id: "rm-d-title" }, bdi(q.title)),
    h("p", { class: "rm-meta" }, meta),
    q.description ? h("p", { class: "rm-text" }, q.description) : null,
    h("div", {}, q.photos.map((p) => h("a", { href: p.url },
      h("img", { src: p.thumbnail, alt: "", width: 96, height: 96 })))),
    answers(q),
    h("p", {}, `${T("Resident")}: `, bdi(q.nickname || "—"), " · ",
      q.phone ? h("a", { href: `tel:${q.phone}` }, q.phone) : "—",
      q.email ? [" · ", h("a", { href: `mailto:${q.email}` }, q.email)] : null),
    h("h3", {}, T("History")),
    h("ol", { id: "rm-d-history" }, q.history.map(historyItem)),
    h("form", { id: "rm-act-form", dataset: { id: f.id, version: q.version } },
      h("label", { for: "rm-act-note" }, T("Reply, reason or note")),
      h("textarea", { id: "rm-act-note", name: "note", maxlength: 2000, rows: 3 }),
      h("select", { name: "target_grid", "aria-label": T("Transfer to grid") },
        h("option", { value: "" }, T("Transfer to grid")),
        others.map((g) => h("option", { value: g.code }, g.name))),
      h("input", { name: "duplicate_of", placeholder: T("Duplicate of (receipt code)"),
        "aria-label": T("Duplicate of (receipt code)") }),
      h("p", { id: "rm-act-error", role: "alert", class: "rm-error" }),
      h("div", { class: "rm-actions" }, q.actions.map((a) => h("button", { type: "button", class: "rm-act",
        dataset: { action: a } }, label(S.actions, a))))));
  box.hidden = false;
  box.focus();
}

document.addEventListener("click", async (e) => {
  const open = e.target.closest(".rm-open");
  if (open) { showDetail(open.dataset.id); return; }
  const act = e.target.closest(".rm-act");
  if (!act) return;
  const form = act.closest("form");
  const body = { action: act.dataset.action, version: Number(form.dataset.version) };
  if (form.note.value.trim()) body.note = form.note.value;
  if (form.target_grid.value) body.target_grid = form.target_grid.value;
  const duplicate = form.duplicate_of.value.trim().toUpperCase();
  if (duplicate) {
    // people name a request by its receipt code (on the list and on every receipt)
    const id = byReceipt.get(duplicate);
    if (id == null) {
      $("#rm-act-error").textContent = T("No request with receipt code {code} in your list", { code: duplicate });
      return;
    }
    body.duplicate_of = id;
  }
  const r = await api("POST", `/api/staff/requests/${form.dataset.id}/actions`, body);
  if (!r.ok) {
    const message = errorText(r, T);
    $("#rm-act-error").textContent = message;
    if (r.status === 409) showDetail(form.dataset.id).then(() => { $("#rm-act-error").textContent = message; });
    return;
  }
  await loadList();
  if (r.data.in_your_area === false) { $("#rm-detail").hidden = true; return; }
  showDetail(form.dataset.id);
});
for (const id of ["#rm-f-status", "#rm-f-category", "#rm-f-grid", "#rm-f-building", "#rm-f-sort"]) {
  $(id).addEventListener("change", loadList);
}
$("#rm-signout").addEventListener("click", async () => {
  await api("DELETE", "/api/staff/session");
  location.href = "/staff/login";
});

// ---- patrols: the route is drawn by tapping the map while the form is open -------------------
const route = [];
const routeLine = L.polyline([], { color: "#1c7c54", weight: 4, dashArray: "6 6" }).addTo(map);
const patrolOpen = () => $("#rm-patrol").open;
function redrawRoute() { routeLine.setLatLngs(route); $("#rm-p-points").textContent = route.length; }
// Findings: "place it" makes the next tap the finding's spot instead of a route point.
const findings = [];
const findingMarks = L.layerGroup().addTo(map);
let placing = false;
$("#rm-p-f-place").addEventListener("click", () => {
  if (!$("#rm-p-f-title").value.trim()) { $("#rm-p-error").textContent = T("Say what was found first"); return; }
  placing = true;
  $("#rm-p-error").textContent = T("Now tap the spot on the map");
});
function listFindings() {
  fill($("#rm-p-findings"), findings.map((f) => h("li", {}, `${label(S.categories, f.category)} · ${f.title}`)));
}
map.on("click", (e) => {
  if (!patrolOpen()) return;
  if (placing) {
    placing = false;
    $("#rm-p-error").textContent = "";
    findings.push({ category: $("#rm-p-f-category").value, title: $("#rm-p-f-title").value.trim(),
      geometry: { type: "Point", coordinates: [e.latlng.lng, e.latlng.lat] } });
    L.circleMarker(e.latlng, { radius: 7, color: "#c92a2a" }).addTo(findingMarks);
    $("#rm-p-f-title").value = "";
    listFindings();
    return;
  }
  route.push(e.latlng);
  redrawRoute();
});
$("#rm-p-undo").addEventListener("click", () => { route.pop(); redrawRoute(); });
$("#rm-p-day").value = today(S.timeZone);
$("#rm-patrol-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  $("#rm-p-error").textContent = "";
  const body = { community: S.community, grid: f.grid.value, day: f.day.value,
    participants: f.participants.value, notes: f.notes.value || null };
  if (route.length === 1) { $("#rm-p-error").textContent = T("A route needs at least two points"); return; }
  if (route.length > 1) body.route = { type: "LineString", coordinates: route.map((p) => [p.lng, p.lat]) };
  body.findings = findings;
  const r = await api("POST", "/api/staff/patrols", body);
  if (!r.ok) { $("#rm-p-error").textContent = errorText(r, T); return; }
  const out = r.data;
  $("#rm-p-result").textContent = T("Patrol of {day} saved", { day: out.day }) +
    (out.findings.length ? ` · ${T("{n} findings sent as requests", { n: out.findings.length })}` : "");
  route.length = 0;
  findings.length = 0;
  findingMarks.clearLayers();
  listFindings();
  loadList();
  redrawRoute();
  f.reset();
  $("#rm-p-day").value = today(S.timeZone);
});
loadList();
