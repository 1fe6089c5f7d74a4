"""gzip for what is the same for every reader: the public JSON the residents' pages read
(suggestions by map view, places, layers). A phone on a mobile network moves a third of the
bytes. The static files are gzipped once per file version by ``api.static``, not here.

Pages (HTML) and everything else are sent as they are: a page can hold a secret (a follow
link's token, a CSRF token) beside text a stranger chose, and compressing the two together
lets the response's length give the secret away (BREACH).
"""

from __future__ import annotations

import re

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC = re.compile(r"^/api/communities/[^/]+/(suggestions(/map)?|places|layers/[^/]+)$")
MINIMUM_SIZE = 1000  # smaller answers gain nothing
# Compressed again for every response (answers differ by view): level 4 is about 5% larger
# than level 9 in a quarter of the time.
LEVEL = 4


class CompressPublic:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_SIZE, compresslevel=LEVEL)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") in ("GET", "HEAD")
            and PUBLIC.search(scope.get("path", ""))
        ):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
