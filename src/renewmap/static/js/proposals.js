/* Residents: the public proposals on the community's map, each at its place or over its area,
   coloured by status. A tap shows its number, title and status (text nodes, never HTML) and
   leads to it in the list below. */
import { $, bdi, h, readConfig } from "./lib/dom.js";
import { siteMap } from "./lib/sitemap.js";

const C = readConfig();
const COLOURS = { submitted: "#868e96", discussing: "#f08c00", adopted: "#2f9e44",
  became_site: "#1971c2", declined: "#c92a2a" };
const map = siteMap($("#rm-map"), C.plan);

function label(p) {
  return h("span", {}, p.label, " · ", bdi(p.title), " · ", p.status_label);
}

// SVG (the site plan is drawn on a canvas): each proposal is an element of its own
const svg = L.svg();
const layer = L.geoJSON({ type: "FeatureCollection", features: C.proposals.map((p) => ({
  type: "Feature", geometry: p.geometry, properties: p })) }, {
  renderer: svg,
  className: "rm-proposal",
  style: (f) => ({ color: COLOURS[f.properties.status] || "#495057", weight: 2, fillOpacity: 0.2 }),
  pointToLayer: (f, ll) => L.circleMarker(ll, { renderer: svg, className: "rm-proposal", radius: 9,
    color: "#fff", weight: 2, fillColor: COLOURS[f.properties.status] || "#495057", fillOpacity: 1 }),
  onEachFeature: (f, l) => {
    l.bindTooltip(() => label(f.properties));
    l.on("click", () => {
      const item = document.getElementById("proposal-" + f.properties.number);
      if (!item) return;
      for (const x of document.querySelectorAll("#rm-proposals > li.rm-chosen")) x.classList.remove("rm-chosen");
      item.classList.add("rm-chosen");
      item.scrollIntoView({ block: "nearest" });
    });
  },
}).addTo(map);
if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { maxZoom: 19, padding: [24, 24] });
