/* Designers' hub of a site: new drafts, compare two, move the process on, record a step's
   dates, minutes and attachments, add before/after photos. */
import { call, errorText, staffCsrf } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";
import { siteMap } from "./lib/sitemap.js";

const H = readConfig();
const T = translator(H.t);
const map = siteMap($("#rm-map"), H.plan);
if (H.outline) {
  const outline = L.geoJSON(H.outline, { interactive: false,
    style: { color: "#d6336c", weight: 3, fillOpacity: 0.05 } }).addTo(map);
  map.fitBounds(outline.getBounds(), { animate: false });
}

async function send(method, url, body) {
  const r = await call(method, url, { body, csrf: staffCsrf(), language: H.locale });
  $("#rm-error").textContent = r.ok ? "" : errorText(r, T);
  return r.ok ? (r.data || {}) : null;
}

if (H.site) {
  const base = `/api/design/communities/${encodeURIComponent(H.community)}/sites/${encodeURIComponent(H.site)}`;
  $("#rm-new-draft").addEventListener("submit", async (e) => {
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
  $("#rm-stage").addEventListener("submit", async (e) => {
    e.preventDefault();
    if (await send("POST", `${base}/stage`, { stage: e.target.stage.value })) location.reload();
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
}
