/* RenewMap drawing workspace: draw a site's zones, planting beds, plants, paths, facilities and
   elements to keep with Leaflet-Geoman (vendored), snapping to the site outline and building
   edges; every change is measured and checked by the server (live metrics and rule checks);
   save with the draft's version. Text from window.RMD.t; data from the design API. */
(function () {
  "use strict";
  const D = window.RMD;
  const map = window[D.map];
  map.setMaxZoom(22);
  // Geoman runs opt-in (geoman-optin.js): the map itself opts in here.
  if (!map.pm) { map.options.pmIgnore = false; map.pm = new L.PM.Map(map); map.pm.setGlobalOptions({}); }
  const { $, esc, csrf } = window.RMU;
  const T = window.RMU.translator(D.t);
  const LB = D.labels;
  const draftUrl = `/api/design/drafts/${D.draft.id}`;
  let version = D.draft.version;
  let dirty = false;
  let selected = null;
  let tool = null; // the kind being drawn
  const COLOURS = window.RMU.KIND_COLOURS;
  const SHAPES = { zone: "Polygon", green: "Polygon", plant: "CircleMarker", path: "Line",
    facility: "CircleMarker", keep: "Polygon" };
  const drawn = L.featureGroup().addTo(map);

  // The site outline and every base layer (buildings, paths…) are snapped to, never edited.
  const site = L.geoJSON(D.site, { style: { color: "#d6336c", weight: 3, fillOpacity: 0.03 },
    interactive: false, snapIgnore: false }).addTo(map);
  map.eachLayer((l) => { if (l instanceof L.Path && !drawn.hasLayer(l)) l.options.snapIgnore = false; });
  map.fitBounds(site.getBounds(), { maxZoom: 21 });
  map.pm.setGlobalOptions({ snappable: true, snapDistance: 15, allowSelfIntersection: false });
  map.pm.setLang(D.t["Save"] === "保存" ? "zh" : "en");
  map.pm.addControls({ position: "topleft", drawMarker: false, drawCircleMarker: false,
    drawPolyline: false, drawRectangle: false, drawPolygon: false, drawCircle: false,
    drawText: false, cutPolygon: false, rotateMode: false });

  function style(layer) {
    const kind = layer.feature.properties.kind;
    const bad = layer._rmBad;
    const colour = bad ? "#e03131" : COLOURS[kind];
    const s = { color: colour, weight: kind === "path" ? 4 : 2, dashArray: bad ? "6 4" : null,
      fillColor: colour, fillOpacity: kind === "zone" ? 0.08 : 0.35 };
    if (layer instanceof L.CircleMarker) { s.radius = kind === "plant" ? 7 : 6; s.fillOpacity = 0.9; }
    layer.setStyle(s);
  }

  function adopt(layer, properties) {
    layer.feature = { type: "Feature", properties: properties };
    layer.options.pmIgnore = false;
    if (L.PM.reInitLayer) L.PM.reInitLayer(layer);
    layer.on("click", () => select(layer));
    layer.on("pm:edit pm:dragend pm:markerdragend", changed);
    drawn.addLayer(layer);
    style(layer);
    return layer;
  }

  function load(collection) {
    drawn.clearLayers();
    L.geoJSON(collection, {
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
    form.querySelectorAll("[data-for]").forEach((el) => {
      el.hidden = !el.dataset.for.split(" ").includes(kind);
    });
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
    const p = { kind: kind };
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

  document.querySelectorAll(".rm-tool").forEach((b) => b.addEventListener("click", () => {
    tool = b.dataset.kind;
    selected = null;
    document.querySelectorAll(".rm-tool").forEach((x) => x.classList.toggle("rm-active", x === b));
    showForm(tool, null);
    map.pm.disableDraw();
    const colour = COLOURS[tool];
    map.pm.enableDraw(SHAPES[tool], { snappable: true, snapDistance: 15,
      pathOptions: { color: colour, fillColor: colour }, templineStyle: { color: colour },
      hintlineStyle: { color: colour, dashArray: [5, 5] }, finishOn: SHAPES[tool] === "Line" ? "dblclick" : null });
  }));

  map.on("pm:create", (e) => {
    const kind = tool || "keep";
    const layer = adopt(e.layer, formProps(kind));
    document.querySelectorAll(".rm-tool").forEach((x) => x.classList.remove("rm-active"));
    tool = null;
    select(layer);
    changed();
  });
  map.on("pm:remove", (e) => { if (drawn.hasLayer(e.layer)) drawn.removeLayer(e.layer); select(null); changed(); });

  $("#rm-props").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!selected) return;
    const kind = selected.feature.properties.kind;
    const keep = selected.feature.properties;
    selected.feature.properties = Object.assign({}, keep, formProps(kind));
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
    return { type: "FeatureCollection", features: features };
  }

  let timer = null;
  function changed() {
    dirty = true;
    $("#rm-saved").textContent = T("Unsaved changes");
    clearTimeout(timer);
    timer = setTimeout(evaluate, 250);
  }

  async function api(method, url, body) {
    const r = await fetch(url, { method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const out = await r.json().catch(() => ({}));
    if (!r.ok) { $("#rm-error").textContent = out.message || String(r.status); return null; }
    $("#rm-error").textContent = "";
    return out;
  }

  async function evaluate() {
    const out = await api("POST", `${draftUrl}/evaluate`, { features: collection(true) });
    if (out) render(out.metrics, out.violations);
  }

  const num = (v, d) => (v == null ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: d }));
  function render(m, violations) {
    const pct = m.green_ratio == null ? "—" : (m.green_ratio * 100).toFixed(1) + "%";
    const byLayer = Object.entries(m.plants_by_layer).map(([k, n]) => `${esc(LB.layers[k] || k)} ${n}`).join(" · ") || "—";
    const bySurface = Object.entries(m.path_length_m).map(([k, v]) => `${esc(LB.surfaces[k] || T("Unspecified"))} ${num(v, 1)} m`).join(" · ") || "—";
    const byWidth = Object.entries(m.path_length_by_width_m).map(([k, v]) => `${esc(k)} m: ${num(v, 1)} m`).join(" · ") || "—";
    const seasons = ["spring", "summer", "autumn", "winter"].map((s) =>
      `<span class="${m.seasons.includes(s) ? "rm-yes" : "rm-no"}">${m.seasons.includes(s) ? "✓" : "✗"} ${esc(LB.seasons[s])}</span>`).join(" ");
    const bill = m.bill.map((b) => `<tr><td>${esc(b.item)}</td><td>${num(b.quantity, 2)} ${esc(b.unit)}</td><td>${num(b.cost, 0)}</td></tr>`).join("");
    $("#rm-metrics").innerHTML = `<table class="rm-stats" id="rm-metrics-table">
<tr><th scope="row">${esc(T("Site area (m²)"))}</th><td data-metric="site_area_m2">${num(m.site_area_m2, 1)}</td></tr>
<tr><th scope="row">${esc(T("Green area (m²)"))}</th><td data-metric="green_area_m2">${num(m.green_area_m2, 1)}</td></tr>
<tr><th scope="row">${esc(T("Green ratio"))}</th><td data-metric="green_ratio">${pct}</td></tr>
<tr><th scope="row">${esc(T("Hard surface (m²)"))}</th><td data-metric="hard_area_m2">${num(m.hard_area_m2, 1)}</td></tr>
<tr><th scope="row">${esc(T("Paths by surface"))}</th><td data-metric="path_length_m">${bySurface}</td></tr>
<tr><th scope="row">${esc(T("Paths by width"))}</th><td>${byWidth}</td></tr>
<tr><th scope="row">${esc(T("Plants by layer"))}</th><td>${byLayer}</td></tr>
<tr><th scope="row">${esc(T("Seasons covered"))}</th><td data-metric="seasons">${seasons}</td></tr>
<tr><th scope="row">${esc(T("Estimated cost (yuan)"))}</th><td data-metric="total_cost">${num(m.total_cost, 0)}</td></tr></table>
<details><summary>${esc(T("Bill of quantities"))}</summary><table class="rm-stats">${bill}</table></details>`;
    const bad = new Set(violations.map((v) => v.feature));
    drawn.eachLayer((l) => { l._rmBad = bad.has(String(L.stamp(l))); style(l); });
    $("#rm-violations").innerHTML = violations.length
      ? violations.map((v) => `<li data-rule="${esc(v.rule)}" data-feature="${esc(v.feature)}"><strong>${esc(LB.rules[v.rule] || v.rule)}</strong>: ${esc(v.message)}</li>`).join("")
      : `<li class="rm-yes">${esc(T("No problems found"))}</li>`;
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
    const out = await api("PUT", `${draftUrl}/features`, { version: version, features: collection(false) });
    if (!out) return;
    version = out.version;
    dirty = false;
    $("#rm-saved").textContent = T("Saved (version {n})", { n: version });
  });
  $("#rm-public").addEventListener("change", (e) => api("PUT", `${draftUrl}/public`, { public: e.target.checked }));
  $("#rm-adopts").addEventListener("submit", async (e) => {
    e.preventDefault();
    const ids = [...e.target.querySelectorAll("input[name=adopt]:checked")].map((i) => Number(i.value));
    const out = await api("PUT", `${draftUrl}/adopts`, { request_ids: ids });
    if (out) $("#rm-saved").textContent = T("Saved");
  });
  $("#rm-import").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (dirty) { $("#rm-error").textContent = T("Save your drawing before importing"); return; }
    const data = new FormData(e.target);
    data.set("version", String(version));
    if (!data.get("epsg")) data.delete("epsg");
    const r = await fetch(`${draftUrl}/import`, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() }, body: data });
    const out = await r.json().catch(() => ({}));
    if (!r.ok) { $("#rm-error").textContent = out.message || String(r.status); return; }
    $("#rm-error").textContent = "";
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
})();
