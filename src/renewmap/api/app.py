"""The application factory. Nothing connects at import time: the lifespan owns the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException

from renewmap import __version__
from renewmap.errors import (
    DatabaseUnavailable,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RenewMapError,
    http_status_for,
)
from renewmap.i18n import negotiate
from renewmap.settings import Settings
from renewmap.web.cache import PageCache
from renewmap.web.errors import error_page


def _wants_page(request: Request | None) -> bool:
    """A person's browser opening one of our pages (not the API, not a script)."""
    if request is None or request.url.path.startswith(("/api/", "/health", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _error_response(exc: RenewMapError, request: Request | None = None) -> Response:
    if request is not None:
        # the standard APIs answer errors in their own formats (Open311's list of
        # {code, description}, OGC's exception document)
        for prefix, render in request.app.state.error_renderers.items():
            if request.url.path.startswith(prefix):
                return render(exc, request)
    details = {
        k: v for k, v in exc.details.items() if isinstance(v, str | int | float | list | dict)
    }
    headers = {"Retry-After": str(details["retry_after"])} if "retry_after" in details else None
    if _wants_page(request):
        assert request is not None
        locale = negotiate(
            request.query_params.get("lang"),
            request.cookies.get("rm_lang"),
            request.headers.get("accept-language"),
        )
        return HTMLResponse(
            error_page(http_status_for(exc), exc.message, locale=locale),
            status_code=http_status_for(exc),
            headers={**(headers or {}), "Cache-Control": "no-store"},
        )
    return JSONResponse(
        {"error": exc.code, "message": exc.message, "details": details},
        status_code=http_status_for(exc),
        headers=headers,
    )


def _nul_in_address(request: Request) -> str | None:
    """The part of the address (``path`` or a query parameter's name) holding a NUL."""
    if "\x00" in request.url.path:
        return "path"
    if "%00" in request.url.query:
        for name, value in request.query_params.multi_items():
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "query"
    return None


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app. Pass ``engine`` to share one (tests); otherwise the lifespan makes it."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from renewmap.db.dialect import read_only_bind, write_bind
        from renewmap.db.engine import make_engine

        own = engine is None
        eng = engine or make_engine(
            settings.database_url,
            spatialite_library=settings.spatialite_library,
            echo=settings.sql_echo,
            pool_pre_ping=settings.db_pool_pre_ping,
        )
        read_engine = read_only_bind(eng)
        app.state.engine = eng
        app.state.session_factory = sessionmaker(write_bind(eng), expire_on_commit=False)
        app.state.read_session_factory = sessionmaker(read_engine, expire_on_commit=False)
        dispatcher = None
        if settings.notify_dispatcher:
            from renewmap.services.requests.notify import Dispatcher

            dispatcher = Dispatcher(
                app.state.session_factory, settings, app.state.read_session_factory
            )
            dispatcher.start()
            app.state.notify_kick = dispatcher.kick
        try:
            yield
        finally:
            if dispatcher is not None:
                dispatcher.stop()
            if read_engine is not eng:
                read_engine.dispose()
            if own:
                eng.dispose()

    app = FastAPI(
        title="RenewMap 微更新地图",
        version=__version__,
        description="Community micro-renewal: places, grids, party branches and resident "
        "requests routed to the grid that owns them.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.page_cache = PageCache()
    app.state.notify_kick = lambda: None  # replaced by the dispatcher's when it runs

    @app.exception_handler(RenewMapError)
    async def _domain_error(request: Request, exc: RenewMapError) -> Response:
        return _error_response(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _unrouted(request: Request, exc: StarletteHTTPException) -> Response:
        # No route or wrong method: the same error shape (and page) as everything else.
        path = request.url.path
        if exc.status_code == 404:
            return _error_response(NotFound(f"no page or endpoint at {path}"), request)
        if exc.status_code == 405:
            return _error_response(
                MethodNotAllowed(f"{request.method} is not allowed on {path}"), request
            )
        return JSONResponse(
            {"error": "http_error", "message": str(exc.detail), "details": {}},
            status_code=exc.status_code,
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def _database_down(request: Request, exc: DBAPIError) -> Response:
        return _error_response(
            DatabaseUnavailable("the database is unavailable; try again shortly"), request
        )

    @app.exception_handler(DataError)
    async def _bad_value(request: Request, exc: DataError) -> Response:
        # a value the database cannot store (e.g. a NUL character in a posted text)
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "invalid value"
        return _error_response(InvalidInput(f"a value cannot be stored: {reason}"), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err.get("loc", ()))
            problems.append(f"{loc}: {err.get('msg', 'invalid')}")
        return _error_response(
            InvalidInput("invalid request: " + "; ".join(problems), errors=problems), request
        )

    @app.middleware("http")
    async def _limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length")
        limit = settings.max_upload_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            return _error_response(
                PayloadTooLarge(f"request body larger than {limit} bytes", limit=limit), request
            )
        nul = _nul_in_address(request)
        if nul is not None:
            # PostgreSQL text cannot hold NUL: refuse it up front, on both databases alike
            return _error_response(
                InvalidInput(f"{nul} contains a NUL character (%00)", field=nul), request
            )
        return await call_next(request)

    from renewmap.api.routers import (
        core,
        design,
        ogc,
        ogc_tiles,
        open311,
        pages,
        plants,
        sites,
        staff,
        suggestions,
    )
    from renewmap.services.access.ratelimit import RateLimiter

    window = settings.rate_window_s
    app.state.rate_limiter = RateLimiter(
        {
            "post": (settings.rate_posts, window),
            "interact": (settings.rate_interactions, window),
            "login": (settings.rate_logins, window),
            "open311": (settings.rate_open311, window),  # per API key
        }
    )
    app.include_router(core.router)
    app.include_router(suggestions.router)
    app.include_router(staff.router)
    app.include_router(design.router)
    app.include_router(plants.router)
    app.include_router(sites.router)
    app.include_router(open311.router)
    app.include_router(ogc.router)
    app.include_router(ogc_tiles.router)
    app.include_router(pages.router)
    app.state.error_renderers = {
        open311.PREFIX + "/": open311.render_error,
        ogc.PREFIX + "/": ogc.render_error,
    }
    static_dir = resources.files("renewmap") / "static"
    app.mount("/static", StaticFiles(directory=str(static_dir)), name="static")
    return app
