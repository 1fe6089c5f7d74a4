"""Data access: GeoAlchemy2 models, engines for SpatiaLite and PostGIS, keyword-only queries."""
