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

  $("#rm-draft-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#rm-b-error").textContent = "";
    const file = $("#rm-draft-file").files[0];
    if (!file) return;
    let features;
    try { features = JSON.parse(await file.text()); } catch (err) {
      $("#rm-b-error").textContent = T("{file} is not valid JSON", { file: file.name }); return;
    }
    const r = await fetch(base, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(features) });
    const out = await r.json();
    if (!r.ok) { $("#rm-b-error").textContent = out.message || r.status; return; }
    draftId = out.id;
    show(features, out.report);
  });

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
