/* RenewMap residents' page: find a place or tap the map, see who will handle it, pick a
   category and answer its questions, describe, add photos, ask to be told of progress, submit;
   browse what others suggested (map by view, list as the text alternative).
   Configuration and words from the page's JSON block; every text goes in as text. */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { $, $$, bdi, dotted, fill, h, readConfig } from "./lib/dom.js";
import { formatTime, translator } from "./lib/i18n.js";
import { siteMap } from "./lib/sitemap.js";

const RM = readConfig();
const T = translator(RM.t);
const PAGE = 20;
const STEP_M = 5;  // a nudge of the pin
const base = `/api/communities/${encodeURIComponent(RM.community)}/suggestions`;
const category = Object.fromEntries(RM.categories.map((c) => [c.code, c]));
const status = Object.fromEntries(RM.statuses.map((s) => [s.code, s]));
const catLabel = (code) => (category[code] ? `${category[code].icon} ${category[code].label}` : code);
const statusLabel = (code) => (status[code] ? status[code].label : code);
const when = (iso) => formatTime(iso, RM.timeZone);

// ---- the map, framed on the community; the first view's suggestions (and, when the page opens
// on browsing, the list) are asked for at once, before the site plan is drawn -----------------
let map = null;
function params(filters) {
  const b = map.getBounds();
  const p = new URLSearchParams({
    bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(7)).join(",") });
  for (const key of ["category", "status", "grid", "q"]) if (filters[key]) p.set(key, filters[key]);
  return p;
}
const urls = {
  map(filters) {
    const p = params(filters);
    p.delete("q");
    p.set("zoom", map.getZoom().toFixed(2));
    return `${base}/map?${p}`;
  },
  list(filters, offset) {
    const p = params(filters);
    if (filters.sort && filters.sort !== "newest") p.set("sort", filters.sort);
    if (filters.sort === "nearest") {
      const c = map.getCenter();
      p.set("near", `${c.lng.toFixed(7)},${c.lat.toFixed(7)}`);
    }
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
const browsing = () => location.hash === "#browse";
map = siteMap($("#rm-map"), RM.site, { map: { zoomSnap: 0.25 }, padding: [8, 8],
  onView(m) {
    map = m;
    const early = browsing() ? [urls.map({}), urls.list({ sort: "newest" }, 0)] : [urls.map({})];
    for (const url of early) prefetched.set(url, fetch(url, { credentials: "same-origin" }));
  } });

// ---- the suggestions already made, on the map in both tabs: an icon by category, a colour by
// status (the legend under the map); counts per screen cell when there are very many ---------
// a cluster says how many it holds, to the eye and (by its title) to a screen reader
const cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40,
  iconCreateFunction: (c) => cellIcon(c.getChildCount()) });
cluster.on("animationend spiderfied", nameClusters);
map.on("zoomend", nameClusters);
function nameClusters() {
  for (const el of $$(".marker-cluster:not([title])", $("#rm-map"))) {
    const n = el.textContent.trim();
    el.setAttribute("title", T("{n} suggestions here", { n }));
    el.setAttribute("role", "button");
  }
}
const cells = L.layerGroup();
L.layerGroup([cluster, cells]).addTo(map);

function suggestionIcon(p) {
  const c = category[p.category];
  return L.divIcon({ html: h("span", { class: "rm-sug-icon" }, c ? c.icon : "•"),
    className: `rm-sug rm-s-${p.status}`, iconSize: [30, 30], iconAnchor: [15, 15],
    popupAnchor: [0, -14] });
}
function popup(p) {
  return h("div", { class: "rm-popup" }, h("strong", {}, bdi(p.title)), h("br"),
    dotted([catLabel(p.category), statusLabel(p.status)]),
    p.supports != null ? h("br") : null,
    p.supports != null ? supportButton(p.id, p.supports, p.supported) : null);
}
function cellIcon(n) {
  const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
  return L.divIcon({ html: h("div", {}, h("span", {}, n)), iconSize: L.point(40, 40),
    className: `marker-cluster marker-cluster-${size}` });
}
let mapSeq = 0;
let waiting = null;  // a new view's layer, kept until the keyboard's focus leaves the markers
// A marker focused with the keyboard (Leaflet pans to it, which asks for the view's layer) is
// never redrawn under the reader: that would drop the focus and trap Tab in the map.
const onMarker = (el) => !!(el && el.closest && el.closest("#rm-map .leaflet-marker-pane"));
async function loadMap() {
  const mine = ++mapSeq;
  const r = await get(urls.map(filters()));
  if (!r.ok || mine !== mapSeq) return;
  const layer = await r.json();
  if (mine !== mapSeq) return;
  if (onMarker(document.activeElement)) {
    waiting = layer;
    $("#rm-map").setAttribute("aria-busy", "true");  // its update is on hold
    return;
  }
  waiting = null;
  drawLayer(layer);
}
$("#rm-map").addEventListener("focusout", (e) => {
  if (!waiting || onMarker(e.relatedTarget)) return;
  const layer = waiting;
  waiting = null;
  drawLayer(layer);
});
function drawLayer(layer) {
  $("#rm-map").removeAttribute("aria-busy");
  cluster.clearLayers();
  cells.clearLayers();
  cluster.addLayers(layer.points.map((p) =>
    L.marker([p.lat, p.lon], { title: `${p.title} · ${statusLabel(p.status)}`, alt: p.title,
      icon: suggestionIcon(p) }).bindPopup(() => popup(p))));
  nameClusters();
  for (const c of layer.cells) {
    const label = T("{n} suggestions here", { n: c.count });
    const m = L.marker([c.lat, c.lon], { icon: cellIcon(c.count), title: label, alt: label,
      keyboard: true });
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

// ---- placing: a pin (tap, a found place, the map's centre, GPS; then drag or nudge), or a
// drawn line or area -----------------------------------------------------------------------
let mode = "point";
let marker = null;
let vertices = [];
let drawn = null;
let chosen = null;  // the category's code
let placeOk = false;  // the server routed the place (inside, or within the snap distance)
const pinIcon = L.divIcon({ html: h("span", { class: "rm-pin-head" }, "📍"), className: "rm-pin",
  iconSize: [40, 40], iconAnchor: [20, 38] });

function clearPlacement() {
  if (marker) { map.removeLayer(marker); marker = null; }
  if (drawn) { map.removeLayer(drawn); drawn = null; }
  vertices = [];
  placeOk = false;
  $("#rm-reset").hidden = true;
  $("#rm-nudge").hidden = true;
  fill($("#rm-where"));
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
    ? L.polygon(vertices, { color: "#c2410c" }) : L.polyline(vertices, { color: "#c2410c", weight: 5 });
  drawn.addTo(map);
}
function moveBy(dx, dy, metres) {
  if (!marker) return;
  const p = marker.getLatLng();
  const dLat = (dy * metres) / 111320;
  const dLon = (dx * metres) / (111320 * Math.cos((p.lat * Math.PI) / 180));
  const next = L.latLng(p.lat + dLat, p.lng + dLon);
  marker.setLatLng(next);
  if (!map.getBounds().pad(-0.1).contains(next)) map.panTo(next);
  placed();
}
function placePin(latlng) {
  clearPlacement();
  marker = L.marker(latlng, { draggable: true, icon: pinIcon, keyboard: true,
    title: T("Your pin: arrow keys move it"), alt: T("Your pin"), zIndexOffset: 1000 }).addTo(map);
  marker.on("dragend", placed);
  // the pin itself moves with the arrow keys (1 m a press), not the map under it
  marker.getElement().addEventListener("keydown", (e) => {
    const keys = { ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
    if (!keys[e.key]) return;
    e.preventDefault();
    e.stopPropagation();
    moveBy(...keys[e.key], 1);
  });
  $("#rm-reset").hidden = false;
  $("#rm-nudge").hidden = false;
  $("#rm-error").textContent = "";
  placed();
}
// Something is placed (or moved): ask the server who will handle it, and look for duplicates.
function placed() {
  previewing = preview();
  checkNearby();
}
map.on("click", (e) => {
  if (!$("#rm-suggest").hidden && $("#rm-receipt").hidden) {
    if (mode === "point") { placePin(e.latlng); return; }
    vertices.push(e.latlng);
    redraw();
    $("#rm-reset").hidden = false;
  }
});
function setMode(next) {
  mode = next;
  clearPlacement();
  $("#rm-draw-tools").hidden = next === "point";
  $("#rm-hint").textContent = next === "point"
    ? T("Tap the map to place a pin, then drag it to adjust; or find a building or place:")
    : T("Tap points on the map, then press Done.");
}
$("#rm-draw-line").addEventListener("click", () => setMode("line"));
$("#rm-draw-area").addEventListener("click", () => setMode("area"));
$("#rm-draw-undo").addEventListener("click", () => { vertices.pop(); redraw(); });
$("#rm-draw-done").addEventListener("click", () => { $("#rm-draw-tools").hidden = true; placed(); });
$("#rm-reset").addEventListener("click", () => setMode("point"));
$("#rm-centre").addEventListener("click", () => { setMode("point"); placePin(map.getCenter()); });
for (const btn of $$("#rm-nudge button")) {
  btn.addEventListener("click", () => {
    const [dx, dy] = btn.dataset.move.split(",").map(Number);
    moveBy(dx, dy, STEP_M);
  });
}
$("#rm-locate").addEventListener("click", () => {
  if (!navigator.geolocation) { $("#rm-error").textContent = T("Your location could not be found."); return; }
  navigator.geolocation.getCurrentPosition((pos) => {
    const ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
    setMode("point");
    placePin(ll);
    map.setView(ll, Math.max(map.getZoom(), 18));
  }, () => { $("#rm-error").textContent = T("Your location could not be found."); },
  { enableHighAccuracy: true, timeout: 15000 });
});

// ---- finding a place by name: the community's buildings, sites, facilities, grids, gardens --
const KIND_WORDS = { building: T("Building"), site: T("Micro-renewal site"), facility: T("Facility"),
  grid: T("Grid"), green: T("Green"), water: T("Water"), compound: T("Compound") };
let foundBuilding = null;  // a building chosen from the list answers "which building?"
async function findPlaces(q) {
  const r = await fetch(`/api/communities/${encodeURIComponent(RM.community)}/places?${new URLSearchParams({ q })}`);
  const list = $("#rm-places");
  if (!r.ok) { list.hidden = true; return; }
  const found = await r.json();
  fill(list, found.places.length ? found.places.map((p) => h("li", {},
    h("button", { type: "button", class: "rm-place", dataset: { lon: p.lon, lat: p.lat,
      kind: p.kind, name: p.name, bbox: p.bbox.join(",") } },
    bdi(p.name), " ", h("small", {}, KIND_WORDS[p.kind] || p.kind))))
    : h("li", { class: "rm-meta" }, T("No place of that name here.")));
  list.hidden = false;
  $("#rm-places-more").hidden = !found.more;
}
$("#rm-find").addEventListener("submit", (e) => { e.preventDefault(); findPlaces($("#rm-find-q").value.trim()); });
$("#rm-places").addEventListener("click", (e) => {
  const btn = e.target.closest(".rm-place");
  if (!btn) return;
  const ll = L.latLng(Number(btn.dataset.lat), Number(btn.dataset.lon));
  const b = btn.dataset.bbox.split(",").map(Number);
  setMode("point");
  map.fitBounds(L.latLngBounds([b[1], b[0]], [b[3], b[2]]).pad(1.5), { maxZoom: 19 });
  placePin(ll);
  foundBuilding = btn.dataset.kind === "building" ? btn.dataset.name : null;
  fillBuilding();
  $("#rm-places").hidden = true;
  $("#rm-places-more").hidden = true;
  // the pin in view, and the keys to adjust it next
  $("#rm-map").scrollIntoView({ block: "start" });
  $("#rm-nudge button").focus({ preventScroll: true });
});

// ---- who will handle it, and how soon: the very routing a post gets, asked of the server ---
let previewSeq = 0;
let previewing = Promise.resolve();  // the latest preview: a submit waits for its answer
function expectedText(x) {
  return x.basis === "history"
    ? T("In this grid, {percent}% of suggestions in the last {months} months were accepted within {days} days.",
      { percent: x.percent, months: Math.round(x.window_days / 30), days: x.days })
    : T("To be accepted within {days} days (the community's rule).", { days: x.days });
}
async function preview() {
  const g = geometry();
  const where = $("#rm-where");
  if (!g) { fill(where); return; }
  const mine = ++previewSeq;
  const r = await call("POST", "/api/suggestions/preview",
    { body: { community: RM.community, geometry: g }, language: RM.locale });
  if (mine !== previewSeq) return;
  placeOk = r.ok;
  if (!r.ok) {
    const outside = r.data && r.data.error === "not_routable";
    fill(where, h("p", { class: "rm-warn" }, outside
      ? T("This place is outside the community: move the pin inside it.") : errorText(r, T)));
    where.className = "rm-where rm-bad";
    return;
  }
  const x = r.data;
  const warn = x.elsewhere
    ? T("This place belongs to {community}: your suggestion will go there.", { community: x.owner.community.name })
    : x.outside ? T("This place is just outside the community: it goes to the nearest grid.") : null;
  fill(where, warn ? h("p", { class: "rm-warn" }, warn) : null,
    h("p", { class: "rm-owner", id: "rm-owner-preview" }, x.message),
    h("p", { class: "rm-meta" }, expectedText(x.expected)));
  where.className = warn ? "rm-where rm-bad" : "rm-where";
}

// ---- category, its questions (one definition with Open311), nearby duplicates ---------------
function questionField(q) {
  const id = `rm-q-${q.code}`;
  const label = `${q.label}${q.required ? "" : ` ${T("(optional)")}`}`;
  if (q.datatype === "multivaluelist") {
    return h("fieldset", { class: "rm-question", dataset: { code: q.code } }, h("legend", {}, label),
      q.values.map((v) => h("label", { class: "rm-check" },
        h("input", { type: "checkbox", name: `attribute[${q.code}]`, value: v.key }), ` ${v.label}`)));
  }
  let input;
  if (q.datatype === "singlevaluelist") {
    input = h("select", { id, name: `attribute[${q.code}]`, required: q.required },
      h("option", { value: "" }, T("Choose…")), q.values.map((v) => h("option", { value: v.key }, v.label)));
  } else if (q.datatype === "number") {
    input = h("input", { id, name: `attribute[${q.code}]`, type: "number", inputmode: "numeric",
      min: 0, step: 1, required: q.required });
  } else {
    input = h("input", { id, name: `attribute[${q.code}]`, maxlength: 100, required: q.required,
      dataset: { question: q.code } });
  }
  return h("div", { class: "rm-question", dataset: { code: q.code } },
    h("label", { for: id }, label), q.hint ? h("small", { id: `${id}-hint` }, q.hint) : null, input);
}
function fillBuilding() {
  const input = $("#rm-q-building");
  if (input && foundBuilding && !input.value) input.value = foundBuilding;
}
function showQuestions() {
  const box = $("#rm-questions");
  fill(box, (RM.questions[chosen] || []).map(questionField));
  for (const input of $$("input, select", box)) {
    if ($(`#${input.id}-hint`)) input.setAttribute("aria-describedby", `${input.id}-hint`);
  }
  fillBuilding();
}
function answers() {
  const out = {};
  for (const el of $$("#rm-questions input, #rm-questions select")) {
    const code = el.name.slice("attribute[".length, -1);
    if (el.type === "checkbox") {
      if (el.checked) (out[code] = out[code] || []).push(el.value);
    } else if (el.value.trim()) {
      out[code] = [el.value.trim()];
    }
  }
  return out;
}
for (const btn of $$(".rm-cat")) {
  btn.addEventListener("click", () => {
    for (const b of $$(".rm-cat")) b.setAttribute("aria-pressed", "false");
    btn.setAttribute("aria-pressed", "true");
    chosen = btn.dataset.code;
    showQuestions();
    checkNearby();
  });
}
async function checkNearby() {
  const g = geometry();
  const box = $("#rm-nearby");
  if (!g || !chosen) { box.hidden = true; return; }
  const p = g.type === "Point" ? g.coordinates : g.coordinates.flat(2).slice(0, 2);
  const q = new URLSearchParams({ lon: p[0], lat: p[1], category: chosen });
  const r = await fetch(`/api/suggestions/nearby?${q}`);
  if (!r.ok) { box.hidden = true; return; }
  const fc = await r.json();
  fill($("ul", box), fc.features.map((f) => item(f, true)));
  box.hidden = fc.features.length === 0;
}

// ---- photos: previews, removal, the limit said plainly ---------------------------------------
let photos = [];  // the chosen files, in order
const photoMB = Math.round(RM.maxPhotoBytes / (1024 * 1024));
const previews = new Map();  // file → object URL of its preview
function showPhotos() {
  for (const [file, url] of previews) {
    if (!photos.includes(file)) { URL.revokeObjectURL(url); previews.delete(file); }
  }
  fill($("#rm-photo-list"), photos.map((file, i) => {
    if (!previews.has(file)) previews.set(file, URL.createObjectURL(file));
    return h("li", {}, h("img", { src: previews.get(file), alt: T("Photo {n}", { n: i + 1 }), width: 88, height: 88 }),
      h("button", { type: "button", class: "rm-photo-remove", dataset: { i },
        "aria-label": T("Remove photo {n}", { n: i + 1 }) }, "✕"));
  }));
  const full = photos.length >= RM.maxPhotos;
  const add = $("#rm-photo-add");
  const focused = add.contains(document.activeElement);
  add.hidden = full;
  // the add button hides once the photos are full: the focus stays in the box, on the last
  // photo's remove button (not lost to the page's start)
  if (full && focused) $$("#rm-photo-list .rm-photo-remove").at(-1).focus();
  $("#rm-photo-note").textContent = full
    ? T("That is {n} photos, the most one suggestion takes: remove one to add another.", { n: RM.maxPhotos })
    : T("JPEG, PNG or WebP, up to {mb} MB each.", { mb: photoMB });
}
$("#rm-photos").addEventListener("change", (e) => {
  const problems = [];
  for (const file of e.target.files) {
    if (photos.length >= RM.maxPhotos) {
      problems.push(T("At most {n} photos: “{name}” was left out.", { n: RM.maxPhotos, name: file.name }));
    } else if (file.size > RM.maxPhotoBytes) {
      problems.push(T("“{name}” is larger than {mb} MB.", { name: file.name, mb: photoMB }));
    } else if (!["image/jpeg", "image/png", "image/webp"].includes(file.type)) {
      problems.push(T("“{name}” is not a JPEG, PNG or WebP photo.", { name: file.name }));
    } else {
      photos.push(file);
    }
  }
  e.target.value = "";
  showPhotos();
  $("#rm-error").textContent = problems.join(" ");
});
$("#rm-photo-list").addEventListener("click", (e) => {
  const btn = e.target.closest(".rm-photo-remove");
  if (!btn) return;
  photos.splice(Number(btn.dataset.i), 1);
  showPhotos();
  ($("#rm-photo-list button") || $("#rm-photos")).focus();
});

// ---- submit, and the receipt ------------------------------------------------------------------
function missing() {
  if (!geometry()) return [T("Place the pin on the map first."), "#rm-find-q"];
  if (!placeOk) return [T("This place is outside the community: move the pin inside it."), "#rm-find-q"];
  if (!chosen) return [T("Please choose a category."), ".rm-cat"];
  for (const q of RM.questions[chosen] || []) {
    if (q.required && !answers()[q.code]) return [T("Please answer: {question}", { question: q.label }), `[data-code="${q.code}"] input, [data-code="${q.code}"] select`];
  }
  if (!$("#rm-title").value.trim()) return [T("Please enter a title."), "#rm-title"];
  const notify = $("#rm-notify");
  if (notify && notify.checked && !$("#rm-phone").value.trim() && !($("#rm-email") && $("#rm-email").value.trim())) {
    return [T("To be told of progress, leave a phone number or an e-mail address."), "#rm-phone"];
  }
  return null;
}
$("#rm-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = $("#rm-error");
  await previewing;
  const problem = missing();
  if (problem) {
    err.textContent = problem[0];
    const field = $(problem[1]);
    if (field) field.focus();
    return;
  }
  const fd = new FormData();
  fd.append("category", chosen);
  fd.append("geometry", JSON.stringify(geometry()));
  for (const id of ["title", "description", "nickname", "phone", "email"]) {
    const el = $(`#rm-${id}`);
    if (el && el.value.trim()) fd.append(id, el.value.trim());
  }
  fd.append("show_nickname", $("#rm-show-nickname").checked ? "true" : "false");
  fd.append("notify", $("#rm-notify") && $("#rm-notify").checked ? "true" : "false");
  fd.append("attributes", JSON.stringify(answers()));  // the questions were asked: all checked
  for (const f of photos) fd.append("photos", f, f.name);
  const btn = $("#rm-submit");
  if (RM.preview) { err.textContent = T("Nothing can be posted from a preview."); return; }
  btn.disabled = true;
  btn.textContent = T("Sending…");
  err.textContent = "";
  try {
    const r = await call("POST", "/api/suggestions", { body: fd, csrf: await residentCsrf(), language: RM.locale });
    if (!r.ok) { err.textContent = errorText(r, T); return; }
    receipt(r.data);
  } catch {
    err.textContent = T("The connection failed; please try again.");
  } finally {
    btn.disabled = false;
    btn.textContent = T("Submit");
  }
});
function receipt(body) {
  $("#rm-form").hidden = true;
  $("#rm-step-place").hidden = true;
  $("#rm-receipt-title").textContent = T("Submitted. Receipt code: {code}", { code: body.receipt_code });
  $("#rm-owner").textContent = body.message;
  $("#rm-expected").textContent = expectedText(body.expected);
  const words = { sms: T("SMS"), email: T("e-mail") };
  $("#rm-told").textContent = body.notify.length
    ? T("You will be told of progress by {channels}.", { channels: body.notify.map((c) => words[c]).join(" · ") })
    : T("Come back to the link below to see progress.");
  const url = location.origin + body.follow_url;
  const link = $("#rm-follow");
  link.href = body.follow_url;
  link.textContent = url;
  const qr = `/api/receipts/${encodeURIComponent(body.receipt_code)}/qr.png?token=${encodeURIComponent(body.token)}`;
  $("#rm-qr").src = qr;
  $("#rm-qr").hidden = false;
  $("#rm-qr-save").href = qr;
  $("#rm-qr-save").setAttribute("download", `${body.receipt_code}.png`);
  $("#rm-receipt").hidden = false;
  $("#rm-receipt").focus();
  loadMap();
}
$("#rm-copy").addEventListener("click", async () => {
  const text = $("#rm-follow").textContent;
  try {
    await navigator.clipboard.writeText(text);
    $("#rm-copied").textContent = T("The link is copied.");
  } catch {
    // no clipboard (an old browser, or not allowed): select the link for the reader to copy
    const range = document.createRange();
    range.selectNodeContents($("#rm-follow"));
    const sel = getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    $("#rm-copied").textContent = T("Copy the selected link.");
  }
});
$("#rm-again").addEventListener("click", () => {
  $("#rm-form").reset();
  for (const b of $$(".rm-cat")) b.setAttribute("aria-pressed", "false");
  chosen = null;
  foundBuilding = null;
  photos = [];
  showPhotos();
  fill($("#rm-questions"));
  $("#rm-form").hidden = false;
  $("#rm-step-place").hidden = false;
  $("#rm-receipt").hidden = true;
  $("#rm-nearby").hidden = true;
  $("#rm-copied").textContent = "";
  setMode("point");
  $("#rm-find-q").focus();
});

// ---- browse: map and list from the same filters; loaded by view, never all at once ----------
// The list is paged (20 at a time, "more") and is the complete text alternative of the map.
let offset = 0;
function supportButton(id, supports, supported) {
  return h("button", { type: "button", class: "rm-support", dataset: { id }, disabled: supported || null,
    "aria-pressed": supported ? "true" : "false" },
  `${supported ? T("Supported") : T("Support (+1)")} `, h("span", { class: "rm-n" }, supports));
}
// One suggestion as a list item (compact: in the "similar nearby" box).
function item(f, compact) {
  const p = f.properties;
  const meta = dotted([catLabel(p.category), p.grid ? bdi(p.grid.name) : null,
    p.distance_m != null ? T("{m} m away", { m: Math.round(p.distance_m) }) : null]);
  return h("li", { dataset: { id: p.id } },
    h("strong", {}, bdi(p.title)),
    h("div", { class: "rm-meta" },
      h("span", { class: `rm-badge rm-s-${p.status}` }, statusLabel(p.status)), " ",
      h("time", { datetime: p.created_at }, when(p.created_at)), " · ", meta),
    (p.adopted_in || []).map((a) => h("div", { class: "rm-adopted" },
      `✓ ${T("Adopted in {site} draft {n}", { site: a.site_name, n: a.draft })}`)),
    p.description && !compact ? h("p", { class: "rm-text" }, p.description) : null,
    compact ? null : p.photos.map((ph, i) => h("img", { src: ph.thumbnail,
      alt: T("Photo {n}", { n: i + 1 }), width: 64, height: 64, loading: "lazy" })),
    h("div", { class: "rm-row" },
      supportButton(p.id, p.supports, p.supported),
      compact ? null : h("button", { type: "button", class: "rm-locate", dataset: { id: p.id } }, T("Show on map"))),
    compact ? null : h("details", { class: "rm-comments", dataset: { id: p.id } },
      h("summary", {}, `${T("Comments")} (`, h("span", { class: "rm-c" }, p.comments), ")"),
      h("ul"),
      h("form", { class: "rm-comment-form" },
        h("label", { for: `rm-c-${p.id}`, class: "rm-visually-hidden" }, T("Write a comment")),
        h("input", { id: `rm-c-${p.id}`, name: "body", maxlength: 1000, required: true,
          placeholder: T("Write a comment") }),
        h("button", { type: "submit" }, T("Send")))));
}
function filters() {
  return { category: $("#rm-f-category").value, status: $("#rm-f-status").value,
    grid: $("#rm-f-grid").value, q: $("#rm-f-q").value.trim(), sort: $("#rm-f-sort").value };
}
const shown = new Map();  // list items by id, to find one on the map
let seq = 0;
let lastQuery = null;
let lastView = null;
async function load(reset) {
  // Filter changes and map moves can overlap: only the latest request may render, and the
  // list is replaced only when its answer arrives (never appended twice).
  const mine = ++seq;
  const url = urls.list(filters(), reset ? 0 : offset);
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
  if ($("#rm-browse").hidden) { clearTimeout(timer); timer = setTimeout(loadMap, 250); return; }
  // never reload the list under someone who is typing in it
  if (urls.list(filters(), 0) === lastQuery || $("#rm-list").contains(document.activeElement)) return;
  // A viewport resize (a phone's URL bar or keyboard) keeps centre and zoom: not a new view.
  if (lastView && map.getZoom() === lastView.zoom &&
      map.latLngToContainerPoint(lastView.center).distanceTo(map.getSize().divideBy(2)) < 2) return;
  clearTimeout(timer);
  timer = setTimeout(() => { loadMap(); load(true); }, 250);
});
for (const id of ["#rm-f-category", "#rm-f-status", "#rm-f-grid", "#rm-f-sort"]) {
  $(id).addEventListener("change", () => { loadMap(); load(true); });
}
let typing = null;
$("#rm-f-q").addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => load(true), 300); });
$("#rm-filters").addEventListener("submit", (e) => { e.preventDefault(); load(true); });
$("#rm-more").addEventListener("click", () => load(false));

// From the list to the map: the suggestion in its context (its grid outlined and in view), and
// a way back to the same place in the list.
const gridOf = Object.fromEntries((RM.site.layers.grid ? RM.site.layers.grid.data.features : [])
  .map((f) => [f.properties.code, f]));
const highlight = L.layerGroup().addTo(map);
let backTo = null;
document.addEventListener("click", (e) => {
  const btn = e.target.closest(".rm-locate");
  if (!btn) return;
  const f = shown.get(btn.dataset.id);
  if (!f) return;
  highlight.clearLayers();
  const own = L.geoJSON(f);
  let frame = own.getBounds();
  const grid = f.properties.grid && gridOf[f.properties.grid.code];
  if (grid) {
    const outline = L.geoJSON(grid, { interactive: false, style: { color: "#212529", weight: 3, fill: false } });
    outline.addTo(highlight);
    frame = frame.extend(outline.getBounds());
  }
  if (f.geometry.type !== "Point") {
    own.setStyle({ color: "#c2410c", weight: 5 }).addTo(highlight);
  } else {  // its own marker, above any cluster it may be in at this zoom
    const [lon, lat] = f.geometry.coordinates;
    L.marker([lat, lon], { icon: suggestionIcon(f.properties), zIndexOffset: 900, keyboard: false,
      title: `${f.properties.title} · ${statusLabel(f.properties.status)}`, interactive: false })
      .addTo(highlight);
  }
  map.fitBounds(frame.pad(0.1), { maxZoom: 19, animate: false });
  // the list stays as it is (this view is not one the reader chose); the map's layer follows
  lastView = { center: map.getCenter(), zoom: map.getZoom() };
  loadMap();
  const at = f.geometry.type === "Point" ? [0, -14] : [0, 7];
  // no auto-pan: the view stays the one chosen, and the list with it
  L.popup({ offset: at, autoPan: false }).setLatLng(own.getBounds().getCenter())
    .setContent(popup(f.properties)).openOn(map);
  backTo = btn;
  const back = $("#rm-back");
  back.textContent = `← ${T("Back to the list")}`;
  $("#rm-back-row").hidden = false;
  $("#rm-map").scrollIntoView({ block: "start" });
  back.focus({ preventScroll: true });
});
$("#rm-back").addEventListener("click", () => {
  $("#rm-back-row").hidden = true;
  highlight.clearLayers();
  map.closePopup();
  if (backTo && backTo.isConnected) {
    backTo.scrollIntoView({ block: "center" });
    backTo.focus({ preventScroll: true });
  }
});

// +1 from this device (remembered by the server: shown as given after a reload)
document.addEventListener("click", async (e) => {
  const btn = e.target.closest(".rm-support");
  if (!btn || btn.disabled || RM.preview) return;
  const r = await call("POST", `/api/suggestions/${btn.dataset.id}/supports`,
    { csrf: await residentCsrf(), language: RM.locale });
  if (r.ok || r.status === 409) {
    for (const b of $$(`.rm-support[data-id="${btn.dataset.id}"]`)) {
      b.disabled = true;
      b.setAttribute("aria-pressed", "true");
      if (r.ok) $(".rm-n", b).textContent = r.data.supports;
      b.firstChild.textContent = `${T("Supported")} `;
    }
  }
});

// ---- comments (loaded when a suggestion's comments are opened), each with its time ----------
async function loadComments(details) {
  const r = await fetch(`/api/suggestions/${details.dataset.id}/comments`);
  if (!r.ok) return;
  const items = await r.json();
  fill($("ul", details), items.map((c) => h("li", {},
    h("time", { datetime: c.created_at, class: "rm-meta" }, when(c.created_at)), " ", bdi(c.body),
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
  if (RM.preview) return;
  const details = form.closest("details");
  const r = await call("POST", `/api/suggestions/${details.dataset.id}/comments`,
    { body: { body: form.body.value }, csrf: await residentCsrf(), language: RM.locale });
  if (r.ok) { form.reset(); loadComments(details); }
});

// ---- tabs (buttons; the arrow keys move between them too) ------------------------------------
function show(tab) {
  const browse = tab === "browse";
  $("#tab-suggest").setAttribute("aria-selected", String(!browse));
  $("#tab-browse").setAttribute("aria-selected", String(browse));
  $("#rm-suggest").hidden = browse;
  $("#rm-browse").hidden = !browse;
  $("#rm-back-row").hidden = true;
  if (browse) { load(true); } else { highlight.clearLayers(); }
}
$("#tab-suggest").addEventListener("click", () => show("suggest"));
$("#tab-browse").addEventListener("click", () => show("browse"));
for (const tab of $$("[role=tab]")) {
  tab.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const other = tab.id === "tab-suggest" ? $("#tab-browse") : $("#tab-suggest");
    other.focus();
    other.click();
  });
}
window.addEventListener("hashchange", () => show(browsing() ? "browse" : "suggest"));
loadMap();
if (browsing()) show("browse");
