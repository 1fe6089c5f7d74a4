"""HTML pages (thin: services build the data, ``renewmap.web`` renders the templates).

Every page is rendered with the response's CSP nonce (``request.state.csp_nonce``, set by
``renewmap.api.security``) and in the reader's language (``?lang=``, which is remembered in a
cookie, then the cookie, then ``Accept-Language``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from renewmap.api.deps import MaybeDevice, MaybeStaff, PublicCode, ReadSession, WriteSession

# The page helpers every HTML router shares (renewmap.api.html), under this module's short names.
from renewmap.api.html import csp_nonce as _nonce
from renewmap.api.html import html_page as _page
from renewmap.api.html import page_locale as _locale
from renewmap.api.html import time_zone as _tz
from renewmap.api.html import to_login as _to_login
from renewmap.api.routing import TransactionalRoute
from renewmap.errors import Forbidden, NotFound
from renewmap.i18n import rendered, use_locale
from renewmap.services.access import invitations
from renewmap.services.design import adoption, drafts, process
from renewmap.services.places import boundaries, catalog, organisation, setup
from renewmap.services.places.coverage import community_coverage
from renewmap.services.places.layers import community_layers
from renewmap.services.requests import (
    deliberations,
    exports,
    handling,
    patrols,
    progress,
    property,
    reports,
    suggestions,
    town,
)
from renewmap.vocabulary import ORG_PROPERTY
from renewmap.web.design import compare_page, coverage_page, drawing_page, hub_page
from renewmap.web.plants import card_page
from renewmap.web.render import NONCE_SLOT
from renewmap.web.report import report_page
from renewmap.web.report_pdf import report_pdf
from renewmap.web.resident import (
    api_docs_page,
    follow_page,
    index_page,
    resident_page,
    stop_page,
)
from renewmap.web.sitemap import online_tiles
from renewmap.web.sites import site_page, sites_page
from renewmap.web.staff import (
    boundaries_page,
    invite_page,
    login_page,
    overview_page,
    property_page,
    setup_page,
    town_page,
    workspace_page,
)

PAGE_LAYERS = ("community", "compound", "grid", "building", "green", "path", "water")

router = APIRouter(include_in_schema=False, route_class=TransactionalRoute)


@router.get("/")
def index(request: Request, session: ReadSession, lang: str | None = None) -> HTMLResponse:
    html = index_page(
        catalog.communities(session), locale=_locale(request, lang), nonce=_nonce(request)
    )
    return _page(request, html, lang=lang, cache="no-cache")


@router.get("/c/{code}", response_class=HTMLResponse)
def community_page(
    code: PublicCode,
    request: Request,
    session: ReadSession,
    lang: str | None = None,
) -> Response:
    """The residents' page: pin, describe and follow suggestions; browse the community's."""
    locale = _locale(request, lang)
    version = catalog.site_version(session, code=code)
    # the photos a resident chooses are previewed from the phone itself (blob: URLs, which
    # only this page's own script can make)
    request.state.csp_img.append("blob:")
    # Rendered once per site-plan version with a stand-in for the nonce, which each response
    # gets its own of.
    page = request.app.state.page_cache.get_or_render(
        ("resident", code, locale, version),
        lambda: resident_page(
            community_layers(session, community_code=code, kinds=PAGE_LAYERS),
            locale=locale,
            nonce=NONCE_SLOT,
            tiles=online_tiles(request.app.state.settings),
            channels=progress.available(request.app.state.settings),
            time_zone=_tz(request),
        ),
    )
    # Revalidated on every visit (a phone keeps its copy; an import changes the ETag). The
    # language can come from a cookie or Accept-Language, so caches must keep them apart.
    headers = {"ETag": page.etag, "Vary": "Cookie, Accept-Language"}
    if page.matches(request.headers.get("if-none-match")) and not lang:
        return Response(status_code=304, headers={**headers, "Cache-Control": "no-cache"})
    html = page.html.replace(NONCE_SLOT, _nonce(request))
    return _page(request, html, lang=lang, cache="no-cache", headers=headers)


@router.get("/r/{code}", response_class=HTMLResponse)
def follow(
    code: str,
    request: Request,
    session: ReadSession,
    t: str = "",
    lang: str | None = None,
) -> HTMLResponse:
    """The private follow page behind a receipt's link (token in the query)."""
    locale = _locale(request, lang)
    settings = request.app.state.settings
    view = suggestions.follow(session, code=code, token=t, secret=settings.secret_key)
    layers = (
        community_layers(session, community_code=view["community"], kinds=PAGE_LAYERS)
        if view["community"]
        else None
    )
    html = follow_page(
        view,
        layers,
        locale=locale,
        nonce=_nonce(request),
        code=code,
        token=t,
        time_zone=_tz(request),
        tiles=online_tiles(settings),
    )
    # the token is in this page's address: it must never leave in a Referer
    return _page(request, html, lang=lang, headers={"Referrer-Policy": "no-referrer"})


@router.get("/r/{code}/stop", response_class=HTMLResponse)
def stop_messages_page(
    code: str, request: Request, session: ReadSession, s: str = "", lang: str | None = None
) -> HTMLResponse:
    """The stop link of progress messages: a page that asks to confirm (nothing is stopped by
    merely opening it: mail scanners open links)."""
    settings = request.app.state.settings
    community = suggestions.stop_link(session, code=code, secret=settings.secret_key, stop=s)
    html = stop_page(
        locale=_locale(request, lang),
        nonce=_nonce(request),
        code=code,
        stop=s,
        done=False,
        community=community,
    )
    return _page(request, html, lang=lang, headers={"Referrer-Policy": "no-referrer"})


@router.post("/r/{code}/stop", response_class=HTMLResponse)
def stop_messages_done(
    code: str, request: Request, session: WriteSession, s: str = "", lang: str | None = None
) -> HTMLResponse:
    """Stop: the page's button, or a mail program's one-click unsubscribe (RFC 8058)."""
    settings = request.app.state.settings
    community = suggestions.stop_link(session, code=code, secret=settings.secret_key, stop=s)
    suggestions.stop_messages(session, code=code, secret=settings.secret_key, stop=s)
    html = stop_page(
        locale=_locale(request, lang),
        nonce=_nonce(request),
        code=code,
        stop=s,
        done=True,
        community=community,
    )
    return _page(request, html, lang=lang, headers={"Referrer-Policy": "no-referrer"})


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    """Browsers ask for it on every site; the app's icon is an SVG."""
    return RedirectResponse("/static/img/icon.svg", status_code=301)


@router.get("/c")
def communities_redirect() -> RedirectResponse:
    return RedirectResponse("/")


@router.get("/staff/login", response_class=HTMLResponse)
def staff_login(request: Request, lang: str | None = None, next: str = "/staff") -> HTMLResponse:
    html = login_page(locale=_locale(request, lang), nonce=_nonce(request), next_url=next)
    return _page(request, html, lang=lang)


@router.get("/staff", response_class=HTMLResponse)
def staff_workspace(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str | None = None,
    lang: str | None = None,
) -> Response:
    """The grid lead's workspace: their area's requests on the map and in a list."""
    if principal is None:
        return _to_login(request)
    locale = _locale(request, lang)
    try:
        places = handling.my_communities(session, principal=principal)
    except Forbidden:
        followed = property.followed_communities(session, principal=principal)
        if followed:  # the owners' committee follows what the property company was given
            return RedirectResponse(
                f"/staff/property?community={quote(community or followed[0])}", status_code=303
            )
        drawable = drafts.drawable_communities(session, principal=principal)
        if not drawable:
            raise
        # a designer has no requests to handle: their workspace is the sites' hub
        return RedirectResponse(f"/staff/design?community={quote(drawable[0])}", status_code=303)
    chosen = next((c for c in places if c["code"] == community), None) if community else places[0]
    if chosen is None:
        raise NotFound(
            "community '{community}' is not in your area",
            key="community_not_in_scope",
            community=community,
            field="community",
        )
    settings = request.app.state.settings
    setup = organisation.overview(session, principal=principal, community_code=chosen["code"])
    html = workspace_page(
        community_layers(session, community_code=chosen["code"], kinds=PAGE_LAYERS),
        locale=locale,
        nonce=_nonce(request),
        time_zone=_tz(request),
        me=handling.me(session, principal=principal),
        communities=places,
        tiles=online_tiles(settings),
        branches=catalog.branch_names(session, code=chosen["code"]),
        property_companies=[
            {"code": o["code"], "name": o["name"]}
            for o in setup["organisations"]
            if o["kind"] == ORG_PROPERTY
        ],
        poll_s=settings.staff_poll_s,
        now=datetime.now(UTC).isoformat(),
        edit_templates=organisation.is_admin_of(
            principal, catalog.community_row(session, code=chosen["code"])
        ),
    )
    return _page(request, html, lang=lang)


@router.get("/staff/report", response_class=HTMLResponse)
def staff_report(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str,
    grid: str | None = None,
    branch: str | None = None,
    month: str | None = None,
    lang: str | None = None,
) -> Response:
    """A grid's or a party branch's printable monthly report (figures, map, requests,
    patrols), within scope."""
    if principal is None:
        return _to_login(request)
    report = reports.monthly_report(
        session,
        principal=principal,
        community_code=community,
        grid_code=grid,
        branch_code=branch,
        month=exports.parse_month(month),
        time_zone=_tz(request),
    )
    html = report_page(
        report, locale=_locale(request, lang), nonce=_nonce(request), time_zone=_tz(request)
    )
    return _page(request, html, lang=lang)


@router.get("/staff/report.pdf")
def staff_report_pdf(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str,
    grid: str | None = None,
    branch: str | None = None,
    month: str | None = None,
    lang: str | None = None,
) -> Response:
    """The same monthly report as a printable PDF (A4)."""
    if principal is None:
        return _to_login(request)
    report = reports.monthly_report(
        session,
        principal=principal,
        community_code=community,
        grid_code=grid,
        branch_code=branch,
        month=exports.parse_month(month),
        time_zone=_tz(request),
    )
    pdf = report_pdf(report, locale=_locale(request, lang), time_zone=_tz(request))
    name = f"report-{community}-{grid or branch}-{report['month']:%Y-%m}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{quote(name)}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/staff/overview", response_class=HTMLResponse)
def staff_overview(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str | None = None,
    lang: str | None = None,
) -> Response:
    """Every grid of the area with its figures and a choropleth (secretaries, admins)."""
    if principal is None:
        return _to_login(request)
    locale = _locale(request, lang)
    code = community or handling.my_communities(session, principal=principal)[0]["code"]
    settings = request.app.state.settings
    numbers = handling.grid_stats(
        session,
        principal=principal,
        community_code=code,
        overdue_days=settings.overdue_days,
        time_zone=settings.time_zone,
    )
    try:  # a building group leader or the property company walks no grid: no patrol column
        walks = patrols.month_status(
            session, principal=principal, community_code=code, today=settings.today()
        )
    except Forbidden:
        walks = None
    html = overview_page(
        community_layers(session, community_code=code, kinds=PAGE_LAYERS),
        numbers,
        patrols=walks,
        locale=locale,
        nonce=_nonce(request),
        tiles=online_tiles(settings),
    )
    return _page(request, html, lang=lang)


@router.get("/staff/town", response_class=HTMLResponse)
def staff_town(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    subdistrict: str | None = None,
    lang: str | None = None,
) -> Response:
    """The town across its communities (its subdistrict's admins)."""
    if principal is None:
        return _to_login(request)
    settings = request.app.state.settings
    figures = town.overview(
        session,
        principal=principal,
        subdistrict_code=subdistrict,
        overdue_days=settings.overdue_days,
        time_zone=settings.time_zone,
    )
    html = town_page(
        figures,
        locale=_locale(request, lang),
        nonce=_nonce(request),
        stage_labels={"": "Not started", **process.STAGE_LABELS},
        attribution=" | ".join(figures["attributions"]) or None,
        tiles=online_tiles(settings),
    )
    return _page(request, html, lang=lang)


@router.get("/staff/property", response_class=HTMLResponse)
def staff_property(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str,
    lang: str | None = None,
) -> Response:
    """What the property company was given (its staff; the owners' committee)."""
    if principal is None:
        return _to_login(request)
    settings = request.app.state.settings
    listing = property.tasks(
        session, principal=principal, community_code=community, time_zone=settings.time_zone
    )
    html = property_page(
        listing,
        community=catalog.community_row(session, code=community),
        locale=_locale(request, lang),
        nonce=_nonce(request),
    )
    return _page(request, html, lang=lang)


@router.get("/staff/boundaries", response_class=HTMLResponse)
def staff_boundaries(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str,
    lang: str | None = None,
) -> Response:
    """Boundary administration (community admins): load, check and publish a grid set."""
    if principal is None:
        return _to_login(request)
    c = catalog.community_row(session, code=community)
    boundaries.require_admin(session, principal, c)
    locale = _locale(request, lang)
    html = boundaries_page(
        community_layers(session, community_code=community, kinds=PAGE_LAYERS),
        locale=locale,
        nonce=_nonce(request),
        tiles=online_tiles(request.app.state.settings),
    )
    return _page(request, html, lang=lang)


@router.get("/staff/setup", response_class=HTMLResponse)
def staff_setup(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str | None = None,
    lang: str | None = None,
) -> Response:
    """Setting a community up, step by step (subdistrict and community admins)."""
    if principal is None:
        return _to_login(request)
    mine = setup.my_communities(session, principal=principal)
    if community is not None:
        boundaries.may_change(session, principal=principal, community_code=community)
    html = setup_page(
        locale=_locale(request, lang),
        nonce=_nonce(request),
        community=community,
        mine=mine,
        roles=tuple(invitations.INVITABLE),
    )
    return _page(request, html, lang=lang)


@router.get("/staff/setup/preview/{code}", response_class=HTMLResponse)
def staff_setup_preview(
    code: str,
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    lang: str | None = None,
) -> Response:
    """The residents' page of a community as it will be, for its admins before they publish
    it: marked 预览, not indexed, nothing can be posted. Anyone else finds nothing here (404,
    signed in or not), as residents find nothing of a community in setup."""
    community = setup.community_to_preview(session, principal=principal, code=code)
    locale = _locale(request, lang)
    request.state.csp_img.append("blob:")
    html = resident_page(
        community_layers(session, community_code=community.code, kinds=PAGE_LAYERS),
        locale=locale,
        nonce=_nonce(request),
        tiles=online_tiles(request.app.state.settings),
        channels=progress.available(request.app.state.settings),
        time_zone=_tz(request),
        preview=True,
    )
    return _page(request, html, lang=lang, headers={"X-Robots-Tag": "noindex, nofollow"})


@router.get("/staff/invite/{token}", response_class=HTMLResponse)
def staff_invite(
    token: str, request: Request, session: ReadSession, lang: str | None = None
) -> Response:
    """An invitation link: the invitee sets their own password (once, before it expires)."""
    locale = _locale(request, lang)
    status, info, error = 200, None, None
    with use_locale(locale):
        try:
            info = rendered(invitations.describe(session, token=token[:100]))
        except (NotFound, Forbidden) as exc:
            status = 404 if isinstance(exc, NotFound) else 403
            error = exc.msg.render(locale)
    html = invite_page(
        locale=locale, nonce=_nonce(request), token=token, invitation=info, error=error
    )
    response = _page(request, html, lang=lang, headers={"Referrer-Policy": "no-referrer"})
    response.status_code = status
    return response


@router.get("/p/{plant_id}", response_class=HTMLResponse)
def plant_card(
    plant_id: int,
    request: Request,
    session: ReadSession,
    device: MaybeDevice,
    lang: str | None = None,
) -> HTMLResponse:
    """A plant's growth ID card: a stable public URL (its QR code points here). Its adopter's
    phone sees the care form: the page is this phone's own."""
    html = card_page(
        adoption.card(session, plant_id=plant_id, device_hash=device),
        locale=_locale(request, lang),
        nonce=_nonce(request),
        time_zone=_tz(request),
    )
    return _page(request, html, lang=lang, cache="private, no-cache")


@router.get("/staff/design", response_class=HTMLResponse)
def design_hub(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str | None = None,
    site: str | None = None,
    lang: str | None = None,
) -> Response:
    """The sites' hub: the community's sites; for one, its drafts, process, household forms,
    decision, objections, build and photos. Designers and admins draw; the general branch's
    secretary runs the process with them."""
    if principal is None:
        return _to_login(request)
    drawable = drafts.drawable_communities(session, principal=principal)
    code = community or (drawable[0] if drawable else None)
    if code is None:
        raise Forbidden(
            "only a community's designers and admins draw its sites",
            key="not_a_designer_anywhere",
            field="community",
        )
    may_draw = code in drawable
    if not may_draw:
        process.require_community_runner(session, principal=principal, community_code=code)
    chosen = (
        drafts.site_summary(session, principal=principal, community_code=code, site_code=site)
        if site
        else None
    )
    return _page(
        request,
        hub_page(
            community_layers(session, community_code=code, kinds=PAGE_LAYERS),
            locale=_locale(request, lang),
            nonce=_nonce(request),
            sites=process.sites(session, community_code=code),
            site=chosen,
            drafts=drafts.site_drafts(
                session, principal=principal, community_code=code, site_code=site
            )
            if site
            else [],
            timeline=process.timeline(session, community_code=code, site_code=site, staff=True)
            if site
            else None,
            photos=process.photos(session, community_code=code, site_code=site) if site else None,
            adopters=adoption.adopters(session, principal=principal, community_code=code),
            may_draw=may_draw,
            tiles=online_tiles(request.app.state.settings),
        ),
        lang=lang,
    )


@router.get("/staff/design/drafts/{draft_id}", response_class=HTMLResponse)
def design_drawing(
    draft_id: int,
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    lang: str | None = None,
) -> Response:
    """The drawing workspace of one draft."""
    if principal is None:
        return _to_login(request)
    work = drafts.workspace(session, principal=principal, draft_id=draft_id)
    request.state.csp_img.append("data:")  # Leaflet-Geoman's stylesheet draws its icons so
    return _page(
        request,
        drawing_page(
            community_layers(session, community_code=work["community"], kinds=PAGE_LAYERS),
            locale=_locale(request, lang),
            nonce=_nonce(request),
            draft=work["draft"],
            site_geometry=work["site"],
            suggestions=work["suggestions"],
            tiles=online_tiles(request.app.state.settings),
        ),
        lang=lang,
    )


@router.get("/staff/design/compare", response_class=HTMLResponse)
def design_compare(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    a: int,
    b: int,
    lang: str | None = None,
) -> Response:
    """Two drafts of a site on one map and side by side."""
    if principal is None:
        return _to_login(request)
    comparison = drafts.compare(session, principal=principal, a=a, b=b)
    return _page(
        request,
        compare_page(
            community_layers(
                session, community_code=comparison["a"]["community"], kinds=PAGE_LAYERS
            ),
            comparison,
            locale=_locale(request, lang),
            nonce=_nonce(request),
            tiles=online_tiles(request.app.state.settings),
        ),
        lang=lang,
    )


@router.get("/staff/coverage", response_class=HTMLResponse)
def coverage_map(
    request: Request,
    session: ReadSession,
    principal: MaybeStaff,
    community: str,
    radius_m: float = 300.0,
    lang: str | None = None,
) -> Response:
    """Which buildings are within walking distance of a green or activity site."""
    if principal is None:
        return _to_login(request)
    drafts.require_drawer(session, principal=principal, community_code=community)
    return _page(
        request,
        coverage_page(
            community_layers(session, community_code=community, kinds=PAGE_LAYERS),
            community_coverage(session, community_code=community, radius_m=radius_m),
            locale=_locale(request, lang),
            nonce=_nonce(request),
            tiles=online_tiles(request.app.state.settings),
        ),
        lang=lang,
    )


@router.get("/c/{code}/sites", response_class=HTMLResponse)
def resident_sites(
    code: PublicCode, request: Request, session: ReadSession, lang: str | None = None
) -> HTMLResponse:
    """The community's micro-renewal sites and where each stands."""
    name = catalog.community_row(session, code=code).name
    html = sites_page(
        code,
        name,
        process.sites(session, community_code=code),
        locale=_locale(request, lang),
        nonce=_nonce(request),
    )
    return _page(request, html, lang=lang, cache="no-cache")


@router.get("/c/{code}/sites/{site}", response_class=HTMLResponse)
def resident_site(
    code: PublicCode, site: str, request: Request, session: ReadSession, lang: str | None = None
) -> HTMLResponse:
    """A site for residents: its process, the drafts to comment and vote on, before/after,
    plants to adopt, and pins for its survey."""
    html = site_page(
        community_layers(session, community_code=code, kinds=PAGE_LAYERS),
        process.site_info(session, community_code=code, site_code=site),
        process.timeline(session, community_code=code, site_code=site),
        process.photos(session, community_code=code, site_code=site),
        adoption.site_plants(session, community_code=code, site_code=site),
        deliberations=deliberations.of_site(session, community_code=code, site_code=site),
        locale=_locale(request, lang),
        nonce=_nonce(request),
        tiles=online_tiles(request.app.state.settings),
    )
    return _page(request, html, lang=lang, cache="no-cache")


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request, lang: str | None = None) -> HTMLResponse:
    """The API's operations as a plain page (from /openapi.json). Swagger UI and ReDoc would
    load their scripts from a CDN, which the intranet and our CSP do not allow."""
    spec = request.app.openapi()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "summary": op.get("summary") or "",
            "description": (op.get("description") or "").split("\n\n")[0],
            "tag": (op.get("tags") or [""])[0],
        }
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if isinstance(op, dict) and method in ("get", "post", "put", "patch", "delete")
    ]
    html = api_docs_page(
        spec.get("info", {}), operations, locale=_locale(request, lang), nonce=_nonce(request)
    )
    return _page(request, html, lang=lang, cache="no-cache")
