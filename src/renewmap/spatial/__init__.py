"""Pure spatial logic: shapely and pyproj only, no database and no web."""
