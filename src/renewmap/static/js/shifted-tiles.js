/* A Leaflet tile layer whose imagery is in GCJ-02 (Chinese web basemaps: AutoNavi, Tencent…)
   drawn under data that stays in WGS84.

   A place at WGS84 w appears in such imagery at GCJ-02 g = w + shift, about 500 m away in
   Shanghai. Rather than moving every pin, tap, GPS fix and query to GCJ-02 and back, the
   imagery is moved back by the offset, measured in pixels at each zoom at the community's
   centre (options.anchor [lon, lat], options.shift [dlon, dlat]). Across a compound the
   offset changes by centimetres. Uses two GridLayer internals of Leaflet 1.9 (vendored). */
(function () {
  "use strict";
  let Shifted = null;  // made on first use: this file loads in <head>, before Leaflet
  function define() {
    return L.TileLayer.extend({
      // shift in pixels at a zoom: where the imagery draws the anchor minus where it really is
      shiftPx(zoom) {
        const [lon, lat] = this.options.anchor;
        const [dlon, dlat] = this.options.shift;
        const crs = this._map.options.crs;
        return crs.latLngToPoint(L.latLng(lat + dlat, lon + dlon), zoom)
          .subtract(crs.latLngToPoint(L.latLng(lat, lon), zoom));
      },
      // each tile drawn shift px back...
      _getTilePos(coords) {
        return L.TileLayer.prototype._getTilePos.call(this, coords).subtract(this.shiftPx(coords.z));
      },
      // ...so the view needs the tiles shift px on
      _pxBoundsToTileRange(bounds) {
        const s = this.shiftPx(this._tileZoom);
        return L.TileLayer.prototype._pxBoundsToTileRange.call(
          this, L.bounds(bounds.min.add(s), bounds.max.add(s)));
      },
    });
  }
  window.RMTiles = {
    shifted(url, options) {
      Shifted = Shifted || define();
      return new Shifted(url, options);
    },
  };
})();
