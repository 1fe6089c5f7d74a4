#!/usr/bin/env bash
# Refresh the browser libraries the app serves itself (no CDN: RenewMap runs on intranets).
# Uses `npm pack` (the npm registry only); versions are pinned here and in static/vendor/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=src/renewmap/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack -q leaflet@1.9.4 leaflet.markercluster@1.5.3 \
  @geoman-io/leaflet-geoman-free@2.20.2 leaflet.vectorgrid@1.3.0 >/dev/null)
mkdir -p "$tmp/leaflet" "$tmp/mc" "$tmp/gm"
tar xzf "$tmp/leaflet-1.9.4.tgz" -C "$tmp/leaflet"
tar xzf "$tmp/leaflet.markercluster-1.5.3.tgz" -C "$tmp/mc"
tar xzf "$tmp/geoman-io-leaflet-geoman-free-2.20.2.tgz" -C "$tmp/gm"
rm -rf "$dest/leaflet" "$dest/leaflet.markercluster" "$dest/leaflet-geoman"
mkdir -p "$dest/leaflet" "$dest/leaflet.markercluster" "$dest/leaflet-geoman"
cp -r "$tmp/leaflet/package/dist/"{leaflet.js,leaflet.css,images} "$tmp/leaflet/package/LICENSE" "$dest/leaflet/"
cp "$tmp/mc/package/dist/"{leaflet.markercluster.js,MarkerCluster.css,MarkerCluster.Default.css} \
   "$dest/leaflet.markercluster/"
cp "$tmp/mc/package/MIT-LICENCE.txt" "$dest/leaflet.markercluster/LICENSE"
# the drawing plugin's bundle includes its own dependencies (turf, lodash) and inline icons
cp "$tmp/gm/package/dist/"{leaflet-geoman.min.js,leaflet-geoman.css} "$tmp/gm/package/LICENSE" \
   "$dest/leaflet-geoman/"
# vector tiles of large layers (the bundle includes Mapbox's pbf and vector-tile readers)
mkdir -p "$tmp/vg" && tar xzf "$tmp/leaflet.vectorgrid-1.3.0.tgz" -C "$tmp/vg"
rm -rf "$dest/leaflet.vectorgrid" && mkdir -p "$dest/leaflet.vectorgrid"
cp "$tmp/vg/package/dist/Leaflet.VectorGrid.bundled.min.js" "$dest/leaflet.vectorgrid/"
echo "vendored into $dest"
