/* A resident's private follow page: where the suggestion is (a small map of the site plan with
   its grid outlined), add details (text, photos), reopen a resolved request, stop progress
   messages; all through the private link's token. */
import { call, errorText } from "./lib/api.js";
import { $, readConfig } from "./lib/dom.js";
import { translator } from "./lib/i18n.js";
import { siteMap } from "./lib/sitemap.js";

const F = readConfig();
const T = translator(F.t);

// ---- the map: the site plan, its grid outlined, the suggestion on it ---------------------------
if (F.site && window.L) {
  const map = siteMap($("#rm-map"), F.site, { layers: false, padding: [4, 4],
    map: { zoomSnap: 0.25, keyboard: false } });
  if (F.grid && F.site.layers.grid) {
    const grid = F.site.layers.grid.data.features.filter((f) => f.properties.code === F.grid);
    L.geoJSON({ type: "FeatureCollection", features: grid }, { interactive: false,
      style: { color: "#212529", weight: 3, fill: false } }).addTo(map);
  }
  const colour = F.colour;
  const shape = L.geoJSON(F.geometry, { interactive: false,
    pointToLayer: (_f, ll) => L.circleMarker(ll, { radius: 10, color: "#fff", weight: 3,
      fillColor: colour, fillOpacity: 1 }),
    style: { color: colour, weight: 5, fillOpacity: 0.3 } }).addTo(map);
  map.fitBounds(shape.getBounds(), { maxZoom: 19, padding: [40, 40], animate: false });
} else {
  $("#rm-map").hidden = true;
}

// ---- forms ------------------------------------------------------------------------------------
for (const [id, what] of [["#rm-details", "details"], ["#rm-reopen", "reopen"], ["#rm-stop", "stop"]]) {
  const form = $(id);
  if (!form) continue;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    data.append("token", F.token);
    // details: the token goes in the address, so it is checked before the photos are read
    const token = what === "details" ? `?token=${encodeURIComponent(F.token)}` : "";
    const url = `/api/receipts/${encodeURIComponent(F.code)}/${what}${token}`;
    const r = await call("POST", url, { body: data, language: F.locale });
    if (r.ok) { location.reload(); return; }
    $("#rm-error").textContent = errorText(r, T);
  });
}
// A resolved request offers reopening; adding details instead swaps the forms (one at a time).
const swap = $("#rm-swap-form");
if (swap) {
  swap.addEventListener("click", () => {
    const details = $("#rm-details").hidden;
    $("#rm-details").hidden = !details;
    $("#rm-reopen").hidden = details;
    swap.textContent = details ? T("Reopen it instead") : T("Add more details instead");
    $(details ? "#rm-details-text" : "#rm-reopen-note").focus();
  });
}
