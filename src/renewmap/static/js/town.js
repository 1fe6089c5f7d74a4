/* The town's map: every community coloured by its open requests (the legend's steps,
   .rm-step-N in staff.css), its figures as a tooltip; a tap opens its overview. */
import { call, staffCsrf } from "./lib/api.js";
import { $, fieldsTable, readConfig } from "./lib/dom.js";
import { siteMap } from "./lib/sitemap.js";

const W = readConfig();
const STEP_COLOURS = ["#ffffff", "#ffe8cc", "#ffc078", "#fd7e14", "#d9480f"];
const map = siteMap($("#rm-map"), W.plan, { layers: false });
const communities = L.geoJSON(W.communities, {
  style: (f) => ({ color: "#495057", weight: 2, fillColor: STEP_COLOURS[f.properties.step],
    fillOpacity: 0.75 }),
  onEachFeature: (f, layer) => {
    layer.bindTooltip(() => fieldsTable(f.properties, ["name", "open", "overdue"], W.fields), { sticky: true });
    layer.on("click", () => {
      location.href = `/staff/overview?community=${encodeURIComponent(f.properties.code)}`;
    });
  },
}).addTo(map);
if (communities.getBounds().isValid()) map.fitBounds(communities.getBounds(), { animate: false });
$("#rm-signout").addEventListener("click", async () => {
  await call("DELETE", "/api/staff/session", { csrf: staffCsrf(), language: W.locale });
  location.href = "/staff/login";
});
