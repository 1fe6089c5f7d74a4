/* The monthly report's map: the area's site plan with its requests coloured by status, each
   named by its title and status (as text), and the month's patrol routes named by their day.
   Self-contained once bundled for the offline file. */
import { $, h, readConfig } from "./lib/dom.js";
import { latLngBounds, siteMap } from "./lib/sitemap.js";

const R = readConfig();
const map = siteMap($("#rm-map"), R.plan, { layers: false });
L.geoJSON(R.routes, {
  style: () => ({ color: "#1c7c54", weight: 4, dashArray: "6 6" }),
  onEachFeature: (f, layer) => layer.bindTooltip(() => h("span", {}, f.properties.label)),
}).addTo(map);
L.geoJSON(R.requests, {
  pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 5, weight: 1, color: "#fff",
    fillColor: f.properties.colour, fillOpacity: 0.9 }),
  onEachFeature: (f, layer) => layer.bindTooltip(() => h("span", {}, `${f.properties.title} · ${f.properties.status}`)),
}).addTo(map);
if (R.focus) map.fitBounds(latLngBounds(R.focus), { animate: false });
