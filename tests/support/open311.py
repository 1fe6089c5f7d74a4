"""Open311 GeoReport v2 as the tests use it: where it is served, the standard's own Swagger
file (corrected), and the personal data a client sends, which no GET answer may contain."""

from __future__ import annotations

from tests.support.paths import DATA

API = "/open311/v2"
SWAGGER = DATA / "open311" / "georeport_v2-1.yaml"
# Personal data a client sends; no GET answer may ever contain any of it.
PHONE, EMAIL, FIRST, LAST = "13912345678", "wang.private@example.org", "Xiaoming", "Wang-Private"
# Services whose definitions carry attributes (questions a client must answer)
WITH_ATTRIBUTES = {"pipes_drainage", "overhead_wires", "ebike_parking", "safety_fire", "lighting"}
