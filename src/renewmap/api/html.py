"""What every router that serves HTML pages shares: the reader's language, the response's CSP
nonce, the community's time zone, the page response (which remembers a language chosen with
``?lang=``) and the redirect of a browser not signed in to the staff's sign-in page.

Pages are rendered with the nonce ``renewmap.api.security`` puts in ``request.state`` and in
the reader's language (``?lang=``, then the ``rm_lang`` cookie, then ``Accept-Language``).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from renewmap.i18n import negotiate

LANG_COOKIE = "rm_lang"


def page_locale(request: Request, lang: str | None) -> str:
    """The reader's language: ``?lang=``, else the remembered one, else the browser's."""
    return negotiate(lang, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def csp_nonce(request: Request) -> str:
    """This response's CSP nonce (every inline script and style of the page carries it)."""
    return str(request.state.csp_nonce)


def time_zone(request: Request) -> str:
    """The communities' time zone (``RENEWMAP_TIME_ZONE``) in which pages show times."""
    return str(request.app.state.settings.time_zone)


def html_page(
    request: Request,
    html: str,
    *,
    lang: str | None = None,
    cache: str = "no-store",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """An HTML response; a language chosen with ``?lang=`` is remembered (cookie)."""
    response = HTMLResponse(html, headers={"Cache-Control": cache, **(headers or {})})
    if lang:
        response.set_cookie(
            LANG_COOKIE,
            page_locale(request, lang),
            max_age=365 * 24 * 3600,
            samesite="lax",
            secure=request.app.state.settings.cookies_secure,
        )
    return response


def to_login(request: Request) -> RedirectResponse:
    """Staff pages send a browser that is not signed in to the sign-in page, and back after."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/staff/login?next={quote(here)}", status_code=303)
