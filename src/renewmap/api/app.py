"""The application factory. Nothing connects at import time: the lifespan owns the engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from renewmap import __version__
from renewmap.api.compression import CompressPublic
from renewmap.api.errors import install_error_handlers
from renewmap.api.middleware import install_request_guards
from renewmap.api.observe import Observe
from renewmap.api.routers import (
    core,
    design,
    ogc,
    ogc_tiles,
    open311,
    organisation,
    pages,
    plants,
    records,
    setup,
    sites,
    staff,
    suggestions,
)
from renewmap.api.security import install as install_security_headers
from renewmap.api.static import CachedStatic
from renewmap.services.access.ratelimit import RateLimiter, make_store
from renewmap.services.requests import photos
from renewmap.settings import Settings
from renewmap.web.cache import PageCache


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app. Pass ``engine`` to share one (tests); otherwise the lifespan makes it."""
    settings = settings or Settings()
    app = FastAPI(
        title="RenewMap 微更新地图",
        version=__version__,
        description="Community micro-renewal: places, grids, party branches and resident "
        "requests routed to the grid that owns them.",
        lifespan=_lifespan(settings, engine),
        # Swagger UI and ReDoc would load their scripts from a CDN, which neither the intranet
        # nor our Content-Security-Policy allows: /openapi.json describes the API, and /docs
        # is our own page listing its operations (routers/pages.py).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.page_cache = PageCache()
    app.state.notify_kick = lambda: None  # replaced by the dispatcher's when it runs
    app.state.rate_limiter = _rate_limiter(settings)
    photos.configure(decode_slots=settings.image_decodes)
    install_error_handlers(
        app, {open311.PREFIX + "/": open311.render_error, ogc.PREFIX + "/": ogc.render_error}
    )
    install_request_guards(app, settings)
    app.add_middleware(CompressPublic)  # public JSON only (api.compression)
    install_security_headers(app, settings)  # every response, error pages too
    app.add_middleware(Observe, trusted=settings.trusted_networks())  # outermost: all of it
    for module in (
        core,
        suggestions,
        staff,
        organisation,
        setup,
        design,
        plants,
        records,
        sites,
        open311,
        ogc,
        ogc_tiles,
        pages,
    ):
        app.include_router(module.router)
    static_dir = resources.files("renewmap") / "static"
    # gzipped once per file version, ETags and 304s (api.static)
    app.mount("/static", CachedStatic(directory=str(static_dir)), name="static")
    return app


def _rate_limiter(settings: Settings, engine: Engine | None = None) -> RateLimiter:
    """The limits of the settings; counted where ``RENEWMAP_RATE_LIMIT_BACKEND`` says (in the
    database once the lifespan has an engine)."""
    window = settings.rate_window_s
    return RateLimiter(
        {
            "post": (settings.rate_posts, window),
            "interact": (settings.rate_interactions, window),
            "login": (settings.rate_logins, window),
            # wrong household codes: per address, and per site from every address together
            "code": (settings.rate_codes, window),
            "code_site": (settings.rate_codes * 20, window),
            "open311": (settings.rate_open311, window),  # per API key
        },
        make_store(settings.rate_limit_backend, settings=settings, engine=engine),
    )


def _lifespan(
    settings: Settings, engine: Engine | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Engine (unless shared), write and read session factories, the notification sender."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from renewmap import blobs
        from renewmap.db.dialect import read_only_bind, write_bind
        from renewmap.db.engine import engine_from_settings
        from renewmap.db.guards import LOCK_TIMEOUT_MS, PUBLIC_READ

        own = engine is None
        eng = engine or engine_from_settings(settings, lock_timeout_ms=LOCK_TIMEOUT_MS)
        pool = {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            "pool_timeout": settings.db_pool_timeout_s,
        }
        prepared = settings.db_prepared_statements
        read_engine = read_only_bind(eng, pool=pool, prepared_statements=prepared)
        public_engine = read_only_bind(
            eng,
            url=settings.database_read_url,
            statement_timeout_ms=settings.public_read_timeout_ms,
            pool=pool,
            prepared_statements=prepared,
        )
        app.state.engine = eng
        app.state.read_engine = read_engine
        app.state.public_engine = public_engine
        # photos and files: one store for every session, whichever database it reads
        store = {blobs.SESSION_STORE: blobs.store_from_settings(settings)}
        app.state.session_factory = sessionmaker(
            write_bind(eng), expire_on_commit=False, info=store
        )
        app.state.read_session_factory = sessionmaker(
            read_engine, expire_on_commit=False, info=store
        )
        app.state.public_session_factory = sessionmaker(
            public_engine,
            expire_on_commit=False,
            info={PUBLIC_READ: settings.public_read_timeout_ms, **store},
        )
        app.state.rate_limiter = _rate_limiter(settings, eng)
        from renewmap import metrics

        if own:  # an engine shared with tests is not watched again and again
            metrics.watch_pool(eng, "write")
        if read_engine is not eng:
            metrics.watch_pool(read_engine, "read")
        if public_engine is not eng:
            metrics.watch_pool(public_engine, "public")
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
            for other in {read_engine, public_engine} - {eng}:
                other.dispose()
            if own:
                eng.dispose()

    return lifespan
