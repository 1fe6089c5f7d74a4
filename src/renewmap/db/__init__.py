"""Data access: GeoAlchemy2 models, engines and dialect helpers for SpatiaLite and PostGIS,
Alembic migrations, and every query (``db.queries``).

Not here: rules about what the data means (``services``, ``vocabulary``) or geometry maths
(``spatial``)."""
