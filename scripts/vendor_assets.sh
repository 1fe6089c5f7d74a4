#!/usr/bin/env bash
# Refresh the browser libraries the app serves itself (no CDN: RenewMap runs on intranets).
# Uses `npm pack` (the npm registry only); versions are pinned here and in static/vendor/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=src/renewmap/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack -q leaflet@1.9.4 leaflet.markercluster@1.5.3 >/dev/null)
mkdir -p "$tmp/leaflet" "$tmp/mc"
tar xzf "$tmp/leaflet-1.9.4.tgz" -C "$tmp/leaflet"
tar xzf "$tmp/leaflet.markercluster-1.5.3.tgz" -C "$tmp/mc"
rm -rf "$dest/leaflet" "$dest/leaflet.markercluster"
mkdir -p "$dest/leaflet" "$dest/leaflet.markercluster"
cp -r "$tmp/leaflet/package/dist/"{leaflet.js,leaflet.css,images} "$tmp/leaflet/package/LICENSE" "$dest/leaflet/"
cp "$tmp/mc/package/dist/"{leaflet.markercluster.js,MarkerCluster.css,MarkerCluster.Default.css} \
   "$dest/leaflet.markercluster/"
cp "$tmp/mc/package/MIT-LICENCE.txt" "$dest/leaflet.markercluster/LICENSE"
echo "vendored into $dest"
