/* RenewMap residents' page, first moments. Runs right after Leaflet has created the map and
   before the site plan is drawn (resident.js runs only once the whole page is parsed):
   frames the community and, when the page opens on browsing, asks at once for that view's
   map layer and first list page. resident.js builds its URLs with the same functions and
   takes these answers when it asks for the same URLs. */
(function () {
  "use strict";
  // Loaded in <head>, before the page's configuration (window.RM) exists: read it lazily.
  const E = (window.RMEarly = {});
  const base = () => `/api/communities/${encodeURIComponent(window.RM.community)}/suggestions`;
  function params(map, filters) {
    const b = map.getBounds();
    const p = new URLSearchParams({
      bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(7)).join(",") });
    for (const key of ["category", "status", "grid"]) if (filters[key]) p.set(key, filters[key]);
    return p;
  }
  E.urls = {
    map(map, filters) {
      const p = params(map, filters);
      p.set("zoom", map.getZoom().toFixed(2));
      return `${base()}/map?${p}`;
    },
    list(map, filters, offset, limit) {
      const p = params(map, filters);
      p.set("limit", limit);
      p.set("offset", offset);
      return `${base()}?${p}`;
    },
  };
  E.PAGE = 200;
  E.prefetched = new Map();
  // fetch(url), unless the same URL was already asked for early: then that answer (once).
  E.get = function (url) {
    const early = E.prefetched.get(url);
    E.prefetched.delete(url);
    return early || fetch(url);
  };
  E.start = function (map) {
    const RM = window.RM;
    // No tile layer sets a zoom range; clustering needs one.
    if (!isFinite(map.getMaxZoom())) map.setMaxZoom(22);
    map.options.zoomSnap = 0.25;  // frame a small compound closely on a narrow phone
    // The page's CSS sizes the map: measure, then frame the community. Not animated, so the
    // first view is final at once and browsing asks for it only once.
    map.invalidateSize();
    map.fitBounds([[RM.bounds[1], RM.bounds[0]], [RM.bounds[3], RM.bounds[2]]],
      { padding: [8, 8], animate: false });
    if (location.hash !== "#browse") return;
    for (const url of [E.urls.map(map, {}), E.urls.list(map, {}, 0, E.PAGE)]) {
      E.prefetched.set(url, fetch(url));
    }
  };
})();
