"""Security headers on every response.

Pages (``text/html``) get a Content-Security-Policy with a per-response nonce: scripts only
from the app itself (``'self'``) or carrying the nonce, no ``unsafe-inline`` or ``unsafe-eval``;
styles, images, fonts and connections only from the app (images also from the configured tile
host); no framing, no plugins, no ``<base>``. Everything else (JSON, files, photos, static
assets) gets ``default-src 'none'``, so a file opened on its own can run nothing. All responses
are ``nosniff`` with ``Referrer-Policy: same-origin`` (a route may set a stricter one, as the
resident's private follow page does); in production (``RENEWMAP_ENV=prod``) HSTS too.

Routes read the nonce from ``request.state.csp_nonce``; a page that needs more (the drawing
page's vendored Geoman CSS uses ``data:`` images) adds it to ``request.state.csp_img``.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from renewmap.settings import Settings
from renewmap.web.sitemap import online_tiles

NOT_A_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def page_csp(nonce: str, *, img: list[str] | tuple[str, ...] = ()) -> str:
    """The policy of an HTML page whose scripts carry ``nonce``."""
    images = " ".join(["'self'", *img])
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; "
        f"img-src {images}; "
        "font-src 'self'; "
        "connect-src 'self'; "
        "manifest-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; "
        "object-src 'none'; "
        "base-uri 'none'"
    )


def file_csp(nonce: str) -> str:
    """The policy written into a self-contained HTML file (``<meta>``): its inline scripts and
    styles carry ``nonce``; it loads nothing from anywhere."""
    return (
        "default-src 'none'; "
        f"script-src 'nonce-{nonce}'; "
        f"style-src 'nonce-{nonce}'; "
        "img-src data:; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'none'"
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Add the headers middleware to ``app``."""
    tiles = online_tiles(settings)
    # an online basemap's host; Leaflet cancels a tile it no longer needs by pointing it at a
    # data: image (L.Util.emptyImageUrl)
    tile_hosts = [*tiles.origins(), "data:"] if tiles is not None else []
    prod = settings.env == "prod"

    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        nonce = secrets.token_urlsafe(18)
        request.state.csp_nonce = nonce
        request.state.csp_img = []
        response = await call_next(request)
        headers = response.headers
        if response.status_code == 304:
            # the browser keeps the page it has, with the policy that came with it (a new one
            # here would replace it: RFC 9111 updates stored headers from a 304)
            pass
        elif headers.get("content-type", "").startswith("text/html"):
            img = [*tile_hosts, *getattr(request.state, "csp_img", [])]
            headers["Content-Security-Policy"] = page_csp(nonce, img=img)
        elif "content-security-policy" not in headers:
            headers["Content-Security-Policy"] = NOT_A_PAGE_CSP
        headers["X-Content-Type-Options"] = "nosniff"
        if "referrer-policy" not in headers:
            headers["Referrer-Policy"] = "same-origin"
        if prod:
            headers["Strict-Transport-Security"] = HSTS
        return response
