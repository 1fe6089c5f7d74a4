/* RenewMap staff workspace: my area's requests on the map and in a list, one request in
   full, and the workflow buttons. Data from the scoped staff API; text from window.RMS.t. */
(function () {
  "use strict";
  const S = window.RMS;
  const map = window[S.map];
  if (!isFinite(map.getMaxZoom())) map.setMaxZoom(22);
  map.invalidateSize();
  const { $, esc, csrf } = window.RMU;
  const T = window.RMU.translator(S.t);
  const markers = L.layerGroup().addTo(map);
  const byId = new Map();

  async function api(url, options) {
    const r = await fetch(url, Object.assign({ credentials: "same-origin" }, options || {}));
    if (r.status === 401) { location.href = "/staff/login?next=" + encodeURIComponent(location.pathname + location.search); }
    return r;
  }

  async function loadList() {
    const p = new URLSearchParams({ community: S.community, sort: $("#rm-f-sort").value, limit: 500 });
    for (const [k, id] of [["status", "#rm-f-status"], ["category", "#rm-f-category"], ["grid", "#rm-f-grid"], ["building", "#rm-f-building"]]) {
      if ($(id).value) p.set(k, $(id).value);
    }
    const r = await api("/api/staff/requests?" + p);
    const fc = await r.json();
    if (!r.ok) { $("#rm-count").textContent = fc.message || r.status; return; }
    markers.clearLayers();
    byId.clear();
    const items = [];
    for (const f of fc.features) {
      const q = f.properties;
      byId.set(String(f.id), f);
      const layer = L.geoJSON(f, { pointToLayer: (_, ll) => L.circleMarker(ll, {
        radius: 8, weight: 2, color: "#fff", fillOpacity: 0.95,
        fillColor: q.overdue ? "#c92a2a" : q.status === "new" || q.status === "reopened" ? "#e8590c" : "#1971c2" }) });
      layer.bindTooltip(esc(q.title));
      layer.on("click", () => showDetail(f.id));
      markers.addLayer(layer);
      items.push(`<li><button type="button" class="rm-open" data-id="${f.id}">
        <strong>${esc(q.title)}</strong></button>
        <div class="rm-meta">${esc(S.categories[q.category] || q.category)} · ${esc(S.statuses[q.status] || q.status)}
        ${q.grid ? " · " + esc(q.grid.name) : ""} · ${esc(T("{n} days", { n: Math.floor(q.age_days) }))}
        · +${esc(q.supports)}${q.overdue ? ` · <span class="rm-overdue">${esc(T("Overdue"))}</span>` : ""}</div></li>`);
    }
    $("#rm-list").innerHTML = items.join("");
    $("#rm-count").textContent = T("{n} requests", { n: fc.numberMatched });
  }

  const ACTION_LABELS = { accept: "Accept", start: "Start work", resolve: "Resolve", reject: "Reject",
    duplicate: "Mark as duplicate", transfer: "Transfer", reply: "Reply to the resident", note: "Internal note",
    hide: "Hide from the public", unhide: "Show to the public again" };

  async function showDetail(id) {
    const r = await api(`/api/staff/requests/${id}`);
    const f = await r.json();
    const box = $("#rm-detail");
    if (!r.ok) { box.hidden = false; box.textContent = f.message || r.status; return; }
    const q = f.properties;
    const history = q.history.map((h) => `<li class="${h.public ? "" : "rm-internal"}">
      ${esc(T(h.kind))} · ${esc(new Date(h.at).toLocaleString())}${h.actor ? " · " + esc(h.actor) : ""}
      ${h.note ? `<div>${esc(h.note)}</div>` : ""}${h.public ? "" : ` <em>(${esc(T("internal"))})</em>`}</li>`).join("");
    const photos = q.photos.map((p) => `<a href="${esc(p.url)}"><img src="${esc(p.thumbnail)}" alt="" width="96" height="96"></a>`).join("");
    const buttons = q.actions.map((a) => `<button type="button" class="rm-act" data-action="${a}">${esc(T(ACTION_LABELS[a]))}</button>`).join(" ");
    box.innerHTML = `<h2 id="rm-d-title">${esc(q.title)}</h2>
      <p class="rm-meta">${esc(S.categories[q.category] || q.category)} ·
        <strong id="rm-d-status">${esc(S.statuses[q.status] || q.status)}</strong>
        ${q.grid ? " · " + esc(q.grid.name) : ""} · ${esc(q.receipt_code || "")}</p>
      ${q.description ? `<p>${esc(q.description)}</p>` : ""}<div>${photos}</div>
      <p>${esc(T("Resident"))}: ${esc(q.nickname || "—")} · ${q.phone ? `<a href="tel:${esc(q.phone)}">${esc(q.phone)}</a>` : "—"}</p>
      <h3>${esc(T("History"))}</h3><ol id="rm-d-history">${history}</ol>
      <form id="rm-act-form" data-id="${f.id}" data-version="${q.version}">
        <label for="rm-act-note">${esc(T("Reply, reason or note"))}</label>
        <textarea id="rm-act-note" name="note" maxlength="2000" rows="3"></textarea>
        <select name="target_grid" aria-label="${esc(T("Transfer to grid"))}"><option value="">${esc(T("Transfer to grid"))}</option>
          ${S.grids.filter((g) => !q.grid || g.code !== q.grid.code).map((g) => `<option value="${esc(g.code)}">${esc(g.name)}</option>`).join("")}</select>
        <input name="duplicate_of" inputmode="numeric" placeholder="${esc(T("Duplicate of request no."))}" aria-label="${esc(T("Duplicate of request no."))}">
        <p id="rm-act-error" role="alert" class="rm-error"></p>
        <div class="rm-actions">${buttons}</div></form>`;
    box.hidden = false;
    box.focus();
  }

  document.addEventListener("click", async (e) => {
    const open = e.target.closest(".rm-open");
    if (open) { showDetail(open.dataset.id); return; }
    const act = e.target.closest(".rm-act");
    if (!act) return;
    const form = act.closest("form");
    const body = { action: act.dataset.action, version: Number(form.dataset.version) };
    if (form.note.value.trim()) body.note = form.note.value;
    if (form.target_grid.value) body.target_grid = form.target_grid.value;
    if (form.duplicate_of.value) body.duplicate_of = Number(form.duplicate_of.value);
    const r = await api(`/api/staff/requests/${form.dataset.id}/actions`, { method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(body) });
    const out = await r.json();
    if (!r.ok) {
      $("#rm-act-error").textContent = out.message || r.status;
      if (r.status === 409) showDetail(form.dataset.id).then(() => { $("#rm-act-error").textContent = out.message; });
      return;
    }
    await loadList();
    if (out.in_your_area === false) { $("#rm-detail").hidden = true; return; }
    showDetail(form.dataset.id);
  });
  for (const id of ["#rm-f-status", "#rm-f-category", "#rm-f-grid", "#rm-f-building", "#rm-f-sort"]) {
    $(id).addEventListener("change", loadList);
  }
  $("#rm-signout").addEventListener("click", async () => {
    await api("/api/staff/session", { method: "DELETE", headers: { "X-CSRF-Token": csrf() } });
    location.href = "/staff/login";
  });
  // ---- patrols: the route is drawn by tapping the map while the form is open -------------------
  const route = [];
  const routeLine = L.polyline([], { color: "#1c7c54", weight: 4, dashArray: "6 6" }).addTo(map);
  const patrolOpen = () => $("#rm-patrol").open;
  function redrawRoute() { routeLine.setLatLngs(route); $("#rm-p-points").textContent = route.length; }
  // Findings: "place it" makes the next tap the finding's spot instead of a route point.
  const findings = [];
  const findingMarks = L.layerGroup().addTo(map);
  let placing = false;
  $("#rm-p-f-place").addEventListener("click", () => {
    if (!$("#rm-p-f-title").value.trim()) { $("#rm-p-error").textContent = T("Say what was found first"); return; }
    placing = true;
    $("#rm-p-error").textContent = T("Now tap the spot on the map");
  });
  function listFindings() {
    $("#rm-p-findings").innerHTML = findings.map((f) =>
      `<li>${esc(S.categories[f.category] || f.category)} · ${esc(f.title)}</li>`).join("");
  }
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
    route.push(e.latlng);
    redrawRoute();
  });
  $("#rm-p-undo").addEventListener("click", () => { route.pop(); redrawRoute(); });
  $("#rm-p-day").value = new Date().toISOString().slice(0, 10);
  $("#rm-patrol-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    $("#rm-p-error").textContent = "";
    const body = { community: S.community, grid: f.grid.value, day: f.day.value,
      participants: f.participants.value, notes: f.notes.value || null };
    if (route.length === 1) { $("#rm-p-error").textContent = T("A route needs at least two points"); return; }
    if (route.length > 1) body.route = { type: "LineString", coordinates: route.map((p) => [p.lng, p.lat]) };
    body.findings = findings;
    const r = await api("/api/staff/patrols", { method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() }, body: JSON.stringify(body) });
    const out = await r.json();
    if (!r.ok) { $("#rm-p-error").textContent = out.message || r.status; return; }
    $("#rm-p-result").textContent = T("Patrol of {day} saved", { day: out.day }) +
      (out.findings.length ? " · " + T("{n} findings sent as requests", { n: out.findings.length }) : "");
    route.length = 0;
    findings.length = 0;
    findingMarks.clearLayers();
    listFindings();
    loadList();
    redrawRoute();
    f.reset();
    $("#rm-p-day").value = new Date().toISOString().slice(0, 10);
  });
  map.fitBounds([[S.bounds[1], S.bounds[0]], [S.bounds[3], S.bounds[2]]], { padding: [8, 8], animate: false });
  loadList();
})();
