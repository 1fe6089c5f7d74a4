"""Pure spatial logic: shapely and pyproj only, no database and no web. The routing rule,
grid-set checks, CRS handling, design metrics, walking coverage and vector tiles live here so
that the API, batch jobs and notebooks share one implementation."""
