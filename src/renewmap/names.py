"""How messages name places and things: as people name them, never by a database id.

A building is its number ("7号楼"; a bare "7" reads "7号楼" / "building 7") or its name; a
design feature is its kind and its own name ("种植池「睦邻花圃」", "步道「健身步道」"), or,
without a name, its kind and a short ordinal among the draft's features of that kind
("2号步道" / "path no. 2"), a plant with its species ("1号植物（银杏）").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from renewmap.i18n import N_, Localized, Msg, Text
from renewmap.vocabulary import (
    STATUS_LABELS,  # noqa: F401 (a request's statuses, named here too)
    EventKind,
)

# The kinds of a community's layers (the importer's --kind).
LAYER_KINDS = {
    "community": N_("community"),
    "compound": N_("compound"),
    "grid": N_("grid"),
    "building": N_("building"),
    "site": N_("micro-renewal site"),
    "green": N_("green area"),
    "plant": N_("plant"),
    "path": N_("path"),
    "facility": N_("facility"),
    "water": N_("water"),
}
# The kinds of a design draft's features, and the values of their properties (msgids; the
# drawing page labels its controls with the same words).
FEATURE_KINDS = {
    "zone": N_("zone"),
    "green": N_("planting bed"),
    "plant": N_("plant"),
    "path": N_("path"),
    "facility": N_("facility"),
    "water": N_("water"),
    "keep": N_("existing element"),
}
FACILITY_TYPES = {
    "bench": N_("bench"),
    "light": N_("light"),
    "ebike_shed": N_("e-bike shed"),
    "art_wall": N_("art wall"),
    "notice_board": N_("notice board"),
    "play": N_("play equipment"),
    "meeting_hall": N_("garden council hall"),
    "party_service_station": N_("party-mass service station"),
    "seed_station": N_("seed station"),
    "story_window": N_("story window"),
    "flower_box": N_("flower box"),
    "water": N_("water"),
    "other": N_("other facility"),
}
PLANT_LAYERS = {
    "tree": N_("trees"),
    "shrub": N_("shrubs"),
    "ground_cover": N_("ground cover"),
    "lawn": N_("lawn"),
}
PATH_SURFACES = {
    "permeable_concrete": N_("permeable concrete"),
    "permeable_brick": N_("permeable brick"),
    "gravel": N_("gravel"),
    "wood": N_("wood"),
    "asphalt": N_("asphalt"),
    "unspecified": N_("unspecified surface"),
}
_BARE_NUMBER = re.compile(r"^\d+[A-Za-z]?$")


def label(table: Mapping[str, str], code: str | None) -> Text | str:
    """A code's label from one of the tables above (an unknown code as it is)."""
    if code in table:
        return Msg(table[str(code)])
    return code or ""


def building(number: str | None, name: str | None = None) -> Text | str:
    """A building as its residents name it."""
    number = (number or "").strip()
    if number and _BARE_NUMBER.match(number):
        return Msg("building {number}", number=number)
    if number:
        return number
    if name and name.strip():
        return name.strip()
    return Msg("a building without a number")


def plant(name: str | None, species: str | None = None) -> Text | str:
    """A plant on its card: its own name, else its species, else "this plant"."""
    if name and name.strip():
        return Msg("{kind} “{name}”", kind=Msg(FEATURE_KINDS["plant"]), name=name.strip())
    if species and species.strip():
        return species.strip()
    return Msg("this plant")


def _kind(kind: str, props: Mapping[str, Any]) -> Text | str:
    if kind in ("facility", "keep") and props.get("type") in FACILITY_TYPES:
        return Msg(FACILITY_TYPES[str(props["type"])])
    return label(FEATURE_KINDS, kind)


def feature(
    kind: str, props: Mapping[str, Any], ordinal: int, species: Localized | None = None
) -> Msg:
    """A design feature: kind and name, else kind and ordinal (and a plant's species)."""
    name = str(props.get("name") or "").strip()
    what = _kind(kind, props)
    if name:
        return Msg("{kind} “{name}”", kind=what, name=name)
    if species is not None:
        return Msg("{kind} no. {n} ({species})", kind=what, n=ordinal, species=species)
    return Msg("{kind} no. {n}", kind=what, n=ordinal)


def ordinals(features: list[tuple[str, Mapping[str, Any]]]) -> list[int]:
    """Each feature's number among those named with the same word (planting beds, paths,
    benches…), in drawing order: 1, 2, …"""
    seen: dict[str, int] = {}
    out = []
    for kind, props in features:
        what = _kind(kind, props)
        key = what.msgid if isinstance(what, Msg) else str(what)
        seen[key] = seen.get(key, 0) + 1
        out.append(seen[key])
    return out


# --- requests ---------------------------------------------------------------------------------

# What each step of a request's history says happened: each kind is its own msgid (the
# pages name history entries the same way).
EVENT_LABELS: dict[str, str] = {k: str(k) for k in EventKind}
# The staff's steps, as verbs ("cannot {accept it}: the request is …"). Their own msgids, not
# the history's labels (EventKind codes: "accept" is 已受理, the step done, not the verb 受理).
ACTION_VERBS = {
    "accept": N_("accept it"),
    "start": N_("start work on it"),
    "resolve": N_("resolve it"),
    "reject": N_("reject it"),
    "duplicate": N_("mark it as a duplicate"),
    "transfer": N_("transfer it"),
    "reply": N_("reply to it"),
    "note": N_("add a note to it"),
    "hide": N_("hide it"),
    "unhide": N_("show it again"),
    "assign_property": N_("hand it to the property company"),
    "property_done": N_("report the work done on it"),
    "property_return": N_("hand it back"),
}
# Who did a step when it was not a staff member (stored as these codes).
ACTORS = {
    "resident": N_("Resident"),
    "system": N_("System"),
    "cli": N_("Administrator (command line)"),
    "operator (cli)": N_("Administrator (command line)"),
}
BRANCH_LEVELS = {
    "general": N_("general party branch"),
    "grid": N_("grid party branch"),
    "building_group": N_("building party group"),
}
ROLE_LABELS = {
    "grid_lead": N_("Grid lead"),
    "branch_secretary": N_("Party branch secretary"),
    "community_admin": N_("Community administrator"),
    "subdistrict_admin": N_("Subdistrict administrator"),
    "designer": N_("Designer"),
    "building_group_leader": N_("Building group leader"),
    "property_staff": N_("Property company staff"),
    "owners_committee": N_("Owners' committee"),
}


def actor(code: str | None) -> Text | str:
    """Who did a step: staff by their name as stored, the others by role."""
    if code in ACTORS:
        return Msg(ACTORS[str(code)])
    if code and code.lower().startswith("open311:"):  # a client app posting for a resident
        return Msg("Resident (via {client})", client=code.split(":", 1)[1].strip())
    return code or ""
