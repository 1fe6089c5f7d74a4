"""A throwaway PostgreSQL + PostGIS cluster on a free loopback port.

Used by the test suite and the benchmarks so that neither needs a running service: initdb in a
temporary directory, start on 127.0.0.1 with a free port, create the PostGIS extension, and
stop + delete everything at the end. As root (CI), the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POSTGIS_PACKAGE = "postgresql-15-postgis-3"
PGBOUNCER = os.environ.get("RENEWMAP_PGBOUNCER", "/usr/sbin/pgbouncer")


class ClusterUnavailable(RuntimeError):
    """PostgreSQL/PostGIS binaries are missing or the cluster could not start."""


def _pg_bindir() -> Path:
    env = os.environ.get("RENEWMAP_PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise ClusterUnavailable(
        f"PostgreSQL server binaries not found: apt-get install postgresql {POSTGIS_PACKAGE}"
    )


def _postgis_available(bindir: Path) -> bool:
    version = bindir.parent.name
    share = Path(f"/usr/share/postgresql/{version}/extension/postgis.control")
    return share.exists() or bool(glob.glob("/usr/share/postgresql/*/extension/postgis.control"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bindir: Path
    datadir: Path
    port: int
    user: str
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/renewmap"

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname=renewmap"

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: open sessions are cut, as a restart by an operator does;
        ``immediate``: as a crash), keeping its data for ``start``."""
        _run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"],
            self.run_as,
        )

    def start(self) -> None:
        """Start the stopped server again on the same port and data."""
        log = self.datadir.parent / "log"
        _run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "start",
            ],
            self.run_as,
        )
        _wait(self.port)

    @contextlib.contextmanager
    def replica(self) -> Iterator[Cluster]:
        """A streaming replica of this server on another free loopback port, made as an
        operator makes one (``pg_basebackup -R``: copy the data, write the standby's
        connection settings), started and caught up; stopped and deleted at the end."""
        base = Path(tempfile.mkdtemp(prefix="renewmap-pg-replica-"))
        if self.run_as:
            shutil.chown(base, user=self.run_as)
            os.chmod(base, 0o700)
        datadir = base / "data"
        port = free_port()
        standby = Cluster(self.bindir, datadir, port, self.user, self.run_as)
        try:
            _run(
                [
                    str(self.bindir / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    self.user,
                    "-D",
                    str(datadir),
                    "-R",  # standby.signal + primary_conninfo: a standby of this server
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                ],
                self.run_as,
            )
            with open(datadir / "postgresql.conf", "a") as conf:  # the last setting wins
                conf.write(
                    f"\nport = {port}\nunix_socket_directories = '{base}'\nhot_standby = on\n"
                )
            standby.start()
            try:
                standby.wait_replayed(self)
                yield standby
            finally:
                with contextlib.suppress(subprocess.CalledProcessError):
                    standby.stop("immediate")
        except subprocess.CalledProcessError as exc:
            raise ClusterUnavailable(f"{exc.cmd[0]} failed: {exc.stderr.strip()}") from exc
        finally:
            shutil.rmtree(base, ignore_errors=True)

    def _query(self, sql: str) -> Any:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute(sql).fetchone()
        return row[0] if row else None

    def wait_replayed(self, primary: Cluster, timeout: float = 60.0) -> None:
        """Wait until this standby has replayed everything ``primary`` has written so far
        (its WAL insert position: with ``synchronous_commit = off`` a commit may not be
        written out yet, and the write position would be behind it)."""
        target = primary._query("SELECT pg_current_wal_insert_lsn()::text")
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):  # a standby still starting refuses connections
                done = self._query(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
                if done:
                    return
            if time.monotonic() > deadline:
                raise ClusterUnavailable(f"the replica did not replay up to {target}")
            time.sleep(0.05)

    def pause_replay(self) -> None:
        """Stop applying the primary's changes (a standby lagging behind, on demand)."""
        self._query("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self._query("SELECT pg_wal_replay_resume()")


def _run(cmd: list[str], run_as: str | None, **kw: Any) -> subprocess.CompletedProcess[str]:
    if run_as:
        cmd = ["runuser", "-u", run_as, "--", *cmd]
    done: subprocess.CompletedProcess[str] = subprocess.run(
        cmd, check=True, capture_output=True, text=True, **kw
    )
    return done


@contextlib.contextmanager
def postgis_cluster() -> Iterator[Cluster]:
    """Start a PostGIS cluster; yields its URL details; always stops and removes it."""
    bindir = _pg_bindir()
    if not _postgis_available(bindir):
        raise ClusterUnavailable(
            f"PostGIS extension not installed: apt-get install {POSTGIS_PACKAGE}"
        )
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ClusterUnavailable("running as root but no 'postgres' user exists") from exc
        run_as = "postgres"
    base = Path(tempfile.mkdtemp(prefix="renewmap-pg-"))
    datadir = base / "data"
    if run_as:
        shutil.chown(base, user=run_as)
        os.chmod(base, 0o700)
    port = free_port()
    user = "renewmap"
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(datadir),
                "-U",
                user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            run_as,
        )
        # max_connections: the live tests run 4 workers whose pools may open 5 + 10 connections
        # each, beside the tests' own engines; 50 made PostgreSQL refuse some (answered 503)
        with open(datadir / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{base}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 150\n"
            )
        _run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(datadir),
                "-l",
                str(base / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            run_as,
        )
        try:
            _wait(port)
            import psycopg

            with psycopg.connect(
                f"host=127.0.0.1 port={port} user={user} dbname=postgres", autocommit=True
            ) as conn:
                conn.execute("CREATE DATABASE renewmap")
            with psycopg.connect(
                f"host=127.0.0.1 port={port} user={user} dbname=renewmap", autocommit=True
            ) as conn:
                conn.execute("CREATE EXTENSION postgis")
            yield Cluster(bindir, datadir, port, user, run_as)
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                _run(
                    [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"], run_as
                )
    except subprocess.CalledProcessError as exc:
        raise ClusterUnavailable(f"{exc.cmd[0]} failed: {exc.stderr.strip()}") from exc
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _wait(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ClusterUnavailable(f"PostgreSQL did not listen on 127.0.0.1:{port}")


@dataclass(frozen=True)
class Bouncer:
    """A PgBouncer on loopback in front of a cluster: clients connect here."""

    port: int
    user: str
    admin_dsn: str

    def url(self, database: str = "renewmap") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"


@contextlib.contextmanager
def pgbouncer(
    cluster: Cluster, *, pool_size: int = 4, executable: str = PGBOUNCER
) -> Iterator[Bouncer]:
    """PgBouncer in transaction mode on a free loopback port in front of ``cluster`` (every
    database of it), with its ini and userlist in a temporary directory; stopped and deleted
    at the end. ``pool_size`` server connections per database: fewer than the app's
    clients, so transactions really take turns on them.

    ``options`` (the app's ``-c jit=off …``) is ignored: PgBouncer 1.18 refuses an unknown
    startup parameter. Put such settings on the role instead (deploy/README.md)."""
    if not Path(executable).exists():
        raise ClusterUnavailable(f"{executable} not found: apt-get install pgbouncer")
    base = Path(tempfile.mkdtemp(prefix="renewmap-pgbouncer-"))
    port = free_port()
    (base / "userlist.txt").write_text(f'"{cluster.user}" ""\n')
    (base / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={cluster.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {base / 'userlist.txt'}\n"
        f"admin_users = {cluster.user}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 1000\n"
        "ignore_startup_parameters = options, extra_float_digits\n"
        f"logfile = {base / 'pgbouncer.log'}\npidfile = {base / 'pgbouncer.pid'}\n"
    )
    if cluster.run_as:  # PgBouncer refuses to run as root
        for path in (base, *base.iterdir()):
            shutil.chown(path, user=cluster.run_as)
    proc = subprocess.Popen(
        [executable, str(base / "pgbouncer.ini")],
        user=cluster.run_as,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        try:
            _wait(port)
        except ClusterUnavailable:
            log = base / "pgbouncer.log"
            raise ClusterUnavailable(
                "pgbouncer did not start: " + (log.read_text() if log.exists() else "")
            ) from None
        admin = f"host=127.0.0.1 port={port} user={cluster.user} dbname=pgbouncer"
        yield Bouncer(port, cluster.user, admin)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        shutil.rmtree(base, ignore_errors=True)
