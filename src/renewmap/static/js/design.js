/* RenewMap drawing workspace: draw a site's zones, planting beds, plants, paths, facilities and
   elements to keep with Leaflet-Geoman (vendored), snapping to the site outline and building
   edges; every change is measured and checked by the server (live metrics and rule checks);
   save with the draft's version. Sizes can be typed (a path's width and length, a bed's width
   and depth) and distances measured. While a shape is being drawn, the features already on the
   map stay what they are: a click on one adds a corner to the new shape, never selects it. */
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
let tool = null; // the kind of the next feature (its form is shown)
let drawing = null; // the kind being drawn while a draw mode runs (fixed when drawing starts)
let placing = null; // a rectangle of typed size waiting for a tap on the map
let measuring = null; // the measuring line being drawn
const SHAPES = { zone: "Polygon", green: "Polygon", plant: "CircleMarker", path: "Line",
  facility: "CircleMarker", water: "Polygon", keep: "Polygon" };
const AREAS = new Set(["zone", "green", "water", "keep"]);
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
  layer.on("click", () => { if (!busy()) select(layer); });
  layer.on("pm:edit pm:dragend pm:markerdragend", () => { if (layer === selected) showSize(); changed(); });
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
  showSize();
}

// ---- sizes in metres (a local projection at the site: within a few centimetres) ----
const origin = site.getBounds().getCenter();
const PER_DEG_LAT = 111132.92 - 559.82 * Math.cos(2 * origin.lat * Math.PI / 180);
const PER_DEG_LON = 111412.84 * Math.cos(origin.lat * Math.PI / 180);
const toXY = (ll) => [(ll.lng - origin.lng) * PER_DEG_LON, (ll.lat - origin.lat) * PER_DEG_LAT];
const toLL = ([x, y]) => L.latLng(origin.lat + y / PER_DEG_LAT, origin.lng + x / PER_DEG_LON);

function lengthOf(lls) {
  let total = 0;
  for (let i = 1; i < lls.length; i += 1) {
    const [x0, y0] = toXY(lls[i - 1]);
    const [x1, y1] = toXY(lls[i]);
    total += Math.hypot(x1 - x0, y1 - y0);
  }
  return total;
}

function ringArea(lls) {
  let twice = 0;
  for (let i = 0; i < lls.length; i += 1) {
    const [x0, y0] = toXY(lls[i]);
    const [x1, y1] = toXY(lls[(i + 1) % lls.length]);
    twice += x0 * y1 - x1 * y0;
  }
  return Math.abs(twice) / 2;
}

// a polygon's rings as Leaflet gives them: [[outer, hole…], …] for one or many parts
function polygonsOf(layer) {
  const lls = layer.getLatLngs();
  if (!Array.isArray(lls[0])) return [[lls]];
  if (!Array.isArray(lls[0][0])) return [lls];
  return lls;
}

function lineOf(layer) {
  const lls = layer.getLatLngs();
  return Array.isArray(lls[0]) ? lls : [lls];
}

/** What the selected feature measures, in words under its form. */
function showSize() {
  const out = $("#rm-p-size");
  if (!selected || selected instanceof L.CircleMarker) { out.textContent = ""; return; }
  const kind = selected.feature.properties.kind;
  if (kind === "path" || selected instanceof L.Polyline && !(selected instanceof L.Polygon)) {
    const length = lineOf(selected).reduce((sum, part) => sum + lengthOf(part), 0);
    out.textContent = T("Length {m} m", { m: num(length, 1) });
    $("#rm-p-length").value = length.toFixed(1);
    return;
  }
  let area = 0;
  let perimeter = 0;
  for (const rings of polygonsOf(selected)) {
    rings.forEach((ring, i) => { area += (i ? -1 : 1) * ringArea(ring); perimeter += lengthOf([...ring, ring[0]]); });
  }
  out.textContent = T("Area {a} ㎡ · perimeter {p} m", { a: num(area, 1), p: num(perimeter, 1) });
}

/** The selected path stretched or shortened at its far end to ``metres`` in all. */
function setPathLength(layer, metres) {
  const parts = lineOf(layer);
  const last = parts[parts.length - 1];
  const total = parts.reduce((sum, part) => sum + lengthOf(part), 0);
  const [x0, y0] = toXY(last[last.length - 2]);
  const [x1, y1] = toXY(last[last.length - 1]);
  const segment = Math.hypot(x1 - x0, y1 - y0);
  const wanted = segment + (metres - total);
  if (wanted < 0.1 || segment === 0) return false;
  last[last.length - 1] = toLL([x0 + (x1 - x0) * wanted / segment, y0 + (y1 - y0) * wanted / segment]);
  layer.setLatLngs(parts.length === 1 ? last : parts);
  return true;
}

/** A rectangle ``w`` (east–west) by ``d`` (north–south) metres centred at ``centre``. */
function rectangle(centre, w, d) {
  const [cx, cy] = toXY(centre);
  return [[cx - w / 2, cy - d / 2], [cx + w / 2, cy - d / 2], [cx + w / 2, cy + d / 2], [cx - w / 2, cy + d / 2]].map(toLL);
}

function typedSize() {
  const w = Number($("#rm-p-w").value);
  const d = Number($("#rm-p-d").value);
  if (!(w > 0 && d > 0)) { $("#rm-error").textContent = T("Type the width and depth in metres first"); return null; }
  return [w, d];
}

$("#rm-p-rect").addEventListener("click", () => {
  const size = typedSize();
  if (!size) return;
  $("#rm-error").textContent = "";
  if (selected && AREAS.has(selected.feature.properties.kind)) {
    // the selected bed takes the typed size around its own centre
    selected.setLatLngs(rectangle(selected.getBounds().getCenter(), ...size));
    style(selected);
    showSize();
    changed();
    return;
  }
  const kind = tool && AREAS.has(tool) ? tool : null;
  if (!kind) { $("#rm-error").textContent = T("Choose a zone, planting bed, water or element to keep first"); return; }
  map.pm.disableDraw();
  drawing = null;
  placing = { kind, size };
  status(T("Tap the map where the rectangle's centre goes. Esc cancels."));
});

map.on("click", (e) => {
  if (placing) {
    const { kind, size } = placing;
    placing = null;
    const layer = adopt(L.polygon(rectangle(e.latlng, ...size), { pmIgnore: false }), formProps(kind));
    finishTool();
    select(layer);
    changed();
    return;
  }
  if (measuring) measureAt(e.latlng);
});

// ---- measuring: tap points, read the distance; Esc or the button ends it ----
function measureAt(ll) {
  measuring.points.push(ll);
  measuring.line.setLatLngs(measuring.points);
  L.circleMarker(ll, { radius: 3, color: "#d6336c", interactive: false }).addTo(measuring.marks);
  const metres = lengthOf(measuring.points);
  $("#rm-measure-out").textContent = T("Distance {m} m", { m: num(metres, 2) });
}

function stopMeasuring() {
  if (!measuring) return;
  map.removeLayer(measuring.line);
  map.removeLayer(measuring.marks);
  measuring = null;
  $("#rm-measure").classList.remove("rm-active");
  status("");
}

$("#rm-measure").addEventListener("click", () => {
  if (measuring) { stopMeasuring(); return; }
  map.pm.disableDraw();
  finishTool();
  placing = null;
  measuring = { points: [], line: L.polyline([], { color: "#d6336c", dashArray: "4 4", interactive: false }).addTo(map),
    marks: L.layerGroup().addTo(map) };
  $("#rm-measure").classList.add("rm-active");
  $("#rm-measure-out").textContent = T("Distance {m} m", { m: num(0, 2) });
  status(T("Tap the points to measure between. Esc ends."));
});

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

function status(text) {
  $("#rm-status").textContent = text;
}

/** A shape, a rectangle or a measurement is being drawn: the map's clicks are for it. */
function busy() {
  return Boolean(drawing || placing || measuring || map.pm.globalDrawModeEnabled());
}

function startTool(kind) {
  stopMeasuring();
  placing = null;
  tool = kind;
  selected = null;
  for (const x of $$(".rm-tool")) x.classList.toggle("rm-active", x.dataset.kind === kind);
  showForm(kind, null);
  map.pm.disableDraw();
  drawing = kind;
  const colour = KIND_COLOURS[kind];
  map.pm.enableDraw(SHAPES[kind], { snappable: true, snapDistance: 15,
    pathOptions: { color: colour, fillColor: colour }, templineStyle: { color: colour },
    hintlineStyle: { color: colour, dashArray: [5, 5] }, finishOn: SHAPES[kind] === "Line" ? "dblclick" : null });
  status(T("Drawing: {kind}. Esc cancels.", { kind: LB.kinds[kind] }));
}
for (const b of $$(".rm-tool")) b.addEventListener("click", () => startTool(b.dataset.kind));

function finishTool() {
  for (const x of $$(".rm-tool")) x.classList.remove("rm-active");
  drawing = null;
  tool = null;
  status("");
}

// A drawn shape becomes a feature of the kind chosen when drawing started, with the form's
// name and properties (the form cannot have been taken over meanwhile: see busy()).
map.on("pm:create", (e) => {
  const kind = drawing;
  if (!kind) { map.removeLayer(e.layer); return; }
  const layer = adopt(e.layer, formProps(kind));
  finishTool();
  select(layer);
  changed();
});
// Drawing ended without a shape (cancelled): after any pm:create of the same moment.
map.on("pm:drawend", () => setTimeout(() => {
  if (drawing && !map.pm.globalDrawModeEnabled()) finishTool();
}, 0));
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  if (measuring) stopMeasuring();
  if (placing) { placing = null; status(""); }
  if (drawing) { map.pm.disableDraw(); finishTool(); }
});
map.on("pm:remove", (e) => { if (drawn.hasLayer(e.layer)) drawn.removeLayer(e.layer); select(null); changed(); });

$("#rm-props").addEventListener("submit", (e) => {
  e.preventDefault();
  if (!selected) return;
  const kind = selected.feature.properties.kind;
  selected.feature.properties = Object.assign({}, selected.feature.properties, formProps(kind));
  const length = Number($("#rm-p-length").value);
  if (kind === "path" && length > 0) {
    const now = lineOf(selected).reduce((sum, part) => sum + lengthOf(part), 0);
    if (Math.abs(now - length) >= 0.05 && !setPathLength(selected, length)) {
      $("#rm-error").textContent = T("That length would remove the path's last part; move a corner instead");
    }
  }
  style(selected);
  showSize();
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

function row(label, value, metric) {
  return h("tr", {}, h("th", { scope: "row" }, label), h("td", { dataset: metric ? { metric } : null }, value));
}

let openViolations = D.draft.violations;
function render(m, violations) {
  openViolations = violations;
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
      h("table", { class: "rm-stats" }, m.bill.map((b) => h("tr", { dataset: { item: b.code } }, h("td", {}, b.item),
        h("td", {}, `${num(b.quantity, 2)} ${b.unit}`), h("td", {}, num(b.cost, 0)))))));
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
// Showing a draft to residents: a draft that still breaks rules is shown only after the
// designer has read the list and confirmed.
const publishDialog = $("#rm-publish-dialog");
async function publish(show, acknowledge) {
  const out = await api("PUT", `${draftUrl}/public`, { public: show, acknowledge_violations: acknowledge });
  $("#rm-public").checked = out ? out.public : !show;
  if (out) $("#rm-saved").textContent = show ? T("Shown to residents") : T("Taken back from residents");
}
$("#rm-public").addEventListener("change", (e) => {
  const show = e.target.checked;
  if (!show || !openViolations.length) { publish(show, false); return; }
  if (dirty) { e.target.checked = false; $("#rm-error").textContent = T("Save your drawing before showing it to residents"); return; }
  fill($("#rm-publish-list"), openViolations.map((v) => h("li", {}, h("strong", {}, LB.rules[v.rule] || v.rule), `: ${v.message}`)));
  $("#rm-publish-count").textContent = T("This draft still breaks {n} rule(s):", { n: openViolations.length });
  e.target.checked = false;
  publishDialog.showModal();
});
$("#rm-publish-anyway").addEventListener("click", () => { publishDialog.close(); publish(true, true); });
$("#rm-publish-cancel").addEventListener("click", () => publishDialog.close());
$("#rm-details").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const out = await api("PUT", `${draftUrl}/details`, { name: f.name.value, description: f.description.value || null });
  if (out) $("#rm-saved").textContent = T("Saved");
});
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
  const report = out.imported;
  if (report) {
    const skipped = report.skipped.map((s) => T("{type} ×{n}", { type: s.type, n: s.count })).join(", ");
    $("#rm-import-report").textContent = skipped
      ? T("{n} features imported; not used from the file: {skipped}", { n: report.features, skipped })
      : T("{n} features imported", { n: report.features });
  }
});
window.addEventListener("beforeunload", (e) => { if (dirty) { e.preventDefault(); e.returnValue = ""; } });

load(D.draft.features);
render(D.draft.metrics, D.draft.violations);
// The server's violation ids are the saved features' ids; re-check with this page's ids.
evaluate();
