/* Two drafts of a site on one map: A in blue, B in orange; show A, B or both. */
import { $, $$, readConfig } from "./lib/dom.js";
import { siteMap } from "./lib/sitemap.js";

const C = readConfig();
const map = siteMap($("#rm-map"), C.plan);
const layer = (fc, colour) => L.geoJSON(fc, {
  style: (f) => ({ color: colour, weight: f.properties.kind === "path" ? 4 : 2, fillColor: colour,
    fillOpacity: f.properties.kind === "zone" ? 0.05 : 0.3, dashArray: colour === "#e8590c" ? "6 4" : null }),
  pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 6, color: colour, fillOpacity: 0.8 }),
});
const a = layer(C.a, "#1971c2");
const b = layer(C.b, "#e8590c");
const both = L.featureGroup([a, b]).addTo(map);
if (both.getBounds().isValid()) map.fitBounds(both.getBounds(), { maxZoom: 21, animate: false });
for (const input of $$("#rm-show input")) {
  input.addEventListener("change", () => {
    both.clearLayers();
    if (input.value !== "b") both.addLayer(a);
    if (input.value !== "a") both.addLayer(b);
  });
}
