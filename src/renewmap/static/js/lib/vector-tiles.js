/* Large layers as Mapbox Vector Tiles from our own /ogc/.../tiles (vendored
   Leaflet.VectorGrid, a classic script loaded only by pages that need it). A click shows the
   feature's fields as text. */
import { fieldsTable } from "./dom.js";

const PANE = "rmVectorTiles";

/** A layer drawing ``collection`` from the tile URL template. */
export function vectorTileLayer(url, collection, style, fields, labels) {
  // Leaflet >= 1.8 dropped L.DomEvent.fakeStop, which VectorGrid 1.3 calls on every click
  if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = () => true;
  const layer = L.vectorGrid.protobuf(url, {
    rendererFactory: L.canvas.tile,
    vectorTileLayerStyles: { [collection]: Object.assign({ fill: true }, style) },
    interactive: true,
    maxZoom: 22,
    maxNativeZoom: 22,
    getFeatureId: (f) => f.id,
    pane: PANE,
  });
  // above the embedded overlays (the community's paper fill would hide the tile pane)
  const onAdd = layer.onAdd;
  layer.onAdd = function (map) {
    if (!map.getPane(PANE)) map.createPane(PANE).style.zIndex = 450;
    return onAdd.call(this, map);
  };
  layer.on("click", (e) => {
    const table = fieldsTable((e.layer && e.layer.properties) || {}, fields, labels);
    if (table) L.popup().setLatLng(e.latlng).setContent(table).openOn(layer._map);
  });
  return layer;
}
