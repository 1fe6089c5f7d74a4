/* Large layers as Mapbox Vector Tiles from our own /ogc/.../tiles (Leaflet.VectorGrid).
   RMVT.layer(url, name, style, fields): a layer drawing collection `name` from the tile URL
   template; a click shows the feature's `fields`, [property, label] pairs (escaped: tile
   values are user data). */
(function () {
  "use strict";
  // Leaflet >= 1.8 dropped L.DomEvent.fakeStop, which VectorGrid 1.3 calls on every click
  if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = function () { return true; };
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => (
    { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const PANE = "rmVectorTiles";
  window.RMVT = {
    layer: function (url, name, style, fields) {
      const styles = {};
      styles[name] = style;
      const layer = L.vectorGrid.protobuf(url, {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: styles,
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
      layer.on("click", function (e) {
        const props = (e.layer && e.layer.properties) || {};
        const rows = fields.filter(([key]) => props[key] != null && props[key] !== "")
          .map(([key, label]) => "<tr><th>" + esc(label) + "</th><td>" + esc(props[key]) +
            "</td></tr>");
        if (!rows.length) return;
        L.popup().setLatLng(e.latlng).setContent("<table>" + rows.join("") + "</table>")
          .openOn(layer._map);
      });
      return layer;
    },
  };
})();
