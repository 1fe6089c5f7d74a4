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
        ),
    )
    kind = names.label(names.LAYER_KINDS, args.kind)
    print(
        t(
            "{file}: {created} {kind} created, {updated} updated",
            file=rep.file,
            created=rep.created,
            kind=kind,
            updated=rep.updated,
        )
    )
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


def cmd_import_osm(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest.osm import import_osm

    reports = _in_transaction(
        settings,
        lambda s: import_osm(
            s,
            args.file,
            compound=args.compound,
            community_code=args.community,
            community_name=args.name,
            buffer_m=args.buffer,
        ),
    )
    for rep in reports:
        print(
            t(
                "{kind}: {created} created, {updated} updated",
                kind=names.label(names.LAYER_KINDS, rep.kind),
                created=rep.created,
                updated=rep.updated,
            )
        )
    print(t("data © OpenStreetMap contributors, ODbL 1.0"))
    return 0


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


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from renewmap.services.ingest import demo

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
            return demo.load_demo(session, args.dir)

    counts = _in_transaction(settings, work)
    if counts is None:
        print(t("demo community {code} is already loaded", code=demo.DEMO_COMMUNITY))
    else:
        print(t("demo loaded: {counts}", counts=[f"{k} {v}" for k, v in counts.items()]))
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

    def build(s: Session) -> str:
        report = reports.grid_report(
            s,
            principal=accounts.operator_principal(s, community_code=args.community),
            community_code=args.community,
            grid_code=args.grid,
            month=exports.parse_month(args.month),
            time_zone=settings.time_zone,
        )
        return report_page(
            report, locale=current_locale(), nonce=None, time_zone=settings.time_zone
        )

    html = _in_transaction(settings, build)
    out = Path(args.out or f"report-{args.community}-{args.grid}.html")
    with atomic_output(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
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
    engine = _engine(settings, check=not args.demo)
    try:
        if args.demo:  # trying it out: the demo sets its database up (production: db upgrade)
            upgrade(engine)
    finally:
        engine.dispose()
    if args.demo:
        cmd_demo(argparse.Namespace(action="load", dir=args.demo_dir), settings)
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

    from renewmap.services.ingest.importer import KINDS

    imp = sub.add_parser("import", help="import a geodata file into a community")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", required=True, choices=KINDS)
    imp.add_argument("--community", help="community code (required except for --kind community)")
    imp.add_argument("--crs", type=int, help="EPSG code of a file that declares none")
    imp.add_argument("--gcj02", action="store_true", help="input digitised on GCJ-02 (AMap…)")
    imp.add_argument("--layer", help="layer name for multi-layer files (GeoPackage)")
    imp.set_defaults(func=cmd_import)

    ib = sub.add_parser("import-branches", help="import party branches from CSV")
    ib.add_argument("file", type=Path)
    ib.set_defaults(func=cmd_import_branches)

    io = sub.add_parser("import-osm", help="build a community from an OpenStreetMap extract")
    io.add_argument("file", type=Path)
    io.add_argument("--compound", required=True, help="name of the landuse=residential polygon")
    io.add_argument("--community", required=True, help="community code, e.g. 310109010026")
    io.add_argument("--name", help="community name (default: from the official code list)")
    io.add_argument("--buffer", type=float, default=20.0, help="metres around the outline")
    io.set_defaults(func=cmd_import_osm)

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

    dm = sub.add_parser("demo", help="build or load the demo community")
    dm.add_argument("action", choices=["build", "load"])
    dm.add_argument("--dir", type=Path, default=DEFAULT_DEMO_DIR)
    dm.add_argument("--osm", type=Path, default=DEFAULT_OSM)
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

    rp = sub.add_parser("report", help="a grid's printable monthly report (HTML, offline)")
    rp.add_argument("--community", required=True)
    rp.add_argument("--grid", required=True)
    rp.add_argument("--month", help="YYYY-MM (default: this month)")
    rp.add_argument("--out", help="output file (default: report-COMMUNITY-GRID.html)")
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
    sv.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    import os

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
