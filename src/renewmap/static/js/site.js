/* RenewMap site page for residents: the drafts put before them as map layers (one shown at a
   time), comments (optionally placed on the map), one vote each, and pins for the survey.
   What is open comes from the server (the site's step). */
import { call, errorText, residentCsrf } from "./lib/api.js";
import { $, fill, h, readConfig } from "./lib/dom.js";
import { formatNumber, translator } from "./lib/i18n.js";
import { KIND_COLOURS, siteMap } from "./lib/sitemap.js";

const R = readConfig();
const T = translator(R.t);
const LB = R.labels;
const base = `/api/sites/${encodeURIComponent(R.community)}/${encodeURIComponent(R.site.code)}`;
const map = siteMap($("#rm-map"), R.plan);
const outline = L.geoJSON(R.site.geometry, { interactive: false,
  style: { color: "#d6336c", weight: 3, fillOpacity: 0.03 } }).addTo(map);
map.fitBounds(outline.getBounds(), { maxZoom: 20, animate: false });
const shown = L.layerGroup().addTo(map);
const pick = L.layerGroup().addTo(map);
let view = null;
let current = null; // the draft on the map
let picking = null; // a callback waiting for a tap on the map

L.geoJSON({ type: "FeatureCollection", features: R.plants.map((p) => ({ type: "Feature",
  geometry: p.geometry, properties: p })) }, {
  pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: "#fff", weight: 1,
    fillColor: f.properties.open ? "#f08c00" : "#2b8a3e", fillOpacity: 1 }),
  onEachFeature: (f, l) => l.bindPopup(() => h("a", { href: f.properties.url }, f.properties.name || "—")),
}).addTo(map);

async function post(url, body) {
  const r = await call("POST", url, { body, csrf: await residentCsrf(), language: R.locale });
  $("#rm-error").textContent = r.ok ? "" : errorText(r, T);
  return r.ok ? r.data : null;
}

function featureLabel(p) {
  return [LB.kinds[p.kind], p.name, p.species, LB.facilities[p.type]].filter(Boolean).join(" · ");
}

function showDraft(number) {
  current = number;
  shown.clearLayers();
  const d = view.drafts.find((x) => x.number === number);
  if (!d) return;
  L.geoJSON(d.features, {
    style: (f) => ({ color: KIND_COLOURS[f.properties.kind], weight: f.properties.kind === "path" ? 4 : 2,
      fillColor: KIND_COLOURS[f.properties.kind], fillOpacity: f.properties.kind === "zone" ? 0.08 : 0.4 }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: KIND_COLOURS[f.properties.kind], fillOpacity: 0.9 }),
    onEachFeature: (f, l) => l.bindTooltip(() => h("span", {}, featureLabel(f.properties))),
  }).addTo(shown);
  for (const c of d.comments.filter((x) => x.geometry)) {
    const [x, y] = c.geometry.coordinates;
    L.marker([y, x], { title: c.body, alt: c.body }).bindPopup(() => h("p", { class: "rm-text" }, c.body)).addTo(shown);
  }
  for (const i of document.querySelectorAll("input[name=rm-show]")) i.checked = Number(i.value) === number;
}

function draftCard(d) {
  const may = view.residents_may;
  const m = d.metrics;
  const seasons = ["spring", "summer", "autumn", "winter"].filter((s) => m.seasons.includes(s))
    .map((s) => LB.seasons[s]).join(" ");
  const figures = [
    `${T("Green ratio")} ${m.green_ratio == null ? "—" : `${(m.green_ratio * 100).toFixed(0)}%`}`,
    `${T("Green area (m²)")} ${formatNumber(m.green_area_m2, 1, R.locale)}`,
    `${T("Seasons covered")} ${seasons || "—"}`,
    `${T("Estimated cost (yuan)")} ${formatNumber(m.total_cost, 0, R.locale)}`,
  ];
  const form = may.includes("comment") ? h("form", { class: "rm-comment", dataset: { draft: d.number } },
    h("textarea", { name: "body", rows: 2, maxlength: 1000, required: true,
      "aria-label": T("Your comment"), placeholder: T("Your comment") }),
    h("input", { name: "nickname", maxlength: 40, placeholder: T("Nickname (optional)"),
      "aria-label": T("Nickname (optional)") }),
    h("button", { type: "button", class: "rm-place" }, T("Place it on the map")),
    h("button", { type: "submit" }, T("Comment"))) : null;
  return h("article", { class: "rm-draft", dataset: { draft: d.number } },
    h("h3", {}, h("label", {}, h("input", { type: "radio", name: "rm-show", value: d.number }),
      ` ${T("Draft")} ${d.number} · `, d.name)),
    h("p", {}, figures.join(" · ")),
    d.adopts.length ? h("p", { class: "rm-meta" }, `${T("Adopts suggestions")}: `,
      d.adopts.map((a) => a.title).join("; ")) : null,
    d.votes == null ? null : h("p", { class: "rm-votes" }, T("{n} votes", { n: d.votes })),
    view.my_vote === d.number ? h("p", { class: "rm-yes" }, T("You voted for this draft")) : null,
    may.includes("vote") && view.my_vote == null
      ? h("button", { type: "button", class: "rm-primary rm-vote", dataset: { draft: d.number } },
        T("Vote for this draft")) : null,
    h("ul", { class: "rm-comments" }, d.comments.map((c) => h("li", {}, h("span", { class: "rm-text" }, c.body), " ",
      h("small", {}, c.nickname || T("A resident"), c.geometry ? " · 📍" : "")))),
    form);
}

function render() {
  if (!view.drafts.length) {
    fill($("#rm-drafts"), h("p", {}, T("No drafts have been shown to residents yet.")));
    return;
  }
  fill($("#rm-drafts"), view.drafts.map(draftCard));
  showDraft(current || view.drafts[0].number);
}

async function refresh() {
  const r = await call("GET", `${base}/consultation`, { language: R.locale });
  if (!r.ok) { $("#rm-error").textContent = errorText(r, T); return; }
  view = r.data;
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
    picking = (ll) => { form.rmPoint = ll; place.textContent = `📍 ${T("Placed")}`; };
  }
});
$("#rm-drafts").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { body: f.body.value, nickname: f.nickname.value || null };
  if (f.rmPoint) body.point = { type: "Point", coordinates: [f.rmPoint.lng, f.rmPoint.lat] };
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
    survey.rmPoint = e.latlng;
    pick.clearLayers();
    L.circleMarker(e.latlng, { radius: 8, color: "#d6336c" }).addTo(pick);
  });
  survey.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!survey.rmPoint) { $("#rm-error").textContent = T("Tap the map where it applies."); return; }
    const data = new FormData(survey);
    data.set("lon", String(survey.rmPoint.lng));
    data.set("lat", String(survey.rmPoint.lat));
    data.set("site", R.site.code);
    const r = await call("POST", "/api/suggestions", { body: data, csrf: await residentCsrf(), language: R.locale });
    if (!r.ok) { $("#rm-error").textContent = errorText(r, T); return; }
    $("#rm-error").textContent = "";
    fill($("#rm-suggest-result"), `${T("Thank you. Your receipt code")} `, h("strong", {}, r.data.receipt_code),
      " · ", h("a", { href: r.data.follow_url }, T("Follow it")));
    survey.reset();
  });
}

refresh();
