/* RenewMap boundary administration: load a grid set (GeoJSON), see the draft and its problems
   on the map, publish it; or draw grids by tapping their corners. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, bdi, fill, h, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";
import { siteMap } from "./lib/sitemap.js";

const B = readConfig();
const T = translator(B.t);
const map = siteMap($("#rm-map"), B.plan, { padding: [8, 8] });
const draftLayer = L.layerGroup().addTo(map);
let draftId = null;
const base = `/api/staff/communities/${encodeURIComponent(B.community)}/grid-drafts`;
const send = (method, url, body) => call(method, url, { body, csrf: staffCsrf(), language: B.locale });
const text = (value) => () => h("span", {}, value);

function show(features, report) {
  draftLayer.clearLayers();
  L.geoJSON(features, { style: { color: "#1c7c54", weight: 3, fillOpacity: 0.1, dashArray: "4 4" },
    onEachFeature: (f, l) => l.bindTooltip(text(`${f.properties.code} ${f.properties.name || ""}`)) }).addTo(draftLayer);
  L.geoJSON({ type: "FeatureCollection", features: report.issues.filter((i) => i.geometry) }, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 9, color: "#c92a2a", fillOpacity: 0.8 }),
    onEachFeature: (f, l) => l.bindTooltip(text(f.properties.message)),
  }).addTo(draftLayer);
  fill($("#rm-issues"), report.issues.length
    ? report.issues.map((i) => h("li", { class: `rm-issue-${i.properties.kind}` },
      i.geometry ? button(i.properties.message, () => zoomTo(i)) : i.properties.message))
    : h("li", {}, T("No problems found")));
  $("#rm-publish").hidden = false;
}

async function check(features) {
  $("#rm-b-error").textContent = "";
  const r = await send("POST", base, features);
  if (!r.ok) { $("#rm-b-error").textContent = errorText(r, T); return; }
  draftId = r.data.id;
  show(features, r.data.report);
}

$("#rm-draft-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const file = $("#rm-draft-file").files[0];
  if (!file) return;
  let features;
  try {
    features = JSON.parse(await file.text());
  } catch {
    $("#rm-b-error").textContent = T("{file} is not valid JSON", { file: file.name });
    return;
  }
  check(features);
});

// ---- drawing: start from the current grids (or nothing), redraw or add grids by tapping ----
let drawn = { type: "FeatureCollection", features: [] };
const corners = [];
const outline = L.polygon([], { color: "#c92a2a", weight: 3, dashArray: "4 4", fillOpacity: 0.1 }).addTo(map);
const sketch = L.layerGroup().addTo(map);
function redrawSketch() {
  outline.setLatLngs(corners);
  $("#rm-d-points").textContent = corners.length;
  sketch.clearLayers();
  L.geoJSON(drawn, { style: { color: "#1c7c54", weight: 2, fillOpacity: 0.05 } }).addTo(sketch);
  fill($("#rm-d-codes"), drawn.features.map((f) => h("option", { value: f.properties.code })));
  $("#rm-d-check").hidden = drawn.features.length === 0;
}
map.on("click", (e) => { corners.push(e.latlng); redrawSketch(); });
$("#rm-d-undo").addEventListener("click", () => { corners.pop(); redrawSketch(); });
$("#rm-d-current").addEventListener("click", async () => {
  const r = await call("GET", `/api/communities/${encodeURIComponent(B.community)}/layers/grid`, { language: B.locale });
  if (!r.ok) { $("#rm-b-error").textContent = errorText(r, T); return; }
  drawn = { type: "FeatureCollection", features: r.data.features.map((f) => ({ type: "Feature",
    geometry: f.geometry, properties: { code: f.properties.code, name: f.properties.name,
      branch_code: f.properties.branch_code } })) };
  redrawSketch();
});
$("#rm-d-code").addEventListener("change", (e) => {
  const f = drawn.features.find((x) => x.properties.code === e.target.value);
  if (f) { $("#rm-d-name").value = f.properties.name || ""; $("#rm-d-branch").value = f.properties.branch_code || ""; }
});
$("#rm-d-draw").addEventListener("submit", (e) => {
  e.preventDefault();
  if (corners.length < 3) { $("#rm-b-error").textContent = T("A grid needs at least three corners"); return; }
  const ring = corners.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  const f = e.target;
  const feature = { type: "Feature", geometry: { type: "Polygon", coordinates: [ring] },
    properties: { code: f.code.value, name: f.name.value || null, branch_code: f.branch_code.value || null } };
  drawn.features = drawn.features.filter((x) => x.properties.code !== f.code.value).concat([feature]);
  corners.length = 0;
  f.reset();
  redrawSketch();
});
$("#rm-d-check").addEventListener("click", () => check(drawn));

$("#rm-publish").addEventListener("click", async () => {
  if (draftId === null) return;
  const r = await send("POST", `${base}/${draftId}/publish`);
  if (!r.ok) { $("#rm-b-error").textContent = errorText(r, T); return; }
  $("#rm-result").textContent = T("Published as grid-set version {v}; {n} open requests re-routed",
    { v: r.data.grid_set_version, n: r.data.rerouted.length });
  $("#rm-publish").hidden = true;
});

/* A button doing ``action``, its label as text. */
function button(label, action) {
  const b = h("button", { type: "button", class: "rm-link" }, label);
  b.addEventListener("click", action);
  return b;
}

/* A problem or a building brought into view (clicked in the list beside the map). */
function zoomTo(feature) {
  const bounds = L.geoJSON(feature).getBounds();
  map.fitBounds(bounds, { maxZoom: 19, padding: [24, 24] });
}

/* The buildings' table: numbers as residents say them and households, saved row by row. */
const buildingsUrl = `/api/staff/communities/${encodeURIComponent(B.community)}/buildings`;

function buildingRow(b) {
  const number = h("input", { value: b.number || "", maxlength: "32", size: "6", "aria-label": T("Building number") });
  const households = h("input", { type: "number", min: "0", max: "100000", value: b.households ?? "",
    "aria-label": T("Households") });
  const state = h("span", { role: "status", class: "rm-meta" });
  let ref = b.ref;
  const save = button(T("Save"), async () => {
    const body = {};
    if (number.value.trim() && number.value.trim() !== (b.number || "")) body.number = number.value.trim();
    if (households.value !== "") body.households = Number(households.value);
    const r = await send("PATCH", `${buildingsUrl}/${encodeURIComponent(ref)}`, body);
    if (!r.ok) { state.textContent = errorText(r, T); return; }
    b = r.data;
    ref = b.ref;
    state.textContent = T("Saved");
  });
  const point = { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: b.point } };
  return h("tr", {},
    h("td", {}, button(bdi(b.label), () => zoomTo(point))),
    h("td", {}, number), h("td", {}, households), h("td", {}, b.grid || "—"), h("td", {}, save, state));
}

async function loadBuildings() {
  const r = await call("GET", buildingsUrl, { language: B.locale });
  if (!r.ok) { $("#rm-buildings-error").textContent = errorText(r, T); return; }
  fill($("#rm-buildings tbody"), ...r.data.map(buildingRow));
}
loadBuildings();
