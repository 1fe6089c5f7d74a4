"""The shared vocabulary: the rules every layer (db, services, protocols, API, pages) names.

One home for what a request's statuses are and which of them count as open, the categories a
resident chooses from, the staff roles, the kinds of history entries, the id bounds and the
rule that picks a community's metric CRS. Import these; never respell them.

Labels are English msgids: the zh_CN/en catalogs translate them, so they must not change
without updating ``locales/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from renewmap.spatial.crs import utm_epsg

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


# --- request statuses -------------------------------------------------------------------------


class Status(StrEnum):
    """A request's status (stored as this text)."""

    NEW = "new"
    REOPENED = "reopened"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


STATUSES: tuple[Status, ...] = tuple(Status)
# Open: someone still has to act. Everything else is closed (Open311's "closed").
OPEN_STATUSES: tuple[Status, ...] = (
    Status.NEW,
    Status.REOPENED,
    Status.ACCEPTED,
    Status.IN_PROGRESS,
)
CLOSED_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s not in OPEN_STATUSES)
# Waiting for a grid to accept it: the overdue clock runs, and "accept" applies.
UNACCEPTED_STATUSES: tuple[Status, ...] = (Status.NEW, Status.REOPENED)
# What staff may filter their list by: "open" (any open status) or one status.
OPEN_FILTER = "open"
STATUS_FILTERS: tuple[str, ...] = (OPEN_FILTER, *STATUSES)
STATUS_LABELS: dict[str, str] = {
    Status.NEW: "New",
    Status.REOPENED: "Reopened",
    Status.ACCEPTED: "Accepted",
    Status.IN_PROGRESS: "In progress",
    Status.RESOLVED: "Resolved",
    Status.REJECTED: "Rejected",
    Status.DUPLICATE: "Duplicate",
}


def is_open(status: str) -> bool:
    """Whether someone still has to act on a request in this status."""
    return status in OPEN_STATUSES


# --- history entries --------------------------------------------------------------------------


class EventKind(StrEnum):
    """The kind of one entry in a request's history (also the msgid the pages translate)."""

    CREATED = "created"
    ROUTED = "routed"
    REROUTED = "rerouted"
    DETAILS_ADDED = "details_added"
    # staff workflow steps (one per action)
    ACCEPT = "accept"
    START = "start"
    RESOLVE = "resolve"
    REJECT = "reject"
    DUPLICATE = "duplicate"
    TRANSFER = "transfer"
    TRANSFER_REASON = "transfer_reason"  # internal: why it moved
    REPLY = "reply"
    NOTE = "note"
    HIDE = "hide"
    UNHIDE = "unhide"
    MERGED = "merged"  # on the kept request, when a duplicate is merged into it
    REOPEN = "reopen"  # by the resident
    COMPOUND_MERGED = "compound_merged"  # internal: its grid's compound joined another
    # the property company (物业): handed over with a due date, done, or handed back
    ASSIGN_PROPERTY = "assign_property"
    PROPERTY_DONE = "property_done"
    PROPERTY_RETURN = "property_return"  # internal: why the property company handed it back
    DELIBERATION = "deliberation"  # 四议共答: the four parties decided on it together


# --- categories -------------------------------------------------------------------------------

# Code → (label msgid, the residents' map icon). One table for the pages, Open311's service
# names and validation.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "greenery": ("Greenery", "🌳"),
    "paths": ("Paths", "🚶"),
    "lighting": ("Lighting", "💡"),
    "ebike_parking": ("E-bike parking", "🛵"),
    "fitness_play": ("Fitness and play", "🤸"),
    "pets": ("Pets", "🐕"),
    "sanitation": ("Sanitation", "🧹"),
    "safety_fire": ("Safety and fire", "🧯"),
    "pipes_drainage": ("Pipes and drainage", "🚰"),
    "overhead_wires": ("Overhead wires", "⚡"),
    "accessibility": ("Accessibility", "♿"),
    "stairwell": ("Stairwells and stairs", "🪜"),
    "lifts": ("Lifts", "🛗"),
    "car_parking": ("Car parking", "🚗"),
    "water": ("Water bodies", "🦢"),
    "other": ("Other", "💬"),
}
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_LABELS)


# --- the questions each category asks -------------------------------------------------------
# One definition for the residents' page (asked when a category is chosen) and for Open311 (its
# service definitions' attributes); answers are stored on the request (``attributes``) and
# checked alike (services.requests.questions).


@dataclass(frozen=True)
class Choice:
    """One answer to choose from (GeoReport's ``value``)."""

    key: str
    name: str  # msgid


@dataclass(frozen=True)
class Question:
    """One question of a category (GeoReport's ``attribute``)."""

    code: str
    datatype: str  # string | number | singlevaluelist | multivaluelist
    description: str  # msgid: the question put to the resident
    required: bool
    values: tuple[Choice, ...] = ()
    hint: str | None = None  # msgid: datatype_description


BUILDING_QUESTION = "building"  # its answer is a building number such as 17号楼
_WHICH_BUILDING = "Building number (e.g. 17号楼)"
_BUILDING_HINT = "The number painted on the building"

CATEGORY_QUESTIONS: dict[str, tuple[Question, ...]] = {
    # Pipes are fixed building by building (70% of a water main was relaid that way).
    "pipes_drainage": (
        Question(BUILDING_QUESTION, "string", _WHICH_BUILDING, True, hint=_BUILDING_HINT),
        Question(
            "problem",
            "singlevaluelist",
            "What is wrong?",
            True,
            (
                Choice("leak", "Leaking water pipe"),
                Choice("blocked", "Blocked drain or sewer"),
                Choice("pooling", "Rainwater pooling"),
            ),
        ),
    ),
    "overhead_wires": (
        Question(
            "problem",
            "singlevaluelist",
            "What is wrong?",
            True,
            (
                Choice("tangled", "Tangled spider-web wires"),
                Choice("hanging_low", "Wires hanging low"),
                Choice("charging_cable", "Charging cable run from a window"),
            ),
        ),
        Question(BUILDING_QUESTION, "string", _WHICH_BUILDING, False, hint=_BUILDING_HINT),
    ),
    "ebike_parking": (
        Question(
            "need",
            "singlevaluelist",
            "What is needed?",
            True,
            (Choice("charging", "Charging points"), Choice("parking", "Parking spaces")),
        ),
        Question("bikes", "number", "About how many e-bikes?", False, hint="A whole number"),
    ),
    "safety_fire": (
        Question(
            "hazards",
            "multivaluelist",
            "Which hazards?",
            True,
            (
                Choice("blocked_exit", "Blocked fire escape or fire lane"),
                Choice("indoor_charging", "E-bikes charged in the stairwell"),
                Choice("extinguisher", "Missing or expired fire extinguisher"),
            ),
        ),
        Question(BUILDING_QUESTION, "string", _WHICH_BUILDING, False, hint=_BUILDING_HINT),
    ),
    "lighting": (
        Question("lamps", "number", "How many lamps are out?", False, hint="A whole number"),
    ),
}


# --- staff roles ------------------------------------------------------------------------------


class Role(StrEnum):
    """A staff role, held in one place (see ``ROLE_PLACE``)."""

    GRID_LEAD = "grid_lead"
    BRANCH_SECRETARY = "branch_secretary"
    COMMUNITY_ADMIN = "community_admin"
    SUBDISTRICT_ADMIN = "subdistrict_admin"
    DESIGNER = "designer"
    # 楼组长: the leader of a building party group, for the buildings the group serves
    BUILDING_GROUP_LEADER = "building_group_leader"
    # the property company's staff (物业): what was handed to their company
    PROPERTY_STAFF = "property_staff"
    # the owners' committee (业委会): follows what the property company was given, no requests
    OWNERS_COMMITTEE = "owners_committee"


ROLES: tuple[Role, ...] = tuple(Role)
# Which place a role is held in: grid (community/GRID), branch, community, subdistrict, or an
# organisation of a community (community/ORG).
ROLE_PLACE: dict[str, str] = {
    Role.GRID_LEAD: "grid",
    Role.BRANCH_SECRETARY: "branch",
    Role.COMMUNITY_ADMIN: "community",
    Role.SUBDISTRICT_ADMIN: "subdistrict",
    Role.DESIGNER: "community",
    Role.BUILDING_GROUP_LEADER: "branch",
    Role.PROPERTY_STAFF: "org",
    Role.OWNERS_COMMITTEE: "org",
}
# Roles that handle residents' requests (and may see them with personal data).
REQUEST_ROLES: frozenset[Role] = frozenset(
    {
        Role.GRID_LEAD,
        Role.BRANCH_SECRETARY,
        Role.COMMUNITY_ADMIN,
        Role.SUBDISTRICT_ADMIN,
        Role.BUILDING_GROUP_LEADER,
        Role.PROPERTY_STAFF,
    }
)
# Roles that may edit a community's grids and boundaries.
ADMIN_ROLES: tuple[Role, ...] = (Role.COMMUNITY_ADMIN, Role.SUBDISTRICT_ADMIN)
# Roles that draw designs and run a community's participatory process.
DESIGN_ROLES: tuple[Role, ...] = (Role.DESIGNER, Role.COMMUNITY_ADMIN)


# --- the organisation of a community ------------------------------------------------------------

# Levels of the party tree (party_branch.level). The top level's name is the community's own
# (``TOP_LEVELS``): a residential area's general branch (党总支) or a community party committee.
GENERAL, GRID_BRANCH, BUILDING_GROUP = "general", "grid", "building_group"
BRANCH_LEVELS: tuple[str, ...] = (GENERAL, GRID_BRANCH, BUILDING_GROUP)
BRANCH_LEVEL_LABELS: dict[str, str] = {
    GRID_BRANCH: "Grid party branch",
    BUILDING_GROUP: "Building party group",
}
TOP_LEVELS: dict[str, str] = {
    "general_branch": "General party branch",
    "party_committee": "Community party committee",
}
DEFAULT_TOP_LEVEL = "general_branch"
# When a branch's monthly study and patrol is due (services.requests.patrols.due_day):
# "week:N:DAY" the weekday of the Nth week (Monday to Sunday; week 1 holds the 1st) — 每月第二周的
# 周四 is "week:2:thu"; "nth:N:DAY" the Nth such weekday (第二个周四); "day:N" the Nth of the month.
PATROL_RULE_DEFAULT = "week:2:thu"
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Organisations of a compound besides the party tree.
ORG_PROPERTY, ORG_OWNERS = "property_company", "owners_committee"
ORG_KINDS: dict[str, str] = {
    ORG_PROPERTY: "Property company",
    ORG_OWNERS: "Owners' committee",
}
# 四议共答: the four parties that deliberate and answer together.
DELIBERATION_PARTIES: dict[str, str] = {
    "residents_committee": "Residents' committee",
    ORG_OWNERS: "Owners' committee",
    ORG_PROPERTY: "Property company",
    "resident_representatives": "Resident representatives",
}


# --- ids --------------------------------------------------------------------------------------

# Ids are 32-bit integers in both databases: a larger one names nothing (a 422, not a 500).
MIN_ID = 1
MAX_ID = 2**31 - 1


def is_valid_id(value: int) -> bool:
    return MIN_ID <= value <= MAX_ID


# --- the community's metric CRS ---------------------------------------------------------------


def metric_epsg(stored: int | None, geom: BaseGeometry) -> int:
    """The CRS a community measures in: its stored ``metric_epsg`` if it has one, otherwise the
    UTM zone of ``geom`` (the community's outline, or the part of it being measured)."""
    if stored:
        return int(stored)
    c = geom.centroid
    return utm_epsg(c.x, c.y)
