/* Walking coverage: each building green (within reach of a green or activity site) or red,
   with its number, households and distance as a tooltip. */
import { $, fieldsTable, h, readConfig } from "./lib/dom.js";
import { siteMap } from "./lib/sitemap.js";

const C = readConfig();
const map = siteMap($("#rm-map"), C.plan);
const fields = ["building", "households", "distance_m"];
L.geoJSON(C.coverage, {
  style: (f) => {
    const c = f.properties.covered ? "#2f9e44" : "#e03131";
    return { color: c, weight: 2, fillColor: c, fillOpacity: 0.6 };
  },
  onEachFeature: (f, layer) => {
    const p = Object.assign({}, f.properties, {
      distance_m: f.properties.distance_m == null ? null : Math.round(f.properties.distance_m) });
    layer.bindTooltip(() => fieldsTable(p, fields, C.fields) || h("span", {}, "—"), { sticky: true });
  },
}).addTo(map);
