/* RenewMap residents' page: pin or draw, describe, submit; browse by map view.
   Configuration and words from the page's JSON block; every text goes in as text. */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { $, $$, bdi, dotted, fill, h, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";
import { siteMap } from "./lib/sitemap.js";

const RM = readConfig();
const T = translator(RM.t);
const PAGE = 200;
const base = `/api/communities/${encodeURIComponent(RM.community)}/suggestions`;
const catLabel = Object.fromEntries(RM.categories.map((c) => [c.code, `${c.icon} ${c.label}`]));
const statusLabel = Object.fromEntries(RM.statuses.map((s) => [s.code, s.label]));

// ---- the map, framed on the community; when the page opens on browsing, the first view's
// map layer and list page are asked for at once, before the site plan is drawn -----------------
let map = null;
function params(filters) {
  const b = map.getBounds();
  const p = new URLSearchParams({
    bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(7)).join(",") });
  for (const key of ["category", "status", "grid"]) if (filters[key]) p.set(key, filters[key]);
  return p;
}
const urls = {
  map(filters) {
    const p = params(filters);
    p.set("zoom", map.getZoom().toFixed(2));
    return `${base}/map?${p}`;
  },
  list(filters, offset) {
    const p = params(filters);
    p.set("limit", PAGE);
    p.set("offset", offset);
    return `${base}?${p}`;
  },
};
const prefetched = new Map();
// fetch(url), unless the same URL was already asked for early: then that answer (once)
function get(url) {
  const early = prefetched.get(url);
  prefetched.delete(url);
  return early || fetch(url, { credentials: "same-origin" });
}
map = siteMap($("#rm-map"), RM.site, { map: { zoomSnap: 0.25 }, padding: [8, 8],
  onView(m) {
    map = m;
    if (location.hash !== "#browse") return;
    for (const url of [urls.map({}), urls.list({}, 0)]) {
      prefetched.set(url, fetch(url, { credentials: "same-origin" }));
    }
  } });

// ---- placing: a pin, or a drawn line/area ------------------------------------------------------
const pinIcon = new L.Icon.Default();  // Leaflet's own marker image, served by the app
let mode = "point";
let marker = null;
let vertices = [];
let drawn = null;
let category = null;

function clearPlacement() {
  if (marker) { map.removeLayer(marker); marker = null; }
  if (drawn) { map.removeLayer(drawn); drawn = null; }
  vertices = [];
  $("#rm-reset").hidden = true;
}
function geometry() {
  if (mode === "point" && marker) {
    const p = marker.getLatLng();
    return { type: "Point", coordinates: [p.lng, p.lat] };
  }
  if (mode === "line" && vertices.length >= 2) {
    return { type: "LineString", coordinates: vertices.map((v) => [v.lng, v.lat]) };
  }
  if (mode === "area" && vertices.length >= 3) {
    const ring = vertices.map((v) => [v.lng, v.lat]);
    ring.push(ring[0]);
    return { type: "Polygon", coordinates: [ring] };
  }
  return null;
}
function redraw() {
  if (drawn) map.removeLayer(drawn);
  drawn = null;
  if (!vertices.length) return;
  drawn = mode === "area" && vertices.length >= 3
    ? L.polygon(vertices, { color: "#e8590c" }) : L.polyline(vertices, { color: "#e8590c", weight: 5 });
  drawn.addTo(map);
}
function placePin(latlng) {
  clearPlacement();
  marker = L.marker(latlng, { draggable: true, icon: pinIcon, keyboard: true,
    title: T("Location"), alt: T("Location") }).addTo(map);  // Leaflet's alt is "Marker"
  marker.on("dragend", checkNearby);
  $("#rm-reset").hidden = false;
  $("#rm-error").textContent = "";
  checkNearby();
}
const suggestHidden = () => $("#rm-suggest").hidden;
map.on("click", (e) => {
  if (suggestHidden()) return;
  if (!$("#rm-receipt").hidden) return;
  if (mode === "point") { placePin(e.latlng); return; }
  vertices.push(e.latlng);
  redraw();
  $("#rm-reset").hidden = false;
});
function setMode(next) {
  mode = next;
  clearPlacement();
  $("#rm-draw-tools").hidden = next === "point";
  $("#rm-hint").textContent = next === "point"
    ? T("Tap the map to place a pin, then drag it to adjust.")
    : T("Tap points on the map, then press Done.");
}
$("#rm-draw-line").addEventListener("click", () => setMode("line"));
$("#rm-draw-area").addEventListener("click", () => setMode("area"));
$("#rm-draw-undo").addEventListener("click", () => { vertices.pop(); redraw(); });
$("#rm-draw-done").addEventListener("click", () => { $("#rm-draw-tools").hidden = true; checkNearby(); });
$("#rm-reset").addEventListener("click", () => setMode("point"));
$("#rm-locate").addEventListener("click", () => {
  if (!navigator.geolocation) { $("#rm-error").textContent = T("Your location could not be found."); return; }
  navigator.geolocation.getCurrentPosition((pos) => {
    const ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
    const b = RM.site.bounds;
    const inside = ll.lng >= b[0] - 0.001 && ll.lng <= b[2] + 0.001 && ll.lat >= b[1] - 0.001 && ll.lat <= b[3] + 0.001;
    if (!inside) { $("#rm-error").textContent = T("You seem to be outside this community."); return; }
    setMode("point");
    placePin(ll);
    map.setView(ll, Math.max(map.getZoom(), 18));
  }, () => { $("#rm-error").textContent = T("Your location could not be found."); },
  { enableHighAccuracy: true, timeout: 15000 });
});

// ---- category, nearby duplicates ---------------------------------------------------------------
for (const btn of $$(".rm-cat")) {
  btn.addEventListener("click", () => {
    for (const b of $$(".rm-cat")) b.setAttribute("aria-pressed", "false");
    btn.setAttribute("aria-pressed", "true");
    category = btn.dataset.code;
    checkNearby();
  });
}
async function checkNearby() {
  const g = geometry();
  const box = $("#rm-nearby");
  if (!g || !category) { box.hidden = true; return; }
  const p = g.type === "Point" ? g.coordinates : g.coordinates.flat(2).slice(0, 2);
  const q = new URLSearchParams({ lon: p[0], lat: p[1], category });
  const r = await fetch(`/api/suggestions/nearby?${q}`);
  if (!r.ok) { box.hidden = true; return; }
  const fc = await r.json();
  fill($("ul", box), fc.features.map((f) => item(f, true)));
  box.hidden = fc.features.length === 0;
}

// ---- submit -------------------------------------------------------------------------------------
$("#rm-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = $("#rm-error");
  const g = geometry();
  const photos = $("#rm-photos").files;
  if (!g) { err.textContent = T("Place the pin on the map first."); return; }
  if (!category) { err.textContent = T("Please choose a category."); return; }
  if (!$("#rm-title").value.trim()) { err.textContent = T("Please enter a title."); return; }
  if (photos.length > 3) { err.textContent = T("At most 3 photos."); return; }
  const fd = new FormData();
  fd.append("category", category);
  fd.append("geometry", JSON.stringify(g));
  for (const id of ["title", "description", "nickname", "phone"]) {
    const v = $(`#rm-${id}`).value.trim();
    if (v) fd.append(id, v);
  }
  fd.append("show_nickname", $("#rm-show-nickname").checked ? "true" : "false");
  for (const f of photos) fd.append("photos", f, f.name);
  const btn = $("#rm-submit");
  btn.disabled = true;
  btn.textContent = T("Sending…");
  err.textContent = "";
  try {
    const r = await call("POST", "/api/suggestions", { body: fd, csrf: await residentCsrf(), language: RM.locale });
    if (!r.ok) { err.textContent = errorText(r, T); return; }
    const body = r.data;
    $("#rm-form").hidden = true;
    $("#rm-step-place").hidden = true;
    $("#rm-receipt-title").textContent = T("Submitted. Receipt code: {code}", { code: body.receipt_code });
    $("#rm-owner").textContent = body.message;
    const link = $("#rm-follow");
    link.href = body.follow_url;
    link.textContent = location.origin + body.follow_url;
    $("#rm-receipt").hidden = false;
    $("#rm-receipt").focus();
  } catch {
    err.textContent = T("The connection failed; please try again.");
  } finally {
    btn.disabled = false;
    btn.textContent = T("Submit");
  }
});
$("#rm-again").addEventListener("click", () => {
  $("#rm-form").reset();
  for (const b of $$(".rm-cat")) b.setAttribute("aria-pressed", "false");
  category = null;
  $("#rm-form").hidden = false;
  $("#rm-step-place").hidden = false;
  $("#rm-receipt").hidden = true;
  $("#rm-nearby").hidden = true;
  setMode("point");
});

// ---- browse: map and list from the same filters; loaded by view, never all at once ----------
// The map asks the server what to draw for the view: every suggestion as a point when there
// are few (clustered here), else counts per screen cell (drawn as the same cluster bubbles).
// The list is paged separately and is the complete text alternative.
const cluster = L.markerClusterGroup({ showCoverageOnHover: false });
const cells = L.layerGroup();
const browseLayers = L.layerGroup([cluster, cells]);
let offset = 0;

// One suggestion as a list item (compact: in the "similar nearby" box).
function item(f, compact) {
  const p = f.properties;
  const meta = dotted([catLabel[p.category] || p.category, statusLabel[p.status] || p.status,
    p.grid ? bdi(p.grid.name) : null, p.distance_m != null ? `${p.distance_m} m` : null]);
  const support = h("button", { type: "button", class: "rm-support", dataset: { id: p.id } },
    `${T("Support (+1)")} `, h("span", { class: "rm-n" }, p.supports));
  return h("li", { dataset: { id: p.id } },
    h("strong", {}, bdi(p.title)),
    h("div", { class: "rm-meta" }, meta),
    (p.adopted_in || []).map((a) => h("div", { class: "rm-adopted" },
      `✓ ${T("Adopted in {site} draft {n}", { site: a.site_name, n: a.draft })}`)),
    p.description && !compact ? h("p", { class: "rm-text" }, p.description) : null,
    compact ? null : p.photos.map((ph) => h("img", { src: ph.thumbnail, alt: "", width: 64, height: 64, loading: "lazy" })),
    support,
    compact ? null : h("button", { type: "button", class: "rm-locate", dataset: { id: p.id } }, T("Show on map")),
    compact ? null : h("details", { class: "rm-comments", dataset: { id: p.id } },
      h("summary", {}, `${T("Comments")} (`, h("span", { class: "rm-c" }, p.comments), ")"),
      h("ul"),
      h("form", { class: "rm-comment-form" },
        h("input", { name: "body", maxlength: 1000, required: true, "aria-label": T("Write a comment"),
          placeholder: T("Write a comment") }),
        h("button", { type: "submit" }, T("Send")))));
}
function filters() {
  return { category: $("#rm-f-category").value, status: $("#rm-f-status").value,
    grid: $("#rm-f-grid").value };
}
const query = (at) => urls.list(filters(), at);
function popup(p) {
  return h("div", {}, h("strong", {}, bdi(p.title)), h("br"), statusLabel[p.status] || p.status);
}
function cellIcon(n) {
  const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
  return L.divIcon({ html: h("div", {}, h("span", {}, n)), iconSize: L.point(40, 40),
    className: `marker-cluster marker-cluster-${size}` });
}
let mapSeq = 0;
async function loadMap() {
  const mine = ++mapSeq;
  const r = await get(urls.map(filters()));
  if (!r.ok || mine !== mapSeq) return;
  const layer = await r.json();
  if (mine !== mapSeq) return;
  cluster.clearLayers();
  cells.clearLayers();
  cluster.addLayers(layer.points.map((p) =>
    L.marker([p.lat, p.lon], { title: p.title, alt: p.title, icon: pinIcon }).bindPopup(() => popup(p))));
  for (const c of layer.cells) {
    const label = T("{n} suggestions here", { n: c.count });
    const m = L.marker([c.lat, c.lon], { icon: cellIcon(c.count), title: label, alt: label });
    m.on("click", () => {
      const b = L.latLngBounds([c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]);
      if (map.getZoom() >= map.getMaxZoom() || b.getNorthEast().equals(b.getSouthWest())) {
        map.setView([c.lat, c.lon], map.getMaxZoom());
      } else {
        map.fitBounds(b.pad(0.2), { maxZoom: map.getMaxZoom() });
      }
    });
    cells.addLayer(m);
  }
}
const shown = new Map();  // list items by id, to find one on the map
let seq = 0;
let lastQuery = null;
let lastView = null;
async function load(reset) {
  // Filter changes and map moves can overlap: only the latest request may render, and the
  // list is replaced only when its answer arrives (never appended twice).
  const mine = ++seq;
  const url = query(reset ? 0 : offset);
  if (reset) { lastQuery = url; lastView = { center: map.getCenter(), zoom: map.getZoom() }; }
  const r = await get(url);
  if (!r.ok || mine !== seq) return;
  const fc = await r.json();
  if (mine !== seq) return;
  if (reset) { offset = 0; $("#rm-list").replaceChildren(); shown.clear(); }
  for (const f of fc.features) shown.set(String(f.id), f);
  $("#rm-list").append(...fc.features.map((f) => item(f, false)));
  offset += fc.numberReturned;
  $("#rm-count").textContent = T("{n} suggestions", { n: fc.numberMatched });
  $("#rm-more").hidden = offset >= fc.numberMatched;
}
let timer = null;
map.on("moveend", () => {
  if ($("#rm-browse").hidden) return;
  // never reload the list under someone who is typing in it
  if (query(0) === lastQuery || $("#rm-list").contains(document.activeElement)) return;
  // A viewport resize (a phone's URL bar or keyboard) keeps centre and zoom: not a new view.
  if (lastView && map.getZoom() === lastView.zoom &&
      map.latLngToContainerPoint(lastView.center).distanceTo(map.getSize().divideBy(2)) < 2) return;
  clearTimeout(timer);
  timer = setTimeout(() => { loadMap(); load(true); }, 250);
});
for (const id of ["#rm-f-category", "#rm-f-status", "#rm-f-grid"]) {
  $(id).addEventListener("change", () => { loadMap(); load(true); });
}
// From the list to the map: centre on the suggestion and say which one it is.
document.addEventListener("click", (e) => {
  const btn = e.target.closest(".rm-locate");
  if (!btn) return;
  const f = shown.get(btn.dataset.id);
  if (!f) return;
  const b = L.geoJSON(f).getBounds();
  map.fitBounds(b, { maxZoom: Math.min(20, map.getMaxZoom()) });
  // Above a pin (Leaflet's marker is 41 px tall), on a drawn line or area itself.
  const at = f.geometry.type === "Point" ? [1, -34] : [0, 7];
  L.popup({ offset: at }).setLatLng(b.getCenter()).setContent(popup(f.properties)).openOn(map);
  $("#rm-map").scrollIntoView({ block: "nearest", behavior: "smooth" });
});
$("#rm-more").addEventListener("click", () => load(false));
document.addEventListener("click", async (e) => {
  const btn = e.target.closest(".rm-support");
  if (!btn) return;
  const r = await call("POST", `/api/suggestions/${btn.dataset.id}/supports`,
    { csrf: await residentCsrf(), language: RM.locale });
  if (r.ok || r.status === 409) {
    btn.disabled = true;
    if (r.ok) $(".rm-n", btn).textContent = r.data.supports;
    btn.firstChild.textContent = `${T("Supported")} `;
  }
});

// ---- comments (loaded when a suggestion's comments are opened) ------------------------------
async function loadComments(details) {
  const r = await fetch(`/api/suggestions/${details.dataset.id}/comments`);
  if (!r.ok) return;
  const items = await r.json();
  fill($("ul", details), items.map((c) => h("li", {}, bdi(c.body),
    c.nickname ? h("span", { class: "rm-meta" }, " — ", bdi(c.nickname)) : null)));
  $(".rm-c", details).textContent = items.length;
}
document.addEventListener("toggle", (e) => {
  if (e.target.matches && e.target.matches("details.rm-comments") && e.target.open) loadComments(e.target);
}, true);
document.addEventListener("submit", async (e) => {
  const form = e.target.closest(".rm-comment-form");
  if (!form) return;
  e.preventDefault();
  const details = form.closest("details");
  const r = await call("POST", `/api/suggestions/${details.dataset.id}/comments`,
    { body: { body: form.body.value }, csrf: await residentCsrf(), language: RM.locale });
  if (r.ok) { form.reset(); loadComments(details); }
});

// ---- tabs -----------------------------------------------------------------------------------------
function show(tab) {
  const browse = tab === "browse";
  $("#tab-suggest").setAttribute("aria-selected", String(!browse));
  $("#tab-browse").setAttribute("aria-selected", String(browse));
  $("#rm-suggest").hidden = browse;
  $("#rm-browse").hidden = !browse;
  if (browse) { map.addLayer(browseLayers); loadMap(); load(true); } else { map.removeLayer(browseLayers); }
}
$("#tab-suggest").addEventListener("click", () => show("suggest"));
$("#tab-browse").addEventListener("click", () => show("browse"));
window.addEventListener("hashchange", () => show(location.hash === "#browse" ? "browse" : "suggest"));
if (location.hash === "#browse") show("browse");
