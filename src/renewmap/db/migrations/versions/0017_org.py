"""The whole organisation (issue 20): stairwells, building groups linked to the buildings and
stairwells they serve, party-member volunteers, the property company and the owners'
committee with their accounts, requests handed to the property company, staff photos, branch
patrols with their study session, deliberations (四议共答), reply templates, and per community
what its top level is called and when its patrols are due.

Existing data is kept: each patrol keeps its grid (as the first grid walked) and gets its
grid's branch; each request gets the building it is in or at (the routing rule's).

Revision ID: 0017_org
Revises: 0021_records
Create Date: 2026-12-01
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0017_org"
down_revision = "0021_records"
branch_labels = None
depends_on = None

REQUEST_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("building_id", sa.Integer()),
    ("assigned_org_id", sa.Integer()),
    ("assigned_at", sa.DateTime(timezone=True)),
    ("assigned_due", sa.Date()),
    ("assigned_done_at", sa.DateTime(timezone=True)),
)
PATROL_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("branch_id", sa.Integer()),
    ("study_topic", sa.Text()),
    ("study_attendees", sa.Text()),
    ("route_source", sa.String(8)),
)


def _fk(
    table: str, column: str, target: str, ondelete: str | None = "CASCADE"
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    # Plain ADD COLUMN on tables with geometry (a batch copy would lose SpatiaLite's
    # registration of their geometry columns), as in 0013.
    op.add_column(
        "community",
        sa.Column("top_level", sa.String(32), nullable=False, server_default="general_branch"),
    )
    op.add_column(
        "community",
        sa.Column("patrol_rule", sa.String(32), nullable=False, server_default="week:2:thu"),
    )
    for name, type_ in REQUEST_COLUMNS:
        op.add_column("request", sa.Column(name, type_, nullable=True))
    for name, type_ in PATROL_COLUMNS:
        op.add_column("patrol", sa.Column(name, type_, nullable=True))
    op.add_column(
        "request_photo",
        sa.Column("kind", sa.String(16), nullable=False, server_default="resident"),
    )
    op.add_column("request_photo", sa.Column("event_id", sa.Integer(), nullable=True))

    op.create_geospatial_table(
        "stairwell",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        _fk("stairwell", "community_id", "community"),
        _fk("stairwell", "building_id", "building"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stairwell")),
        sa.UniqueConstraint("building_id", "number", name=op.f("uq_stairwell_building_id")),
    )
    with op.batch_alter_table("stairwell", schema=None) as batch_op:
        batch_op.create_geospatial_index(
            "idx_stairwell_geom", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
        )
    op.create_index("ix_stairwell_building_id", "stairwell", ["building_id"])

    op.create_table(
        "building_group_place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("stairwell_id", sa.Integer(), nullable=True),
        _fk("building_group_place", "branch_id", "party_branch"),
        _fk("building_group_place", "building_id", "building"),
        _fk("building_group_place", "stairwell_id", "stairwell"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building_group_place")),
    )
    op.create_index("ix_building_group_place_branch_id", "building_group_place", ["branch_id"])
    op.create_index("ix_building_group_place_building_id", "building_group_place", ["building_id"])

    op.create_table(
        "party_volunteer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_recorded_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("party_volunteer", "branch_id", "party_branch"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_volunteer")),
    )
    op.create_index("ix_party_volunteer_branch_id", "party_volunteer", ["branch_id"])

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        _fk("organisation", "community_id", "community"),
        _fk("organisation", "compound_id", "compound", ondelete=None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("community_id", "code", name=op.f("uq_organisation_community_id")),
    )
    # staff_role has no geometry: a batch copy on SQLite is safe (and needed for the key)
    with op.batch_alter_table("staff_role", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_staff_role_org_id_organisation"),
            "organisation",
            ["org_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.create_index("ix_staff_role_org_id", "staff_role", ["org_id"])

    op.create_table(
        "patrol_grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        _fk("patrol_grid", "patrol_id", "patrol"),
        _fk("patrol_grid", "grid_id", "grid"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_grid")),
        sa.UniqueConstraint("patrol_id", "grid_id", name=op.f("uq_patrol_grid_patrol_id")),
    )
    op.create_index("ix_patrol_grid_grid_id", "patrol_grid", ["grid_id"])
    op.create_index("ix_patrol_grid_patrol_id", "patrol_grid", ["patrol_id"])

    op.create_table(
        "deliberation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("attendees", sa.Text(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("deliberation", "community_id", "community"),
        _fk("deliberation", "request_id", "request"),
        _fk("deliberation", "site_id", "site"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliberation")),
    )
    op.create_index("ix_deliberation_request_id", "deliberation", ["request_id"])
    op.create_index("ix_deliberation_site_id", "deliberation", ["site_id"])

    op.create_table(
        "reply_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("reply_template", "community_id", "community"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_template")),
        sa.UniqueConstraint("community_id", "title", name=op.f("uq_reply_template_community_id")),
    )

    op.create_index("ix_request_building_id", "request", ["building_id"])
    op.create_index("ix_request_assigned_org_id", "request", ["assigned_org_id"])

    # Existing patrols: their grid is the first (and only) grid walked, by its branch.
    op.execute("INSERT INTO patrol_grid (patrol_id, grid_id) SELECT id, grid_id FROM patrol")
    op.execute(
        "UPDATE patrol SET branch_id = (SELECT g.branch_id FROM grid g WHERE g.id = patrol.grid_id)"
    )
    _backfill_buildings()


def _backfill_buildings() -> None:
    """Each existing point request gets the building it is in or at, by the routing rule."""
    import shapely

    from renewmap.spatial.geometry import from_db
    from renewmap.spatial.routing import BUILDING_NEAR_M, BuildingRef, building_at

    conn = op.get_bind()
    wkb = "ST_AsBinary" if conn.dialect.name == "postgresql" else "AsBinary"
    buildings: dict[int, list[BuildingRef]] = {}
    for r in conn.execute(sa.text(f"SELECT id, grid_id, {wkb}(geom), community_id FROM building")):
        if r[2] is not None:
            buildings.setdefault(r[3], []).append(
                BuildingRef(r[0], r[1], from_db(bytes(r[2])), r[3])
            )
    for request_id, community_id, raw in conn.execute(
        sa.text(f"SELECT id, community_id, {wkb}(geom) FROM request WHERE community_id IS NOT NULL")
    ):
        if raw is None:
            continue
        point = from_db(bytes(raw))
        if not isinstance(point, shapely.Point):
            continue
        near = [
            b
            for b in buildings.get(community_id, [])
            if b.geom.distance(point) < 0.001  # ≈ 100 m: the candidates; the rule measures
        ]
        found = building_at(point, near, near_m=BUILDING_NEAR_M)
        if found is not None:
            conn.execute(
                sa.text("UPDATE request SET building_id = :b WHERE id = :r"),
                {"b": found, "r": request_id},
            )


def downgrade() -> None:
    op.drop_index("ix_request_assigned_org_id", "request")
    op.drop_index("ix_request_building_id", "request")
    op.drop_table("reply_template")
    op.drop_index("ix_deliberation_site_id", "deliberation")
    op.drop_index("ix_deliberation_request_id", "deliberation")
    op.drop_table("deliberation")
    op.drop_index("ix_patrol_grid_patrol_id", "patrol_grid")
    op.drop_index("ix_patrol_grid_grid_id", "patrol_grid")
    op.drop_table("patrol_grid")
    op.drop_index("ix_staff_role_org_id", "staff_role")
    with op.batch_alter_table("staff_role", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_staff_role_org_id_organisation"), type_="foreignkey")
        batch_op.drop_column("org_id")
    op.drop_table("organisation")
    op.drop_index("ix_party_volunteer_branch_id", "party_volunteer")
    op.drop_table("party_volunteer")
    op.drop_index("ix_building_group_place_building_id", "building_group_place")
    op.drop_index("ix_building_group_place_branch_id", "building_group_place")
    op.drop_table("building_group_place")
    op.drop_index("ix_stairwell_building_id", "stairwell")
    with op.batch_alter_table("stairwell", schema=None) as batch_op:
        batch_op.drop_geospatial_index(
            "idx_stairwell_geom", postgresql_using="gist", column_name="geom"
        )
    op.drop_geospatial_table("stairwell")
    # Plain DROP COLUMN (SQLite ≥ 3.35), as in 0013.
    op.drop_column("request_photo", "event_id")
    op.drop_column("request_photo", "kind")
    for name, _ in reversed(PATROL_COLUMNS):
        op.drop_column("patrol", name)
    for name, _ in reversed(REQUEST_COLUMNS):
        op.drop_column("request", name)
    op.drop_column("community", "patrol_rule")
    op.drop_column("community", "top_level")
