"""Staff pages: sign-in, the grid lead's workspace (my area's map, list and one request), the
overview of every grid, and boundary administration.

Templates under ``staff/``; scripts ``static/js/{login,staff,overview,boundaries}.js``. Their
data comes from the scoped staff API, so a page holds nothing its user may not see.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import geopandas as gpd

from renewmap import names
from renewmap.i18n import N_, gettext
from renewmap.vocabulary import (
    DELIBERATION_PARTIES,
    DESIGN_ROLES,
    OPEN_FILTER,
    STATUS_FILTERS,
    TOP_LEVELS,
    EventKind,
    Role,
)
from renewmap.web.render import render, script_catalog
from renewmap.web.resident import (
    CATEGORIES,
    STATUSES,
    actor_label,
    category_list,
    question_list,
)
from renewmap.web.sitemap import OnlineTiles, area_plan, feature_collection, site_plan

ACTION_LABELS = {
    "accept": "Accept",
    "start": "Start work",
    "resolve": "Resolve",
    "reject": "Reject",
    "duplicate": "Mark as duplicate",
    "transfer": "Transfer",
    "reply": "Reply to the resident",
    "note": "Internal note",
    "hide": "Hide from the public",
    "unhide": "Show to the public again",
    "assign_property": "Hand to the property company",
    "property_done": "Report the work done",
    "property_return": "Hand back to the grid",
}
# Steps whose text is public (the resident reads it), and those whose text is for staff only:
# the workspace gives each its own field, so a note can never go out with a public step.
PUBLIC_ACTIONS = (
    "accept",
    "start",
    "reply",
    "resolve",
    "reject",
    "property_done",
    "assign_property",
    "transfer",
    "duplicate",
)
INTERNAL_ACTIONS = ("note", "hide", "unhide", "property_return")
# What a request's history entries are called: each kind is its own msgid.
HISTORY_KINDS: tuple[str, ...] = tuple(EventKind)
ROLES = names.ROLE_LABELS
# Choropleth steps for open requests per grid (light → dark); 0 is white. The colours are
# classes .rm-step-0 … .rm-step-4 in staff.css and the same values in overview.js.
STEPS = (0, 1, 3, 6, 10)
LOAD_HELP = (
    "Load a grid set as GeoJSON, each grid with the properties below; it is checked first "
    "and changes nothing until you publish it."
)
# What each grid of a loaded file carries: the property (a file's key) and what it means.
GRID_PROPERTIES = (
    ("code", "Grid code"),
    ("name", "Grid name"),
    ("branch_code", "Party branch code"),
)


def safe_next(next_url: str | None) -> str:
    """Where to go after signing in: only a workspace path of this site (no open redirect)."""
    if not next_url:
        return "/staff"
    parts = urlsplit(next_url)
    if (
        parts.scheme
        or parts.netloc
        or ".." in parts.path.split("/")
        or not (parts.path == "/staff" or parts.path.startswith("/staff/"))
    ):
        return "/staff"
    return urlunsplit(("", "", parts.path, parts.query, ""))


def step(n: int) -> int:
    """The choropleth step of ``n`` open requests (index into ``STEPS``)."""
    return max(i for i, threshold in enumerate(STEPS) if n >= threshold)


def login_page(*, locale: str, nonce: str, next_url: str = "/staff") -> str:
    config = {"next": safe_next(next_url), "locale": locale, "t": script_catalog(locale, "login")}
    return render("staff/login.html", locale=locale, nonce=nonce, config=config)


def _community(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, str]:
    row = layers["community"].iloc[0]
    return {"code": str(row["code"]), "name": str(row["name"])}


def _plan(
    layers: dict[str, gpd.GeoDataFrame], locale: str, tiles: OnlineTiles | None, **kw: Any
) -> dict[str, Any]:
    return site_plan(
        {k: v for k, v in layers.items() if k != "request"}, locale=locale, tiles=tiles, **kw
    )


def _tiled(plan: dict[str, Any]) -> bool:
    return any("tiles" in layer for layer in plan["layers"].values())


def patrol_units(
    grids: gpd.GeoDataFrame, my_codes: set[str], branches: dict[str, str], locale: str
) -> list[tuple[str, str]]:
    """What a patrol walks, as the form offers it: each party branch's grids of my area
    together ("第一网格党支部 (第1网格、第2网格)"), and each grid without a branch alone; the
    value is the grids' codes, comma-separated."""
    units: dict[str, list[tuple[str, str]]] = {}
    for _, r in grids.iterrows():
        code = str(r["code"])
        if code not in my_codes:
            continue
        branch = r.get("branch_code")
        key = str(branch) if isinstance(branch, str) and branch else f"grid:{code}"
        units.setdefault(key, []).append((code, str(r["name"])))
    out = []
    for key, members in units.items():
        names = "、".join(name for _, name in members)
        label = f"{branches.get(key, key)} ({names})" if not key.startswith("grid:") else names
        out.append((",".join(code for code, _ in members), label))
    return out


def branch_reports(
    grids: gpd.GeoDataFrame, my_codes: set[str], branches: dict[str, str]
) -> list[dict[str, str]]:
    """The party branches whose every grid is in my area: their monthly reports are mine."""
    members: dict[str, set[str]] = {}
    for _, r in grids.iterrows():
        branch = r.get("branch_code")
        if isinstance(branch, str) and branch:
            members.setdefault(branch, set()).add(str(r["code"]))
    return [
        {"code": code, "name": branches.get(code, code)}
        for code, codes in sorted(members.items())
        if len(codes) > 1 and codes <= my_codes
    ]


def workspace_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    nonce: str,
    time_zone: str,
    me: dict[str, Any],
    communities: list[dict[str, str]],
    tiles: OnlineTiles | None = None,
    branches: dict[str, str] | None = None,
    property_companies: list[dict[str, str]] | None = None,
    poll_s: int = 30,
    now: str | None = None,
    edit_templates: bool = False,
    runs_sites: bool = False,
) -> str:
    """The workspace for one community of the user's area (switch among theirs); a link to the
    sites' hub for those who draw or run the sites' processes."""

    def g(msgid: str) -> str:
        return gettext(locale, msgid)

    community = layers["community"].iloc[0]
    grids = layers["grid"]
    mine = set(me["scope"]["grids"])
    whole = community.get("id") in set(me["scope"]["communities"])
    # A grid lead's map opens on their grid(s); an admin's on the whole community.
    own = grids[grids["id"].isin(sorted(mine))] if not whole else grids.iloc[0:0]
    focus = own if len(own) else layers["community"]
    my_grids = [
        {"code": str(r["code"]), "name": str(r["name"])}
        for _, r in grids.iterrows()
        if whole or int(r["id"]) in mine
    ]
    my_codes = {gr["code"] for gr in my_grids}
    buildings = layers.get("building")
    numbers = sorted(
        {
            str(b["number"])
            for _, b in (buildings.iterrows() if buildings is not None else [])
            if isinstance(b["number"], str) and (whole or b.get("grid_code") in my_codes)
        },
        key=lambda n: (len(n), n),
    )
    plan = _plan(layers, locale, tiles)
    config = {
        "community": str(community["code"]),
        "locale": locale,
        "timeZone": time_zone,
        "t": script_catalog(locale, "staff"),
        "categories": {c: f"{icon} {g(label)}" for c, (label, icon) in CATEGORIES.items()},
        "statuses": {s: g(label) for s, label in STATUSES.items()},
        "actions": {a: g(label) for a, label in ACTION_LABELS.items()},
        "questions": question_list(locale),  # what a category asked, to read its answers
        "history": {k: g(k) for k in HISTORY_KINDS},
        "actors": {a: actor_label(locale, a) for a in ("resident", "system")},
        "bounds": [float(v) for v in focus.total_bounds],
        # every grid of the community: a request can be transferred to any of them
        "grids": [
            {"code": str(c), "name": str(n)}
            for c, n in zip(grids["code"], grids["name"], strict=True)
        ],
        "plan": plan,
        "publicActions": list(PUBLIC_ACTIONS),
        "internalActions": list(INTERNAL_ACTIONS),
        "propertyCompanies": property_companies or [],
        "parties": {p: g(label) for p, label in DELIBERATION_PARTIES.items()},
        "pollSeconds": poll_s,
        "now": now,
    }
    drawer = runs_sites or any(r["role"] in DESIGN_ROLES for r in me["roles"])
    return render(
        "staff/workspace.html",
        locale=locale,
        nonce=nonce,
        community=_community(layers),
        me=me,
        roles=[g(ROLES.get(r["role"], r["role"])) for r in me["roles"]],
        communities=communities if len(communities) > 1 else [],
        drawer=drawer,
        town=any(r["role"] == Role.SUBDISTRICT_ADMIN for r in me["roles"]),
        edit_templates=edit_templates,
        my_grids=my_grids,
        grid_options=[(gr["code"], gr["name"]) for gr in my_grids],
        patrol_options=patrol_units(grids, my_codes, branches or {}, locale),
        branch_reports=branch_reports(grids, my_codes, branches or {}),
        parties=[(p, g(label)) for p, label in DELIBERATION_PARTIES.items()],
        status_options=[
            (s, g("Open") if s == OPEN_FILTER else g(STATUSES[s])) for s in STATUS_FILTERS
        ],
        open_filter=OPEN_FILTER,
        category_options=[(c["code"], f"{c['icon']} {c['label']}") for c in category_list(locale)],
        building_options=[(n, n) for n in numbers],
        config=config,
        vectorgrid=_tiled(plan),
    )


def overview_page(
    layers: dict[str, gpd.GeoDataFrame],
    stats: dict[str, Any],
    *,
    locale: str,
    nonce: str,
    patrols: dict[str, Any] | None = None,
    tiles: OnlineTiles | None = None,
) -> str:
    """Every grid of the area: a statistics table and a map coloured by open requests."""
    by_code = {s["grid"]["code"]: s for s in stats["grids"] if s["grid"]}
    grids = layers["grid"]
    shown = grids[grids["code"].isin(list(by_code))].copy()
    shown["open"] = [by_code[c]["open"] for c in shown["code"]]
    shown["overdue"] = [by_code[c]["overdue"] for c in shown["code"]]
    shown["step"] = [step(int(n)) for n in shown["open"]]
    plan = _plan({k: v for k, v in layers.items() if k != "grid"}, locale, tiles)
    walked = {p["grid"]["code"]: p for p in (patrols or {}).get("grids", [])}
    rows = []
    for s in stats["grids"]:
        p = walked.get((s["grid"] or {}).get("code"))
        days = [str(d)[5:] for d in p["patrols"]] if p else []  # MM-DD of each walk
        rows.append({**s, "patrol": p, "patrol_days": days})
    config = {
        "locale": locale,
        "t": script_catalog(locale, "overview"),
        "plan": plan,
        "grids": feature_collection(shown, ["code", "name", "open", "overdue", "step"]),
        "fields": {
            "name": gettext(locale, "Grid"),
            "open": gettext(locale, "Open"),
            "overdue": gettext(locale, "Overdue"),
        },
    }
    community = layers["community"].iloc[0]
    top = community.get("top_level") if "top_level" in layers["community"] else None
    return render(
        "staff/overview.html",
        top_level=gettext(locale, TOP_LEVELS.get(str(top), TOP_LEVELS["general_branch"])),
        locale=locale,
        nonce=nonce,
        community=_community(layers),
        rows=rows,
        steps=list(enumerate(STEPS)),
        patrols=patrols,
        config=config,
        vectorgrid=_tiled(plan),
    )


# Choropleth steps for a town's communities (open requests per community).
TOWN_STEPS = (0, 1, 10, 30, 60)


def town_page(
    town: dict[str, Any],
    *,
    locale: str,
    nonce: str,
    stage_labels: dict[str, str],
    attribution: str | None = None,
    tiles: OnlineTiles | None = None,
) -> str:
    """Every community of the town: a table and a map coloured by open requests; each leads
    to its community's overview."""
    import shapely.geometry

    g = lambda msgid: gettext(locale, msgid)  # noqa: E731
    rows = town["communities"]
    for r in rows:
        r["step"] = max(i for i, n in enumerate(TOWN_STEPS) if r["open"] >= n)
        r["sites_text"] = " · ".join(
            f"{g(stage_labels.get(stage, 'Not started'))} {n}"
            for stage, n in sorted(
                r["sites"].items(), key=lambda kv: _stage_order(kv[0], stage_labels)
            )
        )
        r["top_level_label"] = g(TOP_LEVELS.get(r["top_level"], r["top_level"]))
    shapes = [shapely.geometry.shape(r["geometry"]) for r in rows]
    bounds = shapely.GeometryCollection(shapes).bounds if shapes else (0.0, 0.0, 0.0, 0.0)
    config = {
        "locale": locale,
        "t": script_catalog(locale, "town"),
        "plan": area_plan(bounds, locale=locale, attribution=attribution, tiles=tiles),
        "communities": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": r["geometry"],
                    "properties": {
                        "code": r["community"]["code"],
                        "name": r["community"]["name"],
                        "open": r["open"],
                        "overdue": r["overdue"],
                        "step": r["step"],
                    },
                }
                for r in rows
            ],
        },
        "fields": {"name": g("Community"), "open": g("Open"), "overdue": g("Overdue")},
    }
    return render(
        "staff/town.html",
        locale=locale,
        nonce=nonce,
        town=town,
        rows=rows,
        steps=list(enumerate(TOWN_STEPS)),
        config=config,
        vectorgrid=False,
    )


def _stage_order(stage: str, labels: dict[str, str]) -> int:
    order = list(labels)
    return order.index(stage) if stage in order else -1


def property_page(listing: dict[str, Any], *, community: Any, locale: str, nonce: str) -> str:
    """What the property company was given, with due days; late ones first when filtered."""
    g = lambda msgid: gettext(locale, msgid)  # noqa: E731
    tasks = [
        {
            **t,
            "status_label": g(STATUSES.get(t["status"], t["status"])),
            "category_label": g(CATEGORIES.get(t["category"], (t["category"], ""))[0]),
        }
        for t in listing["tasks"]
    ]
    return render(
        "staff/property.html",
        locale=locale,
        nonce=nonce,
        community={"code": community.code, "name": community.name},
        tasks=tasks,
        late=sum(1 for t in tasks if t["late"]),
        config={"locale": locale, "t": script_catalog(locale, "property")},
    )


def boundaries_page(
    layers: dict[str, gpd.GeoDataFrame],
    *,
    locale: str,
    nonce: str,
    tiles: OnlineTiles | None = None,
) -> str:
    """Load a new grid set, see it and its problems on the map, publish it."""
    plan = _plan(layers, locale, tiles)
    config = {
        "community": str(layers["community"]["code"].iloc[0]),
        "locale": locale,
        "t": script_catalog(locale, "boundaries"),
        "plan": plan,
    }
    return render(
        "staff/boundaries.html",
        locale=locale,
        nonce=nonce,
        community=_community(layers),
        load_help=LOAD_HELP,
        grid_properties=GRID_PROPERTIES,
        config=config,
        vectorgrid=_tiled(plan),
    )


# What a community's state is called on the setup page.
COMMUNITY_STATES = {"setup": N_("In setup"), "published": N_("Published")}


def setup_page(
    *,
    locale: str,
    nonce: str,
    community: str | None,
    mine: list[dict[str, str]],
    roles: tuple[str, ...],
) -> str:
    """The browser's setup flow; ``community``: the one to pick up again (None: a new one)."""
    config = {"community": community, "locale": locale, "t": script_catalog(locale, "setup")}
    return render(
        "staff/setup.html",
        locale=locale,
        nonce=nonce,
        config=config,
        mine=mine,
        states=COMMUNITY_STATES,
        roles=[(r, gettext(locale, ROLES[r])) for r in roles],
    )


def invite_page(
    *, locale: str, nonce: str, token: str, invitation: dict[str, Any] | None, error: str | None
) -> str:
    """An invitation: who it is for and the password form, or why the link no longer works."""
    config = {"token": token, "locale": locale, "t": script_catalog(locale, "invite")}
    return render(
        "staff/invite.html",
        locale=locale,
        nonce=nonce,
        config=config,
        invitation=invitation,
        error=error,
    )
