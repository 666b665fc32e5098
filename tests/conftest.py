"""Shared fixtures: a real PostgreSQL server for the session, and event stores.

PostgreSQL comes from, in order:

1. ``ACCORD_TEST_DATABASE_URL`` (an existing server; the tests create and drop
   their own databases on it, so the role needs CREATEDB), or
2. server binaries found via ``pg_config --bindir``, ``PATH`` or
   ``/usr/lib/postgresql/*/bin``: a throwaway cluster is initdb'ed into a temp
   dir and started on a unix socket in that dir, for this session only.

Without either, PostgreSQL tests are skipped, unless ``ACCORD_REQUIRE_POSTGRES=1``
(CI), which turns the skip into a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from tests.servers import TEST_MASTER_KEY

# Every process the tests start (servers, the CLI) and every Settings read from the environment
# shares one master key; a test of a missing or wrong key removes or replaces it itself.
os.environ.setdefault("ACCORD_MASTER_KEY", TEST_MASTER_KEY)

ENV_URL = "ACCORD_TEST_DATABASE_URL"
ENV_REQUIRE = "ACCORD_REQUIRE_POSTGRES"

HOW_TO_ENABLE = (
    "PostgreSQL tests need a server: install the PostgreSQL server binaries "
    "(initdb, pg_ctl, postgres; e.g. `apt-get install postgresql`, found via "
    "`pg_config --bindir`, PATH or /usr/lib/postgresql/*/bin) so the tests can "
    f"start a throwaway one, or set {ENV_URL}=postgresql://user@host/db for an "
    "existing server whose role may CREATE DATABASE."
)


# --------------------------------------------------------------------------
# Finding and running a throwaway PostgreSQL server
# --------------------------------------------------------------------------


def _has_server_binaries(bindir: str | os.PathLike[str] | None) -> bool:
    if not bindir:
        return False
    return all(os.access(Path(bindir, name), os.X_OK) for name in ("initdb", "pg_ctl", "postgres"))


def _version_key(bindir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,)
    try:
        return tuple(int(p) for p in Path(bindir).parent.name.split("."))
    except ValueError:
        return (0,)


def find_pg_bindir() -> str | None:
    """Where initdb, pg_ctl and postgres live, or None."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if _has_server_binaries(out):
            return out
    initdb = shutil.which("initdb")
    if initdb and _has_server_binaries(Path(initdb).parent):
        return str(Path(initdb).parent)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    for bindir in candidates:
        if _has_server_binaries(bindir):
            return bindir
    return None


def _pg_unavailable(reason: str) -> None:
    if os.environ.get(ENV_REQUIRE, "").strip().lower() in ("1", "true", "yes", "on"):
        pytest.fail(f"{ENV_REQUIRE} is set but PostgreSQL is unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class PostgresServer:
    """A PostgreSQL server the tests may create databases on."""

    #: DSN of a database to connect to for CREATE/DROP DATABASE.
    admin_dsn: str
    #: Databases created by this session (dropped at the end on an external server).
    created: list[str] = field(default_factory=list)

    def dsn_for(self, dbname: str) -> str:
        parts = urlsplit(self.admin_dsn)
        return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))

    def create_database(self, prefix: str = "accord_test") -> str:
        """CREATE DATABASE with a unique name; return a DSN to it."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.dsn_for(name)

    def drop_created(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for name in self.created:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except psycopg.Error:
                    pass
        self.created.clear()


class _LocalCluster:
    """initdb + pg_ctl into a temp dir, socket in the same dir, no TCP."""

    def __init__(self, bindir: str) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        # Keep the path short: unix socket paths are limited to ~107 bytes.
        base = "/tmp" if os.path.isdir("/tmp") else None
        self.dir = Path(tempfile.mkdtemp(prefix="accord-pg-", dir=base))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = 5432  # only names the socket file inside self.dir

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(Path(self.bindir, args[0])), *args[1:]]
        if self.as_root:
            # initdb and pg_ctl refuse to run as root.
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return cmd

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(args[:1])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}"
            )

    def start(self) -> str:
        if self.as_root:
            import pwd

            pw = pwd.getpwnam("postgres")
            os.chmod(self.dir, 0o755)  # traversable, so root-run tests reach the socket
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        options = " ".join(
            [
                f"-k {self.dir}",
                "-c listen_addresses=''",
                f"-p {self.port}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )
        self._start_watchdog()
        # The port only names the socket file; 5432 is also asyncpg's and libpq's default.
        return f"postgresql://postgres@/postgres?host={self.dir}"

    def _stop_command(self) -> list[str]:
        return self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _start_watchdog(self) -> None:
        """Stop the server if this test process dies without tearing down
        (killed by a timeout, SIGKILL, ...): pg_ctl's server outlives it."""
        script = textwrap.dedent(
            f"""
            import os, shutil, subprocess, time
            while os.path.exists({str(self.data)!r}):
                try:
                    os.kill({os.getpid()}, 0)
                except ProcessLookupError:
                    subprocess.run({self._stop_command()!r}, capture_output=True, timeout=60)
                    shutil.rmtree({str(self.dir)!r}, ignore_errors=True)
                    break
                except PermissionError:
                    pass
                time.sleep(1)
            """
        )
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # survives a signal sent to our process group
        )

    def stop(self) -> None:
        watchdog = getattr(self, "_watchdog", None)
        if watchdog is not None:
            watchdog.terminate()
            watchdog.wait(10)
        try:
            if self.data.exists():
                subprocess.run(self._stop_command(), capture_output=True, timeout=60)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _wait_ready(dsn: str, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session (external or throwaway)."""
    external = os.environ.get(ENV_URL)
    if external:
        server = PostgresServer(admin_dsn=external)
        try:
            _wait_ready(external, timeout=5)
        except Exception as error:  # noqa: BLE001
            # Asked for explicitly, so a wrong URL is an error, not a reason to skip.
            pytest.fail(f"{ENV_URL}={external!r} is not reachable: {error}", pytrace=False)
        try:
            yield server
        finally:
            server.drop_created()
        return

    bindir = find_pg_bindir()
    if bindir is None:
        _pg_unavailable("no PostgreSQL server binaries found. " + HOW_TO_ENABLE)
    cluster = _LocalCluster(bindir)
    try:
        admin_dsn = cluster.start()
        _wait_ready(admin_dsn)
    except Exception as error:
        cluster.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL from {bindir}: {error}", pytrace=False)
    try:
        yield PostgresServer(admin_dsn=admin_dsn)
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def new_pg_database(pg_server: PostgresServer) -> Callable[[], str]:
    """Call it to get a DSN to a new, empty database."""
    return pg_server.create_database


@pytest.fixture(scope="module")
def pg_dsn(new_pg_database: Callable[[], str]) -> str:
    """DSN to a database fresh for this test module."""
    return new_pg_database()


def dsn_params(dsn: str) -> dict[str, str]:
    """libpq-style parts of a postgresql:// DSN (unix-socket host in ?host= too)."""
    parts = urlsplit(dsn)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = query.get("host") or parts.hostname or "localhost"
    return {
        "dbname": parts.path.lstrip("/"),
        "host": host,
        "port": str(query.get("port") or parts.port or 5432),
        "user": parts.username or query.get("user") or os.environ.get("USER", "postgres"),
        "password": parts.password or query.get("password") or "",
    }


@pytest.fixture(scope="session")
def pg_params() -> Callable[[str], dict[str, str]]:
    """Function from a DSN to dbname/host/port/user/password."""
    return dsn_params


# --------------------------------------------------------------------------
# Event stores, parametrized over both implementations
# --------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty event log, for each store kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path.resolve() / 'accord.db'}"  # sqlite:////abs/path
    make: Callable[[], str] = request.getfixturevalue("new_pg_database")
    return make()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[object]:
    """An opened EventStore on an empty log; closed afterwards."""
    from service.store import connect

    s = connect(store_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()
