"""Standard protocols, framework-free: the documents and rules of Open311 GeoReport v2 and of
OGC API - Features and its vector tiles. Routers in ``api`` only parse and render them; their
queries are in ``db.queries.open311``, ``ogc`` and ``tiles``. Not here: HTTP or FastAPI."""
