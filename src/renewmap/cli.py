"""The ``renewmap`` command line. Each writing command runs in one transaction.

It speaks the language of ``--lang`` (zh_CN or en), else of the environment (LC_ALL,
LC_MESSAGES, LANG: ``en*`` is English), else Simplified Chinese.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from renewmap import names
from renewmap.errors import InvalidInput, RenewMapError
from renewmap.i18n import LOCALES, N_, current_locale, posix_locale, t, use_locale
from renewmap.settings import Settings

DEFAULT_OSM = Path("geodata") / "osm" / "tongji.osm.gz"
# package data, so `renewmap serve --demo` works from any directory and from a wheel
DEFAULT_DEMO_DIR = Path(__file__).resolve().parent / "data" / "demo"
# What kind of problem a grid-set check found (validate-grids).
ISSUE_KINDS = {
    "invalid": N_("invalid"),
    "overlap": N_("overlap"),
    "gap": N_("gap"),
    "outside": N_("outside"),
    "unassigned": N_("unassigned"),
}
# What the demo loaded, as the person reading the start-up lines names it.
DEMO_COUNTS = {
    "community": N_("communities"),
    "compound": N_("compounds"),
    "organisations": N_("organisations"),
    "branches": N_("party branches"),
    "grid": N_("grids"),
    "building": N_("buildings"),
    "stairwell": N_("stairwells"),
    "site": N_("sites"),
    "green": N_("green areas"),
    "plant": N_("plants"),
    "path": N_("paths"),
    "facility": N_("facilities"),
    "request": N_("requests"),
    "history_steps": N_("steps of the requests' history"),
    "patrols": N_("patrols"),
    "adoptions": N_("adoptions"),
    "person": N_("people on the roster"),
    "meeting": N_("meetings"),
    "proposal": N_("proposals"),
    "fund_line": N_("money lines"),
    "convention": N_("conventions"),
    "event": N_("events"),
    "points_entry": N_("points entries"),
}


def _engine(settings: Settings, *, check: bool = True) -> Engine:
    """The settings' engine; with ``check``, refused unless the schema is current (commands
    never migrate by themselves: ``renewmap db upgrade`` does)."""
    from renewmap.db.engine import engine_from_settings
    from renewmap.db.migrate import check_current

    engine = engine_from_settings(settings)
    if check:
        try:
            check_current(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine


def _in_transaction(settings: Settings, work: Callable[[Session], Any]) -> Any:
    engine = _engine(settings)
    try:
        with Session(engine) as session, session.begin():
            return work(session)
    finally:
        engine.dispose()


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.db.migrate import check_current, code_heads, downgrade, upgrade

    engine = _engine(settings, check=False)
    try:
        if args.action == "check":
            check_current(engine)  # SchemaOutdated: exit 2 with the reason
            print(t("database is current ({revisions})", revisions=", ".join(sorted(code_heads()))))
            return 0
        if args.action == "upgrade":
            before, after = upgrade(engine, args.revision or "head")
        else:
            before, after = downgrade(engine, args.revision or "base")
    finally:
        engine.dispose()
    print(
        t(
            "database {action} done ({dialect}): {before} → {after}",
            action=args.action,
            dialect=engine.dialect.name,
            before=", ".join(sorted(before)) or t("empty"),
            after=", ".join(sorted(after)) or t("empty"),
        )
    )
    return 0


def _print_report(rep: Any, kind_label: Any) -> None:
    print(
        t(
            "{file}: {kind}: {created} created, {updated} updated, {unchanged} unchanged, "
            "{removed} removed",
            file=rep.file,
            kind=kind_label,
            created=rep.created,
            updated=rep.updated,
            unchanged=rep.unchanged,
            removed=rep.removed,
        )
    )


def _warn(message: Any) -> None:
    print(t("warning: {message}", message=message), file=sys.stderr)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest.importer import import_file

    rep = _in_transaction(
        settings,
        lambda s: import_file(
            s,
            args.file,
            kind=args.kind,
            community_code=args.community,
            crs=args.crs,
            gcj02=args.gcj02,
            layer=args.layer,
            official_only=not args.unofficial,
            replace=args.replace,
        ),
    )
    _print_report(rep, names.label(names.LAYER_KINDS, args.kind))
    for w in rep.warnings:
        _warn(w)
    return 0


def cmd_import_branches(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest.importer import import_branches

    rep = _in_transaction(settings, lambda s: import_branches(s, args.file))
    print(
        t(
            "{file}: {created} branches created, {updated} updated",
            file=rep.file,
            created=rep.created,
            updated=rep.updated,
        )
    )
    return 0


def cmd_import_organisations(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest.importer import import_organisations

    rep = _in_transaction(settings, lambda s: import_organisations(s, args.file))
    print(
        t(
            "{file}: {created} organisations created, {updated} updated",
            file=rep.file,
            created=rep.created,
            updated=rep.updated,
        )
    )
    return 0


def cmd_import_osm(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest.osm import import_osm

    include: bool | list[str] = True if args.include_outside else (args.include or [])
    result = _in_transaction(
        settings,
        lambda s: import_osm(
            s,
            args.file,
            compound=args.compound,
            community_code=args.community,
            community_name=args.name,
            buffer_m=args.buffer,
            include_outside=include,
            unofficial=args.unofficial,
        ),
    )
    for rep in result.reports:
        _print_report(rep, names.label(names.LAYER_KINDS, rep.kind))
    for w in result.warnings:
        _warn(w)
    if result.outside:
        print(
            t(
                "{n} building(s) mostly outside the outline were not imported "
                "(add them with --include OSM_ID or --include-outside):",
                n=len(result.outside),
            )
        )
        for b in result.outside:
            print(
                "  "
                + t(
                    "OSM {osm_id}: {label}, {share:.0%} inside",
                    osm_id=b["osm_id"],
                    label=names.building(b["number"], b["name"]),
                    share=b["share_inside"],
                )
            )
    print(t("data © OpenStreetMap contributors, ODbL 1.0"))
    return 0


def cmd_community(args: argparse.Namespace, settings: Settings) -> int:
    """Residents' committees: find a code, create, rename, retire."""
    from renewmap.services.places import catalog, communities

    if args.action == "search":
        found = communities.committees(" ".join(args.words), limit=args.limit)
        for c in found:
            print(f"{c['code']}\t{c['name']}\t{c['subdistrict_name']}")
        print(t("{n} residents' committee(s) found", n=len(found)))
        return 0
    if args.action == "list":
        rows = _in_transaction(settings, lambda s: catalog.communities(s, include_setup=True))
        for c in rows:
            sub = c["subdistrict"]["name"] if c["subdistrict"] else "—"
            state = f"\t{t('in setup')}" if c["state"] != "published" else ""
            print(f"{c['code']}\t{c['name']}\t{sub}{state}")
        print(t("{n} community(ies)", n=len(rows)))
        return 0
    if args.action == "create":
        from renewmap.services.ingest.importer import read_features

        if args.outline is None:
            raise InvalidInput(
                "community create needs --outline FILE (a polygon), or use import-osm",
                key="cli_outline_missing",
            )
        frame = read_features(args.outline, crs=args.crs, layer=args.layer)
        outline = _one_outline(frame, args.outline.name)

        def create(s: Session) -> tuple[str, str, list[Any]]:
            made = communities.create(
                s, code=args.code, outline=outline, name=args.name, unofficial=args.unofficial
            )
            return made.community.code, made.community.name, made.overlaps

        code, name, overlaps = _in_transaction(settings, create)
        print(t("community {code} {name} created", code=code, name=name))
        for o in overlaps:
            _warn(o.message())
        return 0
    if args.action == "rename":
        if not args.name:
            raise InvalidInput("community rename needs --name NAME", key="cli_name_missing")
        _in_transaction(settings, lambda s: communities.rename(s, code=args.code, name=args.name))
        print(t("community {code} is now called {name}", code=args.code, name=args.name))
        return 0
    if args.action == "publish":
        from renewmap.services.access import accounts
        from renewmap.services.places import setup

        _in_transaction(
            settings,
            lambda s: setup.publish(
                s,
                principal=accounts.operator_principal(s, community_code=args.code),
                code=args.code,
            ),
        )
        print(t("community {code} is published: residents see it", code=args.code))
        return 0
    name = _in_transaction(settings, lambda s: communities.retire(s, code=args.code))
    print(t("community {code} {name} retired", code=args.code, name=name))
    return 0


def _one_outline(frame: Any, label: str) -> Any:
    import shapely

    from renewmap.spatial.geometry import POLYGONAL

    shapes = [g for g in frame.geometry if g is not None and g.geom_type in POLYGONAL]
    if not shapes:
        raise InvalidInput(
            "{file} holds no polygon to use as the outline", key="cli_outline_empty", file=label
        )
    return shapely.union_all(shapes)


def cmd_branches(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.places import communities

    rows = _in_transaction(
        settings, lambda s: communities.branches(s, community_code=args.community)
    )
    for b in rows:
        print(
            "\t".join(
                [
                    b["code"],
                    b["name"],
                    t_text(names.label(names.BRANCH_LEVELS, b["level"])),
                    b["parent_code"] or "—",
                    b["community_code"] or "—",
                    ",".join(b["grids"]) or "—",
                ]
            )
        )
    print(t("{n} branch(es)", n=len(rows)))
    return 0


def cmd_building(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.places import communities

    if args.action == "list":
        rows = _in_transaction(
            settings, lambda s: communities.buildings(s, community_code=args.community)
        )
        for b in rows:
            print(
                "\t".join(
                    [
                        t_text(b["label"]),
                        b["code"] or "—",
                        b["osm_id"] or "—",
                        "—" if b["households"] is None else str(b["households"]),
                        b["grid"] or "—",
                        " ".join(w["number"] for w in b["stairwells"]) or "—",
                    ]
                )
            )
        print(t("{n} building(s)", n=len(rows)))
        return 0
    if not args.ref:
        raise InvalidInput(
            "building {action} needs the building: its number, code or OSM id",
            key="cli_building_missing",
            action=args.action,
        )
    if args.action == "remove":
        label = _in_transaction(
            settings,
            lambda s: t_text(
                communities.remove_building(s, community_code=args.community, ref=args.ref)
            ),
        )
        print(t("{building} removed from {community}", building=label, community=args.community))
        return 0
    if args.number is None and args.households is None and args.stairwells is None:
        raise InvalidInput(
            "building set needs --number, --households and/or --stairwells",
            key="cli_building_nothing",
        )
    raw = (args.stairwells or "").strip()
    stairwells: int | list[str] | None = None
    if args.stairwells is not None:
        stairwells = int(raw) if raw.isdigit() else [u for u in raw.split(",") if u.strip()]

    def edit(s: Session) -> str:
        b = communities.edit_building(
            s,
            community_code=args.community,
            ref=args.ref,
            number=args.number,
            households=args.households,
            stairwells=stairwells,
        )
        return t_text(names.building(b.number, b.name))

    label = _in_transaction(settings, edit)
    print(t("{building} saved", building=label))
    return 0


def t_text(value: Any) -> str:
    """A message or a plain string, in the command's language."""
    from renewmap.i18n import Text

    return value.render(current_locale()) if isinstance(value, Text) else str(value)


def cmd_assign_buildings(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest.importer import assign_buildings

    n = _in_transaction(
        settings,
        lambda s: assign_buildings(s, community_code=args.community, only_unassigned=not args.all),
    )
    print(t("{n} buildings assigned to grids", n=n))
    return 0


def cmd_validate_grids(args: argparse.Namespace, settings: Settings) -> int:

    from renewmap.services.places.grid_check import validate_grids

    report = _in_transaction(
        settings,
        lambda s: validate_grids(s, community_code=args.community, tolerance_m2=args.tolerance),
    )
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
    else:
        print(
            t(
                "community {community}: {grids} grids, {buildings} buildings, "
                "tolerance {tolerance} m²",
                community=report.community,
                grids=report.grid_count,
                buildings=report.building_count,
                tolerance=report.tolerance_m2,
            )
        )
        for issue in report.issues:
            print(f"  [{t(ISSUE_KINDS.get(issue.kind, issue.kind))}] {issue.message}")
        print(
            t("OK: no problems found") if report.ok else t("{n} problem(s)", n=len(report.issues))
        )
    return 0 if report.ok else 1


def cmd_route(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.places.batch import route_file

    snap = settings.snap_distance_m if args.snap is None else args.snap
    if not 0 <= snap <= 5000:
        raise InvalidInput(
            "--snap must be between 0 and 5000 metres, got {snap:g}", key="cli_snap", snap=snap
        )

    def work(session: Session) -> int:
        return route_file(session, args.input, args.out, snap_m=snap)

    n = _in_transaction(settings, work)
    print(t("{n} rows routed → {out}", n=n, out=str(args.out)))
    return 0


def cmd_reroute(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.db.queries.places import community_by_code
    from renewmap.services.places.routing import reroute_open_requests

    def work(session: Session) -> list[tuple[int, str | None, str | None]]:
        cid = None
        if args.community:
            cid = community_by_code(session, code=args.community).id
        return reroute_open_requests(
            session, community_id=cid, actor="cli", snap_m=settings.snap_distance_m
        )

    changed = _in_transaction(settings, work)
    for rid, old, new in changed:
        print(t("request {id}: {old} → {new}", id=rid, old=old or "—", new=new or "—"))
    print(t("{n} open request(s) changed owner", n=len(changed)))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.places.layers import export_community

    layers = _in_transaction(
        settings, lambda s: export_community(s, community_code=args.community, out=args.out)
    )
    print(t("{out}: layers {layers}", out=str(args.out), layers=list(layers)))
    return 0


def _demo_accounts(settings: Settings) -> None:
    """Create or reset the demo's staff accounts and print their passwords, once."""
    from renewmap.services.access.demo_accounts import ensure_demo_accounts

    made = _in_transaction(settings, lambda s: ensure_demo_accounts(s, env=settings.env))
    print(t("Demo staff accounts (passwords shown only now, new ones at every start):"))
    for a in made:
        print(f"  {a.username:<24} {a.password:<18} {t(a.what)}")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest import demo

    if args.action == "accounts":
        _demo_accounts(settings)
        return 0
    if args.action == "build":
        counts = demo.build_demo_files(args.osm, args.dir)
        for name, n in counts.items():
            print(f"{name}: {n}")
        return 0

    def work(session: Session) -> dict[str, int] | None:
        from renewmap.db.queries.places import community_by_code
        from renewmap.errors import NotFound

        try:
            community_by_code(session, code=demo.DEMO_COMMUNITY)
            return None
        except NotFound:
            return demo.load_demo(session, args.dir, history=not getattr(args, "bare", False))

    counts = _in_transaction(settings, work)
    if counts is None:
        print(t("demo community {code} is already loaded", code=demo.DEMO_COMMUNITY))
    else:
        shown = [
            t("{what} {n}", what=t(DEMO_COUNTS[k]) if k in DEMO_COUNTS else k, n=v)
            for k, v in counts.items()
        ]
        print(t("demo loaded: {counts}", counts=shown))
    return 0


def _password(args: argparse.Namespace) -> str:
    """From stdin (``--password-stdin``) or an environment variable: never on the command line,
    where other users could read it in the process list."""
    import os

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            raise InvalidInput(
                "environment variable {name} is empty or unset",
                key="cli_password_env_empty",
                name=args.password_env,
            )
        return value
    raise InvalidInput(
        "give the password with --password-stdin or --password-env VAR", key="cli_password_missing"
    )


def _role_pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for v in values:
        role, sep, place = v.partition("=")
        if not sep or not place:
            raise InvalidInput(
                "--role '{value}': use ROLE=PLACE, e.g. grid_lead=310109010026/G07, "
                "branch_secretary=BRANCH, community_admin=310109010026, "
                "subdistrict_admin=310109010, designer=310109010026",
                key="cli_role_format",
                value=v,
            )
        pairs.append((role, place))
    return pairs


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.access import accounts

    if args.action == "add":
        password = _password(args)
        user = _in_transaction(
            settings,
            lambda s: (
                accounts.create_user(
                    s,
                    username=args.username,
                    password=password,
                    display_name=args.display_name,
                    email=args.email,
                    roles=_role_pairs(args.role or []),
                ).username
            ),
        )
        print(t("user {user} created with {n} role(s)", user=user, n=len(args.role or [])))
        return 0
    if args.action == "grant":
        n = _in_transaction(
            settings,
            lambda s: accounts.grant_roles(
                s, username=args.username, roles=_role_pairs(args.role or [])
            ),
        )
        print(t("{user}: {n} role(s) added", user=args.username, n=n))
        return 0
    if args.action == "unlock":
        _in_transaction(settings, lambda s: accounts.unlock(s, username=args.username))
        print(
            t("{user}: failed sign-ins cleared; the account may sign in again", user=args.username)
        )
        return 0
    password = _password(args)
    _in_transaction(
        settings, lambda s: accounts.set_password(s, username=args.username, password=password)
    )
    print(t("{user}: password changed; their sessions and tokens are revoked", user=args.username))
    return 0


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.requests import notify

    if args.action == "add-webhook":
        if not args.community or not args.url:
            raise InvalidInput(
                "add-webhook needs --community CODE and --url URL", key="cli_webhook_args"
            )
        _in_transaction(
            settings,
            lambda s: notify.add_webhook(
                s,
                community_code=args.community,
                url=args.url,
                grid_code=args.grid,
                body_format=args.format,
            ),
        )
        if args.grid:
            print(
                t(
                    "webhook added for grid {grid} of {community} ({format})",
                    grid=args.grid,
                    community=args.community,
                    format=args.format,
                )
            )
        else:
            print(
                t(
                    "webhook added for the whole community {community} ({format})",
                    community=args.community,
                    format=args.format,
                )
            )
        return 0
    from sqlalchemy.orm import sessionmaker

    from renewmap.db.dialect import write_bind

    engine = _engine(settings)
    try:
        factory = sessionmaker(write_bind(engine), expire_on_commit=False)
        sent, failed = notify.send_due(notify.transactions(factory), settings=settings)
    finally:
        engine.dispose()
    print(t("sent {sent}, failed {failed} (failures are retried later)", sent=sent, failed=failed))
    return 0


def cmd_apikey(args: argparse.Namespace, settings: Settings) -> int:
    """Open311 client keys, issued by the community's admin (the operator here)."""
    from renewmap.protocols.open311 import georeport

    if args.action == "list":
        keys = _in_transaction(
            settings, lambda s: georeport.list_keys(s, community_code=args.community)
        )
        for k in keys:
            state = t("revoked {time}", time=k["revoked_at"]) if k["revoked_at"] else t("active")
            print(f"{k['id']}\t{k['community']}\t{k['client']}\t{k['created_at']}\t{state}")
        print(t("{n} key(s)", n=len(keys)))
        return 0
    if not args.community or not args.name:
        raise InvalidInput(
            "apikey {action} needs --community CODE and --name CLIENT",
            key="cli_apikey_args",
            action=args.action,
        )
    if args.action == "add":
        issued = _in_transaction(
            settings,
            lambda s: georeport.issue_key(
                s, community_code=args.community, client=args.name, actor="operator (cli)"
            ),
        )
        print(
            t(
                "API key {id} for {client} in {community} (shown only once):",
                id=issued.id,
                client=issued.client,
                community=issued.community,
            )
        )
        print(issued.key)
        return 0
    key_id = _in_transaction(
        settings,
        lambda s: georeport.revoke_key(s, community_code=args.community, client=args.name),
    )
    print(
        t(
            "API key {id} of {client} in {community} revoked",
            id=key_id,
            client=args.name,
            community=args.community,
        )
    )
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.access import accounts
    from renewmap.services.ingest.files import atomic_output
    from renewmap.services.requests import exports, reports
    from renewmap.web.report import report_page

    def build(s: Session) -> str | bytes:
        from renewmap.web.report_pdf import report_pdf

        report = reports.monthly_report(
            s,
            principal=accounts.operator_principal(s, community_code=args.community),
            community_code=args.community,
            grid_code=args.grid,
            branch_code=args.branch,
            month=exports.parse_month(args.month),
            time_zone=settings.time_zone,
        )
        if args.pdf:
            return report_pdf(report, locale=current_locale(), time_zone=settings.time_zone)
        return report_page(
            report, locale=current_locale(), nonce=None, time_zone=settings.time_zone
        )

    document = _in_transaction(settings, build)
    what = args.grid or args.branch
    out = Path(args.out or f"report-{args.community}-{what}.{'pdf' if args.pdf else 'html'}")
    with atomic_output(out) as tmp:
        if isinstance(document, bytes):
            tmp.write_bytes(document)
        else:
            tmp.write_text(document, encoding="utf-8")
    print(t("wrote {out}", out=str(out)))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap import serve
    from renewmap.db.migrate import upgrade

    workers = settings.workers if args.workers is None else args.workers
    if not 1 <= workers <= 64:
        raise InvalidInput(
            "--workers must be between 1 and 64", key="workers_out_of_range", field="workers"
        )
    if args.demo and settings.env == "prod":  # before anything is served or written
        from renewmap.errors import Forbidden

        raise Forbidden(
            "--demo creates staff accounts with printed passwords: not with RENEWMAP_ENV=prod",
            key="demo_in_prod",
        )
    engine = _engine(settings, check=not args.demo)
    try:
        if args.demo:  # trying it out: the demo sets its database up (production: db upgrade)
            upgrade(engine)
    finally:
        engine.dispose()
    if args.demo:
        cmd_demo(
            argparse.Namespace(action="load", dir=args.demo_dir, bare=args.demo_bare), settings
        )
        _demo_accounts(settings)
        print(
            t("Staff sign in at http://{host}:{port}/staff/login", host=args.host, port=args.port)
        )
    print(
        f"RenewMap on http://{args.host}:{args.port}/  ({workers} worker"
        f"{'s' if workers > 1 else ''}; demo map: /c/310109010026)"
    )
    proxies = ", ".join(str(n) for n in settings.trusted_networks())
    print(
        "X-Forwarded-For/-Proto believed from: "
        + (proxies or "nobody (set RENEWMAP_TRUSTED_PROXIES behind a reverse proxy)"),
        flush=True,
    )
    serve.run(settings, host=args.host, port=args.port, workers=workers)
    return 0


def _properties_help(properties: dict[str, dict[str, str]]) -> str:
    """Each kind's properties, for `import --help`."""
    lines = [t("Properties of each kind (any other is ignored):")]
    for kind, fields in properties.items():
        lines.append(f"  --kind {kind}")
        for name, meaning in fields.items():
            lines.append(f"    {name:<17} {t(meaning)}")
    return "\n".join(lines)


def cmd_blobs(args: argparse.Namespace, settings: Settings) -> int:
    """The photos and files outside the database: collect the unreferenced, check the rest."""
    from datetime import timedelta

    from renewmap import blobs

    store = blobs.store_from_settings(settings)
    engine = _engine(settings)
    try:
        with Session(engine) as session:
            if args.action == "check":
                missing = [k for k in sorted(blobs.referenced_keys(session)) if not store.exists(k)]
                for key in missing:
                    print(key)
                print(t("{n} stored file(s) named by rows are missing from {store}",
                        n=len(missing), store=repr(store)))  # fmt: skip
                return 1 if missing else 0
            done = blobs.collect(
                store,
                lambda: blobs.referenced_keys(session),
                min_age=timedelta(hours=args.min_age_hours),
                dry_run=args.dry_run,
            )
    finally:
        engine.dispose()
    print(
        t(
            "{deleted} unreferenced file(s) deleted, {young} too recent to delete, {kept} in "
            "use ({store})",
            deleted=done.deleted,
            young=done.young,
            kept=done.kept,
            store=repr(store),
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="renewmap", description="RenewMap 微更新地图")
    p.add_argument(
        "--lang",
        choices=LOCALES,
        help="language of the messages (default: from LC_ALL/LANG, en* is English, "
        "otherwise Simplified Chinese)",
    )
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser(
        "db", help="database schema: upgrade (before starting new code), check, downgrade"
    )
    db.add_argument("action", choices=["upgrade", "check", "downgrade"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)

    from renewmap.services.ingest.importer import KINDS, PROPERTIES, REMOVABLE_KINDS

    imp = sub.add_parser(
        "import",
        help="import a geodata file into a community",
        description=t(
            "Import a GeoJSON, GeoPackage, zipped Shapefile or CSV (WKT or lon/lat) file. "
            "Features are matched by their source id (osm_id, else code or id), so importing "
            "a file again updates it and creates no duplicates."
        ),
        epilog=_properties_help(PROPERTIES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", required=True, choices=KINDS)
    imp.add_argument("--community", help="community code (required except for --kind community)")
    imp.add_argument("--crs", type=int, help="EPSG code of a file that declares none")
    imp.add_argument("--gcj02", action="store_true", help="input digitised on GCJ-02 (AMap…)")
    imp.add_argument("--layer", help="layer name for multi-layer files (GeoPackage)")
    imp.add_argument(
        "--unofficial",
        action="store_true",
        help="--kind community: accept a code outside the official list",
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="remove the community's features of this kind that the file no longer has "
        f"({', '.join(REMOVABLE_KINDS)})",
    )
    imp.set_defaults(func=cmd_import)

    ib = sub.add_parser(
        "import-branches",
        help="import party branches from CSV",
        description=t(
            "Columns: code,name,parent_code,level[,community_code]; level is general "
            "(the community's general branch), grid (a grid party branch, parent: the general "
            "branch) or building_group (a building party group, parent: a grid branch)."
        ),
    )
    ib.add_argument("file", type=Path)
    ib.set_defaults(func=cmd_import_branches)

    ig = sub.add_parser(
        "import-organisations",
        help="import property companies (物业) and owners' committees (业委会) from CSV",
    )
    ig.add_argument("file", type=Path)
    ig.set_defaults(func=cmd_import_organisations)

    io = sub.add_parser(
        "import-osm",
        help="build a community from an OpenStreetMap extract",
        description=t(
            "Only buildings with at least half their footprint inside the compound's outline "
            "are imported; the others are listed. Importing again matches features by OSM "
            "id: it updates them, and removes buildings, green areas, water and paths the "
            "extract no longer yields."
        ),
    )
    io.add_argument("file", type=Path)
    io.add_argument("--compound", required=True, help="name of the landuse=residential polygon")
    io.add_argument("--community", required=True, help="community code, e.g. 310109010026")
    io.add_argument("--name", help="community name (default: from the official code list)")
    io.add_argument(
        "--buffer", type=float, default=20.0, help="metres around the outline for paths, green"
    )
    io.add_argument(
        "--include", action="append", metavar="OSM_ID", help="also import this outside building"
    )
    io.add_argument(
        "--include-outside", action="store_true", help="import the outside buildings too"
    )
    io.add_argument(
        "--unofficial", action="store_true", help="accept a code outside the official list"
    )
    io.set_defaults(func=cmd_import_osm)

    cm = sub.add_parser(
        "community", help="residents' committees: search the official list, create, rename, retire"
    )
    cm_sub = cm.add_subparsers(dest="action", required=True)
    cs = cm_sub.add_parser("search", help="find a committee's official code by name (巴林)")
    cs.add_argument("words", nargs="+")
    cs.add_argument("--limit", type=int, default=20)
    cm_sub.add_parser("list", help="the communities in the database")
    cc = cm_sub.add_parser("create", help="create a community on an outline")
    cc.add_argument("code", help="official code (see search), or any code with --unofficial")
    cc.add_argument("--outline", type=Path, help="file with the outline polygon(s)")
    cc.add_argument("--name", help="name (default: from the official list)")
    cc.add_argument("--unofficial", action="store_true", help="a code outside the official list")
    cc.add_argument("--crs", type=int, help="EPSG code of a file that declares none")
    cc.add_argument("--layer", help="layer name for multi-layer files (GeoPackage)")
    cr = cm_sub.add_parser("rename", help="give a community another name")
    cr.add_argument("code")
    cr.add_argument("--name", required=True)
    ct = cm_sub.add_parser(
        "retire", help="remove a community set up by mistake (refused while it holds requests)"
    )
    ct.add_argument("code")
    cp = cm_sub.add_parser(
        "publish", help="open a community set up in the browser to residents (needs its grids)"
    )
    cp.add_argument("code")
    cm.set_defaults(func=cmd_community)

    br = sub.add_parser("branches", help="party branches")
    br_sub = br.add_subparsers(dest="action", required=True)
    bl = br_sub.add_parser("list", help="code, name, level, parent, community, grids")
    bl.add_argument("--community")
    br.set_defaults(func=cmd_branches)

    bd = sub.add_parser("building", help="a community's buildings: list, set number, remove")
    bd.add_argument("action", choices=["list", "set", "remove"])
    bd.add_argument("ref", nargs="?", help="the building: its number (7号楼), code or OSM id")
    bd.add_argument("--community", required=True)
    bd.add_argument("--number", help="its number as residents say it (7 or 7号楼)")
    bd.add_argument("--households", help="how many households live in it")
    bd.add_argument(
        "--stairwells",
        help="its stairwells (单元), replacing those it has: a count (3: 1单元…3单元) or their "
        "numbers, comma-separated (1,2,东单元)",
    )
    bd.set_defaults(func=cmd_building)

    ab = sub.add_parser("assign-buildings", help="assign buildings to the grid covering them")
    ab.add_argument("--community", required=True)
    ab.add_argument("--all", action="store_true", help="reassign already assigned buildings too")
    ab.set_defaults(func=cmd_assign_buildings)

    vg = sub.add_parser("validate-grids", help="check a community's grid set")
    vg.add_argument("--community", required=True)
    vg.add_argument("--tolerance", type=float, default=1.0, help="m² below which to ignore")
    vg.add_argument("--json", action="store_true")
    vg.set_defaults(func=cmd_validate_grids)

    rt = sub.add_parser("route", help="route a CSV (lon,lat) or vector file in batch")
    rt.add_argument("input", type=Path)
    rt.add_argument("--out", required=True, type=Path)
    rt.add_argument("--snap", type=float, help="snap distance in metres")
    rt.set_defaults(func=cmd_route)

    rr = sub.add_parser("reroute", help="re-route open requests after grid changes")
    rr.add_argument("--community")
    rr.set_defaults(func=cmd_reroute)

    ex = sub.add_parser("export", help="export a community (.gpkg, .geojson, .csv)")
    ex.add_argument("--community", required=True)
    ex.add_argument("--out", required=True, type=Path)
    ex.set_defaults(func=cmd_export)

    dm = sub.add_parser(
        "demo",
        help="build or load the demo community; accounts: one staff account per role "
        "(development only), passwords printed once",
    )
    dm.add_argument("action", choices=["build", "load", "accounts"])
    dm.add_argument("--dir", type=Path, default=DEFAULT_DEMO_DIR)
    dm.add_argument("--osm", type=Path, default=DEFAULT_OSM)
    dm.add_argument(
        "--bare",
        action="store_true",
        help="load: the community and its requests as filed, without the six months of "
        "history (replies, patrols, the gardens' process)",
    )
    dm.set_defaults(func=cmd_demo)

    us = sub.add_parser(
        "user", help="staff accounts: add, grant roles, set password, unlock after failed sign-ins"
    )
    us.add_argument("action", choices=["add", "grant", "password", "unlock"])
    us.add_argument("username")
    us.add_argument("--display-name", help="shown in request histories (default: username)")
    us.add_argument("--email")
    us.add_argument(
        "--role",
        action="append",
        metavar="ROLE=PLACE",
        help="grid_lead=COMMUNITY/GRID, branch_secretary=BRANCH, community_admin=COMMUNITY, "
        "subdistrict_admin=SUBDISTRICT, designer=COMMUNITY (repeatable)",
    )
    us.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    us.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
    us.set_defaults(func=cmd_user)

    ak = sub.add_parser("apikey", help="Open311 API keys of client apps: add, list, revoke")
    ak.add_argument("action", choices=["add", "list", "revoke"])
    ak.add_argument("--community", help="community code (the Open311 jurisdiction_id)")
    ak.add_argument("--name", help="the client app's name, e.g. 'wechat-miniapp'")
    ak.set_defaults(func=cmd_apikey)

    rp = sub.add_parser("report", help="a grid's or a party branch's monthly report (offline HTML)")
    rp.add_argument("--community", required=True)
    what = rp.add_mutually_exclusive_group(required=True)
    what.add_argument("--grid", help="a grid's code (G07)")
    what.add_argument("--branch", help="a party branch's code: all of its grids")
    rp.add_argument("--month", help="YYYY-MM (default: this month)")
    rp.add_argument("--pdf", action="store_true", help="a printable PDF (A4) instead of HTML")
    rp.add_argument("--out", help="output file (default: report-COMMUNITY-GRID.html or .pdf)")
    rp.add_argument(  # also after the command, as the global --lang
        "--lang", choices=LOCALES, default=argparse.SUPPRESS, help="language of the report"
    )
    rp.set_defaults(func=cmd_report)

    nt = sub.add_parser("notify", help="notification webhooks; send what is due now")
    nt.add_argument("action", choices=["add-webhook", "send"])
    nt.add_argument("--community", help="community code (add-webhook)")
    nt.add_argument("--grid", help="grid code; without it, the whole community")
    nt.add_argument("--url", help="the webhook URL")
    nt.add_argument("--format", choices=["json", "wecom"], default="json")
    nt.set_defaults(func=cmd_notify)

    bs = sub.add_parser(
        "blobs", help="photos and files outside the database: gc (delete unreferenced), check"
    )
    bs.add_argument("action", choices=["gc", "check"])
    bs.add_argument(
        "--min-age-hours",
        type=float,
        default=1.0,
        help="gc: only files older than this (a post being written is not yet referenced)",
    )
    bs.add_argument("--dry-run", action="store_true", help="gc: count, delete nothing")
    bs.set_defaults(func=cmd_blobs)

    sv = sub.add_parser("serve", help="run the web app")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument(
        "--demo",
        action="store_true",
        help="try it out: upgrade the database and load the demo community if missing",
    )
    sv.add_argument(
        "--workers",
        type=int,
        help="worker processes on one socket (default: RENEWMAP_WORKERS, 1)",
    )
    sv.add_argument("--demo-dir", type=Path, default=DEFAULT_DEMO_DIR)
    sv.add_argument(
        "--demo-bare",
        action="store_true",
        help="with --demo: the demo without its history (as the browser tests start)",
    )
    sv.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import os

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang", choices=LOCALES)
    known, _ = early.parse_known_args(argv)
    with use_locale(known.lang or posix_locale(os.environ)):  # help texts in that language
        parser = build_parser()
        args = parser.parse_args(argv)
    with use_locale(args.lang or posix_locale(os.environ)):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
        return int(args.func(args, settings))
    except RenewMapError as exc:
        _error(exc.message)
        return 2
    except ValidationError as exc:  # settings from the environment
        _error(t("invalid RENEWMAP_* setting: {reason}", reason=str(exc)))
        return 2
    except (OperationalError, InterfaceError) as exc:
        _error(t("cannot reach the database: {reason}", reason=str(exc.orig or exc)))
        return 2
    except OSError as exc:
        _error(f"{exc.filename or ''}: {exc.strerror or exc}")
        return 2


def _error(message: str) -> None:
    print(t("error: {message}", message=message), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
