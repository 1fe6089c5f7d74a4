"""OGC API - Features (collections, items, OpenAPI 3.0) and Mapbox Vector Tiles of the same
collections."""
