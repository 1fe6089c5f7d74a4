"""HTTP: the FastAPI app (``app.create_app``), every shared dependency (``deps``), errors to
HTTP (``errors``), request guards (``middleware``), response models (``schemas``) and thin
routers (``routers``).

Routes parse, call one service (or protocol) and answer; nothing here holds a rule, builds SQL
or renders HTML by hand (pages come from ``renewmap.web``)."""
