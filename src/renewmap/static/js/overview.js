/* The overview's map: every grid of the area coloured by its open requests (the same steps
   as the legend, .rm-step-N in staff.css), with its figures as a tooltip. */
import { $, fieldsTable, readConfig } from "./lib/dom.js";
import { siteMap } from "./lib/sitemap.js";

const O = readConfig();
const STEP_COLOURS = ["#ffffff", "#ffe8cc", "#ffc078", "#fd7e14", "#d9480f"];
const map = siteMap($("#rm-map"), O.plan);
const grids = L.geoJSON(O.grids, {
  style: (f) => ({ color: "#495057", weight: 2, fillColor: STEP_COLOURS[f.properties.step],
    fillOpacity: 0.75 }),
  onEachFeature: (f, layer) => {
    layer.bindTooltip(() => fieldsTable(f.properties, ["name", "open", "overdue"], O.fields), { sticky: true });
  },
}).addTo(map);
if (grids.getBounds().isValid()) map.fitBounds(grids.getBounds(), { animate: false });
