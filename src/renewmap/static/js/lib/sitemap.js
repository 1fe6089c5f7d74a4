/* The community's site plan (the "site" part of a page's configuration, made by
   web/sitemap.py) drawn with Leaflet (vendored, a classic script). Names and numbers reach the
   page as text: tooltips, popups and labels are DOM nodes built with textContent, and the
   attribution is a control of our own (Leaflet's would insert it as HTML). */
import { fieldsTable, h } from "./dom.js";
import { vectorTileLayer } from "./vector-tiles.js";

export const GRID_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2",
  "#ff9da7", "#9c755f", "#e15759", "#bab0ac"];
// colours of a design's kinds of feature, the same on every page that draws a draft
export const KIND_COLOURS = { zone: "#7048e8", green: "#2f9e44", plant: "#2b8a3e",
  path: "#e67700", facility: "#1971c2", water: "#1c7ed6", keep: "#868e96" };
const STYLES = {
  green: { color: "#2f9e44", weight: 1, fillColor: "#b2f2bb", fillOpacity: 0.8 },
  water: { color: "#1c7ed6", weight: 1, fillColor: "#a5d8ff", fillOpacity: 0.9 },
  path: { color: "#e67700", weight: 3, fill: false },
  building: { color: "#495057", weight: 1, fillColor: "#ced4da", fillOpacity: 0.9 },
};
const FIELDS = {
  green: ["name", "species"],
  water: ["name"],
  grid: ["name"],
  path: ["name", "width_m"],
  building: ["number", "households", "grid"],
};

/** [[south, west], [north, east]] of a [minx, miny, maxx, maxy] box. */
export function latLngBounds(b) {
  return [[b[1], b[0]], [b[3], b[2]]];
}

// Leaflet's own attribution control sets its text as HTML; this one as text.
function attributionControl(texts) {
  const Control = L.Control.extend({
    options: { position: "bottomright" },
    onAdd() {
      return h("div", { class: "leaflet-control-attribution leaflet-control" }, texts.join(" | "));
    },
  });
  return new Control();
}

// A tile layer whose imagery is in GCJ-02 (Chinese web basemaps: AutoNavi, Tencent…) drawn
// under data that stays in WGS84. A place at WGS84 w appears in such imagery at GCJ-02
// g = w + shift, about 500 m away in Shanghai; rather than moving every pin, tap and GPS fix,
// the imagery is moved back by the offset, measured in pixels at each zoom at the community's
// centre (anchor [lon, lat], shift [dlon, dlat]). Uses two GridLayer internals of Leaflet 1.9.
function shiftedTileLayer(url, options) {
  const Shifted = L.TileLayer.extend({
    shiftPx(zoom) {
      const [lon, lat] = this.options.anchor;
      const [dlon, dlat] = this.options.shift;
      const crs = this._map.options.crs;
      return crs.latLngToPoint(L.latLng(lat + dlat, lon + dlon), zoom)
        .subtract(crs.latLngToPoint(L.latLng(lat, lon), zoom));
    },
    _getTilePos(coords) {
      return L.TileLayer.prototype._getTilePos.call(this, coords).subtract(this.shiftPx(coords.z));
    },
    _pxBoundsToTileRange(bounds) {
      const s = this.shiftPx(this._tileZoom);
      return L.TileLayer.prototype._pxBoundsToTileRange.call(
        this, L.bounds(bounds.min.add(s), bounds.max.add(s)));
    },
  });
  return new Shifted(url, options);
}

function tooltip(layer, properties, fields, labels) {
  const table = fieldsTable(properties, fields, labels);
  if (table) layer.bindTooltip(table, { sticky: true });
}

function geojson(kind, data, style, labels) {
  return L.geoJSON(data, {
    style,
    onEachFeature: (f, layer) => tooltip(layer, f.properties, FIELDS[kind], labels),
  });
}

// How wide a label is written (11 px type): a Chinese character a full em, others about
// 0.6 em. Estimated, not measured: measuring each label would make the browser lay the page
// out again for every one of them.
const labelWidth = (text) => [...String(text)].reduce((w, c) => w + (c.charCodeAt(0) >= 0x2e80 ? 11 : 6.6), 4);

/** Hide the labels of ``group`` that would overlap a label already written (in the group's
    order) at the map's zoom, so that none collide; show the others. */
export function declutterLabels(map, group) {
  const kept = [];
  const shown = [];
  group.eachLayer((marker) => {
    const at = map.latLngToLayerPoint(marker.getLatLng());
    const half = L.point(labelWidth(marker.options.label) / 2 + 1, 9);
    const box = L.bounds(at.subtract(half), at.add(half));
    const clear = kept.every((other) => !other.intersects(box));
    if (clear) kept.push(box);
    shown.push([marker, clear]);
  });
  for (const [marker, clear] of shown) {  // all the reading above, all the writing here
    const el = marker.getElement();
    if (el) el.hidden = !clear;
  }
}

/** Draw ``plan`` into ``container``; returns the Leaflet map, framed on the community.
    ``settings.map``: Leaflet map options (zoomSnap, pmIgnore…); ``settings.padding``: around
    the community; ``settings.layers``: false for no layer switcher; ``settings.onView(map)``: called once the view is set, before any layer is
    drawn (to ask for the view's data early). */
export function siteMap(container, plan, settings) {
  const opts = settings || {};
  const map = L.map(container, Object.assign({ maxZoom: 22, attributionControl: false,
    preferCanvas: true }, opts.map || {}));
  map.fitBounds(latLngBounds(plan.bounds), { animate: false, padding: opts.padding || [0, 0] });
  if (opts.onView) opts.onView(map);
  const words = plan.controls || {};
  if (map.zoomControl) {  // Leaflet titles its buttons in English
    const zoom = map.zoomControl.getContainer();
    for (const [cls, label] of [["in", words.zoom_in], ["out", words.zoom_out]]) {
      const button = zoom.querySelector(`.leaflet-control-zoom-${cls}`);
      if (button && label) { button.title = label; button.setAttribute("aria-label", label); }
    }
  }
  L.control.scale({ imperial: false }).addTo(map);  // metres: what the plan is drawn in
  const names = plan.names;
  const labels = plan.fields;
  const overlays = {};
  const credits = ["Leaflet"];
  if (plan.tiles) {
    const t = plan.tiles;
    const common = { subdomains: t.subdomains, maxZoom: 22, maxNativeZoom: t.maxNativeZoom };
    const layer = t.shift
      ? shiftedTileLayer(t.url, Object.assign({ anchor: t.anchor, shift: t.shift }, common))
      : L.tileLayer(t.url, common);
    overlays[names.basemap] = layer.addTo(map);
    credits.push(t.attribution);
  }
  if (plan.attribution) credits.push(plan.attribution);
  attributionControl(credits).addTo(map);
  const layers = plan.layers;
  // Without a basemap the compound is drawn as paper; over one, as a light veil.
  const paper = plan.tiles ? 0.15 : 1.0;
  if (layers.community) {
    overlays[names.community] = L.geoJSON(layers.community.data, { interactive: false,
      style: { color: "#333", weight: 2, fillColor: "#f8f9fa", fillOpacity: paper } }).addTo(map);
  }
  for (const kind of ["green", "water"]) {
    const layer = layers[kind];
    if (!layer) continue;
    overlays[names[kind]] = (layer.tiles
      ? vectorTileLayer(layer.tiles, layer.collection, STYLES[kind], FIELDS[kind], labels)
      : geojson(kind, layer.data, STYLES[kind], labels)).addTo(map);
  }
  if (layers.grid) {
    const colours = {};
    layers.grid.data.features.forEach((f, i) => {
      colours[f.properties.code] = GRID_COLOURS[i % GRID_COLOURS.length];
    });
    overlays[names.grid] = geojson("grid", layers.grid.data, (f) => {
      const c = colours[f.properties.code];
      return { color: c, weight: 2, fillColor: c, fillOpacity: 0.12, dashArray: "6 4" };
    }, labels).addTo(map);
  }
  for (const kind of ["path", "building"]) {
    const layer = layers[kind];
    if (!layer) continue;
    overlays[names[kind]] = (layer.tiles
      ? vectorTileLayer(layer.tiles, layer.collection, STYLES[kind], FIELDS[kind], labels)
      : geojson(kind, layer.data, STYLES[kind], labels)).addTo(map);
  }
  if (layers.building && layers.building.data) {
    // the numbers people know their buildings by, at each footprint's inside point; where two
    // would overlap at the current zoom, only the first is written
    const numbers = L.layerGroup();
    for (const f of layers.building.data.features) {
      const p = f.properties;
      if (p.number == null || !p.label_at) continue;
      L.marker([p.label_at[1], p.label_at[0]], { interactive: false, keyboard: false, label: p.number,
        icon: L.divIcon({ html: h("div", { class: "rm-label" }, p.number), className: "rm-label-icon",
        iconSize: [48, 16], iconAnchor: [24, 8] }) }).addTo(numbers);
    }
    overlays[names.labels] = numbers.addTo(map);
    const declutter = () => declutterLabels(map, numbers);
    map.on("zoomend viewreset", declutter);
    declutter();
  }
  if (opts.layers !== false) {
    const control = L.control.layers(null, overlays, { collapsed: true }).addTo(map);
    const toggle = control.getContainer().querySelector(".leaflet-control-layers-toggle");
    if (toggle && words.layers) { toggle.title = words.layers; toggle.setAttribute("aria-label", words.layers); }
  }
  // the map object, for whoever needs it (tests listen for this event)
  container.dispatchEvent(new CustomEvent("rm:map", { detail: map, bubbles: true }));
  return map;
}
