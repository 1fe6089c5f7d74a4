/* Two drafts of a site on one map, over the site's outline: what only A has in blue, what only
   B has in orange (dashed), what both have alike in grey; show A, B or both. */
import { $, $$, readConfig } from "./lib/dom.js";
import { siteMap } from "./lib/sitemap.js";

const C = readConfig();
const map = siteMap($("#rm-map"), C.plan);
const COLOURS = { a: "#1971c2", b: "#e8590c", shared: "#868e96" };
const site = L.geoJSON(C.site, { interactive: false,
  style: { color: "#d6336c", weight: 3, fill: false } }).addTo(map);

function layer(fc, which, shared) {
  const alike = new Set(shared);
  const colour = (f) => (alike.has(String(f.id)) ? COLOURS.shared : COLOURS[which]);
  return L.geoJSON(fc, {
    style: (f) => ({ color: colour(f), weight: f.properties.kind === "path" ? 4 : 2, fillColor: colour(f),
      fillOpacity: f.properties.kind === "zone" ? 0.05 : 0.3,
      dashArray: which === "b" && !alike.has(String(f.id)) ? "6 4" : null }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: colour(f), fillOpacity: 0.8 }),
  });
}
// a shared feature is drawn once (A's copy) when both are shown
const onlyB = { type: "FeatureCollection",
  features: C.b.features.filter((f) => !C.shared.b.includes(String(f.id))) };
const a = layer(C.a, "a", C.shared.a);
const b = layer(C.b, "b", C.shared.b);
const bOnly = layer(onlyB, "b", []);
const shown = L.featureGroup([a, bOnly]).addTo(map);
const frame = L.featureGroup([site, a, b]);
if (frame.getBounds().isValid()) map.fitBounds(frame.getBounds(), { maxZoom: 21, animate: false });
for (const input of $$("#rm-show input")) {
  input.addEventListener("change", () => {
    shown.clearLayers();
    if (input.value === "a") shown.addLayer(a);
    else if (input.value === "b") shown.addLayer(b);
    else { shown.addLayer(a); shown.addLayer(bOnly); }
  });
}
