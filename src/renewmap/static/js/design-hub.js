/* The sites' hub: new sites drawn on the map and sites edited, facilities placed, moved and
   removed; for one site: new drafts, compare two, move the process on (with the reason a step
   is skipped), a step's dates, minutes and attachments, household forms printed and their
   turnout, the decision, answers to objections, the build, before/after photos. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, $$, bdi, fill, h, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";
import { KIND_COLOURS, siteMap } from "./lib/sitemap.js";

const H = readConfig();
const T = translator(H.t);
const LB = H.labels;
if (H.mayDraw) L.PM.setOptIn(true);
const map = siteMap($("#rm-map"), H.plan, { map: { pmIgnore: !H.mayDraw } });
const community = `/api/design/communities/${encodeURIComponent(H.community)}`;
let outline = null;
if (H.outline) {
  outline = L.geoJSON(H.outline, { interactive: false,
    style: { color: "#d6336c", weight: 3, fillOpacity: 0.05 } }).addTo(map);
  map.fitBounds(outline.getBounds(), { animate: false });
}

async function send(method, url, body) {
  const r = await call(method, url, { body, csrf: staffCsrf(), language: H.locale });
  $("#rm-error").textContent = r.ok ? "" : errorText(r, T);
  return r.ok ? (r.data || {}) : null;
}
const status = (text) => { $("#rm-status").textContent = text; };

// ---- sites drawn on the map, and facilities ----
let drawnOutline = null; // a new site's outline, drawn with Geoman
if (H.mayDraw) {
  $("#rm-s-draw").addEventListener("click", () => {
    if (drawnOutline) map.removeLayer(drawnOutline);
    drawnOutline = null;
    map.pm.enableDraw("Polygon", { snappable: true, snapDistance: 15, pathOptions: { color: "#d6336c" } });
    status(T("Draw the site's outline: tap its corners, then the first one again."));
  });
  map.on("pm:create", (e) => {
    if (placingFacility) return;
    drawnOutline = e.layer;
    status(T("Outline drawn."));
  });
  $("#rm-site-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!drawnOutline) { $("#rm-error").textContent = T("Draw the outline on the map first"); return; }
    const f = e.target;
    const out = await send("POST", `${community}/sites`, { name: f.name.value, code: f.code.value || null,
      description: f.description.value || null, geometry: drawnOutline.toGeoJSON().geometry });
    if (out) location.href = `/staff/design?community=${encodeURIComponent(H.community)}&site=${encodeURIComponent(out.code)}`;
  });
  if (H.site) {
    const siteUrl = `${community}/sites/${encodeURIComponent(H.site)}`;
    let editable = null;
    $("#rm-e-redraw").addEventListener("click", () => {
      if (editable) return;
      editable = L.geoJSON(H.outline, { pmIgnore: false, style: { color: "#d6336c", weight: 3 } }).addTo(map);
      if (outline) map.removeLayer(outline);
      editable.eachLayer((l) => { if (L.PM.reInitLayer) L.PM.reInitLayer(l); l.pm.enable({ snappable: true }); });
      status(T("Drag the outline's corners, then save."));
    });
    $("#rm-site-edit").addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      const body = { name: f.name.value, description: f.description.value };
      if (editable) editable.eachLayer((l) => { body.geometry = l.toGeoJSON().geometry; });
      if (await send("PUT", siteUrl, body)) location.reload();
    });
  }
  // facilities: placed with a tap, moved with a tap, removed
  const facilities = L.layerGroup().addTo(map);
  let placingFacility = null; // {type, name} or {move: id}
  const facilityName = (f) => [LB.facilities[f.type] || f.type, f.name].filter(Boolean).join(" · ");
  async function loadFacilities() {
    const r = await call("GET", `${community}/facilities`, { language: H.locale });
    if (!r.ok) return;
    facilities.clearLayers();
    for (const f of r.data) {
      L.geoJSON(f.geometry, { pointToLayer: (g, ll) => L.circleMarker(ll, { radius: 6, color: KIND_COLOURS.facility,
        fillOpacity: 0.9 }) }).bindTooltip(() => h("span", {}, facilityName(f))).addTo(facilities);
    }
    fill($("#rm-facility-list"), r.data.map((f) => h("li", { dataset: { id: f.id } }, bdi(facilityName(f)),
      f.site ? ` (${f.site}) ` : " ",
      h("button", { type: "button", class: "rm-f-move", dataset: { id: f.id } }, T("Move")),
      h("button", { type: "button", class: "rm-f-delete", dataset: { id: f.id } }, T("Delete")))));
  }
  $("#rm-facilities").addEventListener("toggle", (e) => { if (e.target.open) loadFacilities(); });
  $("#rm-facility-form").addEventListener("submit", (e) => {
    e.preventDefault();
    placingFacility = { type: e.target.type.value, name: e.target.name.value || null };
    status(T("Tap the map where the facility is."));
  });
  $("#rm-facility-list").addEventListener("click", async (e) => {
    const move = e.target.closest(".rm-f-move");
    const remove = e.target.closest(".rm-f-delete");
    if (move) { placingFacility = { move: move.dataset.id }; status(T("Tap the map where the facility is.")); }
    if (remove && await send("DELETE", `/api/design/facilities/${remove.dataset.id}`)) loadFacilities();
  });
  map.on("click", async (e) => {
    if (!placingFacility) return;
    const geometry = { type: "Point", coordinates: [e.latlng.lng, e.latlng.lat] };
    const job = placingFacility;
    placingFacility = null;
    status("");
    const ok = job.move
      ? await send("PUT", `/api/design/facilities/${job.move}`, { geometry })
      : await send("POST", `${community}/facilities`, { type: job.type, name: job.name, geometry });
    if (ok) { $("#rm-facility-form").reset(); loadFacilities(); }
  });
}

if (H.site) {
  const base = `${community}/sites/${encodeURIComponent(H.site)}`;
  const newDraft = $("#rm-new-draft");
  if (newDraft) {
    newDraft.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      const body = { name: f.name.value };
      if (f.start.value === "site") body.from_site = true;
      else if (f.start.value !== "empty") body.copy_from = Number(f.start.value);
      const out = await send("POST", `${base}/drafts`, body);
      if (out) location.href = `/staff/design/drafts/${out.id}`;
    });
    $("#rm-compare").addEventListener("click", () => {
      const a = document.querySelector("input[name=cmp-a]:checked");
      const b = document.querySelector("input[name=cmp-b]:checked");
      if (a && b) location.href = `/staff/design/compare?a=${a.value}&b=${b.value}`;
    });
  }
  $("#rm-stage").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const out = await send("POST", `${base}/stage`, { stage: f.stage.value, reason: f.reason.value || null });
    if (out) location.reload();
  });
  $("#rm-step").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = e.target;
    const ok = await send("PUT", `${base}/stages/${f.stage.value}`, {
      starts_on: f.starts_on.value || null, ends_on: f.ends_on.value || null, minutes: f.minutes.value || null });
    if (!ok) return;
    if (f.file.files.length) {
      const data = new FormData();
      data.set("file", f.file.files[0]);
      if (!(await send("POST", `${base}/stages/${f.stage.value}/attachments`, data))) return;
    }
    location.reload();
  });
  $("#rm-photo").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await send("POST", `${base}/photos`, new FormData(e.target))) location.reload();
  });

  // ---- household forms and turnout ----
  const forms = $("#rm-forms");
  async function loadCatchment() {
    const r = await call("GET", `${base}/households`, { language: H.locale });
    if (!r.ok) return;
    fill($("#rm-catchment tbody"), r.data.buildings.map((b) => h("tr", {},
      h("td", {}, h("input", { type: "checkbox", name: "building", value: b.building,
        "aria-label": b.building, checked: b.issued === 0 })),
      h("td", {}, bdi(b.building)),
      h("td", {}, h("input", { type: "number", name: `households:${b.building}`, min: 1, max: 2000,
        value: b.households == null ? "" : b.households, "aria-label": T("Households") })),
      h("td", {}, h("input", { type: "text", name: `stairwells:${b.building}`, inputmode: "numeric",
        pattern: "\\d+([,，\\s]+\\d+)*", size: 10, placeholder: "12,12,10", "aria-label": T("Households per stairwell") })),
      h("td", {}, String(b.distance_m)), h("td", {}, String(b.issued)), h("td", {}, String(b.answered)))));
  }
  async function loadTurnout() {
    const r = await call("GET", `${base}/households/turnout`, { language: H.locale });
    if (!r.ok || !r.data.issued) return;
    fill($("#rm-turnout-rows"), r.data.buildings.map((b) => h("tr", { dataset: { building: b.building } },
      h("td", {}, bdi(b.building)), h("td", {}, String(b.issued)), h("td", {}, String(b.answered)),
      h("td", {}, `${(b.share * 100).toFixed(0)}%`))),
    h("tr", { class: "rm-total" }, h("th", {}, T("All")), h("td", {}, String(r.data.issued)),
      h("td", {}, String(r.data.answered)), h("td", {}, `${(r.data.share * 100).toFixed(0)}%`)));
    $("#rm-turnout").hidden = false;
  }
  if (forms) {
    loadCatchment();
    forms.addEventListener("submit", async (e) => {
      e.preventDefault();
      const buildings = $$("input[name=building]:checked", forms).map((c) => {
        const n = forms.querySelector(`input[name="households:${CSS.escape(c.value)}"]`).value;
        const each = forms.querySelector(`input[name="stairwells:${CSS.escape(c.value)}"]`).value
          .split(/[,，\s]+/).filter((v) => v !== "").map(Number);
        return { building: c.value, households: n ? Number(n) : null, stairwells: each.length ? each : null };
      });
      if (!buildings.length) { $("#rm-error").textContent = T("Choose at least one building"); return; }
      const r = await fetch(`${base}/households/forms`, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": staffCsrf(),
          "Accept-Language": H.locale === "en" ? "en" : "zh-CN" },
        body: JSON.stringify({ buildings, reissue: forms.reissue.checked }) });
      if (!r.ok) {
        const data = await r.json().catch(() => null);
        $("#rm-error").textContent = errorText({ status: r.status, data }, T);
        return;
      }
      $("#rm-error").textContent = "";
      const link = $("#rm-forms-file");
      link.href = URL.createObjectURL(await r.blob());
      link.download = `${H.site}-forms.pdf`;
      link.hidden = false;
      link.click();
      status(T("{n} forms issued: print the PDF now, the codes are in it only.", { n: r.headers.get("X-Forms-Issued") }));
      loadCatchment();
      loadTurnout();
    });
  }
  loadTurnout();

  // ---- the decision, objections, the build ----
  async function loadDecision() {
    const r = await call("GET", `${base}/decision`, { language: H.locale });
    if (!r.ok || !r.data.decided) return;
    fill($("#rm-decision-now"), T("Decided: draft {n} “{name}”", { n: r.data.draft.number, name: r.data.draft.name }),
      " · ", h("span", { class: "rm-text" }, r.data.reasons));
  }
  loadDecision();
  const decide = $("#rm-decide");
  if (decide) {
    decide.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      if (await send("PUT", `${base}/decision`, { draft: Number(f.draft.value), reasons: f.reasons.value })) loadDecision();
    });
  }
  const objections = $("#rm-objection-list");
  async function loadObjections() {
    const r = await call("GET", `/api/sites/${encodeURIComponent(H.community)}/${encodeURIComponent(H.site)}/objections`,
      { language: H.locale });
    if (!r.ok) return;
    fill(objections, r.data.objections.length ? r.data.objections.map((o) => h("li", { dataset: { id: o.id } },
      h("p", { class: "rm-text" }, o.body), h("small", {}, o.nickname || T("A resident")),
      h("form", { class: "rm-answer", dataset: { id: o.id } },
        h("textarea", { name: "answer", rows: 2, maxlength: 5000, required: true, "aria-label": T("Answer") }, o.answer || ""),
        h("button", { type: "submit" }, o.answer ? T("Change the answer") : T("Answer")))))
      : h("li", {}, T("No objections so far.")));
  }
  if (objections) {
    loadObjections();
    objections.addEventListener("submit", async (e) => {
      e.preventDefault();
      const f = e.target;
      if (await send("POST", `/api/design/objections/${f.dataset.id}/answer`, { answer: f.answer.value })) loadObjections();
    });
  }
  const build = $("#rm-build");
  async function loadBuilds() {
    const r = await call("GET", `${base}/builds`, { language: H.locale });
    if (!r.ok) return;
    fill($("#rm-builds"), r.data.map((b) => h("li", {},
      T("Draft {n} built on {day} by {who}", { n: b.draft, day: b.built_on, who: b.built_by }), " · ",
      h("a", { href: b.before }, T("Layers before (GeoJSON)")))));
  }
  if (build) {
    loadBuilds();
    build.addEventListener("click", async () => {
      const out = await send("POST", `${base}/build`, {});
      if (!out) return;
      fill($("#rm-build-result"), h("p", {}, T("Built: {green} planting beds, {path} paths, {facility} facilities, {plant} plants ({new} new).",
        { green: out.layers.green, path: out.layers.path, facility: out.layers.facility, plant: out.layers.plant, new: out.plants.new })),
      h("ul", { class: "rm-plain" }, out.adoptable.map((p) => h("li", {}, h("a", { href: p.url }, p.name || T("Plant"))))));
      loadBuilds();
    });
  }
}
