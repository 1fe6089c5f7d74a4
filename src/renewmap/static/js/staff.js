/* RenewMap staff workspace: my area's requests on the map and in a list (with a count of the
   new ones that arrive meanwhile), one request in full — the public reply and the internal note
   in separate forms, so a note can never go out with a public step — and patrols, tapped or
   recorded by the phone's GPS. Data from the scoped staff API; words and labels from the page's
   configuration. */
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
const markerOf = new Map();  // request id → its marker on the map
let selected = null;  // the id of the request shown in full
let templates = [];
let since = S.now;  // the list is complete up to this moment (the server's clock)

async function api(method, url, body) {
  const r = await call(method, url, { body, csrf: method === "GET" ? null : staffCsrf(), language: S.locale });
  if (r.status === 401) {
    location.href = `/staff/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  }
  return r;
}
const label = (table, code) => table[code] || code;
const actor = (a) => S.actors[a] || a;

// ---- the list and the map -----------------------------------------------------------------------

const FILL = (q) => (q.overdue ? "#c92a2a" : q.status === "new" || q.status === "reopened" ? "#e8590c" : "#1971c2");
const NORMAL = { radius: 8, weight: 2, color: "#fff" };
const CHOSEN = { radius: 13, weight: 4, color: "#212529" };

function highlight(id) {
  const before = markerOf.get(selected);
  if (before) before.setStyle(NORMAL);
  selected = id;
  const marker = markerOf.get(id);
  if (!marker) return;
  marker.setStyle(CHOSEN);
  marker.bringToFront();
  const where = marker.getLatLng();
  if (!map.getBounds().contains(where)) map.panTo(where, { animate: false });
}

async function clock() {
  // the server's clock: the list is complete up to it (new arrivals are counted from it)
  const r = await api("GET", `/api/staff/requests/arrivals?${new URLSearchParams({ community: S.community, since: since || S.now })}`);
  if (r.ok) since = r.data.now;
}

async function loadList() {
  await clock();
  const p = new URLSearchParams({ community: S.community, sort: $("#rm-f-sort").value, limit: 500 });
  for (const [k, id] of [["status", "#rm-f-status"], ["category", "#rm-f-category"], ["grid", "#rm-f-grid"], ["building", "#rm-f-building"]]) {
    if ($(id).value) p.set(k, $(id).value);
  }
  const r = await api("GET", `/api/staff/requests?${p}`);
  if (!r.ok) { $("#rm-count").textContent = errorText(r, T); return; }
  const fc = r.data;
  markers.clearLayers();
  markerOf.clear();
  const items = [];
  for (const f of fc.features) {
    const q = f.properties;
    if (q.receipt_code) byReceipt.set(q.receipt_code.toUpperCase(), f.id);
    const chosen = f.id === selected;
    let marker = null;
    const layer = L.geoJSON(f, { pointToLayer: (_, ll) => {
      marker = L.circleMarker(ll, Object.assign({ fillOpacity: 0.95, fillColor: FILL(q) }, chosen ? CHOSEN : NORMAL));
      return marker;
    } });
    layer.bindTooltip(() => h("span", {}, q.title));
    layer.on("click", () => showDetail(f.id));
    markers.addLayer(layer);
    if (marker) markerOf.set(f.id, marker);
    const late = q.overdue_reason === "property" ? T("The property company is late") : T("Overdue");
    const meta = dotted([label(S.categories, q.category), label(S.statuses, q.status),
      q.grid ? bdi(q.grid.name) : null, q.building ? bdi(q.building.name) : null,
      T("{n} days", { n: Math.floor(q.age_days) }), `+${q.supports}`]);
    items.push(h("li", {},
      h("button", { type: "button", class: "rm-open", dataset: { id: f.id } }, h("strong", {}, bdi(q.title))),
      h("div", { class: "rm-meta" }, meta,
        q.overdue ? [" · ", h("span", { class: "rm-overdue" }, late)] : null)));
  }
  fill($("#rm-list"), items);
  $("#rm-count").textContent = T("{n} requests", { n: fc.numberMatched });
  $("#rm-arrivals").hidden = true;
}

// ---- new requests arriving while the list is open ----------------------------------------------

async function poll() {
  if (!since) return;
  const p = new URLSearchParams({ community: S.community, since });
  const r = await api("GET", `/api/staff/requests/arrivals?${p}`);
  if (!r.ok) return;
  const button = $("#rm-arrivals");
  if (r.data.new > 0) {
    button.textContent = T("{n} new requests — show them", { n: r.data.new });
    button.hidden = false;
  }
}

$("#rm-arrivals").addEventListener("click", loadList);

// ---- one request in full --------------------------------------------------------------------------

function photoLinks(photos) {
  return h("div", { class: "rm-photos" }, photos.map((p) => h("figure", {},
    h("a", { href: p.url }, h("img", { src: p.thumbnail, alt: "", width: 96, height: 96 })),
    p.kind === "after" ? h("figcaption", {}, T("After")) : null)));
}

function historyItem(e) {
  return h("li", { class: e.public ? null : "rm-internal" },
    dotted([label(S.history, e.kind), formatTime(e.at, S.timeZone), e.actor ? bdi(actor(e.actor)) : null]),
    e.kind === "assign_property" && e.data && e.data.due
      ? h("div", {}, T("To be done by {due}", { due: e.data.due }), " · ", bdi((e.data.org || {}).name || ""))
      : null,
    e.note ? h("div", { class: "rm-text" }, e.note) : null,
    e.public ? null : [" ", h("em", {}, `(${T("internal")})`)]);
}

function actionButtons(actions, wanted) {
  return actions.filter((a) => wanted.includes(a)).map((a) => h("button", { type: "button", class: "rm-act",
    dataset: { action: a } }, label(S.actions, a)));
}

function publicForm(f, q) {
  const others = S.grids.filter((g) => !q.grid || g.code !== q.grid.code);
  const acts = q.actions;
  return h("form", { id: "rm-public-form", class: "rm-act-form", dataset: { id: f.id, version: q.version } },
    h("h3", {}, T("Reply to the resident (public)")),
    templates.length ? h("select", { id: "rm-template", "aria-label": T("Reply templates") },
      h("option", { value: "" }, T("Reply templates")),
      templates.map((t) => h("option", { value: t.id }, t.title))) : null,
    h("label", { for: "rm-reply-text" }, T("Public reply or reason — the resident reads it")),
    h("textarea", { id: "rm-reply-text", name: "note", maxlength: 2000, rows: 3 }),
    acts.some((a) => ["reply", "resolve", "property_done"].includes(a))
      ? [h("label", { for: "rm-reply-photos" }, T("Photos of the work (after), up to 3")),
        h("input", { id: "rm-reply-photos", name: "photos", type: "file", multiple: true,
          accept: "image/jpeg,image/png,image/webp" })] : null,
    acts.includes("transfer") ? h("select", { name: "target_grid", "aria-label": T("Transfer to grid") },
      h("option", { value: "" }, T("Transfer to grid")),
      others.map((g) => h("option", { value: g.code }, g.name))) : null,
    acts.includes("duplicate") ? h("input", { name: "duplicate_of", placeholder: T("Duplicate of (receipt code)"),
      "aria-label": T("Duplicate of (receipt code)") }) : null,
    acts.includes("assign_property") && S.propertyCompanies.length ? h("div", { class: "rm-assign" },
      h("select", { name: "org", "aria-label": T("Property company") },
        S.propertyCompanies.map((o) => h("option", { value: o.code }, o.name))),
      h("label", { for: "rm-due" }, T("To be done by")),
      h("input", { id: "rm-due", name: "due", type: "date", min: today(S.timeZone) })) : null,
    h("div", { id: "rm-reject-confirm", class: "rm-confirm", hidden: true, role: "alertdialog",
      "aria-labelledby": "rm-reject-question" },
      h("p", { id: "rm-reject-question" }, T("Reject this request? The resident will read this reason:")),
      h("blockquote", { id: "rm-reject-reason", class: "rm-text" }),
      h("button", { type: "button", id: "rm-reject-yes", class: "rm-danger" }, T("Yes, reject it")),
      h("button", { type: "button", id: "rm-reject-no" }, T("Cancel"))),
    h("p", { id: "rm-public-error", role: "alert", class: "rm-error" }),
    h("div", { class: "rm-actions" }, actionButtons(acts, S.publicActions)));
}

function internalForm(f, q) {
  const buttons = actionButtons(q.actions, S.internalActions);
  if (!buttons.length) return null;
  return h("form", { id: "rm-internal-form", class: "rm-act-form rm-internal", dataset: { id: f.id, version: q.version } },
    h("h3", {}, T("Internal note (staff only)")),
    h("label", { for: "rm-note-text" }, T("Only staff read this; it is never shown to the resident")),
    h("textarea", { id: "rm-note-text", name: "note", maxlength: 2000, rows: 2 }),
    h("p", { id: "rm-internal-error", role: "alert", class: "rm-error" }),
    h("div", { class: "rm-actions" }, buttons));
}

function deliberationForm(f) {
  return h("details", { id: "rm-deliberation" }, h("summary", {}, T("Record a deliberation (four parties)")),
    h("form", { id: "rm-deliberation-form", dataset: { id: f.id } },
      h("label", { for: "rm-dl-day" }, T("Held on")),
      h("input", { id: "rm-dl-day", name: "held_on", type: "date", required: true, value: today(S.timeZone) }),
      h("fieldset", {}, h("legend", {}, T("Parties present")),
        Object.entries(S.parties).map(([code, name]) => h("label", {},
          h("input", { type: "checkbox", name: "parties", value: code }), " ", name))),
      h("label", { for: "rm-dl-who" }, T("Attendees")),
      h("input", { id: "rm-dl-who", name: "attendees", required: true, maxlength: 1000 }),
      h("label", { for: "rm-dl-q" }, T("Question")),
      h("textarea", { id: "rm-dl-q", name: "question", required: true, maxlength: 2000, rows: 2 }),
      h("label", { for: "rm-dl-d" }, T("Decision")),
      h("textarea", { id: "rm-dl-d", name: "decision", required: true, maxlength: 2000, rows: 2 }),
      h("p", { id: "rm-dl-error", role: "alert", class: "rm-error" }),
      h("button", { type: "submit" }, T("Save (shown in the public history)"))));
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
  highlight(f.id);
  const meta = dotted([label(S.categories, q.category),
    h("strong", { id: "rm-d-status" }, label(S.statuses, q.status)), q.grid ? bdi(q.grid.name) : null,
    q.building ? bdi(q.building.name) : null, q.receipt_code]);
  const group = q.building_group;
  const task = q.property;
  fill(box,
    h("h2", { id: "rm-d-title" }, bdi(q.title)),
    h("p", { class: "rm-meta" }, meta),
    group ? h("p", { id: "rm-d-group" }, bdi(group.name),
      group.leaders.length ? [" · ", T("Building group leader"), ": ", bdi(group.leaders.join("、"))] : null) : null,
    task ? h("p", { id: "rm-d-property" },
      task.done ? T("Done by the property company") : T("With {org}, to be done by {due}", { org: task.org.name, due: task.due }),
      task.late ? [" · ", h("span", { class: "rm-overdue" }, T("The property company is late"))] : null) : null,
    q.description ? h("p", { class: "rm-text" }, q.description) : null,
    photoLinks(q.photos),
    answers(q),
    h("p", {}, `${T("Resident")}: `, bdi(q.nickname || "—"), " · ",
      q.phone ? h("a", { href: `tel:${q.phone}` }, q.phone) : "—",
      q.email ? [" · ", h("a", { href: `mailto:${q.email}` }, q.email)] : null),
    h("h3", {}, T("History")),
    h("ol", { id: "rm-d-history" }, q.history.map(historyItem)),
    group ? h("section", { id: "rm-volunteers", hidden: true }) : null,
    publicForm(f, q),
    internalForm(f, q),
    q.actions.includes("assign_property") ? deliberationForm(f) : null);
  box.hidden = false;
  box.focus();
  if (group) showVolunteers(group);
}

// The building group's party-member volunteers (their phones for staff covering the group):
// whom the grid can ask to look; listed only with their recorded consent.
async function showVolunteers(group) {
  const r = await api("GET", `/api/staff/building-groups/${encodeURIComponent(group.code)}/volunteers`);
  const box = $("#rm-volunteers");
  if (!box || !r.ok) return;  // not covering the group (the property company): nothing shown
  fill(box,
    h("h3", {}, T("Party-member volunteers")),
    h("ul", { class: "rm-plain" }, r.data.volunteers.length ? r.data.volunteers.map((v) => h("li", {},
      bdi(v.name), " · ", v.phone ? h("a", { href: `tel:${v.phone}` }, v.phone) : "—", " ",
      h("button", { type: "button", class: "rm-v-remove", dataset: { id: v.id, group: group.code } }, T("Remove")))) : h("li", {}, "—")),
    h("form", { id: "rm-v-form", dataset: { group: group.code } },
      h("input", { name: "name", required: true, maxlength: 100, placeholder: T("Name"), "aria-label": T("Name") }),
      h("input", { name: "phone", maxlength: 32, placeholder: T("Phone"), "aria-label": T("Phone") }),
      h("label", {}, h("input", { type: "checkbox", name: "consent", required: true }), " ",
        T("They agreed to be listed")),
      h("p", { id: "rm-v-error", role: "alert", class: "rm-error" }),
      h("button", { type: "submit" }, T("Add a volunteer"))));
  box.hidden = false;
}

async function send(form, action, errorBox) {
  const body = { action, version: Number(form.dataset.version) };
  const text = form.note.value.trim();  // this form's own field, and no other
  if (text) body.note = text;
  if (form.target_grid && form.target_grid.value) body.target_grid = form.target_grid.value;
  if (form.org && action === "assign_property") body.org = form.org.value;
  if (form.due && form.due.value && action === "assign_property") body.due = form.due.value;
  const duplicate = form.duplicate_of ? form.duplicate_of.value.trim().toUpperCase() : "";
  if (duplicate && action === "duplicate") {
    // people name a request by its receipt code (on the list and on every receipt)
    const id = byReceipt.get(duplicate);
    if (id == null) {
      errorBox.textContent = T("No request with receipt code {code} in your list", { code: duplicate });
      return;
    }
    body.duplicate_of = id;
  }
  const files = form.photos ? [...form.photos.files] : [];
  let r;
  if (files.length) {
    const data = new FormData();
    for (const [k, v] of Object.entries(body)) data.append(k, String(v));
    for (const file of files) data.append("photos", file);
    r = await api("POST", `/api/staff/requests/${form.dataset.id}/actions/with-photos`, data);
  } else {
    r = await api("POST", `/api/staff/requests/${form.dataset.id}/actions`, body);
  }
  if (!r.ok) {
    const message = errorText(r, T);
    errorBox.textContent = message;
    if (r.status === 409) {
      showDetail(form.dataset.id).then(() => { errorBox.textContent = message; });
    }
    return;
  }
  await loadList();
  if (r.data.in_your_area === false) { $("#rm-detail").hidden = true; return; }
  showDetail(form.dataset.id);
}

document.addEventListener("click", async (e) => {
  const open = e.target.closest(".rm-open");
  if (open) { showDetail(Number(open.dataset.id)); return; }
  if (e.target.id === "rm-reject-no") { $("#rm-reject-confirm").hidden = true; return; }
  if (e.target.id === "rm-reject-yes") {
    $("#rm-reject-confirm").hidden = true;
    send($("#rm-public-form"), "reject", $("#rm-public-error"));
    return;
  }
  const act = e.target.closest(".rm-act");
  if (!act) return;
  const form = act.closest("form");
  const errorBox = form.id === "rm-public-form" ? $("#rm-public-error") : $("#rm-internal-error");
  errorBox.textContent = "";
  const action = act.dataset.action;
  if (action === "reject") {
    // a rejection is final for the resident: say the public reason, then confirm it
    const reason = form.note.value.trim();
    if (!reason) { errorBox.textContent = T("Write the public reason for the rejection first"); return; }
    $("#rm-reject-reason").textContent = reason;
    $("#rm-reject-confirm").hidden = false;
    $("#rm-reject-yes").focus();
    return;
  }
  send(form, action, errorBox);
});

document.addEventListener("change", (e) => {
  if (e.target.id !== "rm-template") return;
  const chosen = templates.find((t) => String(t.id) === e.target.value);
  if (chosen) $("#rm-reply-text").value = chosen.body;
});

document.addEventListener("submit", async (e) => {
  if (e.target.id !== "rm-v-form") return;
  e.preventDefault();
  const form = e.target;
  const url = `/api/staff/building-groups/${encodeURIComponent(form.dataset.group)}/volunteers`;
  const r = await api("POST", url, { name: form.name.value, phone: form.phone.value || null,
    consent: form.consent.checked });
  if (!r.ok) { $("#rm-v-error").textContent = errorText(r, T); return; }
  showVolunteers({ code: form.dataset.group });
});

document.addEventListener("click", async (e) => {
  const button = e.target.closest(".rm-v-remove");
  if (!button) return;
  const url = `/api/staff/building-groups/${encodeURIComponent(button.dataset.group)}/volunteers/${button.dataset.id}`;
  const r = await api("DELETE", url);
  if (!r.ok) { $("#rm-v-error").textContent = errorText(r, T); return; }
  showVolunteers({ code: button.dataset.group });
});

document.addEventListener("submit", async (e) => {
  if (e.target.id !== "rm-deliberation-form") return;
  e.preventDefault();
  const form = e.target;
  const body = { community: S.community, request: Number(form.dataset.id), held_on: form.held_on.value,
    parties: [...form.querySelectorAll("input[name=parties]:checked")].map((c) => c.value),
    attendees: form.attendees.value, question: form.question.value, decision: form.decision.value };
  const r = await api("POST", "/api/staff/deliberations", body);
  if (!r.ok) { $("#rm-dl-error").textContent = errorText(r, T); return; }
  showDetail(Number(form.dataset.id));
});

for (const id of ["#rm-f-status", "#rm-f-category", "#rm-f-grid", "#rm-f-building", "#rm-f-sort"]) {
  $(id).addEventListener("change", loadList);
}
$("#rm-signout").addEventListener("click", async () => {
  await api("DELETE", "/api/staff/session");
  location.href = "/staff/login";
});

// ---- patrols: the route tapped on the map, or recorded by the phone's GPS ---------------------------
const patrolForm = $("#rm-patrol-form");
const route = [];
let routeSource = "tap";
let watch = null;
const routeLine = L.polyline([], { color: "#1c7c54", weight: 4, dashArray: "6 6" }).addTo(map);
const patrolOpen = () => $("#rm-patrol") && $("#rm-patrol").open;
function redrawRoute() { routeLine.setLatLngs(route); $("#rm-p-points").textContent = route.length; }
// Findings: "place it" makes the next tap the finding's spot instead of a route point.
const findings = [];
const findingMarks = L.layerGroup().addTo(map);
let placing = false;
function listFindings() {
  fill($("#rm-p-findings"), findings.map((f) => h("li", {}, `${label(S.categories, f.category)} · ${f.title}`)));
}

// A fix counts when it is accurate to 30 m and at least 2 m from the last one kept (a phone
// standing still keeps reporting; the server simplifies the line again).
const GPS_ACCURACY_M = 30;
const GPS_STEP_M = 2;
function onFix(position) {
  const c = position.coords;
  if (c.accuracy > GPS_ACCURACY_M) {
    $("#rm-p-gps").textContent = T("Waiting for a better GPS fix (±{m} m)", { m: Math.round(c.accuracy) });
    return;
  }
  const here = L.latLng(c.latitude, c.longitude);
  const last = route[route.length - 1];
  if (last && map.distance(last, here) < GPS_STEP_M) return;
  route.push(here);
  redrawRoute();
  $("#rm-p-gps").textContent = T("Recording: {n} points", { n: route.length });
}
function stopGps() {
  if (watch !== null) navigator.geolocation.clearWatch(watch);
  watch = null;
  $("#rm-p-gps-start").hidden = false;
  $("#rm-p-gps-stop").hidden = true;
}

if (patrolForm) {
  $("#rm-p-f-place").addEventListener("click", () => {
    if (!$("#rm-p-f-title").value.trim()) { $("#rm-p-error").textContent = T("Say what was found first"); return; }
    placing = true;
    $("#rm-p-error").textContent = T("Now tap the spot on the map");
  });
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
    if (watch !== null) return;  // while the GPS records, taps do not add to the route
    routeSource = "tap";
    route.push(e.latlng);
    redrawRoute();
  });
  $("#rm-p-undo").addEventListener("click", () => { route.pop(); redrawRoute(); });
  $("#rm-p-gps-start").addEventListener("click", () => {
    if (!navigator.geolocation) { $("#rm-p-gps").textContent = T("This browser cannot use GPS"); return; }
    route.length = 0;
    redrawRoute();
    routeSource = "gps";
    $("#rm-p-gps-start").hidden = true;
    $("#rm-p-gps-stop").hidden = false;
    $("#rm-p-gps").textContent = T("Recording: {n} points", { n: 0 });
    watch = navigator.geolocation.watchPosition(onFix, (err) => {
      // without permission there is nothing to record; a lost fix (under a roof, between
      // tall buildings) is only a gap: recording goes on
      if (err.code === err.PERMISSION_DENIED) {
        $("#rm-p-gps").textContent = T("GPS permission was refused");
        stopGps();
      } else {
        $("#rm-p-gps").textContent = T("No GPS fix");
      }
    }, { enableHighAccuracy: true, maximumAge: 0 });
  });
  $("#rm-p-gps-stop").addEventListener("click", () => {
    stopGps();
    $("#rm-p-gps").textContent = T("Recorded {n} points", { n: route.length });
  });
  $("#rm-p-day").value = today(S.timeZone);
  patrolForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    $("#rm-p-error").textContent = "";
    stopGps();
    const body = { community: S.community, grids: f.grid.value.split(","), day: f.day.value,
      participants: f.participants.value, notes: f.notes.value || null,
      study_topic: f.study_topic.value || null, study_attendees: f.study_attendees.value || null };
    if (route.length === 1) { $("#rm-p-error").textContent = T("A route needs at least two points"); return; }
    if (route.length > 1) {
      body.route = { type: "LineString", coordinates: route.map((p) => [p.lng, p.lat]) };
      body.route_source = routeSource;
    }
    body.findings = findings;
    const r = await api("POST", "/api/staff/patrols", body);
    if (!r.ok) { $("#rm-p-error").textContent = errorText(r, T); return; }
    const out = r.data;
    $("#rm-p-result").textContent = T("Patrol of {day} saved", { day: out.day }) +
      (out.findings.length ? ` · ${T("{n} findings sent as requests", { n: out.findings.length })}` : "");
    route.length = 0;
    if (out.route) {  // the line as kept (a GPS track simplified)
      for (const line of out.route.coordinates) route.push(...line.map(([x, y]) => L.latLng(y, x)));
    }
    redrawRoute();
    route.length = 0;
    $("#rm-p-points").textContent = 0;
    findings.length = 0;
    findingMarks.clearLayers();
    listFindings();
    loadList();
    f.reset();
    $("#rm-p-gps").textContent = "";
    $("#rm-p-day").value = today(S.timeZone);
  });
}

async function loadTemplates() {
  const r = await api("GET", `/api/staff/reply-templates?community=${encodeURIComponent(S.community)}`);
  if (!r.ok) return;
  templates = r.data;
  const list = $("#rm-t-list");  // the community's admins keep them here
  if (!list) return;
  fill(list, templates.map((t) => h("li", {}, h("strong", {}, bdi(t.title)), " ",
    h("span", { class: "rm-text" }, t.body), " ",
    h("button", { type: "button", class: "rm-t-remove", dataset: { id: t.id } }, T("Remove")))));
}

if ($("#rm-t-form")) {
  $("#rm-t-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await api("POST", "/api/staff/reply-templates",
      { community: S.community, title: f.title.value, body: f.body.value });
    if (!r.ok) { $("#rm-t-error").textContent = errorText(r, T); return; }
    $("#rm-t-error").textContent = "";
    f.reset();
    loadTemplates();
  });
  $("#rm-t-list").addEventListener("click", async (e) => {
    const button = e.target.closest(".rm-t-remove");
    if (!button) return;
    const r = await api("DELETE", `/api/staff/reply-templates/${button.dataset.id}`);
    if (!r.ok) { $("#rm-t-error").textContent = errorText(r, T); return; }
    loadTemplates();
  });
}

loadTemplates();
loadList();
setInterval(poll, S.pollSeconds * 1000);
