"""Alembic environment: one set of migrations for SpatiaLite and PostGIS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context
from geoalchemy2 import alembic_helpers

from renewmap.db.models import Base

if TYPE_CHECKING:
    from sqlalchemy import Connection

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        render_as_batch=connection.dialect.name == "sqlite",
    )


connection = config.attributes.get("connection")
if connection is None:
    from renewmap.db.engine import make_engine
    from renewmap.settings import Settings

    settings = Settings()
    engine = make_engine(settings.database_url, spatialite_library=settings.spatialite_library)
    with engine.begin() as conn:
        _configure(conn)
        context.run_migrations()
    engine.dispose()
else:
    _configure(connection)
    context.run_migrations()
