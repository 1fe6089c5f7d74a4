/* RenewMap boundary administration: load a grid set (GeoJSON), see the draft and its problems
   on the map, publish it. Text from window.RMB.t; data from the staff API. */
(function () {
  "use strict";
  const B = window.RMB;
  const map = window[B.map];
  if (!isFinite(map.getMaxZoom())) map.setMaxZoom(22);
  map.invalidateSize();
  const { $, esc, csrf } = window.RMU;
  const T = window.RMU.translator(B.t);
  const draftLayer = L.layerGroup().addTo(map);
  let draftId = null;
  const base = `/api/staff/communities/${encodeURIComponent(B.community)}/grid-drafts`;

  function show(features, report) {
    draftLayer.clearLayers();
    L.geoJSON(features, { style: { color: "#1c7c54", weight: 3, fillOpacity: 0.1, dashArray: "4 4" },
      onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.code + " " + (f.properties.name || ""))) }).addTo(draftLayer);
    L.geoJSON({ type: "FeatureCollection", features: report.issues.filter((i) => i.geometry) }, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 9, color: "#c92a2a", fillOpacity: 0.8 }),
      onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.message)),
    }).addTo(draftLayer);
    $("#rm-issues").innerHTML = report.issues.length
      ? report.issues.map((i) => `<li class="rm-issue-${esc(i.properties.kind)}">${esc(i.properties.message)}</li>`).join("")
      : `<li>${esc(T("No problems found"))}</li>`;
    $("#rm-publish").hidden = false;
  }

  async function check(features) {
    $("#rm-b-error").textContent = "";
    const r = await fetch(base, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(features) });
    const out = await r.json();
    if (!r.ok) { $("#rm-b-error").textContent = out.message || r.status; return; }
    draftId = out.id;
    show(features, out.report);
  }

  $("#rm-draft-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("#rm-draft-file").files[0];
    if (!file) return;
    let features;
    try { features = JSON.parse(await file.text()); } catch (err) {
      $("#rm-b-error").textContent = T("{file} is not valid JSON", { file: file.name }); return;
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
    $("#rm-d-codes").innerHTML = drawn.features.map((f) => `<option value="${esc(f.properties.code)}">`).join("");
    $("#rm-d-check").hidden = drawn.features.length === 0;
  }
  map.on("click", (e) => { corners.push(e.latlng); redrawSketch(); });
  $("#rm-d-undo").addEventListener("click", () => { corners.pop(); redrawSketch(); });
  $("#rm-d-current").addEventListener("click", async () => {
    const r = await fetch(`/api/communities/${encodeURIComponent(B.community)}/layers/grid`);
    const fc = await r.json();
    drawn = { type: "FeatureCollection", features: fc.features.map((f) => ({ type: "Feature",
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
    const r = await fetch(`${base}/${draftId}/publish`, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf() } });
    const out = await r.json();
    if (!r.ok) { $("#rm-b-error").textContent = out.message || r.status; return; }
    $("#rm-result").textContent = T("Published as grid-set version {v}; {n} open requests re-routed",
      { v: out.grid_set_version, n: out.rerouted.length });
    $("#rm-publish").hidden = true;
  });
  map.fitBounds([[B.bounds[1], B.bounds[0]], [B.bounds[3], B.bounds[2]]], { padding: [8, 8], animate: false });
})();
