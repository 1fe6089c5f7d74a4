/* Setting a community up (issue 15): choose the residents' committee from the official list,
   read or draw its outline (overlaps with other communities warned about before saving),
   bring in its buildings (those outside the outline only when ticked), number them, go on to
   the grids, invite staff by a one-time link, publish. Every step saves on the server; the
   page, opened again with ?community=CODE, picks up where it was left. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { buildingsTable } from "./lib/buildings.js";
import { $, bdi, fill, h, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";

const C = readConfig();
const T = translator(C.t);
const send = (method, url, body) => call(method, url, { body, csrf: staffCsrf(), language: C.locale });
const get = (url) => call("GET", url, { language: C.locale });
const SNAP = { snappable: true, snapDistance: 20, allowSelfIntersection: false };

L.PM.setOptIn(true);
const map = L.map($("#rm-map"), { maxZoom: 22, attributionControl: false, pmIgnore: false })
  .setView([31.23, 121.47], 11);
L.control.scale({ imperial: false }).addTo(map);
map.pm.setGlobalOptions(SNAP);
map.pm.setLang(C.locale === "en" ? "en" : "zh");
$("#rm-map").dispatchEvent(new CustomEvent("rm:map", { detail: map, bubbles: true }));
const outlineLayer = L.geoJSON(null, { snapIgnore: false,
  style: { color: "#c92a2a", weight: 3, fillColor: "#f8f9fa", fillOpacity: 0.2 } }).addTo(map);
const buildingLayer = L.layerGroup().addTo(map);

let community = C.community;   // its code, once saved
let chosen = null;             // the committee chosen: {code, name, unofficial, subdistrict_code}
let outline = null;            // GeoJSON geometry of the outline being set
const base = () => `/api/staff/communities/${encodeURIComponent(community)}`;

function zoomTo(feature) {
  map.fitBounds(L.geoJSON(feature).getBounds(), { maxZoom: 19, padding: [24, 24] });
}

// ---- where the setup stands ----
async function refresh() {
  const r = await get(`${base()}/setup`);
  if (!r.ok) { $("#rm-s-state").textContent = errorText(r, T); return; }
  const s = r.data;
  $("#rm-s-title").replaceChildren(bdi(s.name));
  $("#rm-s-state").textContent = s.state === "published"
    ? T("Published: residents see it")
    : T("In setup: residents do not see it yet");
  $("#rm-c-step").hidden = true;
  $("#rm-c-chosen").replaceChildren(T("Committee:"), " ", bdi(s.name), ` (${s.code})`);
  if (!outline) showOutline(s.outline, true);
  $("#rm-later").hidden = false;
  $("#rm-g-state").textContent = T("{n} grids published; {b} buildings, {k} of them numbered",
    { n: s.grids, b: s.buildings, k: s.numbered });
  $("#rm-g-link").setAttribute("href", `/staff/boundaries?community=${encodeURIComponent(s.code)}`);
  $("#rm-publish").hidden = s.state === "published";
  $("#rm-preview-link").hidden = s.state === "published";
  $("#rm-preview-link").setAttribute("href", `/staff/setup/preview/${encodeURIComponent(s.code)}`);
}

// ---- 1. the committee ----
$("#rm-c-search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = e.target.q.value.trim();
  const r = await get(`/api/staff/setup/committees?q=${encodeURIComponent(q)}`);
  if (!r.ok) { fill($("#rm-c-results"), h("li", { class: "rm-error" }, errorText(r, T))); return; }
  fill($("#rm-c-results"), r.data.length ? r.data.map((c) => {
    const b = h("button", { type: "button", class: "rm-link" }, bdi(c.name), ` · ${c.subdistrict_name} · ${c.code}`);
    b.addEventListener("click", () => choose({ code: c.code, name: c.name, unofficial: false }));
    return h("li", {}, b);
  }) : h("li", {}, T("No committee matches; try fewer words")));
});
$("#rm-c-own").addEventListener("submit", (e) => {
  e.preventDefault();
  const f = e.target;
  choose({ code: f.code.value.trim(), name: f.name.value.trim(), unofficial: true,
    subdistrict_code: f.subdistrict.value.trim() });
});
function choose(c) {
  chosen = c;
  $("#rm-c-chosen").replaceChildren(T("Committee:"), " ", bdi(c.name), ` (${c.code})`,
    c.unofficial ? ` · ${T("unofficial code")}` : "");
  $("#rm-o-save").hidden = !outline;
}

// ---- 2. the outline: from a file, or drawn; overlaps warned about before saving ----
function showOutline(geometry, fit) {
  outline = geometry;
  outlineLayer.clearLayers();
  if (!geometry) return;
  outlineLayer.addData({ type: "Feature", properties: {}, geometry });
  if (fit) map.fitBounds(outlineLayer.getBounds(), { padding: [16, 16], animate: false });
}

async function outlineChosen(geometry) {
  showOutline(geometry, true);
  $("#rm-o-error").textContent = "";
  const r = await send("POST", "/api/staff/setup/overlaps", { outline: geometry, community });
  if (!r.ok) { $("#rm-o-error").textContent = errorText(r, T); return; }
  warnOverlaps(r.data.overlaps);
  $("#rm-o-save").hidden = !(chosen || community);
}

function warnOverlaps(overlaps) {
  fill($("#rm-o-overlaps"), overlaps.map((o) => h("li", {}, o.message)));
}

async function readOutline(compound) {
  const file = $("#rm-o-file").files[0];
  if (!file) { $("#rm-o-error").textContent = T("Choose a file first"); return; }
  const form = new FormData();
  form.append("file", file);
  if (compound) form.append("compound", compound);
  const r = await send("POST", "/api/staff/setup/outline", form);
  if (!r.ok) { $("#rm-o-error").textContent = errorText(r, T); return; }
  if (r.data.outline) { $("#rm-o-pick").hidden = true; outlineChosen(r.data.outline); return; }
  fill($("#rm-o-compound"), r.data.compounds.map((n) => h("option", { value: n }, n)));
  $("#rm-o-pick").hidden = false;
}
$("#rm-o-form").addEventListener("submit", (e) => { e.preventDefault(); readOutline(null); });
$("#rm-o-pick").addEventListener("submit", (e) => { e.preventDefault(); readOutline($("#rm-o-compound").value); });
$("#rm-o-draw").addEventListener("click", () => {
  map.pm.enableDraw("Polygon", Object.assign({ pathOptions: { color: "#c92a2a" } }, SNAP));
});
map.on("pm:create", (e) => {
  const geometry = e.layer.toGeoJSON().geometry;
  map.removeLayer(e.layer);
  outlineChosen(geometry);
});

$("#rm-o-save").addEventListener("click", async () => {
  $("#rm-o-error").textContent = "";
  let r;
  if (community) {
    r = await send("PUT", `${base()}/outline`, { outline });
  } else {
    if (!chosen) { $("#rm-o-error").textContent = T("Choose the residents' committee first"); return; }
    const body = { code: chosen.code, outline, unofficial: chosen.unofficial };
    if (chosen.unofficial) { body.name = chosen.name; body.subdistrict_code = chosen.subdistrict_code; }
    r = await send("POST", "/api/staff/communities", body);
  }
  if (!r.ok) { $("#rm-o-error").textContent = errorText(r, T); return; }
  warnOverlaps(r.data.overlaps);
  if (!community) {
    community = r.data.code;
    history.replaceState(null, "", `/staff/setup?community=${encodeURIComponent(community)}`);
    startBuildings();
    loadChain();
  }
  $("#rm-o-save").hidden = true;
  refresh();
});

// ---- 3. buildings: sorted against the outline, the outside ones only when ticked ----
let reloadTable = null;
async function showBuildings() {
  const rows = reloadTable ? await reloadTable() : [];
  buildingLayer.clearLayers();
  for (const b of rows) {
    L.circleMarker([b.point[1], b.point[0]], { radius: 5, color: "#495057", fillOpacity: 0.8 })
      .bindTooltip(() => h("span", {}, b.label)).addTo(buildingLayer);
  }
}
function startBuildings() {
  reloadTable = buildingsTable({ community, tbody: $("#rm-buildings tbody"), error: $("#rm-buildings-error"),
    T, send, zoomTo, locale: C.locale, stairwells: true });
  showBuildings();
}

async function sortBuildings(save) {
  const file = $("#rm-bf-file").files[0];
  if (!file) { $("#rm-bf-error").textContent = T("Choose a file first"); return null; }
  const form = new FormData();
  form.append("file", file);
  const ticked = [...document.querySelectorAll("#rm-bf-outside input:checked")].map((i) => i.value);
  if (ticked.length) form.append("include", ticked.join(","));
  if (save) form.append("save", "true");
  const r = await send("POST", `${base()}/buildings/file`, form);
  $("#rm-bf-error").textContent = r.ok ? "" : errorText(r, T);
  return r.ok ? r.data : null;
}
$("#rm-bf-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const found = await sortBuildings(false);
  if (!found) return;
  $("#rm-bf-inside").textContent = T("{n} buildings lie inside the outline and will be imported", { n: found.inside.length });
  fill($("#rm-bf-outside"), found.outside.map((b) => h("li", {},
    h("label", {}, h("input", { type: "checkbox", value: b.id }), " ", bdi(b.label),
      ` · ${Math.round(b.share_inside * 100)}% · ${b.id}`))));
  $("#rm-bf-outside-box").hidden = found.outside.length === 0;
  $("#rm-bf-save").hidden = false;
});
$("#rm-bf-save").addEventListener("click", async () => {
  const found = await sortBuildings(true);
  if (!found) return;
  const s = found.saved;
  const roads = s.roads ? ` ${T("{roads} roads and paths inside the outline came too (to snap to and split along)", s)}` : "";
  $("#rm-bf-result").textContent = T("Imported: {created} new, {updated} updated, {unchanged} unchanged", s) + roads;
  $("#rm-bf-save").hidden = true;
  await showBuildings();
  refresh();
});

// ---- 5. the branch chain: the general branch, its party branches, each grid's branch ----
let chainBranches = [];  // {key, code (null: new), name}
let chainGrids = [];     // {code, name, branch: a key or ""}
let nextKey = 0;

function branchRow(b) {
  const name = h("input", { value: b.name, required: true, maxlength: "200", class: "rm-b-name",
    "aria-label": T("Name of the party branch") });
  name.addEventListener("input", () => { b.name = name.value; renderGridOwners(); });
  const remove = h("button", { type: "button", class: "rm-link" }, T("Remove"));
  remove.addEventListener("click", () => {
    chainBranches = chainBranches.filter((x) => x !== b);
    for (const g of chainGrids) if (g.branch === b.key) g.branch = "";
    renderChain();
  });
  return h("li", {}, name, " ", b.code ? h("small", { class: "rm-meta" }, b.code) : null, " ", remove);
}

function renderGridOwners() {
  fill($("#rm-b-grids tbody"), chainGrids.map((g) => {
    const select = h("select", { "aria-label": T("Party branch of grid {grid}", { grid: g.name }),
      dataset: { grid: g.code } },
    h("option", { value: "" }, T("— no branch —")),
    chainBranches.map((b) => h("option", { value: b.key, selected: g.branch === b.key || null },
      b.name || T("(unnamed)"))));
    select.addEventListener("change", () => { g.branch = select.value; });
    return h("tr", {}, h("td", {}, bdi(g.name), ` (${g.code})`), h("td", {}, select));
  }));
}

function renderChain() {
  fill($("#rm-b-list"), chainBranches.map(branchRow));
  renderGridOwners();
}

function showChain(chain) {
  $("#rm-b-general").value = chain.general ? chain.general.name : "";
  chainBranches = chain.branches.map((b) => ({ key: `k${nextKey++}`, code: b.code, name: b.name }));
  const keyOf = Object.fromEntries(chainBranches.map((b) => [b.code, b.key]));
  chainGrids = chain.grids.map((g) => ({ code: g.code, name: g.name, branch: keyOf[g.branch] || "" }));
  renderChain();
  $("#rm-b-state").textContent = chain.problems.length
    ? T("Still missing:") : T("Every grid has its party branch.");
  fill($("#rm-b-problems"), chain.problems.map((p) => h("li", { class: "rm-error" }, p.message)));
}

async function loadChain() {
  const r = await get(`${base()}/branch-chain`);
  if (!r.ok) { $("#rm-b-error").textContent = errorText(r, T); return; }
  showChain(r.data);
}

$("#rm-b-add").addEventListener("click", () => {
  chainBranches.push({ key: `k${nextKey++}`, code: null, name: "" });
  renderChain();
  const names = document.querySelectorAll("#rm-b-list .rm-b-name");
  names[names.length - 1].focus();
});

$("#rm-b-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {
    general: { name: $("#rm-b-general").value.trim() },
    branches: chainBranches.map((b) => ({ code: b.code, name: b.name.trim(),
      grids: chainGrids.filter((g) => g.branch === b.key).map((g) => g.code) })),
  };
  const r = await send("PUT", `${base()}/branch-chain`, body);
  $("#rm-b-error").textContent = r.ok ? "" : errorText(r, T);
  if (r.ok) { showChain(r.data); refresh(); }
});

// ---- 6. staff: an invitation link, shown once ----
$("#rm-i-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { username: f.username.value.trim(), display_name: f.display_name.value.trim(),
    role: f.role.value, place: f.place.value.trim() || null };
  const r = await send("POST", `${base()}/invitations`, body);
  if (!r.ok) { $("#rm-i-error").textContent = errorText(r, T); $("#rm-i-done").hidden = true; return; }
  $("#rm-i-error").textContent = "";
  $("#rm-i-link").value = r.data.link;
  $("#rm-i-done").hidden = false;
  f.reset();
});

// a new link for an invitation not yet accepted (the old link stops working)
$("#rm-i-resend").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const r = await send("POST", `${base()}/invitations/${encodeURIComponent(f.username.value.trim())}/resend`);
  if (!r.ok) { $("#rm-i-error").textContent = errorText(r, T); $("#rm-i-done").hidden = true; return; }
  $("#rm-i-error").textContent = "";
  $("#rm-i-link").value = r.data.link;
  $("#rm-i-done").hidden = false;
  f.reset();
});

// ---- 7. publish ----
$("#rm-publish").addEventListener("click", async () => {
  const r = await send("POST", `${base()}/publish`);
  $("#rm-p-error").textContent = r.ok ? "" : errorText(r, T);
  if (r.ok) refresh();
});

if (community) { refresh(); startBuildings(); loadChain(); }
