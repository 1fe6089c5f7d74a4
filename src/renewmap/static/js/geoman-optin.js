/* Loaded right after Leaflet-Geoman, before the map is built: only layers that opt in (the
   features drawn on the page) become editable; the site plan stays as it is. */
L.PM.setOptIn(true);
