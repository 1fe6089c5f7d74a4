/* RenewMap site page for residents: the drafts put before them as map layers (one shown at a
   time), comments (optionally placed on the map), one vote each, and pins for the survey.
   What is open comes from the server (the site's step); text from window.RMR.t. */
(function () {
  "use strict";
  const R = window.RMR;
  const map = window[R.map];
  map.setMaxZoom(22);
  const { $, esc } = window.RMU;
  const T = window.RMU.translator(R.t);
  const LB = R.labels;
  const base = `/api/sites/${encodeURIComponent(R.community)}/${encodeURIComponent(R.site.code)}`;
  const COLOURS = window.RMU.KIND_COLOURS;
  const outline = L.geoJSON(R.site.geometry);
  map.fitBounds(outline.getBounds(), { maxZoom: 20 });
  const shown = L.layerGroup().addTo(map);
  const pick = L.layerGroup().addTo(map);
  let csrf = "";
  let view = null;
  let current = null; // the draft on the map
  let picking = null; // a callback waiting for a tap on the map

  L.geoJSON({ type: "FeatureCollection", features: R.plants.map((p) => ({ type: "Feature",
    geometry: p.geometry, properties: p })) }, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1,
      fillColor: f.properties.open ? "#f08c00" : "#2b8a3e", fillOpacity: 1 }),
    onEachFeature: (f, l) => l.bindPopup(`<a href="${esc(f.properties.url)}">${esc(f.properties.name || "")}</a>`),
  }).addTo(map);

  async function session() {
    const s = await (await fetch("/api/session", { credentials: "same-origin" })).json();
    csrf = s.csrf_token;
  }

  async function post(url, body) {
    const r = await fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) });
    const out = await r.json().catch(() => ({}));
    $("#rm-error").textContent = r.ok ? "" : (out.message || String(r.status));
    return r.ok ? out : null;
  }

  function showDraft(number) {
    current = number;
    shown.clearLayers();
    const d = view.drafts.find((x) => x.number === number);
    if (!d) return;
    L.geoJSON(d.features, {
      style: (f) => ({ color: COLOURS[f.properties.kind], weight: f.properties.kind === "path" ? 4 : 2,
        fillColor: COLOURS[f.properties.kind], fillOpacity: f.properties.kind === "zone" ? 0.08 : 0.4 }),
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: COLOURS[f.properties.kind], fillOpacity: 0.9 }),
      onEachFeature: (f, l) => l.bindTooltip(esc([LB.kinds[f.properties.kind], f.properties.name,
        f.properties.species, LB.facilities[f.properties.type]].filter(Boolean).join(" · "))),
    }).addTo(shown);
    d.comments.filter((c) => c.geometry).forEach((c) => {
      const [x, y] = c.geometry.coordinates;
      L.marker([y, x], { title: c.body }).bindPopup(esc(c.body)).addTo(shown);
    });
    document.querySelectorAll("input[name=rm-show]").forEach((i) => { i.checked = Number(i.value) === number; });
  }

  function render() {
    const may = view.residents_may;
    if (!view.drafts.length) { $("#rm-drafts").innerHTML = `<p>${esc(T("No drafts have been shown to residents yet."))}</p>`; return; }
    $("#rm-drafts").innerHTML = view.drafts.map((d) => {
      const m = d.metrics;
      const seasons = ["spring", "summer", "autumn", "winter"].filter((s) => m.seasons.includes(s)).map((s) => LB.seasons[s]).join(" ");
      const comments = d.comments.map((c) => `<li>${esc(c.body)} <small>${esc(c.nickname || T("A resident"))}${c.geometry ? " · 📍" : ""}</small></li>`).join("");
      const votes = d.votes == null ? "" : `<p class="rm-votes">${esc(T("{n} votes", { n: d.votes }))}</p>`;
      const mine = view.my_vote === d.number ? `<p class="rm-yes">${esc(T("You voted for this draft"))}</p>` : "";
      const vote = may.includes("vote") && view.my_vote == null
        ? `<button type="button" class="rm-primary rm-vote" data-draft="${d.number}">${esc(T("Vote for this draft"))}</button>` : "";
      const adopts = d.adopts.length ? `<p class="rm-meta">${esc(T("Adopts suggestions"))}: ${d.adopts.map((a) => "#" + a.id + " " + esc(a.title)).join("; ")}</p>` : "";
      const form = may.includes("comment") ? `<form class="rm-comment" data-draft="${d.number}">
<textarea name="body" rows="2" maxlength="1000" required aria-label="${esc(T("Your comment"))}" placeholder="${esc(T("Your comment"))}"></textarea>
<input name="nickname" maxlength="40" placeholder="${esc(T("Nickname (optional)"))}" aria-label="${esc(T("Nickname (optional)"))}">
<button type="button" class="rm-place">${esc(T("Place it on the map"))}</button>
<button type="submit">${esc(T("Comment"))}</button></form>` : "";
      return `<article class="rm-draft" data-draft="${d.number}"><h3><label><input type="radio" name="rm-show" value="${d.number}"> ${esc(T("Draft"))} ${d.number} · ${esc(d.name)}</label></h3>
<p>${esc(T("Green ratio"))} ${m.green_ratio == null ? "—" : (m.green_ratio * 100).toFixed(0) + "%"} · ${esc(T("Green area (m²)"))} ${m.green_area_m2} · ${esc(T("Seasons covered"))} ${esc(seasons) || "—"} · ${esc(T("Estimated cost (yuan)"))} ${Number(m.total_cost).toLocaleString()}</p>
${adopts}${votes}${mine}${vote}<ul class="rm-comments">${comments}</ul>${form}</article>`;
    }).join("");
    showDraft(current || view.drafts[0].number);
  }

  async function refresh() {
    view = await (await fetch(`${base}/consultation`, { credentials: "same-origin" })).json();
    render();
  }

  $("#rm-drafts").addEventListener("change", (e) => { if (e.target.name === "rm-show") showDraft(Number(e.target.value)); });
  $("#rm-drafts").addEventListener("click", async (e) => {
    const v = e.target.closest(".rm-vote");
    if (v) { if (await post(`${base}/vote`, { draft: Number(v.dataset.draft) })) refresh(); return; }
    const place = e.target.closest(".rm-place");
    if (place) {
      const form = place.closest("form");
      showDraft(Number(form.dataset.draft));
      place.textContent = T("Tap the map");
      picking = (ll) => { form._point = ll; place.textContent = "📍 " + T("Placed"); };
    }
  });
  $("#rm-drafts").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const body = { body: f.body.value, nickname: f.nickname.value || null };
    if (f._point) body.point = { type: "Point", coordinates: [f._point.lng, f._point.lat] };
    if (await post(`${base}/drafts/${f.dataset.draft}/comments`, body)) refresh();
  });
  map.on("click", (e) => {
    if (!picking) return;
    pick.clearLayers();
    L.circleMarker(e.latlng, { radius: 8, color: "#d6336c" }).addTo(pick);
    const done = picking;
    picking = null;
    done(e.latlng);
  });

  const survey = $("#rm-site-suggest");
  if (survey) {
    // during the survey every tap on the map places the pin (comments are closed then)
    map.on("click", (e) => {
      survey._point = e.latlng;
      pick.clearLayers();
      L.circleMarker(e.latlng, { radius: 8, color: "#d6336c" }).addTo(pick);
    });
    survey.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!survey._point) { $("#rm-error").textContent = T("Tap the map where it applies."); return; }
      const data = new FormData(survey);
      data.set("lon", String(survey._point.lng));
      data.set("lat", String(survey._point.lat));
      data.set("site", R.site.code);
      const r = await fetch("/api/suggestions", { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf }, body: data });
      const out = await r.json().catch(() => ({}));
      if (!r.ok) { $("#rm-error").textContent = out.message || String(r.status); return; }
      $("#rm-error").textContent = "";
      $("#rm-suggest-result").innerHTML = `${esc(T("Thank you. Your receipt code"))} <strong>${esc(out.receipt_code)}</strong> · <a href="${esc(out.follow_url)}">${esc(T("Follow it"))}</a>`;
      survey.reset();
    });
  }

  session().then(refresh);
})();
