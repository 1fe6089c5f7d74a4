/* RenewMap boundary administration: load a grid set (GeoJSON), see the draft and its problems
   on the map, publish it; or draw grids by tapping their corners. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, fill, h, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";
import { buildingsTable, linkButton as button } from "./lib/buildings.js";
import { siteMap } from "./lib/sitemap.js";

const B = readConfig();
const T = translator(B.t);
// Geoman runs opt-in: only the grids drawn here become editable; the outline, buildings and
// other grids are snapped to (snapIgnore: false below), never edited.
L.PM.setOptIn(true);
const map = siteMap($("#rm-map"), B.plan, { padding: [8, 8], map: { pmIgnore: false } });
map.eachLayer((l) => { if (l instanceof L.Path) l.options.snapIgnore = false; });
const SNAP = { snappable: true, snapDistance: 20, allowSelfIntersection: false };
map.pm.setGlobalOptions(SNAP);
map.pm.setLang(B.locale === "en" ? "en" : "zh");
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

// ---- drawing: start from the current grids, a proposal or nothing; add grids by tapping
// their corners or drawing them with snapping; move any grid's corners (snapping too) ----
let drawn = { type: "FeatureCollection", features: [] };
const corners = [];
let editing = false;
const outline = L.polygon([], { color: "#c92a2a", weight: 3, dashArray: "4 4", fillOpacity: 0.1 }).addTo(map);
const sketch = L.featureGroup().addTo(map);
function redrawSketch() {
  outline.setLatLngs(corners);
  $("#rm-d-points").textContent = corners.length;
  sketch.clearLayers();
  L.geoJSON(drawn, { pmIgnore: false, snapIgnore: false,
    style: { color: "#1c7c54", weight: 2, fillOpacity: 0.05 },
    onEachFeature: (f, layer) => {
      layer.options.pmIgnore = false;
      layer.options.snapIgnore = false;
      if (L.PM.reInitLayer) L.PM.reInitLayer(layer);
      layer.bindTooltip(text(f.properties.code));
      // a corner moved: the grid's shape in the set follows
      layer.on("pm:edit", () => { f.geometry = layer.toGeoJSON().geometry; });
      sketch.addLayer(layer);
      if (editing) layer.pm.enable(SNAP);
    } });
  fill($("#rm-d-codes"), drawn.features.map((f) => h("option", { value: f.properties.code })));
  $("#rm-d-check").hidden = drawn.features.length === 0;
  $("#rm-d-edit").hidden = drawn.features.length === 0;
}
const setEditing = (on) => {
  editing = on;
  sketch.eachLayer((l) => { if (l.pm) { if (on) l.pm.enable(SNAP); else l.pm.disable(); } });
  $("#rm-d-edit").setAttribute("aria-pressed", on ? "true" : "false");
  $("#rm-d-edit").textContent = on ? T("Done moving corners") : T("Move corners");
};
map.on("click", (e) => {
  if (editing || map.pm.globalDrawModeEnabled()) return;  // Geoman has the taps
  corners.push(e.latlng);
  redrawSketch();
});
$("#rm-d-undo").addEventListener("click", () => { corners.pop(); redrawSketch(); });
const useFeatures = (features) => {
  drawn = { type: "FeatureCollection", features: features.map((f) => ({ type: "Feature",
    geometry: f.geometry, properties: { code: f.properties.code, name: f.properties.name,
      branch_code: f.properties.branch_code } })) };
  redrawSketch();
};
$("#rm-d-current").addEventListener("click", () => {
  const grids = B.plan.layers.grid;
  useFeatures(grids && grids.data ? grids.data.features : []);
});
$("#rm-d-edit").addEventListener("click", () => setEditing(!editing));
// a grid drawn with Leaflet-Geoman: its corners snap to the outline, buildings and other grids
$("#rm-d-snap").addEventListener("click", () => {
  if (!$("#rm-d-code").value.trim()) { $("#rm-b-error").textContent = T("Give the grid a code first"); return; }
  $("#rm-b-error").textContent = "";
  setEditing(false);
  map.pm.enableDraw("Polygon", Object.assign({ pathOptions: { color: "#1c7c54" } }, SNAP));
});
map.on("pm:create", (e) => {
  const f = $("#rm-d-draw");
  const feature = { type: "Feature", geometry: e.layer.toGeoJSON().geometry,
    properties: { code: f.code.value.trim(), name: f.name.value || null, branch_code: f.branch_code.value || null } };
  map.removeLayer(e.layer);
  drawn.features = drawn.features.filter((x) => x.properties.code !== feature.properties.code).concat([feature]);
  f.reset();
  redrawSketch();
});
// a proposed partition, checked at once: neighbouring buildings grouped into N grids, or the
// outline split along its roads and paths
async function propose(body) {
  $("#rm-b-error").textContent = "";
  const r = await send("POST", `/api/staff/communities/${encodeURIComponent(B.community)}/grid-proposal`, body);
  if (!r.ok) { $("#rm-b-error").textContent = errorText(r, T); return; }
  setEditing(false);
  useFeatures(r.data.features);
  check(drawn);
}
$("#rm-p-form").addEventListener("submit", (e) => {
  e.preventDefault();
  propose({ method: "buildings", count: Number($("#rm-p-count").value) });
});
$("#rm-p-roads").addEventListener("click", () => propose({ method: "roads" }));
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

/* A problem or a building brought into view (clicked in the list beside the map). */
function zoomTo(feature) {
  const bounds = L.geoJSON(feature).getBounds();
  map.fitBounds(bounds, { maxZoom: 19, padding: [24, 24] });
}

buildingsTable({ community: B.community, tbody: $("#rm-buildings tbody"), error: $("#rm-buildings-error"),
  T, send, zoomTo, locale: B.locale });
