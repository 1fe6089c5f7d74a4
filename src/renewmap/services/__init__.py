"""Use cases by domain: ``places``, ``requests``, ``design``, ``ingest``, ``access``.

A service checks permissions and rules and shapes the answer; it gets data through
``db.queries`` and geometry from ``spatial``. Not here: HTTP (status codes, cookies, forms),
SQL, or HTML."""
