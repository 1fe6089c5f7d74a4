/* RenewMap drawing workspace: draw a site's zones, planting beds, plants, paths, facilities and
   elements to keep with Leaflet-Geoman (vendored), snapping to the site outline and building
   edges; every change is measured and checked by the server (live metrics and rule checks);
   save with the draft's version. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, $$, fill, h, readConfig } from "./lib/dom.js";
import { formatNumber, translator } from "./lib/i18n.js";
import { KIND_COLOURS, siteMap } from "./lib/sitemap.js";

const D = readConfig();
const T = translator(D.t);
const LB = D.labels;
// Geoman runs opt-in: only the features drawn here (and the map) become editable, the site
// plan stays as it is. Set before the map exists, which opts in with pmIgnore: false.
L.PM.setOptIn(true);
const map = siteMap($("#rm-map"), D.plan, { map: { pmIgnore: false } });
const draftUrl = `/api/design/drafts/${D.draft.id}`;
let version = D.draft.version;
let dirty = false;
let selected = null;
let tool = null; // the kind being drawn
const SHAPES = { zone: "Polygon", green: "Polygon", plant: "CircleMarker", path: "Line",
  facility: "CircleMarker", keep: "Polygon" };
const drawn = L.featureGroup().addTo(map);
const num = (v, d) => formatNumber(v, d, D.locale);

// The site outline and every base layer (buildings, paths…) are snapped to, never edited.
const site = L.geoJSON(D.site, { style: { color: "#d6336c", weight: 3, fillOpacity: 0.03 },
  interactive: false, snapIgnore: false }).addTo(map);
map.eachLayer((l) => { if (l instanceof L.Path && !drawn.hasLayer(l)) l.options.snapIgnore = false; });
map.fitBounds(site.getBounds(), { maxZoom: 21, animate: false });
map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
map.pm.setLang(D.locale === "en" ? "en" : "zh");
map.pm.addControls({ position: "topleft", drawMarker: false, drawCircleMarker: false,
  drawPolyline: false, drawRectangle: false, drawPolygon: false, drawCircle: false,
  drawText: false, cutPolygon: false, rotateMode: false });
// Geoman's buttons are links with an icon only: their container's title names them (for
// screen readers too)
for (const button of document.querySelectorAll(".leaflet-pm-toolbar .leaflet-buttons-control-button")) {
  const name = button.parentElement.getAttribute("title");
  if (name) button.setAttribute("aria-label", name);
}

function style(layer) {
  const kind = layer.feature.properties.kind;
  const bad = layer.rmBad;
  const colour = bad ? "#e03131" : KIND_COLOURS[kind];
  const s = { color: colour, weight: kind === "path" ? 4 : 2, dashArray: bad ? "6 4" : null,
    fillColor: colour, fillOpacity: kind === "zone" ? 0.08 : 0.35 };
  if (layer instanceof L.CircleMarker) { s.radius = kind === "plant" ? 7 : 6; s.fillOpacity = 0.9; }
  layer.setStyle(s);
}

function adopt(layer, properties) {
  layer.feature = { type: "Feature", properties };
  layer.options.pmIgnore = false;
  if (L.PM.reInitLayer) L.PM.reInitLayer(layer);
  layer.on("click", () => select(layer));
  layer.on("pm:edit pm:dragend pm:markerdragend", changed);
  drawn.addLayer(layer);
  style(layer);
  return layer;
}

function load(features) {
  drawn.clearLayers();
  L.geoJSON(features, {
    pmIgnore: false,
    pointToLayer: (f, ll) => L.circleMarker(ll, { pmIgnore: false }),
    onEachFeature: (f, layer) => adopt(layer, Object.assign({}, f.properties)),
  });
  select(null);
}

// ---- properties of the selected feature (or of the next one drawn) ----
function showForm(kind, props) {
  const form = $("#rm-props");
  form.hidden = false;
  $("#rm-props-title").textContent = LB.kinds[kind];
  for (const el of $$("[data-for]", form)) el.hidden = !el.dataset.for.split(" ").includes(kind);
  const p = props || {};
  form.name.value = p.name || "";
  if (p.layer) form.layer.value = p.layer;
  form.species.value = p.species || "";
  form.adoptable.checked = p.adoptable !== false;
  if (p.width_m != null) form.width_m.value = p.width_m;
  if (p.surface) form.surface.value = p.surface;
  if (p.purpose) form.purpose.value = p.purpose;
  if (p.type) form.type.value = p.type;
  $("#rm-p-delete").hidden = !selected;
}

function formProps(kind) {
  const f = $("#rm-props");
  const p = { kind };
  if (f.name.value.trim()) p.name = f.name.value.trim();
  if (kind === "green") p.layer = f.layer.value;
  if ((kind === "green" || kind === "plant") && f.species.value.trim()) p.species = f.species.value.trim();
  if (kind === "plant") p.adoptable = f.adoptable.checked;
  if (kind === "path") { p.width_m = Number(f.width_m.value); p.surface = f.surface.value; p.purpose = f.purpose.value; }
  if (kind === "facility") p.type = f.type.value;
  return p;
}

function select(layer) {
  selected = layer;
  if (!layer) { if (!tool) $("#rm-props").hidden = true; return; }
  tool = null;
  showForm(layer.feature.properties.kind, layer.feature.properties);
}

for (const b of $$(".rm-tool")) {
  b.addEventListener("click", () => {
    tool = b.dataset.kind;
    selected = null;
    for (const x of $$(".rm-tool")) x.classList.toggle("rm-active", x === b);
    showForm(tool, null);
    map.pm.disableDraw();
    const colour = KIND_COLOURS[tool];
    map.pm.enableDraw(SHAPES[tool], { snappable: true, snapDistance: 15,
      pathOptions: { color: colour, fillColor: colour }, templineStyle: { color: colour },
      hintlineStyle: { color: colour, dashArray: [5, 5] }, finishOn: SHAPES[tool] === "Line" ? "dblclick" : null });
  });
}

map.on("pm:create", (e) => {
  const kind = tool || "keep";
  const layer = adopt(e.layer, formProps(kind));
  for (const x of $$(".rm-tool")) x.classList.remove("rm-active");
  tool = null;
  select(layer);
  changed();
});
map.on("pm:remove", (e) => { if (drawn.hasLayer(e.layer)) drawn.removeLayer(e.layer); select(null); changed(); });

$("#rm-props").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!selected) return;
  const kind = selected.feature.properties.kind;
  selected.feature.properties = Object.assign({}, selected.feature.properties, formProps(kind));
  style(selected);
  changed();
});
$("#rm-p-delete").addEventListener("click", () => {
  if (!selected) return;
  drawn.removeLayer(selected);
  map.removeLayer(selected);
  select(null);
  changed();
});

// ---- live metrics and rule checks ----
function collection(withIds) {
  const features = [];
  drawn.eachLayer((l) => {
    const f = l.toGeoJSON(false);
    f.properties = Object.assign({}, l.feature.properties);
    if (withIds) f.id = String(L.stamp(l)); else delete f.id;
    features.push(f);
  });
  return { type: "FeatureCollection", features };
}

let timer = null;
function changed() {
  dirty = true;
  $("#rm-saved").textContent = T("Unsaved changes");
  clearTimeout(timer);
  timer = setTimeout(evaluate, 250);
}

async function api(method, url, body) {
  const r = await call(method, url, { body, csrf: staffCsrf(), language: D.locale });
  if (!r.ok) { $("#rm-error").textContent = errorText(r, T); return null; }
  $("#rm-error").textContent = "";
  return r.data;
}

async function evaluate() {
  const out = await api("POST", `${draftUrl}/evaluate`, { features: collection(true) });
  if (out) render(out.metrics, out.violations);
}

// A bill line's item ("green:shrub", "path:permeable_concrete"…) as people say it.
function itemLabel(item) {
  const [kind, sub] = item.split(":");
  const detail = LB.layers[sub] || LB.surfaces[sub] || LB.facilities[sub] || T("Unspecified");
  return `${LB.kinds[kind === "facility" ? "facility" : kind] || kind} · ${detail}`;
}

function row(label, value, metric) {
  return h("tr", {}, h("th", { scope: "row" }, label), h("td", { dataset: metric ? { metric } : null }, value));
}

function render(m, violations) {
  const list = (entries) => entries.join(" · ") || "—";
  const pct = m.green_ratio == null ? "—" : `${(m.green_ratio * 100).toFixed(1)}%`;
  const byLayer = list(Object.entries(m.plants_by_layer).map(([k, n]) => `${LB.layers[k] || k} ${n}`));
  const bySurface = list(Object.entries(m.path_length_m)
    .map(([k, v]) => `${LB.surfaces[k] || T("Unspecified")} ${num(v, 1)} m`));
  const byWidth = list(Object.entries(m.path_length_by_width_m).map(([k, v]) => `${k} m: ${num(v, 1)} m`));
  const seasons = ["spring", "summer", "autumn", "winter"].map((s) => h("span",
    { class: m.seasons.includes(s) ? "rm-yes" : "rm-no" }, `${m.seasons.includes(s) ? "✓" : "✗"} ${LB.seasons[s]} `));
  fill($("#rm-metrics"),
    h("table", { class: "rm-stats", id: "rm-metrics-table" },
      row(T("Site area (m²)"), num(m.site_area_m2, 1), "site_area_m2"),
      row(T("Green area (m²)"), num(m.green_area_m2, 1), "green_area_m2"),
      row(T("Green ratio"), pct, "green_ratio"),
      row(T("Hard surface (m²)"), num(m.hard_area_m2, 1), "hard_area_m2"),
      row(T("Paths by surface"), bySurface, "path_length_m"),
      row(T("Paths by width"), byWidth),
      row(T("Plants by layer"), byLayer),
      row(T("Seasons covered"), seasons, "seasons"),
      row(T("Estimated cost (yuan)"), num(m.total_cost, 0), "total_cost")),
    h("details", {}, h("summary", {}, T("Bill of quantities")),
      h("table", { class: "rm-stats" }, m.bill.map((b) => h("tr", {}, h("td", {}, itemLabel(b.item)),
        h("td", {}, `${num(b.quantity, 2)} ${LB.units[b.unit] || b.unit}`), h("td", {}, num(b.cost, 0)))))));
  const bad = new Set(violations.map((v) => v.feature));
  drawn.eachLayer((l) => { l.rmBad = bad.has(String(L.stamp(l))); style(l); });
  fill($("#rm-violations"), violations.length
    ? violations.map((v) => h("li", { dataset: { rule: v.rule, feature: v.feature } },
      h("strong", {}, LB.rules[v.rule] || v.rule), `: ${v.message}`))
    : h("li", { class: "rm-yes" }, T("No problems found")));
}
$("#rm-violations").addEventListener("click", (e) => {
  const li = e.target.closest("li[data-feature]");
  if (!li) return;
  drawn.eachLayer((l) => {
    if (String(L.stamp(l)) !== li.dataset.feature) return;
    if (l.getBounds) map.fitBounds(l.getBounds(), { maxZoom: 21 }); else map.setView(l.getLatLng(), 21);
    select(l);
  });
});

// ---- save, residents, adopted suggestions, import ----
$("#rm-save").addEventListener("click", async () => {
  const out = await api("PUT", `${draftUrl}/features`, { version, features: collection(false) });
  if (!out) return;
  version = out.version;
  dirty = false;
  $("#rm-saved").textContent = T("Saved (version {n})", { n: version });
});
$("#rm-public").addEventListener("change", (e) => api("PUT", `${draftUrl}/public`, { public: e.target.checked }));
$("#rm-adopts").addEventListener("submit", async (e) => {
  e.preventDefault();
  const ids = $$("input[name=adopt]:checked", e.target).map((i) => Number(i.value));
  const out = await api("PUT", `${draftUrl}/adopts`, { request_ids: ids });
  if (out) $("#rm-saved").textContent = T("Saved");
});
$("#rm-import").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (dirty) { $("#rm-error").textContent = T("Save your drawing before importing"); return; }
  const data = new FormData(e.target);
  data.set("version", String(version));
  if (!data.get("epsg")) data.delete("epsg");
  const out = await api("POST", `${draftUrl}/import`, data);
  if (!out) return;
  version = out.version;
  load(out.features);
  render(out.metrics, out.violations);
  $("#rm-saved").textContent = T("Saved (version {n})", { n: version });
});
window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

load(D.draft.features);
render(D.draft.metrics, D.draft.violations);
// The server's violation ids are the saved features' ids; re-check with this page's ids.
evaluate();
